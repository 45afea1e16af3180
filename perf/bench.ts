/**
 * The accelerator benchmark behind `msq bench` (and `npm run bench`):
 *  - area: Yosys generic synthesis of a sweep of arrays (both ReCoN
 *    topologies, W2 and W4), cells and NAND2-equivalents per block, and the
 *    overhead of outlier support against the same array built --no-outliers;
 *  - throughput: `msq sim` with no stalls on a GEMM of M >= 256 rows at
 *    outlier rates 0, 1, 2, 5 and 10 %;
 *  - tool speed: 64x64 generation, Verilator build and run of the default
 *    simulation, MX and MicroScopiQ direct-cast of 4096x4096;
 *  - sign-off timing (perf/signoff.ts): Yosys mapped to SKY130 HD with
 *    timing-driven ABC, then OpenSTA at 4 ns: Fmax, WNS, area in µm² and the
 *    critical path of each configuration at the area depth (--quick: the
 *    smallest configuration only); skipped when no library is present.
 * Syntheses and simulations run as child processes, `jobs` at a time; the
 * tool-speed timings run first, alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ACCEL, type AccelOptions } from '../generator/accel-config.ts';
import { accelTopName } from '../generator/accel-config.ts';
import type { ReconTopology } from '../quant/hwmodel/recon.ts';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import { CATEGORIES, synthArea, type AreaResult, type Breakdown } from './area.ts';
import { simulateUtilization, throughputShape, type GemmShape, type ThroughputRun } from './throughput.ts';
import { defaultSimSpeed, generationSpeed, quantizerSpeed, GEN_64, type GenerationSpeed, type QuantSpeed, type SimSpeed } from './tool-speed.ts';
import { mapPool, progress } from './exec.ts';
import { DEFAULT_ACTIVITY, DEFAULT_SIGNOFF_PERIOD_NS, runSignoff, type SignoffReport } from './signoff.ts';
import { defaultLiberty, libraryName, SKY130_HINT } from './signoff-library.ts';
import { buildTop } from '../generator/targets.ts';
import { renderDesign } from '../generator/dsl/render.ts';

/** Outlier rates of the utilization sweep: 0 … 9 % (9 % is just below the 3/32 limit of the mean + 3σ rule at G = 32; see --outlier-rate). */
export const OUTLIER_RATES = [0, 0.01, 0.02, 0.05, 0.09] as const;

export interface BenchOptions {
  quick: boolean;
  /** [rows, cols] */
  sizes: Array<[number, number]>;
  wbits: number[];
  recons: ReconTopology[];
  /** output-buffer depth of the area runs (small, so that buffers do not dominate) */
  areaDepth: number;
  /** problem of the throughput runs: M rows, K inputs; N = nTiles·C */
  gemm: { M: number; K: number; nTiles: number };
  /** output-buffer depth of the throughput runs: >= M, so the weights are streamed once per tile */
  simDepth: number;
  simulator: 'verilator' | 'icarus';
  /** child processes at a time (syntheses, simulations) */
  jobs: number;
  work: string;
  genRuns: number;
  /** repeats of the default-simulation build; 0 skips it */
  simSpeedRepeats: number;
  quantSize: number;
  quantRuns: number;
  /** full mode: synthesize the default array at several depths to show what the buffers cost */
  depthSweep: number[];
  /** full mode: one large array at several M, to show where the 32-bit weight stream limits it */
  mSweep: { rows: number; cols: number; wbits: number; recon: ReconTopology; rate: number; Ms: number[] } | null;
  /** reuse the result of a synthesis or simulation already in the work folder (same sources, options and problem) */
  resume?: boolean;
  /** sign-off timing of the sweep's configurations at areaDepth (null: not run; `skipped` says why) */
  signoff: { liberty: string; periodNs: number; timeoutMin: number; quickOnly: boolean } | null;
  /** why there is no sign-off section (no library, --no-signoff) */
  signoffSkipped?: string;
}

/** Time limit of one sign-off tool call inside the bench (the 32x32 arrays are large). */
const BENCH_SIGNOFF_TIMEOUT_MIN = 360;

/** The sign-off part of the bench defaults: the default SKY130 HD library when it is on this machine, at 4 ns. */
function signoffDefaults(quick: boolean): Pick<BenchOptions, 'signoff' | 'signoffSkipped'> {
  const liberty = defaultLiberty();
  return liberty
    ? { signoff: { liberty, periodNs: DEFAULT_SIGNOFF_PERIOD_NS, timeoutMin: BENCH_SIGNOFF_TIMEOUT_MIN, quickOnly: quick } }
    : { signoff: null, signoffSkipped: `no Liberty library on this machine. ${SKY130_HINT}` };
}

export function benchDefaults(quick: boolean): BenchOptions {
  return quick
    ? {
        quick,
        sizes: [[4, 8]],
        wbits: [2],
        recons: ['crossbar', 'butterfly'],
        areaDepth: 16,
        gemm: { M: 64, K: 128, nTiles: 2 },
        simDepth: 64,
        simulator: 'icarus',
        jobs: 2,
        work: 'build/bench-quick',
        genRuns: 3,
        simSpeedRepeats: 0,
        quantSize: 4096,
        quantRuns: 3,
        depthSweep: [],
        mSweep: null,
        ...signoffDefaults(true),
      }
    : {
        quick,
        sizes: [
          [4, 8],
          [8, 8],
          [16, 16],
          [32, 32],
        ],
        wbits: [2, 4],
        recons: ['crossbar', 'butterfly'],
        areaDepth: 16,
        gemm: { M: 256, K: 1024, nTiles: 2 },
        simDepth: 256,
        simulator: 'verilator',
        jobs: 2,
        work: 'build/bench',
        genRuns: 5,
        simSpeedRepeats: 3,
        quantSize: 4096,
        quantRuns: 5,
        depthSweep: [16, 64, 256],
        mSweep: { rows: 32, cols: 32, wbits: 4, recon: 'crossbar', rate: 0.01, Ms: [16, 32, 64, 128, 256] },
        ...signoffDefaults(false),
      };
}

/** The array options of one sweep point (abits, B and G at the defaults; G grows with R when needed). */
export function sweepOptions(rows: number, cols: number, wbits: number, recon: ReconTopology, outliers: boolean, depth: number): AccelOptions {
  const group = Math.max(DEFAULT_ACCEL.group, rows);
  return { ...DEFAULT_ACCEL, rows, cols, wbits, recon, outliers, depth, group };
}

/** One module of a synthesized design: its own cells per instance (submodules excluded). */
export interface ModuleReport {
  name: string;
  block: string;
  instances: number;
  cells: number;
  flops: number;
  ge: number;
}

export interface ConfigReport {
  rows: number;
  cols: number;
  wbits: number;
  recon: ReconTopology;
  abits: number;
  ublock: number;
  group: number;
  top: string;
  /** gate cells of generic synthesis, by block (depth = area_depth) */
  cells: Breakdown;
  /** NAND2-equivalents by block */
  area_ge: Breakdown;
  flops: Breakdown;
  synth_s: number;
  /** (area with outliers - area plain) / area plain, whole accelerator, NAND2-equivalents */
  outlier_overhead: number;
  /** the same for the array: (PE array + ReCoN) against the plain PE array */
  outlier_overhead_array: number;
  /** the same per block (absolute NAND2-equivalent difference / plain total) */
  outlier_overhead_by_block: Record<(typeof CATEGORIES)[number], number>;
  plain: { top: string; cells: Breakdown; area_ge: Breakdown; flops: Breakdown; synth_s: number; modules: ModuleReport[] };
  modules: ModuleReport[];
  buffer_bits: { row_buffers: number; output_register: number };
  /** useful MACs per cycle / (R·C), keyed by outlier rate (null: the simulation failed, see failures) */
  utilization: Record<string, number | null>;
  throughput: {
    simulator: string;
    depth: number;
    shape: GemmShape;
    runs: Array<null | {
      outlier_rate: number;
      cycles: number;
      utilization: number;
      weight_words: number;
      /** weight words per tile: above M (rows per tile pass), the 32-bit weight stream limits the array */
      words_per_tile: number;
      beats: number;
      outlier_fraction: number;
      sim_s: number;
    }>;
  };
}

/** Sign-off timing of one configuration of the sweep (the fields of `msq signoff --json` that the bench keeps). */
export interface SignoffConfigReport {
  rows: number;
  cols: number;
  wbits: number;
  recon: ReconTopology;
  outliers: boolean;
  top: string;
  fmax_mhz: number;
  wns_ns: number;
  worst_slack_ns: number;
  tns_ns: number;
  area_um2: number;
  area_um2_by_block: Record<string, number>;
  critical_path: SignoffReport['critical_path'];
  block_paths: SignoffReport['block_paths'];
  power_mw: number | null;
  seconds: SignoffReport['seconds'];
}

export interface BenchReport {
  generator: string;
  version: string;
  mode: 'quick' | 'full';
  date: string;
  machine: { cpus: number; model: string; memory_gib: number; loadavg_start: number[]; loadavg_end: number[] };
  area_depth: number;
  cell_area_model: string;
  configs: ConfigReport[];
  generate_64x64_s: number;
  generate_64x64: { config: AccelOptions; runs_s: number[]; cli_s: number; files: number };
  default_sim: { verilator_build_s: number; run_s: number; cycles: number[]; repeats: number } | null;
  quantize_melem_per_s: { mxfp4_e2m1: number; microscopiq: number; microscopiq_w2: number };
  quantize: { size: number; runs: number };
  depth_sweep: Array<{ depth: number; top: string; cells: Breakdown; area_ge: Breakdown; flops: Breakdown; synth_s: number }>;
  /** utilization of one array against M (rows per weight tile): the weight stream carries one 32-bit word per cycle */
  m_sweep: { top: string; outlier_rate: number; K: number; N: number; points: Array<{ M: number; cycles: number; utilization: number; words_per_tile: number }> } | null;
  /** sign-off timing (perf/signoff.ts) of the sweep at area_depth; null with a reason when not run */
  signoff: { period_ns: number; library: string; depth: number; tools: SignoffReport['tools'] | null; configs: SignoffConfigReport[] } | null;
  signoff_skipped?: string;
  /** syntheses or simulations that failed (their numbers are missing or null) */
  failures: Array<{ job: string; error: string }>;
  /** syntheses and simulations of this report, and how many of them --resume took from an earlier run */
  jobs: { total: number; reused: number; tool_s: number; outside_pool_s: number };
  elapsed_s: number;
}

const pick = (r: AreaResult) => ({ top: r.top, cells: roundB(r.cells), area_ge: roundB(r.ge), flops: r.flops, synth_s: round(r.synthSeconds, 2) });
const modulesOf = (r: AreaResult): ModuleReport[] =>
  r.modules.map((m) => ({ name: m.name.replace(/^\\/, '').replace(/^\$paramod\$[0-9a-f]+\\/, ''), block: m.category, instances: m.instances, cells: m.cells, flops: m.flops, ge: round(m.ge, 1) }));
function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
function roundB(b: Breakdown): Breakdown {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, round(v, 1)])) as Breakdown;
}

/** The Verilator builds the simulation jobs share (the outlier rates of one configuration build once). */
const SIM_BUILD_CACHE = 'verilator-cache';

type Job =
  | { kind: 'area'; key: string; options: AccelOptions; cost: number }
  | { kind: 'signoff'; key: string; options: AccelOptions; cost: number }
  | { kind: 'sim'; key: string; options: AccelOptions; rate: number; M: number; cost: number };

/** The configurations of the sign-off section: every area configuration of the sweep (with outliers, each topology, and plain), or in quick mode the smallest one. */
export function signoffSweep(o: Pick<BenchOptions, 'sizes' | 'wbits' | 'recons' | 'areaDepth'>, quickOnly: boolean): AccelOptions[] {
  const out: AccelOptions[] = [];
  for (const [rows, cols] of o.sizes) {
    for (const wbits of o.wbits) {
      for (const recon of o.recons) out.push(sweepOptions(rows, cols, wbits, recon, true, o.areaDepth));
      out.push(sweepOptions(rows, cols, wbits, 'crossbar', false, o.areaDepth));
    }
  }
  if (!quickOnly) return out;
  const smallest = [...out].sort((a, b) => a.rows * a.cols - b.rows * b.cols || a.wbits - b.wbits)[0];
  return smallest ? [smallest] : [];
}

/** Folders whose sources decide a simulation job's result: the RTL, the numerics, the testbench, the flows. */
const SOURCE_DIRS = ['common', 'generator', 'quant', 'templates', 'testbench', 'perf', 'cli'];

/**
 * SHA-256 over every file of SOURCE_DIRS (path and contents, in sorted order).
 * Part of each simulation job's stamp, so --resume never reuses a result made
 * by other code, even at the same version number (synthesis jobs use
 * rtlDigest and synthesisFlowDigest instead).
 */
export function sourceDigest(root = fileURLToPath(new URL('..', import.meta.url))): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(join(root, d));
  const h = createHash('sha256');
  for (const f of files.map((f) => relative(root, f)).sort()) {
    h.update(f + '\0');
    h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * The sources of the synthesis flows (sign-off and area): a synthesis result
 * depends on the RTL it reads and on these, not on the rest of the sources.
 */
const SYNTHESIS_FLOW_FILES = ['perf/signoff.ts', 'perf/signoff-yosys.ts', 'perf/signoff-sta.ts', 'perf/signoff-library.ts', 'perf/area.ts', 'perf/cell-area.ts', 'perf/exec.ts', 'perf/liberty/msq-ge.lib'];

/** SHA-256 over the files of SYNTHESIS_FLOW_FILES (path and contents). */
export function synthesisFlowDigest(root = fileURLToPath(new URL('..', import.meta.url))): string {
  const h = createHash('sha256');
  for (const f of SYNTHESIS_FLOW_FILES) {
    h.update(f + '\0');
    if (existsSync(join(root, f))) h.update(readFileSync(join(root, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * SHA-256 of an accelerator's rendered RTL (every module's file name and text,
 * in emission order). The stamp of a synthesis job (sign-off, area) is this
 * digest and the flow's, so --resume reuses an hours-long 32x32 sign-off after
 * a change that leaves that RTL as it was (a test, a doc, another block's
 * option), and never after one that changes a single character of it.
 */
export function rtlDigest(options: AccelOptions): string {
  const h = createHash('sha256');
  for (const f of renderDesign(buildTop({ top: 'accelerator', accel: options }).design)) {
    h.update(f.path + '\0');
    h.update(f.text);
    h.update('\0');
  }
  return h.digest('hex');
}

/** SHA-256 of a file (the Liberty library of a sign-off stamp). */
function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A job's result from an earlier run in the same folder, when it was made by the same sources for the same inputs. */
function cached<T>(dir: string, stamp: unknown): T | null {
  const path = join(dir, 'bench-result.json');
  if (!existsSync(path)) return null;
  try {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { stamp: unknown; result: T };
    return JSON.stringify(saved.stamp) === JSON.stringify(stamp) ? saved.result : null;
  } catch {
    return null;
  }
}

function store<T>(dir: string, stamp: unknown, result: T): T {
  writeFileSync(join(dir, 'bench-result.json'), JSON.stringify({ stamp, result }) + '\n');
  return result;
}

const simKey = (o: AccelOptions, rate: number, M: number) => `${accelTopName(o)}@${rate}@M${M}`;

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const t0 = performance.now();
  const work = resolve(o.work);
  const load0 = loadavg();
  progress(`${o.quick ? 'quick' : 'full'} run, ${o.jobs} job(s) at a time, work folder ${work}`);

  // 1. tool speed, alone on the machine
  progress('tool speed: 64x64 generation');
  const gen: GenerationSpeed = await generationSpeed(work, o.genRuns);
  progress(`  ${gen.seconds.toFixed(2)} s in process (median of ${o.genRuns}), ${gen.cliSeconds.toFixed(2)} s as msq generate`);
  let sim: SimSpeed | null = null;
  if (o.simSpeedRepeats > 0) {
    progress(`tool speed: Verilator build and run of the default simulation (${o.simSpeedRepeats}x)`);
    sim = defaultSimSpeed(work, o.simSpeedRepeats);
    progress(`  build ${sim.buildSeconds.toFixed(1)} s, run ${sim.runSeconds.toFixed(2)} s`);
  }
  progress(`tool speed: quantizers on ${o.quantSize}x${o.quantSize} (median of ${o.quantRuns})`);
  const q: QuantSpeed = quantizerSpeed(o.quantSize, o.quantRuns);
  progress(`  mxfp4_e2m1 ${q.mxfp4_e2m1.toFixed(1)} M elem/s, MicroScopiQ W4 ${q.microscopiq.toFixed(1)}, W2 ${q.microscopiq_w2.toFixed(1)}`);

  // 2. area and throughput jobs
  const jobs: Job[] = [];
  const cost = (r: number, c: number) => r * c;
  const areaKeys = new Set<string>();
  const addArea = (options: AccelOptions) => {
    const key = accelTopName(options);
    if (areaKeys.has(key)) return;
    areaKeys.add(key);
    jobs.push({ kind: 'area', key, options, cost: 3 * cost(options.rows, options.cols) * (options.depth / 16) });
  };
  for (const [rows, cols] of o.sizes) {
    for (const wbits of o.wbits) {
      addArea(sweepOptions(rows, cols, wbits, 'crossbar', false, o.areaDepth));
      for (const recon of o.recons) {
        addArea(sweepOptions(rows, cols, wbits, recon, true, o.areaDepth));
        const so = sweepOptions(rows, cols, wbits, recon, true, o.simDepth);
        for (const rate of OUTLIER_RATES) jobs.push({ kind: 'sim', key: simKey(so, rate, o.gemm.M), options: so, rate, M: o.gemm.M, cost: cost(rows, cols) });
      }
    }
  }
  for (const d of o.depthSweep) addArea({ ...DEFAULT_ACCEL, depth: d });
  const signoffOptions = o.signoff ? signoffSweep(o, o.signoff.quickOnly) : [];
  for (const so of signoffOptions) jobs.push({ kind: 'signoff', key: accelTopName(so), options: so, cost: 4 * cost(so.rows, so.cols) });
  const simKeys = new Set(jobs.filter((j) => j.kind === 'sim').map((j) => j.key));
  const ms = o.mSweep;
  const msOptions = ms ? sweepOptions(ms.rows, ms.cols, ms.wbits, ms.recon, true, o.simDepth) : null;
  if (ms && msOptions) {
    for (const M of ms.Ms) {
      const key = simKey(msOptions, ms.rate, M);
      if (!simKeys.has(key)) jobs.push({ kind: 'sim', key, options: msOptions, rate: ms.rate, M, cost: cost(ms.rows, ms.cols) });
    }
  }
  jobs.sort((a, b) => b.cost - a.cost); // the longest first, so the pool ends evenly
  const areas = new Map<string, AreaResult>();
  const sims = new Map<string, ThroughputRun>();
  const signoffs = new Map<string, SignoffReport>();
  const failures: BenchReport['failures'] = [];
  let done = 0;
  let reused = 0;
  let toolSeconds = 0;
  /** a result from the build folder (counted as reused), or null */
  const fromCache = <T>(dir: string, stamp: unknown): T | null => {
    const r = o.resume ? cached<T>(dir, stamp) : null;
    if (r) reused++;
    return r;
  };
  const sources = sourceDigest();
  const flow = synthesisFlowDigest();
  const libraryDigest = o.signoff ? fileDigest(o.signoff.liberty) : null;
  const poolStart = performance.now();
  await mapPool(jobs, o.jobs, async (job) => {
    try {
      if (job.kind === 'area') {
        const dir = join(work, 'area', job.key);
        const stamp = { rtl: rtlDigest(job.options), flow, options: job.options };
        const r = fromCache<AreaResult>(dir, stamp) ?? store(dir, stamp, await synthArea(job.options, dir));
        toolSeconds += r.synthSeconds;
        areas.set(job.key, r);
        progress(`[${++done}/${jobs.length}] area ${job.key}: ${r.cells.total} cells, ${Math.round(r.ge.total)} GE (yosys ${r.synthSeconds.toFixed(1)} s)`);
      } else if (job.kind === 'signoff') {
        const so = o.signoff!;
        const dir = join(work, 'signoff', job.key);
        const stamp = { rtl: rtlDigest(job.options), flow, options: job.options, liberty: so.liberty, library: libraryDigest, period: so.periodNs, activity: DEFAULT_ACTIVITY };
        let r = fromCache<SignoffReport>(dir, stamp);
        if (!r) {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          r = store(dir, stamp, await runSignoff({ design: { top: 'accelerator', accel: job.options }, liberty: so.liberty, periodNs: so.periodNs, activity: DEFAULT_ACTIVITY, work: dir, timeoutMs: so.timeoutMin * 60_000 }));
        }
        toolSeconds += r.seconds.yosys + r.seconds.sta;
        signoffs.set(job.key, r);
        progress(`[${++done}/${jobs.length}] signoff ${job.key}: Fmax ${r.fmax_mhz.toFixed(1)} MHz, WNS ${r.wns_ns.toFixed(2)} ns, ${Math.round(r.area_um2)} µm² (yosys ${r.seconds.yosys.toFixed(0)} s, sta ${r.seconds.sta.toFixed(0)} s)`);
      } else {
        const shape = throughputShape(job.options, job.M, o.gemm.K, o.gemm.nTiles);
        const dir = join(work, 'sim', job.key.replace(/@/g, '_'));
        const stamp = { version: GENERATOR_VERSION, sources, options: job.options, shape, rate: job.rate, simulator: o.simulator };
        const r = fromCache<ThroughputRun>(dir, stamp) ?? store(dir, stamp, await simulateUtilization(job.options, shape, job.rate, o.simulator, dir, 1, join(work, SIM_BUILD_CACHE)));
        toolSeconds += r.simSeconds;
        sims.set(job.key, r);
        progress(`[${++done}/${jobs.length}] sim ${job.key}: ${r.cycles} cycles, utilization ${(100 * r.utilization).toFixed(1)}% (${o.simulator} ${r.simSeconds.toFixed(1)} s)`);
      }
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      failures.push({ job: `${job.kind} ${job.key}`, error: error.slice(0, 4000) });
      progress(`[${++done}/${jobs.length}] FAILED ${job.kind} ${job.key}: ${error.split('\n').slice(0, 3).join(' / ')}`);
    }
  });

  const poolEnd = performance.now();
  // 3. assemble
  const configs: ConfigReport[] = [];
  for (const [rows, cols] of o.sizes) {
    for (const wbits of o.wbits) {
      const plain = areas.get(accelTopName(sweepOptions(rows, cols, wbits, 'crossbar', false, o.areaDepth)));
      for (const recon of o.recons) {
        const ao = sweepOptions(rows, cols, wbits, recon, true, o.areaDepth);
        const a = areas.get(accelTopName(ao));
        if (!a || !plain) continue; // a failed synthesis: listed in failures
        const so = sweepOptions(rows, cols, wbits, recon, true, o.simDepth);
        const runs = OUTLIER_RATES.map((rate) => sims.get(simKey(so, rate, o.gemm.M)) ?? null);
        const arrayOut = a.ge.pe_array + a.ge.recon;
        const arrayPlain = plain.ge.pe_array + plain.ge.recon;
        configs.push({
          rows,
          cols,
          wbits,
          recon,
          abits: ao.abits,
          ublock: ao.ublock,
          group: ao.group,
          top: a.top,
          cells: roundB(a.cells),
          area_ge: roundB(a.ge),
          flops: a.flops,
          synth_s: round(a.synthSeconds, 2),
          outlier_overhead: round((a.ge.total - plain.ge.total) / plain.ge.total),
          outlier_overhead_array: round((arrayOut - arrayPlain) / arrayPlain),
          outlier_overhead_by_block: Object.fromEntries(CATEGORIES.map((k) => [k, round((a.ge[k] - plain.ge[k]) / plain.ge.total)])) as ConfigReport['outlier_overhead_by_block'],
          plain: { ...pick(plain), modules: modulesOf(plain) },
          modules: modulesOf(a),
          buffer_bits: { row_buffers: a.bufferBits.rowBuffers, output_register: a.bufferBits.outputRegister },
          utilization: Object.fromEntries(OUTLIER_RATES.map((rate, i) => [String(rate), runs[i] ? round(runs[i].utilization) : null])),
          throughput: {
            simulator: o.simulator,
            depth: o.simDepth,
            shape: throughputShape(so, o.gemm.M, o.gemm.K, o.gemm.nTiles),
            runs: runs.map((r) => r && ({
              outlier_rate: r.outlierRate,
              cycles: r.cycles,
              utilization: round(r.utilization),
              weight_words: r.weightWords,
              words_per_tile: round(r.weightWords / r.tiles, 1),
              beats: r.beats,
              outlier_fraction: round(r.outlierFraction),
              sim_s: round(r.simSeconds, 2),
            })),
          },
        });
      }
    }
  }
  const depthSweep = o.depthSweep.flatMap((d) => {
    const r = areas.get(accelTopName({ ...DEFAULT_ACCEL, depth: d }));
    return r ? [{ depth: d, ...pick(r) }] : [];
  });
  const signoffConfigs: SignoffConfigReport[] = signoffOptions.flatMap((so) => {
    const r = signoffs.get(accelTopName(so));
    if (!r) return []; // a failed run: listed in failures
    return [
      {
        rows: so.rows,
        cols: so.cols,
        wbits: so.wbits,
        recon: so.recon,
        outliers: so.outliers,
        top: r.top,
        fmax_mhz: r.fmax_mhz,
        wns_ns: r.wns_ns,
        worst_slack_ns: r.worst_slack_ns,
        tns_ns: r.tns_ns,
        area_um2: r.area_um2,
        area_um2_by_block: r.area_um2_by_block,
        critical_path: r.critical_path,
        block_paths: r.block_paths,
        power_mw: r.power_mw,
        seconds: r.seconds,
      },
    ];
  });
  const firstSignoff = signoffOptions.map((so) => signoffs.get(accelTopName(so))).find((r) => r !== undefined);
  const msShape = msOptions ? throughputShape(msOptions, 0, o.gemm.K, o.gemm.nTiles) : null;
  const mSweep =
    ms && msOptions && msShape
      ? {
          top: accelTopName(msOptions),
          outlier_rate: ms.rate,
          K: msShape.K,
          N: msShape.N,
          points: ms.Ms.flatMap((M) => {
            const r = sims.get(simKey(msOptions, ms.rate, M));
            return r ? [{ M, cycles: r.cycles, utilization: round(r.utilization), words_per_tile: round(r.weightWords / r.tiles, 1) }] : [];
          }),
        }
      : null;
  return {
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    mode: o.quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', memory_gib: round(totalmem() / 2 ** 30, 1), loadavg_start: load0.map((x) => round(x, 2)), loadavg_end: loadavg().map((x) => round(x, 2)) },
    area_depth: o.areaDepth,
    cell_area_model: 'NAND2-equivalents per Yosys gate cell: perf/cell-area.ts, docs/PERFORMANCE.md',
    configs,
    generate_64x64_s: round(gen.seconds, 3),
    generate_64x64: { config: GEN_64, runs_s: gen.runs.map((x) => round(x, 3)), cli_s: round(gen.cliSeconds, 3), files: gen.files },
    default_sim: sim ? { verilator_build_s: round(sim.buildSeconds, 2), run_s: round(sim.runSeconds, 3), cycles: sim.cycles, repeats: sim.repeats } : null,
    quantize_melem_per_s: { mxfp4_e2m1: round(q.mxfp4_e2m1, 2), microscopiq: round(q.microscopiq, 2), microscopiq_w2: round(q.microscopiq_w2, 2) },
    quantize: { size: q.size, runs: q.runs },
    depth_sweep: depthSweep,
    m_sweep: mSweep,
    signoff: o.signoff ? { period_ns: o.signoff.periodNs, library: libraryName(o.signoff.liberty), depth: o.areaDepth, tools: firstSignoff?.tools ?? null, configs: signoffConfigs } : null,
    ...(o.signoff ? {} : { signoff_skipped: o.signoffSkipped ?? 'not requested' }),
    failures,
    jobs: { total: jobs.length, reused, tool_s: round(toolSeconds, 1), outside_pool_s: round((performance.now() - t0 - (poolEnd - poolStart)) / 1000, 1) },
    elapsed_s: round((performance.now() - t0) / 1000, 1),
  };
}
