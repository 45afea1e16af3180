/**
 * The sign-off flow behind `msq signoff` (and the sign-off section of `msq
 * bench`): post-synthesis timing, area and power of one generated design in a
 * real standard-cell library.
 *
 * 1. Generate the RTL into WORK/rtl.
 * 2. Yosys (perf/signoff-yosys.ts): generic synthesis with the top's blocks
 *    kept as modules, flip-flops mapped by `dfflibmap`, logic by ABC with a
 *    timing-driven script at the period (delay mapping, buffering, sizing),
 *    against the library's synthesis view (perf/signoff-library.ts: no
 *    power-management, delay or tristate cells); `stat -liberty` for the area
 *    per module; the mapped netlist WORK/<top>.netlist.v.
 * 3. OpenSTA (perf/signoff-sta.ts) on that netlist at the period: worst slack,
 *    TNS, the worst paths with their start and end as RTL registers, and
 *    `report_power` at a stated switching activity.
 * Fmax = 1 / (period − worst slack): the clock at which the worst path would
 * just meet timing. Every tool call has a time limit; a tool that is missing,
 * fails or times out is a ToolError (`msq: error: …`, exit 1).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTop, type GenerateOptions } from '../generator/targets.ts';
import type { Item, ModuleDef } from '../generator/dsl/module.ts';
import { writeRtlFiles } from '../generator/emit.ts';
import { ToolError } from '../common/errors.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import { categoryOf, type Category } from './area.ts';
import { runAsync, type AsyncToolResult } from './exec.ts';
import { bufferCell, drivingCell, libraryCells, libraryName, synthesisView, tieCell } from './signoff-library.ts';
import { DEFAULT_LOAD_PF, abcConstraints, abcScript, parseLibertyStat, yosysScript, yosysVersion, type LibertyStat } from './signoff-yosys.ts';
import { parseStaOutput, staScript, staVersion, type TimingPath } from './signoff-sta.ts';

/** Default clock period of the sign-off (ns): the 250 MHz goal of issue 13. */
export const DEFAULT_SIGNOFF_PERIOD_NS = 4;
/** Default switching activity for the power estimate: transitions per clock cycle on every non-clock net. */
export const DEFAULT_ACTIVITY = 0.1;
export const DEFAULT_DUTY = 0.5;
/** Input and output delays, as the SDC of `msq generate`: 20 % of the period each side. */
export const IO_DELAY_FRACTION = 0.2;
/** Default time limit of one tool call (minutes). */
export const DEFAULT_TOOL_TIMEOUT_MIN = 120;
/**
 * ABC's delay target is the period minus this fraction of it (1.0 ns at 4 ns).
 * ABC times only the logic between flip-flops, so without a margin it fills a
 * path up to the whole period and OpenSTA then adds the flip-flops' clock-to-Q
 * and setup (about 0.28 + 0.12 ns for SKY130 HD's dfxtp_1 at tt), and the
 * buffer trees behind a flip-flop's weak output, which ABC's load model sees
 * too lightly; and once a target is out of reach, ABC's area recovery relaxes
 * every other path up to the slowest one it kept. Measured (docs/TIMING_CLOSURE.md,
 * "ABC's delay target"): the post-array unit of the default 8x8 (C = 8, D = 16)
 * at target 4 ns 231.7 MHz, 3.5 ns 241.4 MHz; the decode unit alone over six
 * configurations at 3.5 / 3.0 / 2.75 / 2.5 ns: median 258.5 / 272.4 / 287.1 /
 * 298.6 MHz; whole accelerators (4x8 W4 crossbar, 4x16 W2 butterfly, D = 16) at
 * 3.5 ns 245.9 / 239.0 MHz, at 3.0 ns 260.6 / 260.5 MHz with +0.01 % area, the
 * 4x8 unchanged at 2.75 and 2.5 ns (its area +0.04 / +0.07 %).
 */
export const DEFAULT_SYNTH_MARGIN_FRACTION = 0.25;
/** Worst paths (distinct endpoints) kept in the report. */
export const REPORTED_PATHS = 10;

/**
 * Yosys's names of modules after `hierarchy`: an instance that binds parameters (the DSL
 * shows every binding, equal to the child's own values) makes its module
 * `$paramod$<hash>\name`, an instance without bindings keeps `name`.
 */
function yosysModuleNames(modules: readonly ModuleDef[]): (name: string) => string[] {
  const bound = new Set<string>();
  const plain = new Set<string>();
  const walk = (items: readonly Item[]) => {
    for (const i of items) {
      if (i.kind === 'instance') (i.params.size > 0 ? bound : plain).add(i.module.name);
      else if (i.kind === 'generate') walk(i.items);
    }
  };
  for (const m of modules) walk(m.items);
  return (name) => [...(plain.has(name) || !bound.has(name) ? [name] : []), ...(bound.has(name) ? [`$paramod*\\${name}`] : [])];
}

/**
 * Units synthesized as modules of their own wherever they are instantiated
 * (besides the top's blocks): every one of their inputs comes from a register
 * with no logic between, every output is a register, and they have no reset
 * (so no high-fanout net crosses into them: with a reset, the unbuffered rst_n
 * net into 2C unit ports took 2.3 ns at 16x16), so ABC loses nothing at their
 * boundary, and each distinct unit is mapped once for all its instances (C of
 * each in a post-array unit). Flattened into the post-array unit they are most
 * of its gates (68 000-80 000 at 16x16): ABC's estimate then met its 3 ns
 * target in one build and missed it by 0.5 ns in another of the very same
 * post-array RTL (its node order follows the rest of the design), and missing
 * it relaxes paths up to the slowest: integer accumulations and the adder's
 * reverse subtraction became ripples of maj3 cells (16x16 W4 plain: u_post
 * slack +0.45 ns in one run, -0.09 ns in the next).
 */
export const SEPARATE_SYNTHESIS_BLOCKS: ReadonlySet<string> = new Set(['int-to-fp32', 'fp32-add']);

export interface SignoffOptions {
  /** what to build (an accelerator configuration, or the PE alone) */
  design: GenerateOptions;
  /** Liberty file (checked by resolveLiberty) */
  liberty: string;
  periodNs: number;
  /** ABC's delay target is periodNs minus this (ns); default DEFAULT_SYNTH_MARGIN_FRACTION of the period */
  synthMarginNs?: number;
  activity: number;
  /** a prepared, empty work folder (absolute) */
  work: string;
  /** time limit of each tool call (ms) */
  timeoutMs: number;
  /** progress lines (stage and elapsed time); default: none */
  progress?: (line: string) => void;
}

export interface SignoffPath {
  from: string;
  to: string;
  delay_ns: number;
  slack_ns: number;
  from_kind: TimingPath['fromKind'];
  to_kind: TimingPath['toKind'];
  /** cells on the path after the launching flip-flop */
  cells: number;
  /** as OpenSTA names them (instance or port) */
  startpoint: string;
  endpoint: string;
}

export interface SignoffBlock {
  /** instance name in the top (`u_post`), or `top` for the top's own cells */
  name: string;
  module: string;
  category: Category;
  area_um2: number;
  cells: number;
  flops: number;
}

export interface SignoffReport {
  generator: string;
  version: string;
  date: string;
  top: string;
  /** the design's configuration, as in its manifest.json */
  config: Record<string, unknown>;
  library: { name: string; path: string; dont_use_cells: number };
  period_ns: number;
  /** 1 / (period − worst slack) */
  fmax_mhz: number;
  /** worst negative slack: min(0, worst slack) */
  wns_ns: number;
  /** worst slack, signed (positive: the period is met with margin) */
  worst_slack_ns: number;
  tns_ns: number;
  met: boolean;
  critical_path: SignoffPath | null;
  /** the worst paths of the design, one per endpoint */
  worst_paths: SignoffPath[];
  /** the worst path ending in each block (instance name, and `top` for the top's own flip-flops and outputs) */
  block_paths: Record<string, SignoffPath>;
  /** library area of the whole design (µm² for SKY130) */
  area_um2: number;
  /** library area by block: the top's submodule instances and `top` (its own cells) */
  area_um2_by_block: Record<string, number>;
  blocks: SignoffBlock[];
  cells: number;
  flops: number;
  /** null when this OpenSTA cannot report power (power_reason says why) */
  power_mw: number | null;
  power: { activity: number; duty: number; clock_mhz: number; internal_mw: number; switching_mw: number; leakage_mw: number; method: string } | null;
  power_reason?: string;
  constraints: { clock: string; io_delay_ns: number; io_delay_fraction: number; driving_cell: string | null; load_pf: number };
  flow: { hierarchy: string; abc_script: string; /** ABC's delay target: the period minus the synthesis margin */ synth_target_ns: number; abc_constraints: boolean };
  tools: { yosys: string; sta: string };
  /** errors and warnings OpenSTA printed (it carries on after a failed command) */
  sta_messages: string[];
  seconds: { generate: number; yosys: number; sta: number; total: number };
  work: string;
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

function toolFailure(what: string, r: AsyncToolResult, log: string, work: string): ToolError {
  if (r.startError) return new ToolError(`${what}: ${r.startError}`);
  const tail = log.trim().split('\n').filter((l) => !/Found unsupported expression/.test(l)).slice(-12).join('\n  ');
  return new ToolError(`${what} failed (exit status ${r.status ?? 'none'}; work folder ${work}):\n  ${tail}`);
}

/** Names of the library's sequential cells (cells with an `ff` or `latch` group). */
function sequentialCells(libText: string): Set<string> {
  const out = new Set<string>();
  const re = /^\s*cell\s*\(\s*"?([A-Za-z0-9_$]+)"?\s*\)|^\s*(ff|latch)\s*\(/gm;
  let cell: string | undefined;
  for (const m of libText.matchAll(re)) {
    if (m[1]) cell = m[1];
    else if (cell) out.add(cell);
  }
  return out;
}

/** Library area, cells and flip-flops of a module through its hierarchy. */
function moduleTotals(stat: LibertyStat, name: string, seq: Set<string>): { area: number; cells: number; flops: number } {
  const m = stat.modules.get(name);
  if (!m) return { area: 0, cells: 0, flops: 0 };
  let flops = 0;
  for (const [t, n] of m.cellTypes) if (seq.has(t)) flops += n;
  const t = { area: m.area, cells: m.cells, flops };
  for (const [child, n] of m.children) {
    const c = moduleTotals(stat, child, seq);
    t.area += n * c.area;
    t.cells += n * c.cells;
    t.flops += n * c.flops;
  }
  return t;
}

const pathJson = (p: TimingPath): SignoffPath => ({
  from: p.from,
  to: p.to,
  delay_ns: round(p.delayNs, 4),
  slack_ns: round(p.slackNs, 4),
  from_kind: p.fromKind,
  to_kind: p.toKind,
  cells: p.cells,
  startpoint: p.startpoint,
  endpoint: p.endpoint,
});

export async function runSignoff(o: SignoffOptions): Promise<SignoffReport> {
  const t0 = performance.now();
  const say = o.progress ?? (() => {});
  const since = (t: number) => ((performance.now() - t) / 1000).toFixed(1);
  const work = o.work;

  // 1. RTL
  const gen = buildTop(o.design);
  const top = gen.design.top.name;
  const rtlDir = join(work, 'rtl');
  mkdirSync(rtlDir, { recursive: true });
  const files = writeRtlFiles(rtlDir, gen.design).map((f) => `rtl/${f}`);
  const blocks = gen.design.top.items.flatMap((i) => (i.kind === 'instance' ? [{ name: i.name, module: i.module.name }] : []));
  const separateUnits = gen.design.modules.filter((m) => SEPARATE_SYNTHESIS_BLOCKS.has(String(m.config.block))).map((m) => m.name);
  const yosysNames = yosysModuleNames(gen.design.modules);
  const tGen = (performance.now() - t0) / 1000;
  say(`generated ${top} (${files.length} modules) in ${tGen.toFixed(1)} s`);

  // 2. library views and Yosys
  const libText = readFileSync(o.liberty, 'utf8');
  const view = synthesisView(libText);
  const cells = libraryCells(libText);
  const synthLib = `${libraryName(o.liberty)}.synth.lib`;
  writeFileSync(join(work, synthLib), view.text);
  const driver = drivingCell(cells, view.dontUse);
  const periodPs = o.periodNs * 1000;
  const synthMarginNs = o.synthMarginNs ?? o.periodNs * DEFAULT_SYNTH_MARGIN_FRACTION;
  const targetPs = Math.round((o.periodNs - synthMarginNs) * 1000);
  writeFileSync(join(work, 'abc.script'), abcScript(targetPs, driver !== undefined));
  if (driver) writeFileSync(join(work, 'abc.constr'), abcConstraints({ drivingCell: driver, loadPf: DEFAULT_LOAD_PF }));
  const netlist = `${top}.netlist.v`;
  writeFileSync(
    join(work, 'synth.ys'),
    yosysScript({
      files,
      top,
      blockModules: [...new Set([...blocks.map((b) => b.module), ...separateUnits])].flatMap(yosysNames),
      synthLiberty: synthLib,
      liberty: o.liberty,
      periodPs: targetPs,
      abcScriptFile: 'abc.script',
      abcConstrFile: driver ? 'abc.constr' : undefined,
      tie: tieCell(cells),
      buffer: bufferCell(cells),
      netlist,
      statFile: 'stat.liberty.txt',
    }),
  );
  const yv = await runAsync('yosys', ['-V'], work, 60_000);
  if (!yv.ok) throw toolFailure('yosys -V', yv, yv.output, work);
  const sv = await runAsync('sta', ['-version'], work, 60_000);
  if (!sv.ok) throw toolFailure('sta -version', sv, sv.output, work);
  const t1 = performance.now();
  say(`yosys: synthesis to ${libraryName(o.liberty)} with timing-driven ABC at ${targetPs / 1000} ns for a ${o.periodNs} ns period (time limit ${Math.round(o.timeoutMs / 60000)} min) ...`);
  const y = await runAsync('yosys', ['-q', '-l', 'yosys.log', '-s', 'synth.ys'], work, o.timeoutMs);
  let ylog = y.output;
  try {
    ylog = readFileSync(join(work, 'yosys.log'), 'utf8');
  } catch {
    // no log: keep the output
  }
  if (!y.ok) throw toolFailure(`yosys (synthesis of ${top})`, y, ylog, work);
  const tYosys = (performance.now() - t1) / 1000;
  say(`yosys: done in ${since(t1)} s`);
  const stat = parseLibertyStat(readFileSync(join(work, 'stat.liberty.txt'), 'utf8'));
  const seq = sequentialCells(libText);

  // 3. OpenSTA
  writeFileSync(
    join(work, 'sta.tcl'),
    staScript({ liberty: o.liberty, netlist, top, periodNs: o.periodNs, ioFraction: IO_DELAY_FRACTION, drivingCell: driver, loadPf: DEFAULT_LOAD_PF, activity: o.activity, duty: DEFAULT_DUTY, paths: REPORTED_PATHS, blocks: blocks.map((b) => b.name) }),
  );
  const t2 = performance.now();
  say(`sta: timing and power at ${o.periodNs} ns ...`);
  const s = await runAsync('sta', ['-no_splash', '-exit', 'sta.tcl'], work, o.timeoutMs);
  writeFileSync(join(work, 'sta.log'), s.output);
  if (s.startError) throw toolFailure('sta', s, s.output, work);
  let sta;
  try {
    sta = parseStaOutput(s.stdout);
  } catch {
    throw toolFailure('sta (timing analysis)', s, s.output, work);
  }
  const tSta = (performance.now() - t2) / 1000;
  // OpenSTA goes on after an error in one command: pass its complaints on
  const staWarnings = [...new Set(s.output.split('\n').filter((l) => /^(Error|Warning)\b/.test(l)))].slice(0, 20);
  for (const w of staWarnings) say(`sta: ${w}`);
  say(`sta: done in ${since(t2)} s`);

  // 4. the report
  const whole = moduleTotals(stat, top, seq);
  const topOwn = stat.modules.get(top);
  const blockRows: SignoffBlock[] = blocks.map((b) => {
    const t = moduleTotals(stat, b.module, seq);
    return { name: b.name, module: b.module, category: categoryOf(b.module), area_um2: round(t.area, 1), cells: t.cells, flops: t.flops };
  });
  if (topOwn) {
    let flops = 0;
    for (const [t, n] of topOwn.cellTypes) if (seq.has(t)) flops += n;
    blockRows.push({ name: 'top', module: top, category: categoryOf(top), area_um2: round(topOwn.area, 1), cells: topOwn.cells, flops });
  }
  const areaTotal = stat.topArea ?? whole.area;
  const worst = sta.paths[0] ?? null;
  const fmax = 1000 / (o.periodNs - sta.worstSlackNs);
  const power = sta.power
    ? {
        activity: o.activity,
        duty: DEFAULT_DUTY,
        clock_mhz: round(1000 / o.periodNs, 1),
        internal_mw: round(sta.power.internalW * 1000, 4),
        switching_mw: round(sta.power.switchingW * 1000, 4),
        leakage_mw: round(sta.power.leakageW * 1000, 6),
        method: `OpenSTA report_power, set_power_activity -global -activity ${o.activity} -duty ${DEFAULT_DUTY} (every non-clock net), clock at the sign-off period, ideal clock, no wire load`,
      }
    : null;
  return {
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    date: new Date().toISOString(),
    top,
    config: gen.config,
    library: { name: libraryName(o.liberty), path: o.liberty, dont_use_cells: view.dontUse.length },
    period_ns: o.periodNs,
    fmax_mhz: round(fmax, 2),
    wns_ns: round(Math.min(0, sta.worstSlackNs), 4),
    worst_slack_ns: round(sta.worstSlackNs, 4),
    tns_ns: round(sta.tnsNs, 3),
    met: sta.worstSlackNs >= 0,
    critical_path: worst ? pathJson(worst) : null,
    worst_paths: sta.paths.map(pathJson),
    block_paths: Object.fromEntries(Object.entries(sta.blockPaths).map(([b, p]) => [b, pathJson(p)])),
    area_um2: round(areaTotal, 1),
    area_um2_by_block: Object.fromEntries(blockRows.map((b) => [b.name, b.area_um2])),
    blocks: blockRows,
    cells: whole.cells,
    flops: whole.flops,
    power_mw: sta.power ? round(sta.power.totalW * 1000, 4) : null,
    power,
    ...(sta.powerReason ? { power_reason: sta.powerReason } : {}),
    constraints: { clock: `ideal, ${o.periodNs} ns on clk`, io_delay_ns: round(o.periodNs * IO_DELAY_FRACTION, 4), io_delay_fraction: IO_DELAY_FRACTION, driving_cell: driver ?? null, load_pf: DEFAULT_LOAD_PF },
    flow: {
      hierarchy: [
        blocks.length ? `blocks kept (${blocks.map((b) => b.name).join(', ')}), each flattened inside` : 'flattened',
        ...(separateUnits.length ? [`units synthesized on their own (${separateUnits.join(', ')})`] : []),
      ].join('; '),
      abc_script: abcScript(targetPs, driver !== undefined).trim(),
      synth_target_ns: targetPs / 1000,
      abc_constraints: driver !== undefined,
    },
    tools: { yosys: yosysVersion(yv.output), sta: staVersion(sv.output) },
    sta_messages: staWarnings,
    seconds: { generate: round(tGen, 2), yosys: round(tYosys, 1), sta: round(tSta, 1), total: round((performance.now() - t0) / 1000, 1) },
    work,
  };
}
