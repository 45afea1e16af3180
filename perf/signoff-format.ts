/** Text of sign-off results: the `msq signoff` summary, the --check message, and the tables of `msq bench` and docs/PERFORMANCE.md. */
import type { SignoffPath, SignoffReport } from './signoff.ts';

const ns = (x: number, d = 3) => `${x.toFixed(d)} ns`;
const um2 = (x: number) => `${Math.round(x).toLocaleString('en-US')} µm²`;
const kindText = (p: SignoffPath) => `${p.from_kind === 'register' ? 'reg' : p.from_kind === 'input' ? 'in' : p.from_kind}-to-${p.to_kind === 'register' ? 'reg' : p.to_kind === 'output' ? 'out' : p.to_kind}`;

/** `u_post.acc_q[3] → u_post.x_q[7]` */
export function pathText(p: SignoffPath | null): string {
  return p ? `\`${p.from}\` → \`${p.to}\`` : 'no constrained path';
}

/** The power line: the number and how it was estimated, or why there is none. */
export function powerText(r: SignoffReport): string {
  if (r.power_mw === null || r.power === null) return `not available: ${r.power_reason ?? 'no report'}`;
  const p = r.power;
  return `${r.power_mw.toFixed(2)} mW at ${p.clock_mhz} MHz, switching activity ${p.activity} per cycle on every net, duty ${p.duty} (internal ${p.internal_mw.toFixed(2)}, switching ${p.switching_mw.toFixed(2)}, leakage ${(1000 * p.leakage_mw).toFixed(2)} µW)`;
}

export function signoffMarkdown(r: SignoffReport): string {
  const cp = r.critical_path;
  const lines = [
    `# msq signoff: ${r.top}`,
    '',
    `Post-synthesis, ${r.library.name} (${r.library.path}); ideal clock, no wires.`,
    '',
    '| | |',
    '|---|---|',
    `| clock period | ${ns(r.period_ns, 2)} (${(1000 / r.period_ns).toFixed(1)} MHz) |`,
    `| worst slack | ${ns(r.worst_slack_ns)} (${r.met ? 'met' : 'VIOLATED'}); WNS ${ns(r.wns_ns)}, TNS ${ns(r.tns_ns, 1)} |`,
    `| Fmax = 1 / (period − worst slack) | **${r.fmax_mhz.toFixed(1)} MHz** |`,
    `| critical path | ${pathText(cp)}${cp ? `: ${ns(cp.delay_ns)} through ${cp.cells} cells (${kindText(cp)})` : ''} |`,
    `| area | ${um2(r.area_um2)} (${r.cells} cells, ${r.flops} flip-flops) |`,
    `| power | ${powerText(r)} |`,
    '',
    '## Area by block',
    '',
    '| block | module | area µm² | share | cells | flip-flops |',
    '|---|---|--:|--:|--:|--:|',
    ...r.blocks.map((b) => `| ${b.name} | \`${b.module}\` | ${Math.round(b.area_um2)} | ${((100 * b.area_um2) / r.area_um2).toFixed(1)}% | ${b.cells} | ${b.flops} |`),
    '',
    '## Worst path into each block',
    '',
    '| block | from | to | kind | delay ns | slack ns | cells |',
    '|---|---|---|---|--:|--:|--:|',
    ...Object.entries(r.block_paths).map(([b, p]) => `| ${b} | \`${p.from}\` | \`${p.to}\` | ${kindText(p)} | ${p.delay_ns.toFixed(3)} | ${p.slack_ns.toFixed(3)} | ${p.cells} |`),
    '',
    `## Worst paths of the design (${r.worst_paths.length}, one per endpoint)`,
    '',
    '| from | to | kind | delay ns | slack ns | cells |',
    '|---|---|---|--:|--:|--:|',
    ...r.worst_paths.map((p) => `| \`${p.from}\` | \`${p.to}\` | ${kindText(p)} | ${p.delay_ns.toFixed(3)} | ${p.slack_ns.toFixed(3)} | ${p.cells} |`),
    '',
    `Flow: ${r.tools.yosys}; ${r.tools.sta}. Hierarchy: ${r.flow.hierarchy}. ABC (delay target ${r.flow.synth_target_ns} ns: the period minus a margin for the flip-flops' clock-to-Q and setup, which ABC does not see): \`${r.flow.abc_script}\`${r.flow.abc_constraints ? ` with driving cell ${r.constraints.driving_cell} and load ${r.constraints.load_pf} pF` : ' (no inverter found in the library: no buffering or sizing)'}. ` +
      `Constraints: clock ${r.constraints.clock}; input and output delays ${ns(r.constraints.io_delay_ns, 2)} (${100 * r.constraints.io_delay_fraction} % of the period). ` +
      `Time: Yosys ${r.seconds.yosys.toFixed(0)} s, OpenSTA ${r.seconds.sta.toFixed(0)} s. Netlist, scripts and logs: ${r.work}`,
    '',
  ];
  return lines.join('\n');
}

/** The --check failure: the slack, the period and the path. */
export function checkMessage(r: SignoffReport): string {
  const cp = r.critical_path;
  return (
    `timing check failed: worst slack ${ns(r.worst_slack_ns)} at a ${ns(r.period_ns, 2)} period (Fmax ${r.fmax_mhz.toFixed(1)} MHz)` +
    (cp ? ` on ${cp.from} -> ${cp.to} (${ns(cp.delay_ns)}, ${cp.cells} cells)` : '')
  );
}

/** One row of a sign-off table: a configuration and its result (null: the run failed). */
export interface SignoffRow {
  label: string;
  recon: string;
  report: Pick<SignoffReport, 'fmax_mhz' | 'wns_ns' | 'worst_slack_ns' | 'area_um2' | 'area_um2_by_block' | 'critical_path' | 'power_mw' | 'seconds'> | null;
}

/** Markdown table: Fmax, WNS, area and critical path per configuration. */
export function signoffTable(rows: readonly SignoffRow[]): string {
  const head = '| array | ReCoN | Fmax MHz | WNS ns | area µm² | critical path (from → to) | delay ns | cells | power mW | Yosys s |\n|---|---|--:|--:|--:|---|--:|--:|--:|--:|\n';
  const body = rows.map((x) => {
    const r = x.report;
    if (!r) return `| ${x.label} | ${x.recon} | failed | | | | | | | |`;
    const cp = r.critical_path;
    return `| ${x.label} | ${x.recon} | ${r.fmax_mhz.toFixed(1)} | ${r.wns_ns.toFixed(2)} | ${Math.round(r.area_um2)} | ${pathText(cp)} | ${cp ? cp.delay_ns.toFixed(2) : ''} | ${cp ? cp.cells : ''} | ${r.power_mw === null ? 'n/a' : r.power_mw.toFixed(1)} | ${r.seconds.yosys.toFixed(0)} |`;
  });
  return head + body.join('\n') + '\n';
}

/** Area by block of several results, one column per block (union of the blocks). */
export function signoffAreaTable(rows: readonly SignoffRow[]): string {
  const blocks = [...new Set(rows.flatMap((x) => (x.report ? Object.keys(x.report.area_um2_by_block) : [])))];
  const head = `| array | ReCoN | total µm² | ${blocks.join(' | ')} |\n|---|---|--:|${blocks.map(() => '--:').join('|')}|\n`;
  const body = rows.flatMap((x) => (x.report ? [`| ${x.label} | ${x.recon} | ${Math.round(x.report.area_um2)} | ${blocks.map((b) => (x.report!.area_um2_by_block[b] === undefined ? '' : String(Math.round(x.report!.area_um2_by_block[b]!)))).join(' | ')} |`] : []));
  return head + body.join('\n') + '\n';
}

/** The measured runs behind the docs section (docs/perf/signoff.json, written by scripts/performance-report.ts). */
export interface SignoffDoc {
  date: string;
  /** the git commit whose generator made the RTL (with "+changes" when the work tree differed) */
  commit?: string;
  machine: { cpus: number; model: string; memory_gib: number; loadavg_start: number[] };
  runs: Array<{ label: string; flags: string[]; wall_s: number; report: SignoffReport }>;
}

/** The configurations of docs/PERFORMANCE.md's sign-off section, at D = 16 and 4 ns, with the Fmax issue 13 reported for some. */
export const SIGNOFF_DOC_RUNS: ReadonlyArray<{ label: string; flags: string[]; issueMhz?: number; issueNote?: string }> = [
  { label: 'default 8×8 W4', flags: ['--depth', '16'], issueMhz: 50.7 },
  { label: '4×8 W4', flags: ['--rows', '4', '--cols', '8', '--wbits', '4', '--depth', '16'] },
  { label: '4×8 W4', flags: ['--rows', '4', '--cols', '8', '--wbits', '4', '--no-outliers', '--depth', '16'], issueMhz: 55, issueNote: 'critical path 18 ns' },
  { label: '4×16 W2', flags: ['--rows', '4', '--cols', '16', '--wbits', '2', '--recon', 'butterfly', '--depth', '16'], issueMhz: 52.2 },
];

/** The block of a path point: its first hierarchy level when that is a block instance (`u_post`), else the top. */
function blockOf(point: string): string {
  const m = /^(u_[A-Za-z0-9_]+)\./.exec(point);
  return m ? m[1]! : 'top';
}

/** Where the critical paths of the runs start and end, in words. */
function endsText(d: SignoffDoc): string {
  const cps = d.runs.flatMap((x) => (x.report.critical_path ? [x.report.critical_path] : []));
  const ends = [...new Set(cps.map((p) => blockOf(p.to)))];
  const starts = [...new Set(cps.map((p) => blockOf(p.from)))];
  const names = (xs: string[]) => xs.map((b) => (b === 'top' ? "the top module's own registers" : `\`${b}\``)).join(', ');
  const post = ends.length === 1 && ends[0] === 'u_post';
  const meta = cps.every((p) => p.from.startsWith('meta_pipe['));
  return (
    `Every critical path starts in ${names(starts)}${meta ? " (\`meta_pipe\`, the top's delay line of beat metadata: activation scale, buffer row address, flags)" : ''} and ends in ${names(ends)}` +
    (post
      ? ', at a row-buffer or result register of the post-array unit: the single-cycle read-modify-write (buffer read, integer add, int→fp32, fp32 add, write back) that issue 13 names first. Its depth in cells (table) is what pipelining has to cut.'
      : '.')
  );
}

/**
 * The "Sign-off timing (SKY130 HD, post-synthesis)" section of
 * docs/PERFORMANCE.md: the flow, the measured runs, each block's critical
 * path, the area by block, and the comparison with issue 13's numbers; with
 * the bench's sign-off sweep when it has one.
 */
export function signoffDocSection(d: SignoffDoc, benchTable = ''): string {
  const first = d.runs[0]?.report;
  if (!first) return '## Sign-off timing (SKY130 HD, post-synthesis)\n\n_not measured_\n';
  const rows: SignoffRow[] = d.runs.map((x) => ({ label: x.label, recon: x.report.config.outliers === false ? 'plain' : String(x.report.config.recon), report: x.report }));
  const table = signoffTable(rows).replace('| array | ReCoN |', '| configuration | ReCoN |');
  const area = signoffAreaTable(rows).replace('| array | ReCoN |', '| configuration | ReCoN |');
  const blockTable = (r: SignoffReport) =>
    ['| block | from | to | delay ns | cells | slack ns |', '|---|---|---|--:|--:|--:|', ...Object.entries(r.block_paths).map(([b, p]) => `| ${b} | \`${p.from}\` | \`${p.to}\` | ${p.delay_ns.toFixed(2)} | ${p.cells} | ${p.slack_ns.toFixed(2)} |`)].join('\n') + '\n';
  const compare = SIGNOFF_DOC_RUNS.flatMap((c, i) => {
    const run = d.runs[i];
    if (!run || c.issueMhz === undefined) return [];
    const f = run.report.fmax_mhz;
    const ratio = f / c.issueMhz;
    const verdict = Math.abs(ratio - 1) <= 0.1 ? 'reproduced (within 10 %)' : ratio < 1 ? `not reproduced: ${(100 * (1 - ratio)).toFixed(0)} % slower here` : `not reproduced: ${(100 * (ratio - 1)).toFixed(0)} % faster here`;
    return [`| ${c.label} ${rows[i]!.recon} | ${c.issueMhz} MHz${c.issueNote ? ` (${c.issueNote})` : ''} | ${f.toFixed(1)} MHz (critical path ${run.report.critical_path?.delay_ns.toFixed(1) ?? '?'} ns) | ${verdict} |`];
  });
  const power = first.power
    ? `\`report_power\` with \`set_power_activity -global -activity ${first.power.activity} -duty ${first.power.duty}\`: every non-clock net toggles ${first.power.activity} times per cycle, the clock at the ${first.power.clock_mhz} MHz of the period (not at Fmax); OpenSTA 2.0.17 reads neither VCD nor SAIF, so the toggle rates of an RTL simulation cannot be annotated net by net`
    : `not available: ${first.power_reason ?? ''}`;
  const slowest = [...d.runs].sort((a, b) => a.report.fmax_mhz - b.report.fmax_mhz)[0]!;
  return `## Sign-off timing (SKY130 HD, post-synthesis)

\`msq signoff [generator flags] [--liberty FILE.lib] [--period NS] [--json FILE] [--check]\` ([\`perf/signoff.ts\`](../perf/signoff.ts)) maps one configuration to a standard-cell library and times it; \`msq bench\` runs it on the sweep (section below). The library is SkyWater SKY130 HD, typical corner (tt, 25 °C, 1.80 V), from \`../shared/pdk/sky130hd/\` (\`--liberty\` elsewhere; the README says where to get it).

- **Synthesis** (Yosys, [\`perf/signoff-yosys.ts\`](../perf/signoff-yosys.ts)): \`synth\` with the top's blocks (\`u_array\`, \`u_post\`, \`u_decode\`, \`u_ctrl\`, \`u_a_in\`) kept as modules and each flattened inside, so the area comes out per block, except the post-array unit's int->fp32 and fp32 adder units, registered at every port and without reset, which are synthesized as modules of their own (once for all C instances; flattened into a 16×16 post-array unit, ABC met its target on one build and missed it by 0.5 ns on another of the same RTL, and then relaxed integer adds into ripples); register wires are kept, nets split to bits and every flip-flop named after its register bit (\`u_post.fbuf[0][13]\`), so paths start and end at RTL names; FSM extraction, flip-flop merging into memory read ports and \`synth\`'s own quick \`abc -fast\` are off (\`-nofsm -nordff -noabc\`: the first two make unnamed flip-flops, the third maps prefix adders as ripple chains before the timing-driven mapping sees them); flip-flops by \`dfflibmap\`, logic by ABC at a delay target of the period minus ${+(100 * (1 - first.flow.synth_target_ns / first.period_ns)).toFixed(1)} % (${first.flow.synth_target_ns} ns: ABC times the logic between flip-flops only, without their clock-to-Q and setup and with a light model of the buffer trees behind them, and once a target is out of reach its area recovery relaxes every path up to the slowest): \`${first.flow.abc_script}\` (three rounds of delay-driven mapping, one on a network restructured for delay, after OpenROAD-flow-scripts' speed script; then buffering and sizing), with inputs driven by ${first.constraints.driving_cell ?? 'no cell'} and ${first.constraints.load_pf * 1000} fF on every output (OpenLane's defaults). Power-management (lpflow), delay, probe and tristate cells are \`dont_use\`. On the post-array unit of a 2×4 accelerator this script reaches 23.3 ns where Yosys's own \`abc -liberty -constr\` script reaches 34.4 ns and plain \`abc -liberty\` 57.2 ns.
- **Timing** (OpenSTA, [\`perf/signoff-sta.ts\`](../perf/signoff-sta.ts)): one ideal clock at the period, no wires; inputs arrive and outputs are required ${100 * first.constraints.io_delay_fraction} % of the period from the edge (as in the SDC of \`msq generate\`). Fmax = 1 / (period − worst slack); the critical path's delay is its data arrival time (clock-to-Q and logic). ABC's result varies by a few per cent between runs of the same configuration (two runs of the 2×4 W2 accelerator: 23.6 and 24.2 ns).
- **Power**: ${power}.

Measured ${d.date.slice(0, 10)}${d.commit ? ` with the RTL of commit ${d.commit}` : ''} on ${d.machine.cpus} × ${d.machine.model}, ${d.machine.memory_gib} GiB (shared; load average ${d.machine.loadavg_start.join(' ')} at the start), msq ${first.version}, ${first.tools.yosys.replace(/ \(git.*\)/, '')}, ${first.tools.sta}; D = 16, period ${first.period_ns} ns. Raw data: [\`docs/perf/signoff.json\`](perf/signoff.json).

${table}
Run time of \`msq signoff\` (wall, on the shared machine): ${d.runs.map((x, i) => `${x.label} ${rows[i]!.recon} ${Math.round(x.wall_s)} s`).join(', ')}.

These are the "before" numbers of the pipelining work of issue 13: ${slowest.report.fmax_mhz < 250 ? `no configuration reaches 250 MHz; the slowest is ${slowest.label} ${slowest.report.config.outliers === false ? 'plain' : String(slowest.report.config.recon)} at ${slowest.report.fmax_mhz.toFixed(1)} MHz` : 'every configuration reaches 250 MHz'}. ${endsText(d)}

The pipelining of issue 13, the blocks measured alone and the accelerators after it (with this table as "before"): [TIMING_CLOSURE.md](TIMING_CLOSURE.md).

Against the numbers in issue 13 (same library, corner and 4 ns constraint; the issue does not give its depth D or script):

| configuration | issue 13 | this flow | |
|---|---|---|---|
${compare.join('\n')}

The issue does not say how its numbers were made (depth D, ABC script, flat or hierarchical synthesis, RTL version). The gap is not the ABC script (this flow uses the fastest of nine scripts tried on the post-array unit) and probably not the hierarchy (flat synthesis of a 2×4 accelerator came within 2 % of the block-hierarchical result); the pipelining work should compare against the numbers of this table, made by the flow that ships.

Worst path into each block, ${d.runs[0]!.label} ${rows[0]!.recon} (the path that ends at a flip-flop of the block; \`top\`: the top's own flip-flops and the outputs):

${blockTable(first)}
Area by block (µm², SKY130 HD cell area):

${area}${benchTable ? `\n### The bench sweep\n\n${benchTable}` : ''}`;
}
