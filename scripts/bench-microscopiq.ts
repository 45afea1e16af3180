/**
 * Benchmarks of the MicroScopiQ quantizer (a script, not a timed unit test:
 * timings depend on the machine). Single-threaded.
 *
 *   npx tsx scripts/bench-microscopiq.ts [--size 4096] [--runs 5] [--hessian-rows 128] [--skip-hessian]
 *
 * 1. Direct-cast of an LLM-like size×size layer: median of --runs runs, in M weights/s,
 *    for W4 and W2, crossbar and butterfly; plus .msq encode/decode.
 * 2. Hessian (GPTQ/OBS) mode of the same layer with --hessian-rows calibration rows:
 *    one run, wall time and the process's peak resident memory.
 */
import { loadavg, cpus } from 'node:os';
import { quantizeMicroScopiQ } from '../quant/microscopiq/quantizer.ts';
import { encodePacked, decodePacked } from '../quant/microscopiq/packed.ts';
import { effectiveBits } from '../quant/microscopiq/ebw.ts';
import { llmLikeWeights, llmLikeActivations } from '../quant/microscopiq/synthetic.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const n = arg('--size', 4096);
const runs = arg('--runs', 5);
const rows = arg('--hessian-rows', 128);
const skipHessian = process.argv.includes('--skip-hessian');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => unknown): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const peakMiB = () => process.resourceUsage().maxRSS / 1024;

console.log(`MicroScopiQ benchmark, ${n}x${n} LLM-like weights (${((n * n) / 1e6).toFixed(1)} M weights), Node ${process.version}, single thread`);
// Timings on a shared machine swing with its load: print it so a reader can judge.
console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const W = llmLikeWeights(n, n, 1);
console.log(`\nDirect-cast (median of ${runs} runs after one warm-up):`);
for (const inlier of ['mxint4', 'mxint2'] as const) {
  for (const recon of ['crossbar', 'butterfly'] as const) {
    const run = () => quantizeMicroScopiQ(W, n, n, { inlier, recon });
    const layer = run();
    const t = median(Array.from({ length: runs }, () => time(run)));
    console.log(
      `  ${inlier} ${recon.padEnd(9)} ${(t * 1000).toFixed(0).padStart(6)} ms  ${((n * n) / t / 1e6).toFixed(1).padStart(6)} M weights/s   EBW ${effectiveBits(layer).toFixed(3)}`,
    );
  }
}
{
  const layer = quantizeMicroScopiQ(W, n, n, {});
  let bytes = encodePacked(layer);
  const te = median(Array.from({ length: runs }, () => time(() => (bytes = encodePacked(layer)))));
  const td = median(Array.from({ length: runs }, () => time(() => decodePacked(bytes))));
  console.log(`  .msq encode ${(te * 1000).toFixed(0)} ms, decode ${(td * 1000).toFixed(0)} ms (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`);
}
console.log(`  peak RSS so far ${peakMiB().toFixed(0)} MiB`);

if (!skipHessian) {
  console.log(`\nHessian mode (GPTQ/OBS), ${rows} calibration rows, default W4 crossbar, one run:`);
  const X = llmLikeActivations(rows, n, 7, 100);
  const t0 = process.hrtime.bigint();
  const layer = quantizeMicroScopiQ(W, n, n, { calibration: { X, M: rows, K: n } });
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  const h = layer.stats.hessian!;
  const ph = h.phaseSeconds;
  console.log(
    `  total ${t.toFixed(1)} s: H = 2/M·XᵀX ${ph.hessian.toFixed(1)} s, U = chol(H⁻¹) ${ph.factor.toFixed(1)} s, GPTQ loop ${ph.gptq.toFixed(1)} s; damping ${h.relativeDamping} (retries ${h.retries})`,
  );
  console.log(`  peak RSS ${peakMiB().toFixed(0)} MiB (${(peakMiB() / 1024).toFixed(2)} GiB)`);
}
