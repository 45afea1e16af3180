/** Markdown tables of a bench report (printed by `msq bench`, reused by docs/PERFORMANCE.md). */
import type { BenchReport, ConfigReport } from './bench.ts';
import { OUTLIER_RATES } from './bench.ts';
import { signoffTable } from './signoff-format.ts';

const k = (x: number) => (x / 1000).toFixed(1);
const pct = (x: number | null | undefined) => (x === null || x === undefined ? 'failed' : `${(100 * x).toFixed(1)}%`);
const label = (c: { rows: number; cols: number; wbits: number }) => `${c.rows}×${c.cols} W${c.wbits}`;

export function areaTable(r: BenchReport): string {
  const head = '| array | ReCoN | cells | kGE total | PE array | ReCoN | decode | post-array | control | flip-flops | plain kGE | overhead (accelerator) | overhead (array) |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n';
  const rows = r.configs.map(
    (c: ConfigReport) =>
      `| ${label(c)} | ${c.recon} | ${c.cells.total} | ${k(c.area_ge.total)} | ${k(c.area_ge.pe_array)} | ${k(c.area_ge.recon)} | ${k(c.area_ge.decode)} | ${k(c.area_ge.post)} | ${k(c.area_ge.control)} | ${c.flops.total} | ${k(c.plain.area_ge.total)} | ${pct(c.outlier_overhead)} | ${pct(c.outlier_overhead_array)} |`,
  );
  return head + rows.join('\n') + '\n';
}

export function cellsTable(r: BenchReport): string {
  const head = '| array | ReCoN | total | PE array | ReCoN | decode | post-array | control | plain total | plain PE array | Yosys s |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n';
  const rows = r.configs.map(
    (c) =>
      `| ${label(c)} | ${c.recon} | ${c.cells.total} | ${c.cells.pe_array} | ${c.cells.recon} | ${c.cells.decode} | ${c.cells.post} | ${c.cells.control} | ${c.plain.cells.total} | ${c.plain.cells.pe_array} | ${c.synth_s.toFixed(0)} |`,
  );
  return head + rows.join('\n') + '\n';
}

export function utilizationTable(r: BenchReport): string {
  const rates = OUTLIER_RATES.map((x) => `${x * 100}%`);
  const head = `| array | ReCoN | M×K×N | ${rates.join(' | ')} | cycles at 0% / 10% | weight words per tile at 0% / 10% | quantizer outliers at 0% / 10% |\n|---|---|---|${rates.map(() => '--:').join('|')}|--:|--:|--:|\n`;
  const rows = r.configs.map((c) => {
    const s = c.throughput.shape;
    const first = c.throughput.runs[0];
    const last = c.throughput.runs[c.throughput.runs.length - 1];
    const both = (f: (r: NonNullable<typeof first>) => string) => `${first ? f(first) : 'failed'} / ${last ? f(last) : 'failed'}`;
    return `| ${label(c)} | ${c.recon} | ${s.M}×${s.K}×${s.N} | ${OUTLIER_RATES.map((x) => pct(c.utilization[String(x)])).join(' | ')} | ${both((r) => String(r.cycles))} | ${both((r) => String(r.words_per_tile))} | ${both((r) => pct(r.outlier_fraction))} |`;
  });
  return head + rows.join('\n') + '\n';
}

export function toolSpeedTable(r: BenchReport): string {
  const lines = [
    '| measurement | value |',
    '|---|--:|',
    `| 64×64 generation (elaborate + render + write, in process, median of ${r.generate_64x64.runs_s.length}) | ${r.generate_64x64_s.toFixed(2)} s |`,
    `| 64×64 generation as \`msq generate\` (Node start-up included, one run) | ${r.generate_64x64.cli_s.toFixed(2)} s |`,
    r.default_sim
      ? `| default \`msq sim\`: Verilator build (median of ${r.default_sim.repeats}) | ${r.default_sim.verilator_build_s.toFixed(1)} s |\n| default \`msq sim\`: simulation run (2 runs, 20 % stalls: ${r.default_sim.cycles.join(' + ')} cycles) | ${r.default_sim.run_s.toFixed(2)} s |`
      : '| default `msq sim` Verilator build and run | not measured (--quick) |',
    `| MX mxfp4_e2m1 direct-cast, ${r.quantize.size}×${r.quantize.size} (median of ${r.quantize.runs}) | ${r.quantize_melem_per_s.mxfp4_e2m1.toFixed(1)} M elem/s |`,
    `| MicroScopiQ W4 crossbar direct-cast, ${r.quantize.size}×${r.quantize.size} | ${r.quantize_melem_per_s.microscopiq.toFixed(1)} M elem/s |`,
    `| MicroScopiQ W2 crossbar direct-cast, ${r.quantize.size}×${r.quantize.size} | ${r.quantize_melem_per_s.microscopiq_w2.toFixed(1)} M elem/s |`,
  ];
  return lines.join('\n') + '\n';
}

export function depthTable(r: BenchReport): string {
  if (r.depth_sweep.length === 0) return '';
  const head = '| depth D | kGE total | post-array kGE | flip-flops | Yosys s |\n|--:|--:|--:|--:|--:|\n';
  return head + r.depth_sweep.map((d) => `| ${d.depth} | ${k(d.area_ge.total)} | ${k(d.area_ge.post)} | ${d.flops.total} | ${d.synth_s.toFixed(0)} |`).join('\n') + '\n';
}

export function mSweepTable(r: BenchReport): string {
  const m = r.m_sweep;
  if (!m) return '';
  const head = '| M | cycles | utilization | weight words per tile | bound min(1, M / words per tile) |\n|--:|--:|--:|--:|--:|\n';
  return head + m.points.map((p) => `| ${p.M} | ${p.cycles} | ${pct(p.utilization)} | ${p.words_per_tile} | ${pct(Math.min(1, p.M / p.words_per_tile))} |`).join('\n') + '\n';
}

/** The sign-off section's table: Fmax, WNS, area and critical path per configuration of the sweep. */
export function benchSignoffTable(r: BenchReport): string {
  if (!r.signoff) return '';
  return signoffTable(r.signoff.configs.map((c) => ({ label: label(c), recon: c.outliers ? c.recon : 'plain', report: c })));
}

export function benchMarkdown(r: BenchReport): string {
  const parts = [
    `# msq bench (${r.mode}), ${r.version}, ${r.machine.cpus} CPUs (${r.machine.model}), ${r.elapsed_s.toFixed(0)} s\n`,
    `## Area (generic Yosys synthesis, depth D = ${r.area_depth}; kGE = thousands of NAND2-equivalents)\n`,
    areaTable(r),
    '\n## Gate cells by block\n',
    cellsTable(r),
    `\n## Utilization (${r.configs[0]?.throughput.simulator ?? ''}, no stalls, D = ${r.configs[0]?.throughput.depth ?? ''})\n`,
    utilizationTable(r),
    '\n## Tool speed\n',
    toolSpeedTable(r),
  ];
  if (r.signoff) {
    parts.push(`\n## Sign-off timing (${r.signoff.library}, post-synthesis, period ${r.signoff.period_ns} ns, D = ${r.signoff.depth}; Fmax = 1 / (period − worst slack))\n`, r.signoff.configs.length ? benchSignoffTable(r) : '_every sign-off run failed (see Failures)_\n');
  } else if (r.signoff_skipped) {
    parts.push(`\n## Sign-off timing\n`, `_not run: ${r.signoff_skipped}_\n`);
  }
  if (r.failures.length) parts.push(`\n## Failures (${r.failures.length})\n`, r.failures.map((f) => `- ${f.job}: ${f.error.split('\n').slice(0, 4).join(' / ')}`).join('\n') + '\n');
  if (r.m_sweep) parts.push(`\n## Utilization against M, ${r.m_sweep.top} (K = ${r.m_sweep.K}, N = ${r.m_sweep.N}, outlier rate ${r.m_sweep.outlier_rate})\n`, mSweepTable(r));
  if (r.depth_sweep.length) parts.push('\n## Output-buffer depth, default 8×8 W4 crossbar\n', depthTable(r));
  return parts.join('\n');
}
