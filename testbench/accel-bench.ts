import Handlebars from 'handlebars';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GENERATOR_NAME, GENERATOR_VERSION } from '../common/version.ts';
import type { AccelConfig } from '../generator/accel-config.ts';
import type { VectorManifest } from './vector-files.ts';
import { run, type ToolResult } from './tools.ts';
import { ToolError } from '../common/errors.ts';
import type { Simulator } from './cycle-harness.ts';

const tbTemplate = Handlebars.create().compile(readFileSync(new URL('../templates/testbench/accel_tb.v.hbs', import.meta.url), 'utf8'), {
  noEscape: true,
});

export interface AccelBenchOptions {
  /** back-to-back runs of the problem */
  runs: number;
  /** cycles into the first run at which reset is asserted (0: none) */
  resetAt: number;
  /** percent of cycles each stream stalls */
  stall: { w: number; a: number; y: number };
  seed: number;
  /** waveform file (absolute path): .vcd, or .fst on Verilator */
  waves?: string;
}

export const DEFAULT_BENCH: AccelBenchOptions = { runs: 2, resetAt: 0, stall: { w: 20, a: 20, y: 20 }, seed: 1 };

/** Cycles without a handshake on any stream after which a run is reported "not done" (a hung design). */
export const TB_IDLE_TIMEOUT = 20000;

/**
 * Cycles a run may take in all before it is reported "not done" (a design
 * that keeps consuming input but never finishes): every word and beat of the
 * three streams handshaken one after another at the stalled streams' rate,
 * four times over, plus the idle timeout for fill and drain. Generous on
 * purpose: it only has to end a broken run, never a slow correct one.
 */
export function runCycleLimit(v: VectorManifest['counts'], stall: AccelBenchOptions['stall']): number {
  const slowest = Math.max(stall.w, stall.a, stall.y);
  const perBeat = Math.ceil(100 / Math.max(1, 100 - slowest));
  return TB_IDLE_TIMEOUT + 4 * perBeat * (v.weightWords + v.activationBeats + v.resultBeats);
}

/** Writes tb.v for the generated top `top` and the vectors already in `dir` (w.hex, a.hex, y.hex), described by their manifest. */
export function writeAccelTestbench(dir: string, top: string, c: AccelConfig, vectors: VectorManifest, o: AccelBenchOptions): void {
  mkdirSync(dir, { recursive: true });
  const v = vectors.counts;
  const p = vectors.problem;
  const tb = tbTemplate({
    dut: top,
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    weightWords: v.weightWords,
    actBeats: v.activationBeats,
    resultBeats: v.resultBeats,
    actWidth: c.rows * c.abits + 8,
    resultWidth: c.cols * 32,
    cols: c.cols,
    runs: o.runs,
    resetAt: o.resetAt,
    stallW: o.stall.w,
    stallA: o.stall.a,
    stallY: o.stall.y,
    timeout: TB_IDLE_TIMEOUT,
    runLimit: runCycleLimit(v, o.stall),
    seedHex: ((o.seed * 2654435761) >>> 0 || 1).toString(16).padStart(8, '0'),
    waves: o.waves,
    M: p.M,
    K: p.Kpadded,
    N: p.N,
  });
  writeFileSync(join(dir, 'tb.v'), tb);
}

export interface AccelSimResult {
  passed: number;
  failed: number;
  mismatches: string[];
  /** cycles from start to done, per run */
  cycles: number[];
  log: string;
  /** when the testbench applied --reset-at: the cycle of run 0, and whether run 0 had already ended (undefined: no reset asked) */
  resetAfter?: { cycle: number; runEnded: boolean };
  /** Verilator: the simulator binary of an earlier build (in the same folder or the build cache) was reused (same RTL, testbench, flags and Verilator) */
  reusedBuild: boolean;
}

/** The Verilator build folder inside a work folder, and the stamp that names what it was built from. */
export const VERILATOR_BUILD_DIR = 'obj_dir';
const BUILD_STAMP = 'msq-build.sha256';

/**
 * What a Verilator build depends on: its arguments, the Verilator version and
 * the text of every file it compiles (the RTL and tb.v, which holds the
 * problem's sizes, stall rates and seed; the vector files are read at run
 * time).
 */
function buildDigest(cwd: string, args: string[], files: string[]): string {
  const h = createHash('sha256');
  const version = run('verilator', ['--version'], cwd);
  h.update(`${version.output.trim()}\0${args.join('\0')}\0`);
  for (const f of files) h.update(`${f}\0${readFileSync(join(cwd, f))}\0`);
  return h.digest('hex');
}

/**
 * Time limits of the testbench build and of the simulation itself (the testbench's own cycle
 * limits end a hung design long before). A 32x32 accelerator's Verilator build takes 10-15
 * minutes on two shared cores (906 s once, and over 900 s the next time, which stopped a bench
 * run): the build limit is an hour.
 */
export const SIM_BUILD_TIMEOUT_MS = 3_600_000;
export const SIM_RUN_TIMEOUT_MS = 1_800_000;

/** How long a build waits for another process building the same digest into a shared cache before it builds on its own. */
const CACHE_LOCK_WAIT_MS = SIM_BUILD_TIMEOUT_MS;
const CACHE_POLL_MS = 2000;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A Verilator simulator binary in a build cache shared by several work
 * folders (`msq sim --build-cache DIR`, used by `msq bench`): the binary of
 * each build digest is kept as DIR/<digest>/vsim, so the five outlier rates of
 * one configuration (the same RTL and tb.v, other vector files) build once.
 * A build is published by rename, so a reader never sees half a binary; a
 * lock folder (holding the builder's PID) makes a second process with the
 * same digest wait for the first instead of building it twice; a lock whose
 * process is gone is taken over.
 */
function cachedVerilatorBinary(cache: string, digest: string, build: () => string): { binary: string; reused: boolean } {
  const entry = join(cache, digest);
  const binary = join(entry, 'vsim');
  if (existsSync(binary)) return { binary, reused: true };
  const lock = join(cache, `${digest}.lock`);
  const waitEnd = Date.now() + CACHE_LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), `${process.pid}\n`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (existsSync(binary)) return { binary, reused: true };
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // the lock was just made or just removed: look again
    }
    if ((Number.isInteger(owner) && owner > 0 && !processAlive(owner)) || Date.now() > waitEnd) rmSync(lock, { recursive: true, force: true });
    else sleepMs(CACHE_POLL_MS);
  }
  try {
    if (existsSync(binary)) return { binary, reused: true };
    const built = build();
    mkdirSync(entry, { recursive: true });
    const tmp = join(entry, `vsim.${process.pid}.tmp`);
    copyFileSync(built, tmp);
    renameSync(tmp, binary);
    return { binary, reused: false };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Builds and runs tb.v with the RTL files (paths relative to `dir`) on one
 * simulator. A Verilator build is reused when the folder holds one made from
 * the same files, flags and Verilator (a content digest, not file times), or
 * when `buildCache` (a folder shared by several work folders) holds one. A
 * simulator that cannot build or run the bench (missing, killed at its time
 * limit, a build error, no summary line) throws a ToolError: that is an error
 * of the run, not a test result.
 */
export function runAccelBench(dir: string, rtlFiles: string[], sim: Simulator, waves?: string, buildCache?: string): AccelSimResult {
  const cwd = resolve(dir);
  const files = [...rtlFiles, 'tb.v'];
  let r: ToolResult;
  let reusedBuild = false;
  if (sim === 'icarus') {
    const b = run('iverilog', ['-g2012', '-Wall', '-o', 'sim.vvp', '-s', 'tb', ...files], cwd, SIM_BUILD_TIMEOUT_MS);
    if (!b.ok) throw new ToolError(`Icarus could not build the testbench in ${cwd}: ${b.startError ?? lastLines(b.output)}`);
    r = run('vvp', ['-n', 'sim.vvp'], cwd, SIM_RUN_TIMEOUT_MS);
  } else {
    const trace = waves ? (waves.endsWith('.fst') ? ['--trace-fst'] : ['--trace']) : [];
    const args = ['--binary', '--timing', ...trace, '-Wno-fatal', '-Wno-lint', '-Wno-style', '-Wno-MULTIDRIVEN', '--top-module', 'tb', '-Mdir', VERILATOR_BUILD_DIR, '-o', 'vsim', ...files];
    const digest = buildDigest(cwd, args, files);
    const stamp = join(cwd, VERILATOR_BUILD_DIR, BUILD_STAMP);
    const local = join(cwd, VERILATOR_BUILD_DIR, 'vsim');
    const buildHere = (): string => {
      // the stamp goes first and comes back last: an interrupted build is never taken for a finished one
      rmSync(stamp, { force: true });
      const b = run('verilator', args, cwd, SIM_BUILD_TIMEOUT_MS);
      if (!b.ok) throw new ToolError(`Verilator could not build the testbench in ${cwd}: ${b.startError ?? lastLines(b.output)}`);
      writeFileSync(stamp, `${digest}\n`);
      return local;
    };
    let binary = local;
    if (existsSync(local) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest) reusedBuild = true;
    else if (buildCache !== undefined) ({ binary, reused: reusedBuild } = cachedVerilatorBinary(resolve(buildCache), digest, buildHere));
    else buildHere();
    r = run(binary, [], cwd, SIM_RUN_TIMEOUT_MS);
  }
  if (r.startError !== undefined) throw new ToolError(`the ${sim} simulation did not finish: ${r.startError}`);
  const out = r.output;
  const m = /^(\d+) passed, (\d+) failed$/m.exec(out);
  const mismatches = out.split('\n').filter((l) => l.startsWith('MISMATCH'));
  const cycles = [...out.matchAll(/^run \d+: (\d+) cycles$/gm)].map((x) => Number(x[1]));
  const resetAfter = /^reset after (\d+) cycles of run 0 \(done=([01])\)/m.exec(out);
  if (!m) throw new ToolError(`the ${sim} simulation ended without its summary line (exit status ${r.status}):\n${lastLines(out)}`);
  return { passed: Number(m[1]), failed: Number(m[2]), mismatches, cycles, log: out, resetAfter: resetAfter ? { cycle: Number(resetAfter[1]), runEnded: resetAfter[2] === '1' } : undefined, reusedBuild };
}

function lastLines(text: string, n = 20): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
