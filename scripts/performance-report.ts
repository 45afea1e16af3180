/**
 * docs/PERFORMANCE.md and its plots (docs/perf/*.svg), from one run anyone can
 * repeat:
 *
 *   npx tsx scripts/performance-report.ts [--bench FILE.json] [--fpga FILE.json | --no-fpga] [--signoff FILE.json] [--out docs/PERFORMANCE.md]
 *
 * 1. the full accelerator benchmark (perf/bench.ts, as `msq bench --json`;
 *    about an hour on 2 cores), or the JSON of an earlier run with --bench;
 * 2. the iCE40 flow (scripts/fpga-ice40.sh --json), or an earlier JSON with --fpga;
 * 3. the ASIC hand-off script on one small configuration with the toy Liberty
 *    library perf/liberty/msq-ge.lib (checks the cell-area model against a mapping);
 * 4. `msq compare` on LLM-like 1024×1024 weights and 256×1024 activations
 *    (SQNR against EBW, with its SVG plot);
 * 5. `msq signoff` (SKY130 HD, 4 ns) on the configurations of
 *    SIGNOFF_DOC_RUNS (perf/signoff-format.ts), or an earlier JSON with
 *    --signoff FILE (docs/perf/signoff.json); skipped without a library.
 * Raw data goes to docs/perf/*.json beside the plots.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomically } from '../common/output-path.ts';
import { benchDefaults, runBench, OUTLIER_RATES, type BenchReport, type ConfigReport } from '../perf/bench.ts';
import { PASS_BEATS_LIMIT } from '../perf/throughput.ts';
import { areaTable, benchSignoffTable, cellsTable, depthTable, mSweepTable, toolSpeedTable, utilizationTable } from '../perf/bench-format.ts';
import { SIGNOFF_DOC_RUNS, signoffDocSection, type SignoffDoc } from '../perf/signoff-format.ts';
import type { SignoffReport } from '../perf/signoff.ts';
import { defaultLiberty } from '../perf/signoff-library.ts';
import { cpus, loadavg, totalmem } from 'node:os';
import { CELL_AREA_GE } from '../perf/cell-area.ts';
import { fpgaLabel, fpgaMarkdown, ICE40_DEVICES, type FpgaResult, type Ice40Device } from '../perf/fpga.ts';
import { lineChartSvg, stackedBarsSvg, PALETTE, type LineSeries } from '../perf/plot.ts';
import { DEFAULT_COMPARE_SPECS, compareMarkdown, type CompareRow } from '../quant/compare.ts';
import { writeNpy } from '../quant/npy.ts';
import { llmLikeActivations, llmLikeWeights } from '../quant/microscopiq/synthetic.ts';

const repo = fileURLToPath(new URL('..', import.meta.url));
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const OUT = resolve(arg('--out') ?? 'docs/PERFORMANCE.md');
const PERF = join(OUT, '..', 'perf');
const WORK = resolve('build/perf-report');
mkdirSync(PERF, { recursive: true });
mkdirSync(WORK, { recursive: true });
const log = (s: string) => process.stderr.write(`performance-report: ${s}\n`);

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (status ${r.status})\n${(r.stdout ?? '').slice(-3000)}`);
  return r.stdout;
}

// ---------------------------------------------------------------- data
/**
 * The raw data docs/perf/<name>: copied from the file given with `flag` (an
 * earlier run), or made by `make`, which writes it; then read back.
 */
async function rawData<T>(name: string, flag: string, make: (path: string) => Promise<void> | void): Promise<T> {
  const path = join(PERF, name);
  const from = arg(flag);
  if (!from) await make(path);
  else if (resolve(from) !== path) copyFileSync(from, path);
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

const bench = await rawData<BenchReport>('bench.json', '--bench', async (path) => {
  log('running the full benchmark (msq bench; about an hour on 2 cores)');
  writeFileAtomically(path, JSON.stringify(await runBench(benchDefaults(false)), null, 2) + '\n');
});

interface FpgaDoc {
  tools: { yosys: string; nextpnr: string };
  freq_target_mhz: number;
  elapsed_s: number;
  results: Array<FpgaResult & { label: string }>;
}
const fpga = process.argv.includes('--no-fpga')
  ? null
  : await rawData<FpgaDoc>('fpga.json', '--fpga', (path) => {
      log('running the iCE40 flow (scripts/fpga-ice40.sh)');
      sh('bash', ['scripts/fpga-ice40.sh', '--json', path]);
    });

log('ASIC hand-off check with the toy Liberty library');
const ASIC_FLAGS = ['--rows', '4', '--cols', '8', '--wbits', '4', '--depth', '16'];
sh('bash', ['scripts/asic-synth.sh', ...ASIC_FLAGS, '--liberty', 'perf/liberty/msq-ge.lib', '--out', join(WORK, 'asic')]);
const asic = JSON.parse(readFileSync(join(WORK, 'asic', 'summary.json'), 'utf8')) as { top: string; nand2_equivalents: { total: number }; liberty: { area: number }; cells: { total: number }; yosys_s: number };

log('msq compare on LLM-like weights');
const N = 1024;
const K = 1024;
const M = 256;
writeNpy(join(WORK, 'W.npy'), [N, K], llmLikeWeights(N, K, 1));
writeNpy(join(WORK, 'X.npy'), [M, K], llmLikeActivations(M, K, 7, 100));
const compareArgs = ['compare', '--input', join(WORK, 'W.npy'), '--activations', join(WORK, 'X.npy'), '--formats', DEFAULT_COMPARE_SPECS.join(','), '--json', '--plot', join(PERF, 'sqnr-vs-ebw.svg')];
const compare = JSON.parse(sh(process.execPath, [join(repo, 'bin/msq.mjs'), ...compareArgs])) as { rows: CompareRow[] };
writeFileAtomically(join(PERF, 'compare.json'), JSON.stringify(compare, null, 2) + '\n');

log('sign-off timing (msq signoff, SKY130 HD, 4 ns)');
const signoff =
  arg('--signoff') || defaultLiberty()
    ? await rawData<SignoffDoc>('signoff.json', '--signoff', (path) => {
        const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? '?', memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10, loadavg_start: loadavg().map((x) => Math.round(x * 100) / 100) };
        const runs = SIGNOFF_DOC_RUNS.map((c, i) => {
          const json = join(WORK, `signoff-${i}.json`);
          const t = performance.now();
          sh(process.execPath, [join(repo, 'bin/msq.mjs'), 'signoff', ...c.flags, '--json', json, '--work', join(WORK, `signoff-${i}`)]);
          return { label: c.label, flags: c.flags, wall_s: Math.round((performance.now() - t) / 100) / 10, report: JSON.parse(readFileSync(json, 'utf8')) as SignoffReport };
        });
        const git = (args: string[]) => spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
        const head = git(['rev-parse', '--short', 'HEAD']).stdout?.trim();
        const dirty = git(['status', '--porcelain', '--', 'generator', 'templates']).stdout?.trim();
        const commit = head ? `${head}${dirty ? '+changes' : ''}` : undefined;
        writeFileAtomically(path, JSON.stringify({ date: new Date().toISOString(), commit, machine, runs } satisfies SignoffDoc, null, 2) + '\n');
      })
    : null;

// ---------------------------------------------------------------- plots
const BLOCKS = [
  { key: 'pe_array', name: 'PE array', color: PALETTE[0]! },
  { key: 'recon', name: 'ReCoN', color: PALETTE[1]! },
  { key: 'decode', name: 'decode', color: PALETTE[2]! },
  { key: 'post', name: 'post-array', color: PALETTE[3]! },
  { key: 'control', name: 'control + FIFO', color: PALETTE[4]! },
] as const;
const sizes = [...new Map(bench.configs.map((c) => [`${c.rows}x${c.cols}`, { rows: c.rows, cols: c.cols }])).values()].sort((a, b) => a.rows * a.cols - b.rows * b.cols);
const wbitsList = [...new Set(bench.configs.map((c) => c.wbits))].sort();
const find = (rows: number, cols: number, wbits: number, recon: string) => bench.configs.find((c) => c.rows === rows && c.cols === cols && c.wbits === wbits && c.recon === recon);
const sizeLabel = (s: { rows: number; cols: number }) => `${s.rows}×${s.cols}`;
const plots: string[] = [];
const svg = (name: string, text: string) => {
  writeFileAtomically(join(PERF, name), text);
  plots.push(name);
};

for (const wbits of wbitsList) {
  svg(
    `area-per-pe-w${wbits}.svg`,
    stackedBarsSvg({
      title: `W${wbits}A8: area per PE by block (NAND2-equivalents, D = ${bench.area_depth})`,
      yLabel: 'NAND2-equivalents per PE',
      series: BLOCKS.map((b) => ({ name: b.name, color: b.color })),
      groups: sizes.map((s) => {
        const x = find(s.rows, s.cols, wbits, 'crossbar') ?? find(s.rows, s.cols, wbits, 'butterfly')!;
        const pes = s.rows * s.cols;
        const bars = [{ label: 'plain', values: BLOCKS.map((b) => x.plain.area_ge[b.key] / pes) }];
        for (const recon of ['crossbar', 'butterfly']) {
          const c = find(s.rows, s.cols, wbits, recon);
          if (c) bars.push({ label: recon, values: BLOCKS.map((b) => c.area_ge[b.key] / pes) });
        }
        return { label: sizeLabel(s), bars };
      }),
    }),
  );
}
{
  const wbits = wbitsList[wbitsList.length - 1]!;
  const series: LineSeries[] = [];
  const pts = (recon: string, get: (c: ConfigReport) => number) =>
    sizes.flatMap((s) => {
      const c = find(s.rows, s.cols, wbits, recon);
      return c ? [{ x: s.rows * s.cols, y: get(c), tip: `${sizeLabel(s)}: ${Math.round(get(c))} GE` }] : [];
    });
  series.push({ name: 'total, crossbar', color: '#000000', points: pts('crossbar', (c) => c.area_ge.total) });
  series.push({ name: 'total, butterfly', color: '#000000', dashed: true, points: pts('butterfly', (c) => c.area_ge.total) });
  series.push({ name: 'total, plain', color: '#7f7f7f', points: pts('crossbar', (c) => c.plain.area_ge.total) });
  for (const b of BLOCKS) {
    series.push({ name: `${b.name}, crossbar`, color: b.color, points: pts('crossbar', (c) => c.area_ge[b.key]) });
    if (b.key === 'pe_array' || b.key === 'recon' || b.key === 'decode') series.push({ name: `${b.name}, butterfly`, color: b.color, dashed: true, points: pts('butterfly', (c) => c.area_ge[b.key]) });
  }
  series.push({ name: 'PE array, plain', color: '#aec7e8', points: pts('crossbar', (c) => c.plain.area_ge.pe_array) });
  svg(
    'area-vs-size.svg',
    lineChartSvg({
      title: `W${wbits}A8: area against array size, by block (D = ${bench.area_depth})`,
      xLabel: 'PEs (R × C)',
      yLabel: 'NAND2-equivalents',
      xLog: true,
      yLog: true,
      xTicks: sizes.map((s) => ({ value: s.rows * s.cols, label: `${sizeLabel(s)}` })),
      series: series.filter((s) => s.points.length > 0),
      legendColumns: 3,
    }),
  );
}
for (const wbits of wbitsList) {
  const series: LineSeries[] = [];
  sizes.forEach((s, i) => {
    for (const recon of ['crossbar', 'butterfly']) {
      const c = find(s.rows, s.cols, wbits, recon);
      if (!c) continue;
      series.push({
        name: `${sizeLabel(s)} ${recon}`,
        color: PALETTE[i % PALETTE.length]!,
        dashed: recon === 'butterfly',
        points: OUTLIER_RATES.flatMap((r) => {
          const u = c.utilization[String(r)];
          return u === null || u === undefined ? [] : [{ x: 100 * r, y: 100 * u, tip: `${100 * r}%: ${(100 * u).toFixed(1)}%` }];
        }),
      });
    }
  });
  const shape = bench.configs[0]!.throughput.shape;
  svg(
    `utilization-w${wbits}.svg`,
    lineChartSvg({
      title: `W${wbits}A8: utilization against outlier rate (M = ${shape.M}, K = ${shape.K}, N = 2C, no stalls)`,
      xLabel: 'outlier rate of the synthetic weights (%)',
      yLabel: 'utilization: useful MACs per cycle / (R·C) (%)',
      yRange: [80, 100.5],
      xTicks: OUTLIER_RATES.map((r) => ({ value: 100 * r, label: String(100 * r) })),
      hLines: [{ y: 90, label: 'goal: 90 %' }],
      series,
      legendColumns: 4,
    }),
  );
}
if (bench.m_sweep) {
  const m = bench.m_sweep;
  svg(
    'utilization-vs-m.svg',
    lineChartSvg({
      title: `${m.top}: utilization against M (rows per weight tile)`,
      xLabel: 'M (activation rows; each weight tile is used for M beats)',
      yLabel: 'utilization (%)',
      xLog: true,
      yRange: [0, 105],
      xTicks: m.points.map((p) => ({ value: p.M, label: String(p.M) })),
      hLines: [{ y: 90, label: 'goal: 90 %' }],
      series: [
        { name: 'simulated', color: PALETTE[0]!, points: m.points.map((p) => ({ x: p.M, y: 100 * p.utilization })) },
        { name: 'weight-stream bound min(1, M / words per tile)', color: PALETTE[3]!, dashed: true, points: m.points.map((p) => ({ x: p.M, y: 100 * Math.min(1, p.M / p.words_per_tile) })) },
      ],
      legendColumns: 1,
    }),
  );
}
plots.push('sqnr-vs-ebw.svg');

// ---------------------------------------------------------------- numbers for the text
const pct = (x: number, d = 1) => `${(100 * x).toFixed(d)} %`;
const fullM = bench.configs.every((c) => c.throughput.shape.M >= 256);
const utilValues = bench.configs.flatMap((c) => Object.values(c.utilization).filter((u): u is number => u !== null));
const allRuns = bench.configs.flatMap((c) => c.throughput.runs.filter((r): r is NonNullable<typeof r> => r !== null));
// a failed simulation counts as 0: the goal is not shown for it
const utilAtOrBelow5 = bench.configs.flatMap((c) => OUTLIER_RATES.filter((r) => r <= 0.05).map((r) => ({ c, r, u: c.utilization[String(r)] ?? 0 })));
const worstUtil = utilAtOrBelow5.reduce((a, b) => (b.u < a.u ? b : a));
const overheads = (recon: string) => bench.configs.filter((c) => c.recon === recon).map((c) => c.outlier_overhead_array);
const range = (xs: number[]) => (xs.length ? `${pct(Math.min(...xs), 0)} … ${pct(Math.max(...xs), 0)}` : 'not measured');
const xbarOver = overheads('crossbar');
const bflyOver = overheads('butterfly');
const goals = [
  {
    goal: 'utilization ≥ 90 % at outlier rates ≤ 5 % for M ≥ 256',
    measured: `lowest ${pct(worstUtil.u)} (${worstUtil.c.rows}×${worstUtil.c.cols} W${worstUtil.c.wbits} ${worstUtil.c.recon}, rate ${100 * worstUtil.r} %)${fullM ? '' : '; M < 256 in this run'}`,
    ok: worstUtil.u >= 0.9 && fullM,
  },
  {
    goal: 'outlier-support overhead ≤ 25 % of the array, crossbar',
    measured: `${range(xbarOver)} (whole accelerator ${range(bench.configs.filter((c) => c.recon === 'crossbar').map((c) => c.outlier_overhead))})`,
    ok: xbarOver.length > 0 && Math.max(...xbarOver) <= 0.25,
  },
  {
    goal: 'outlier-support overhead ≤ 15 % of the array, butterfly',
    measured: `${range(bflyOver)} (whole accelerator ${range(bench.configs.filter((c) => c.recon === 'butterfly').map((c) => c.outlier_overhead))})`,
    ok: bflyOver.length > 0 && Math.max(...bflyOver) <= 0.15,
  },
  {
    goal: '64×64 generation ≤ 3 s',
    measured: `${bench.generate_64x64_s.toFixed(2)} s in process, ${bench.generate_64x64.cli_s.toFixed(2)} s as \`msq generate\``,
    ok: bench.generate_64x64_s <= 3 && bench.generate_64x64.cli_s <= 3,
  },
];

const areaGoalsMet = goals[1]!.ok && goals[2]!.ok;
const fpgaNoFit = fpga !== null && fpga.results.filter((r) => r.block === 'accelerator').every((r) => Object.values(r.pnr).every((p) => !p?.fits));

/** Where the array overhead comes from, per PE, for one configuration. */
function overheadDiagnosis(c: ConfigReport): string {
  const pes = c.rows * c.cols;
  const sliceMods = c.modules.filter((m) => m.name.startsWith('msq_recon_slice_'));
  const netMods = c.modules.filter((m) => m.block === 'recon' && !m.name.startsWith('msq_recon_slice_'));
  const sum = (ms: typeof c.modules, f: (m: (typeof c.modules)[number]) => number) => ms.reduce((s, m) => s + f(m) * m.instances, 0);
  const settingsGe = sum(sliceMods, (m) => m.ge);
  const settingsFlops = sum(sliceMods, (m) => m.flops);
  const netGe = sum(netMods, (m) => m.ge);
  const pePlain = c.plain.modules.find((m) => m.block === 'pe_array' && m.instances === pes);
  const peOut = c.modules.find((m) => m.block === 'pe_array' && m.instances === pes);
  const plainArray = c.plain.area_ge.pe_array + c.plain.area_ge.recon;
  return (
    `${c.rows}×${c.cols} W${c.wbits} ${c.recon}: plain array ${(plainArray / pes).toFixed(0)} GE per PE; ` +
    `with outliers the PE array is ${(c.area_ge.pe_array / pes).toFixed(0)} GE per PE` +
    (pePlain && peOut ? ` (PE \`${peOut.name}\` ${peOut.ge.toFixed(0)} GE against \`${pePlain.name}\` ${pePlain.ge.toFixed(0)} GE: wider lanes and partial sums)` : '') +
    `, and ReCoN adds ${(c.area_ge.recon / pes).toFixed(0)} GE per PE: ${(settingsGe / pes).toFixed(0)} GE of double-buffered lane settings (${(settingsFlops / pes).toFixed(0)} flip-flops per PE) and ${(netGe / pes).toFixed(0)} GE of network. ` +
    `Array overhead ${pct(c.outlier_overhead_array, 0)}: ${pct((c.area_ge.pe_array - c.plain.area_ge.pe_array) / plainArray, 0)} from the PEs, ${pct((settingsGe) / plainArray, 0)} from the settings registers, ${pct(netGe / plainArray, 0)} from the network.`
  );
}
const largest = sizes[sizes.length - 1]!;
const diagConfigs = wbitsList.flatMap((w) => ['crossbar', 'butterfly'].map((r) => find(largest.rows, largest.cols, w, r)).filter((c): c is ConfigReport => !!c));
const small = sizes[0]!;
const diagSmall = small === largest ? [] : wbitsList.flatMap((w) => ['crossbar', 'butterfly'].map((r) => find(small.rows, small.cols, w, r)).filter((c): c is ConfigReport => !!c));

// FPGA narrative numbers
let fpgaText = '_The iCE40 flow was not run for this report (--no-fpga)._\n';
if (fpga) {
  const devices = Object.keys(ICE40_DEVICES) as Ice40Device[];
  const fits = (r: FpgaResult) => devices.some((d) => r.pnr[d]?.fits);
  const accels = fpga.results.filter((r) => r.block === 'accelerator');
  const post = fpga.results.find((r) => r.block === 'post_array');
  const fitting = fpga.results.filter(fits);
  const bestPe = fpga.results.filter((r) => r.block === 'pe_array' && fits(r) && r.options.outliers);
  fpgaText =
    `Tools: ${fpga.tools.yosys.split('\n')[0]}; ${fpga.tools.nextpnr.split('\n')[0]}; nextpnr target ${fpga.freq_target_mhz} MHz, seed 1 (Fmax is nextpnr's estimate for the placed and routed design; \`--timing-allow-fail\`).\n\n` +
    fpgaMarkdown(fpga.results, devices) +
    '\n' +
    `- **Whole accelerators: ${accels.some(fits) ? 'some fit' : 'none fits'}.** The smallest legal array (2×4, B = 4, D = 2) needs ${accels.map((r) => `${r.accel.luts} LUTs (${fpgaLabel(r).replace('accelerator ', '')})`).join(', ')}, against ${ICE40_DEVICES.up5k.luts} logic cells in the UP5K and ${ICE40_DEVICES.hx8k.luts} in the HX8K. ` +
    (post
      ? `The post-array unit alone takes ${post.accel.luts} LUTs for C = ${post.options.cols} (${Math.round(post.accel.luts / post.options.cols)} per column: one int→fp32 converter and one fp32 adder each, plus the row buffers), more than the UP5K holds and ${pct(post.accel.luts / ICE40_DEVICES.hx8k.luts, 0)} of the HX8K, before the array, decode unit, controller and result FIFO (the rest of the smallest plain build: ${Math.max(0, (accels[0]?.accel.luts ?? 0) - post.accel.luts)} LUTs). `
      : '') +
    'An iCE40 build would need a post-array that shares one fp32 unit among columns, or a larger FPGA.\n' +
    `- **Blocks that fit** (${fitting.map((r) => fpgaLabel(r)).join('; ')}): ` +
    (bestPe.length ? `outlier-aware PE arrays up to ${bestPe.map((r) => `${r.options.rows}×${r.options.cols}`).sort().pop()} (${bestPe.map((r) => `${fpgaLabel(r).replace('pe-array ', '')}: ${r.accel.luts} LUTs`).join(', ')}). ` : '') +
    'The Fmax column shows how far the ReCoN merge stretches the PE array\'s critical path against the plain array, and the post-array unit\'s single-cycle read-modify-write path (buffer read, integer add, int→fp32, fp32 add, buffer write) bounds the whole accelerator\'s clock.\n';
}

// How long a run takes: with --resume the wall clock only covers the jobs run
// this time, so the estimate from scratch adds up every job's own tool time.
/** "1 minute", "44 minutes" */
const minutes = (s: number) => {
  const m = Math.max(1, Math.round(s / 60));
  return `${m} minute${m === 1 ? '' : 's'}`;
};
const jobs = bench.jobs ?? { total: 0, reused: 0, tool_s: 0, outside_pool_s: 0 };
const fromScratchMin = Math.round(jobs.reused > 0 ? (jobs.tool_s / 2 + jobs.outside_pool_s) / 60 : bench.elapsed_s / 60);
const benchTime =
  jobs.reused > 0
    ? `The benchmark's ${jobs.total} syntheses and simulations take ${(jobs.tool_s / 60).toFixed(0)} minutes of tool time (about ${fromScratchMin} minutes from scratch with 2 at a time); ${jobs.reused} of them came from earlier runs of the same version (\`--resume\`), so this run took ${minutes(bench.elapsed_s)}.`
    : `The benchmark took ${minutes(bench.elapsed_s)} (${jobs.total} syntheses and simulations, ${(jobs.tool_s / 60).toFixed(0)} minutes of tool time).`;

// ---------------------------------------------------------------- the document
const cellTable = ['| Yosys cell | NAND2-eq. | costed as |', '|---|--:|---|', ...CELL_AREA_GE.map((e) => `| \`${e.cell}\` | ${e.ge.toFixed(2)} | ${e.as.replace(/\|/g, '\\|')} |`)].join('\n');
const compareTable = compareMarkdown(compare.rows);
const b = bench;
const doc = `# Performance: area, throughput, FPGA fit and tool speed

Generated by \`npx tsx scripts/performance-report.ts\` (${b.date.slice(0, 10)}, msq ${b.version}, ${b.machine.cpus} × ${b.machine.model}, ${b.machine.memory_gib} GiB; load average ${b.machine.loadavg_start.join(' ')} at the start of the benchmark). Rerun it to refresh every number, table and plot here; the raw data is in [\`docs/perf/bench.json\`](perf/bench.json) (\`msq bench --json\`), [\`docs/perf/fpga.json\`](perf/fpga.json), [\`docs/perf/compare.json\`](perf/compare.json) and [\`docs/perf/signoff.json\`](perf/signoff.json). ${benchTime}

## Goals

| goal (issue 7) | measured | reached |
|---|---|---|
${goals.map((g) => `| ${g.goal} | ${g.measured} | ${g.ok ? '**yes**' : '**no**'} |`).join('\n')}

${areaGoalsMet ? 'Both area goals are met.' : 'The area goals are not reached: "Where the outlier-support area goes" below breaks the overhead down with the numbers. The PE array and ReCoN were not changed for this report (only the RTL style of the result FIFO, see Problems found).'}

## How to run

| command | what | time here |
|---|---|---|
| \`msq bench --quick [--json FILE]\` (or \`npm run bench -- --quick\`) | 4×8 W2, both topologies, M = 64 on Icarus, generation and quantizer speed, sign-off of the 4×8 W2 crossbar; \`npm run bench\` then runs the quantizer scripts at 1024×1024 | a few minutes (about 2 before the sign-off, which takes 1–2 more on an idle machine) |
| \`msq bench [--json FILE] [--jobs N] [--sizes 4x8,8x8] [--wbits 2,4] [--recon crossbar,butterfly] [--simulator verilator]\` | the full sweep of this page (progress on stderr, tables on stdout; \`--resume\` reuses finished jobs of an interrupted run) | ${fromScratchMin} min with 2 jobs |
| \`npm run bench\` | \`msq bench\`, then \`scripts/bench-quant.ts\` and \`scripts/bench-microscopiq.ts\` (4096×4096 and the Hessian mode) | |
| \`bash scripts/fpga-ice40.sh [--json FILE]\` | iCE40 flow (installs \`nextpnr-ice40\` and \`fpga-icestorm\` if missing) | ${fpga ? `${Math.max(1, Math.round(fpga.elapsed_s / 60))} min` : ''} |
| \`bash scripts/asic-synth.sh [generator flags] [--liberty FILE.lib] [--flatten] [--out DIR]\` | generic gate-level netlist, SDC, optional Liberty mapping | ${asic.yosys_s.toFixed(0)} s for ${asic.top} |
| \`msq signoff [generator flags] [--liberty FILE.lib] [--period NS] [--json FILE] [--check]\` | SKY130 HD sign-off: Fmax, worst slack, critical path by RTL register, area µm² by block, power (section "Sign-off timing") | ${signoff?.runs[0] ? `${Math.round(signoff.runs[0].wall_s)} s for ${signoff.runs[0].report.top}` : 'not run'} |
| \`npx tsx scripts/performance-report.ts [--bench FILE] [--fpga FILE \\| --no-fpga]\` | this page | the sum of the above |

The JSON of \`msq bench --json\` has, per configuration, \`rows\`, \`cols\`, \`wbits\`, \`recon\`, \`cells\` (\`total\`, \`pe_array\`, \`recon\`, \`decode\`, \`post\`, \`control\`), \`outlier_overhead\` (whole accelerator) and \`utilization\` keyed \`"0"\`, \`"0.01"\`, \`"0.02"\`, \`"0.05"\`, \`"0.09"\` (9 %: the outlier rule's limit at G = 32 is 3/32); at the top \`generate_64x64_s\` and \`quantize_melem_per_s\` (\`mxfp4_e2m1\`, \`microscopiq\`). Extra keys: \`area_ge\` and \`flops\` by block, \`outlier_overhead_array\`, \`outlier_overhead_by_block\`, the plain build's numbers, per-module cells, the simulated cycles, weight words per tile and the quantizer's outlier fraction of every run, the default simulation's Verilator build and run time, the output-buffer depth sweep and the utilization-against-M sweep; \`signoff\` has, per configuration of the sweep at D = 16, \`fmax_mhz\`, \`wns_ns\`, \`area_um2\`, \`area_um2_by_block\`, \`critical_path\` and \`block_paths\` (\`msq signoff --json\` has the same keys and more; \`msq bench --no-signoff\` skips it).

## Method

**Area.** Each configuration is generated and synthesized by Yosys ${'0.23'} with \`synth -top <top>\` (generic gates, hierarchy kept) and \`stat\`; each module's own cells are multiplied by its instance count and summed per block by module name: PE array (\`msq_pe_*\`, \`msq_pe_array_*\`, including the array's skew and swap registers), ReCoN (\`msq_recon_*\`: per-row slices with their lane settings, networks, switches), decode (\`msq_decode_*\`), post-array (\`msq_post_array_*\`, \`msq_int2fp32_*\`, \`msq_fp32_add\`, with the row buffers), control (\`msq_controller_*\`, the result FIFO \`msq_fifo_*\`, and the top's own cells: the metadata delay line). Area runs use an output-buffer depth D = ${b.area_depth} so that buffers do not dominate (there are no SRAM macros: Yosys maps the row buffers and the FIFO to flip-flops); the depth sweep below shows what the default D = 256 costs. Arrays use a = 8, B = 8, G = 32 (G = R when R > 32). "Plain" is the same array built with \`--no-outliers\`. The **outlier-support overhead** is (area with outliers − area plain) / area plain, in NAND2-equivalents: for the whole accelerator (\`outlier_overhead\`) and for the array (\`outlier_overhead_array\`: PE array + ReCoN against the plain PE array).

Every buffer is a RAM (\`reg [W-1:0] name [0:DEPTH-1]\`), which Yosys maps to flip-flops and word multiplexers; \`test/bench.test.ts\` checks that the accelerator's buffers reach synthesis as memories (a flat vector read as \`v[i * W +: W]\` is a \`$shiftx\` that Yosys 0.23 expands over every bit: the old result FIFO written that way kept plain \`synth\` of the 32×32 accelerator in \`techmap\` for over 15 minutes).

**Cell-area model** (\`perf/cell-area.ts\`): NAND2-equivalents per Yosys gate cell, from X1 cell areas of a typical 45 nm library (NanGate FreePDK45 Open Cell Library: NAND2 0.798 µm², INV 0.532, AND2/OR2 1.064, XOR2/XNOR2 1.596, MUX2 1.862, AOI21 1.064, AOI22 1.330, DFF 4.522, DFFR 5.320) divided by the NAND2, rounded to thirds; gates the library lacks are costed as the cheapest combination it has, flip-flop variants add their enable multiplexer and reset gate. An unknown cell type is an error.

${cellTable}

Check against a real mapping: ${asic.top} maps (\`dfflibmap\` + \`abc -liberty\`, [\`scripts/asic-synth.sh\`](../scripts/asic-synth.sh)) to the toy library [\`perf/liberty/msq-ge.lib\`](../perf/liberty/msq-ge.lib), whose cell areas are the model's, at ${asic.liberty.area.toFixed(0)} area units against the model's ${asic.nand2_equivalents.total} NAND2-equivalents on the generic netlist: the model is ${pct(asic.nand2_equivalents.total / asic.liberty.area - 1, 0)} above what ABC reaches with AOI/OAI cells and plain flip-flops; read the absolute numbers as upper estimates and the ratios (overheads) as the result.

**Throughput.** \`msq sim\` (the golden-vector testbench through the accelerator's ports, every result word checked) with no stalls and one run, on ${b.configs[0]?.throughput.simulator ?? 'verilator'}, D = ${b.configs[0]?.throughput.depth ?? ''} (≥ M: each weight tile is streamed once), for Y = X·Wᵀ with M = ${b.configs[0]?.throughput.shape.M}, N = 2C (two N-tiles, whole tiles) and K = 1024, or less on small arrays: a pass takes (K/R)·M beats before its first result, and K is cut to keep that at most ${PASS_BEATS_LIMIT}, so every run is about as long (the M×K×N column of the table; a smaller K only lowers utilization, by the fill and drain of more passes). Utilization = M·K·N / (cycles · R·C), cycles from \`start\` to \`done\`. The outlier rate is \`msq sim --outlier-rate\`: the fraction of large outliers in the synthetic LLM-like weights; the table also gives the fraction of weights the quantizer stores as outliers (the heavy-tailed body alone gives about 2 %).

**Tool speed.** Generation of a 64×64 array (W4A8, B = 8, G = 64: elaboration, rendering and the atomic write of every file) timed in one process after a warm-up run, median of ${b.generate_64x64.runs_s.length}, and once as \`msq generate\` from the shell; Verilator build and run of the default \`msq sim\` (8×8 W4A8 crossbar, default problem, 2 runs, 20 % stalls), median of ${b.default_sim?.repeats ?? 0}; direct-cast throughput on ${b.quantize.size}×${b.quantize.size}: MX mxfp4_e2m1 on the data of \`scripts/bench-quant.ts\`, MicroScopiQ (W4 crossbar, the defaults; W2 as an extra) on the LLM-like weights of \`scripts/bench-microscopiq.ts\`, median of ${b.quantize.runs} runs, single thread.

## Area

${areaTable(b)}
kGE: thousands of NAND2-equivalents; blocks as defined above; overheads against the plain array of the same size and W.

![area per PE, W2](perf/area-per-pe-w2.svg)
![area per PE, W4](perf/area-per-pe-w4.svg)
![area against size](perf/area-vs-size.svg)

Gate cells (what the JSON's \`cells\` holds) and Yosys time:

${cellsTable(b)}
### Where the outlier-support area goes

${[...diagSmall, ...diagConfigs].map((c) => `- ${overheadDiagnosis(c)}`).join('\n')}

Every row of the array has its own ReCoN slice for each μB, and each slice holds its lanes' settings twice (shadow and active, like the weights); the crossbar selects and shifts LW-bit lane values from any lane, the butterfly through log2 B stages of switches; and the PEs themselves grow (lane and partial-sum widths carry the outlier shift). ${areaGoalsMet ? '' : 'Meeting 25 % (crossbar) or 15 % (butterfly) of the array would need a different organization, for example one ReCoN per column group shared by all rows, or settings held once per tile instead of per row: a hardware change outside this issue.'}

### Output-buffer depth

${depthTable(b) || '_not measured in this run_\n'}
The post-array row buffers hold D × C × (INTW + 32) bits and are flip-flops here; at the default D = 256 they dwarf the array, so real designs should map them to SRAM.

## Throughput

${utilizationTable(b)}
![utilization W2](perf/utilization-w2.svg)
![utilization W4](perf/utilization-w4.svg)

At M = ${b.configs[0]?.throughput.shape.M} every configuration ${utilValues.length === OUTLIER_RATES.length * b.configs.length ? '' : 'that simulated '}stays at or above ${pct(Math.min(...utilValues), 1)}: the array streams one activation beat per cycle and loses only the fill and drain of each pass. The weight stream is the limit to watch: the decode unit takes one 32-bit word per cycle, and a tile is used for M beats, so a tile of W words needs M ≥ W to hide its loading (column "weight words per tile"). Outliers lengthen the records only slightly (the quantizer stores ${pct(Math.min(...allRuns.map((r) => r.outlier_fraction)), 1)} … ${pct(Math.max(...allRuns.map((r) => r.outlier_fraction)), 1)} of the weights as outliers at these rates), so utilization barely moves with the rate.

${b.m_sweep ? `### Where the weight stream limits: utilization against M\n\n${mSweepTable(b)}\n![utilization against M](perf/utilization-vs-m.svg)\n\nFor ${b.m_sweep.top} a tile is about ${b.m_sweep.points[b.m_sweep.points.length - 1]!.words_per_tile} words: with fewer rows than that per pass (small M, or a small output buffer D, which splits M into chunks and re-sends the weights of every chunk), the 32-bit weight port, not the array, sets the speed. Large arrays (more words per tile) need larger M; a wider weight port would move the bound.\n` : ''}
## FPGA: iCE40 UP5K and HX8K

\`bash scripts/fpga-ice40.sh\` synthesizes with \`synth_ice40\` and places and routes with \`nextpnr-ice40\` on the UP5K (sg48) and HX8K (ct256). The accelerator has hundreds of port bits, so each design sits in a four-pin wrapper (\`perf/fpga.ts\`): all inputs come from a shift register on one pin, all outputs are XOR-reduced onto one registered pin, so no logic is optimized away; LUT and flip-flop columns are the design alone (hierarchy kept), "wrapped" includes the wrapper.

${fpgaText}
The iCE40 blocks after the pipelining of issue 13: [TIMING_CLOSURE.md](TIMING_CLOSURE.md).

## ASIC hand-off

\`bash scripts/asic-synth.sh --rows 4 --cols 8 --wbits 4 --depth 16 --liberty my.lib\` writes into \`build/asic/<top>/\`: \`rtl/\` (the \`msq generate\` output), \`<top>.sdc\` (from \`msq generate\`: \`create_clock\` on \`clk\` with a 5 ns period, input and output delays of 20 % of the period on every other port; reset synchronous), \`<top>.generic.v\` (Yosys generic gate-level netlist, hierarchy kept; \`--flatten\` flattens), \`stat.generic.txt\`, and with \`--liberty\`: flip-flops legalized to plain D flip-flops (\`dfflegalize\`), \`dfflibmap\`, \`abc -D <period> -liberty\`, \`stat -liberty\` (the library's area) and \`<top>.<library>.v\`; \`summary.json\` holds cells, NAND2-equivalents by block and the library area. For the run above: ${asic.cells.total} generic cells, ${asic.nand2_equivalents.total} NAND2-equivalents (model), ${asic.liberty.area.toFixed(0)} in the toy library. Timing-driven synthesis and place-and-route need a real library and tools beyond Yosys (OpenROAD, commercial flows); the SDC is written for them. For post-synthesis timing in SKY130 see the next section.

${signoff ? signoffDocSection(signoff, b.signoff?.configs.length ? benchSignoffTable(b) : '') : '## Sign-off timing (SKY130 HD, post-synthesis)\n\n_not run: no Liberty library on this machine (see README)._\n'}
## Quantization quality: SQNR against EBW

\`msq compare\` on LLM-like synthetic weights (${N}×${K}, \`llmLikeWeights\` seed 1) with ${M}×${K} LLM-like activations (X kept in full precision); \`docs/QUALITY.md\` has the full quality study, including calibration and a real model layer.

${compareTable}
![SQNR against EBW](perf/sqnr-vs-ebw.svg)

## Tool speed

${toolSpeedTable(b)}
## Problems found

${areaGoalsMet ? '' : `- **Outlier-support area is ${range([...xbarOver, ...bflyOver])} of the array** against goals of 25 % (crossbar) and 15 % (butterfly); whole accelerators ${range(b.configs.map((c) => c.outlier_overhead))}. Breakdown above (PE growth, settings registers, network).\n`}${worstUtil.u >= 0.9 ? '' : `- **Utilization below 90 %** at outlier rates ≤ 5 %: ${goals[0]!.measured}.\n`}${fpgaNoFit ? '- **No whole accelerator fits an iCE40 UP5K or HX8K**, not even the smallest (2×4): the fp32 post-array (one int→fp32 converter and one fp32 adder per column, C ≥ 4) takes most of the device (FPGA section).\n' : ''}- **Results wait in the post-array unit's fbuf** (read out through a second registered port into a C × 32-bit output register): there is no result FIFO since issue 13 (it was up to 32 rows of C × 32 flip-flops, 167 350 µm² of the default 8×8 in SKY130).
- **\`msq sim\` failed valid long-K problems** (fixed while writing this report): its testbench reported "not done" after 20000 cycles without a *result* beat, but a pass over K yields its first result only after (K/R)·min(M, D) beats, so e.g. \`msq sim --m 256 --k 1024 --n 16 --stall 0\` on the default 8×8 failed although the accelerator was working. The timeout now counts cycles without a handshake on any stream, with an overall cycle limit per run for a design that consumes input but never finishes; \`test/accel-sim.test.ts\` runs a pass whose first result comes after more than 20000 cycles.
- **Buffers in flip-flops**: the post-array row buffers at the default D = 256 dominate the area (depth sweep).
`;
writeFileAtomically(OUT, doc);
log(`wrote ${OUT} and ${plots.map((p) => join(PERF, p)).join(', ')}`);
