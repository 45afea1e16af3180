/**
 * Throughput of a generated accelerator: `msq sim` (the golden-vector
 * testbench, testbench/accel-bench.ts) with no stalls and one run, on a GEMM
 * of M >= 256 rows, at several outlier rates. Each run is a child process, so
 * two can go side by side; every result word is still checked, and a run that
 * does not pass is reported as a failure, not as a number.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accelFlags } from '../generator/targets.ts';
import type { AccelOptions } from '../generator/accel-config.ts';
import type { VectorManifest } from '../testbench/vector-files.ts';
import { runAsync } from './exec.ts';

const MSQ = fileURLToPath(new URL('../bin/msq.mjs', import.meta.url));

export interface GemmShape {
  M: number;
  K: number;
  N: number;
}

export interface ThroughputRun {
  outlierRate: number;
  cycles: number;
  /** M·K·N / (cycles · R·C) */
  utilization: number;
  /** weight words streamed (one 32-bit word per cycle at most) */
  weightWords: number;
  /** activation beats = cycles of PE work (one beat per cycle at most) */
  beats: number;
  /** weight tiles streamed (N-tiles x K-tiles x M-chunks) */
  tiles: number;
  /** fraction of the weights stored as outliers by the quantizer */
  outlierFraction: number;
  simSeconds: number;
}

/**
 * Most beats a throughput pass may take before its first result: (K/R)·min(M, D).
 * Keeps every throughput simulation to about 16 000 cycles whatever the array
 * size (a 4x8 array with K = 1024 and M = 256 would need 65 000), so the full
 * sweep stays around an hour. (It was first set for the testbench's old
 * timeout, which counted cycles without a result beat; the timeout now counts
 * cycles without any handshake, and long passes simulate correctly.)
 */
export const PASS_BEATS_LIMIT = 16000;

/**
 * The problem of the throughput runs: M rows, N = `nTiles`·C (whole tiles),
 * K as asked but at most what keeps (K/R)·min(M, D) at PASS_BEATS_LIMIT,
 * rounded to a multiple of G (no padding).
 */
export function throughputShape(o: AccelOptions, M: number, K: number, nTiles: number): GemmShape {
  const rowsPerPass = Math.max(1, Math.min(M, o.depth));
  const kTilesMax = Math.floor(PASS_BEATS_LIMIT / rowsPerPass);
  const kMax = Math.max(o.group, Math.floor((kTilesMax * o.rows) / o.group) * o.group);
  return { M, K: Math.min(Math.ceil(K / o.group) * o.group, kMax), N: nTiles * o.cols };
}

/**
 * One `msq sim` run; throws with the simulator's output if any result word is
 * wrong. `buildCache` (Verilator): a folder shared by the runs, where runs of
 * the same RTL and testbench (outlier rates differ only in the vector files)
 * share one build.
 */
export async function simulateUtilization(o: AccelOptions, shape: GemmShape, outlierRate: number, simulator: 'verilator' | 'icarus', work: string, seed = 1, buildCache?: string): Promise<ThroughputRun> {
  const dir = resolve(work);
  const args = [
    MSQ,
    'sim',
    ...accelFlags(o).split(' '),
    '--m', String(shape.M),
    '--k', String(shape.K),
    '--n', String(shape.N),
    '--outlier-rate', String(outlierRate),
    '--seed', String(seed),
    '--stall', '0',
    '--runs', '1',
    '--simulator', simulator,
    '--work', dir,
    ...(buildCache !== undefined && simulator === 'verilator' ? ['--build-cache', resolve(buildCache)] : []),
  ];
  const r = await runAsync(process.execPath, args, process.cwd());
  const cyc = /^run 0: (\d+) cycles/m.exec(r.stdout);
  const pass = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout);
  if (!r.ok || !cyc || !pass || Number(pass[2]) !== 0) {
    throw new Error(`msq sim ${args.slice(2).join(' ')} failed:\n${r.output.slice(-3000)}`);
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as VectorManifest;
  const cycles = Number(cyc[1]);
  const macs = shape.M * shape.K * shape.N;
  return {
    outlierRate,
    cycles,
    utilization: macs / cycles / (o.rows * o.cols),
    weightWords: manifest.counts.weightWords,
    beats: manifest.counts.activationBeats,
    tiles: Math.ceil(shape.N / o.cols) * (manifest.problem.Kpadded / o.rows) * Math.ceil(shape.M / o.depth),
    outlierFraction: manifest.quantizer.outliers / (shape.N * manifest.problem.Kpadded),
    simSeconds: r.seconds,
  };
}
