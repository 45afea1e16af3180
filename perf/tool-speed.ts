/**
 * Tool speed: generation of a large array, Verilator build and run of the
 * default simulation, and quantizer throughput. Timed in this process (the
 * JIT warmed up by one untimed call) unless said otherwise; medians of runs.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ACCEL, type AccelOptions } from '../generator/accel-config.ts';
import { buildTop } from '../generator/targets.ts';
import { designFiles, writeGeneration, writeRtlFiles } from '../generator/emit.ts';
import { writeVectorFiles } from '../testbench/vector-files.ts';
import { defaultProblem } from '../testbench/accel-vectors.ts';
import { DEFAULT_BENCH, runAccelBench, writeAccelTestbench } from '../testbench/accel-bench.ts';
import { run } from '../testbench/tools.ts';
import { quantizeMx } from '../quant/mx.ts';
import { quantizeMicroScopiQ } from '../quant/microscopiq/quantizer.ts';
import { llmLikeWeights } from '../quant/microscopiq/synthetic.ts';
import { heavyTailedData } from './quant-data.ts';
import { median, runAsync } from './exec.ts';

const MSQ = fileURLToPath(new URL('../bin/msq.mjs', import.meta.url));

function seconds(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** The 64x64 array of the generation benchmark (G = 64: a group holds whole K-tiles). */
export const GEN_64: AccelOptions = { ...DEFAULT_ACCEL, rows: 64, cols: 64, group: 64 };

export interface GenerationSpeed {
  /** median seconds of elaboration + render + atomic write, in this process */
  seconds: number;
  runs: number[];
  /** `msq generate` as a user runs it (Node start-up and tsx included), one run */
  cliSeconds: number;
  files: number;
}

export async function generationSpeed(work: string, runs: number): Promise<GenerationSpeed> {
  const out = resolve(work, 'gen64');
  const once = async () => {
    const gen = buildTop({ top: 'accelerator', accel: GEN_64 });
    const files = designFiles(gen.design, gen.config, gen.extra);
    await writeGeneration(out, files);
    return files.length;
  };
  let files = await once(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await secondsAsync(async () => (files = await once())));
  const cliOut = resolve(work, 'gen64-cli');
  const flags = ['--rows', '64', '--cols', '64', '--group', '64', '--out', cliOut];
  const cli = await runAsync(process.execPath, [MSQ, 'generate', ...flags], process.cwd());
  if (!cli.ok) throw new Error(`msq generate ${flags.join(' ')} failed:\n${cli.output}`);
  return { seconds: median(times), runs: times, cliSeconds: cli.seconds, files };
}

export interface SimSpeed {
  /** median seconds of `verilator --binary` on the default design and testbench */
  buildSeconds: number;
  /** median seconds of the compiled simulation (default problem, 2 runs, 20 % stalls) */
  runSeconds: number;
  cycles: number[];
  repeats: number;
}

/**
 * The default `msq sim` (8x8 W4A8 crossbar, default problem, 2 runs, 20 %
 * stalls) on Verilator, built `repeats` times: build time = the whole
 * runAccelBench minus a rerun of the binary it made.
 */
export function defaultSimSpeed(work: string, repeats: number): SimSpeed {
  const dir = resolve(work, 'default-sim');
  const builds: number[] = [];
  const runs: number[] = [];
  let cycles: number[] = [];
  for (let i = 0; i < repeats; i++) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const gen = buildTop({ top: 'accelerator', accel: DEFAULT_ACCEL });
    const c = gen.accel!;
    const manifest = writeVectorFiles(dir, c, { ...defaultProblem(c), outlierRate: 0.01, seed: 1 });
    const rtl = writeRtlFiles(dir, gen.design);
    writeAccelTestbench(dir, gen.design.top.name, c, manifest, DEFAULT_BENCH);
    const t0 = performance.now();
    const r = runAccelBench(dir, rtl, 'verilator');
    const total = (performance.now() - t0) / 1000;
    if (r.failed > 0 || r.passed === 0) throw new Error(`default simulation failed:\n${r.log.slice(-3000)}`);
    let runOk = true;
    const t = seconds(() => (runOk = run(join(dir, 'obj_dir', 'vsim'), [], dir).ok));
    if (!runOk) throw new Error('default simulation: rerunning the binary failed');
    builds.push(total - t);
    runs.push(t);
    cycles = r.cycles;
  }
  return { buildSeconds: median(builds), runSeconds: median(runs), cycles, repeats };
}

export interface QuantSpeed {
  size: number;
  /** M elements per second, median of runs */
  mxfp4_e2m1: number;
  /** MicroScopiQ direct-cast, W4 crossbar (the defaults) */
  microscopiq: number;
  microscopiq_w2: number;
  runs: number;
}

/** Direct-cast throughput on size x size: MX on scripts/bench-quant.ts' data, MicroScopiQ on scripts/bench-microscopiq.ts' LLM-like weights. */
export function quantizerSpeed(size: number, runs: number): QuantSpeed {
  const n = size;
  const rate = (fn: () => unknown) => {
    fn(); // warm-up
    const t = median(Array.from({ length: runs }, () => seconds(fn)));
    return (n * n) / t / 1e6;
  };
  let data: Float32Array | null = heavyTailedData(n * n);
  const mx = rate(() => quantizeMx(data!, [n, n], { format: 'fp4_e2m1', blockSize: 32 }));
  data = null;
  const W = llmLikeWeights(n, n, 1);
  const w4 = rate(() => quantizeMicroScopiQ(W, n, n, { inlier: 'mxint4', recon: 'crossbar' }));
  const w2 = rate(() => quantizeMicroScopiQ(W, n, n, { inlier: 'mxint2', recon: 'crossbar' }));
  return { size: n, mxfp4_e2m1: mx, microscopiq: w4, microscopiq_w2: w2, runs };
}
