/**
 * Benchmark of the reference quantizers: MX direct-cast of a 4096x4096 float32
 * matrix, single-threaded. Prints the median of several runs in M elements/s.
 * (A script, not a timed unit test: timings depend on the machine.)
 *
 *   npx tsx scripts/bench-quant.ts [--runs 7] [--size 4096]
 */
import { quantizeMx, mxEncode } from '../quant/mx.ts';
import { quantizeNxfp } from '../quant/nxfp.ts';
import { heavyTailedData as makeData } from '../perf/quant-data.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const runs = arg('--runs', 7);
const n = arg('--size', 4096);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** Median (the headline) and best run: on a shared machine the best run shows the code's own speed. */
function report(name: string, count: number, times: number[]): void {
  const t = median(times);
  const best = Math.min(...times);
  console.log(
    `  ${name.padEnd(42)} ${(t * 1000).toFixed(1).padStart(8)} ms  ${(count / t / 1e6).toFixed(1).padStart(7)} M elem/s median` +
      `  (best ${(count / best / 1e6).toFixed(1)})`,
  );
}

const data = makeData(n * n);
const cases: Array<[string, () => unknown]> = [
  ['mxfp4_e2m1 quantize (fake quant)', () => quantizeMx(data, [n, n], { format: 'fp4_e2m1', blockSize: 32 })],
  ['mxfp8_e4m3 quantize (fake quant)', () => quantizeMx(data, [n, n], { format: 'fp8_e4m3', blockSize: 32 })],
  ['mxint8 quantize (fake quant)', () => quantizeMx(data, [n, n], { format: 'int8', blockSize: 32 })],
  ['mxfp4_e2m1 quantize, rounding even', () => quantizeMx(data, [n, n], { format: 'fp4_e2m1', blockSize: 32, rounding: 'even' })],
  ['mxfp4_e2m1 along axis 0', () => quantizeMx(data, [n, n], { format: 'fp4_e2m1', blockSize: 32, axis: 0 })],
  ['mxint4 encode (codes + scales + values)', () => mxEncode(data, [n, n], { format: 'int4', blockSize: 32 })],
];

console.log(`MX direct-cast of a ${n}x${n} float32 matrix (${((n * n) / 1e6).toFixed(1)} M elements), single thread, median of ${runs} runs`);
for (const [name, fn] of cases) {
  fn(); // warm-up (JIT)
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  report(name, n * n, times);
}

// NxFP searches several scales and formats per block; it is a reference, not a fast path.
const m = Math.min(n, 1024);
const small = makeData(m * m);
const nx: Array<[string, () => unknown]> = [
  ['nxfp4 (techniques off: MX arithmetic)', () => quantizeNxfp(small, [m, m], { family: 'nxfp4' })],
  ['nxfp4+nm2+am+cr', () => quantizeNxfp(small, [m, m], { family: 'nxfp4', nanoMantissa: 2, adaptiveMicroexponent: true, codeRecycling: true })],
];
console.log(`NxFP reference quantizer on ${m}x${m}, median of 3 runs`);
for (const [name, fn] of nx) {
  fn();
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  report(name, m * m, times);
}
