/**
 * Official-compatible direct-cast mode (`--compat official`).
 *
 * Reproduces, bit for bit, `quantize_mx_outlier_v1` of the official MicroScopiQ
 * code (georgia-tech-synergy-lab/MicroScopiQ-LLM-Quantization, utils/quant.py,
 * commit 213c3ed) with 8-bit inlier and outlier scales, "max" shared exponents
 * and the given rounding. The function is a fake quantizer: it returns the
 * dequantized tensor. Every arithmetic step is done in float32 as torch does
 * it on CPU (Math.fround after each operation); element rounding and the
 * float32 log2 quirk come from quant/element.ts and quant/float32.ts.
 *
 * Steps, for each block of `blockSize` consecutive elements along `axis`
 * (the axis is zero-padded to a multiple of blockSize first, and the padding
 * zeros take part in the statistics, as in the official code):
 *
 *  1. a = |x|; mean = fl32(fl32(sum a, sequential float32) / blockSize);
 *     std = fl32(sqrt(population variance computed in double)).
 *  2. outlier  <=>  x < mean - k·std  or  x > mean + k·std   (SIGNED x against
 *     bounds made from |x|: the official quirk, negative values are flagged
 *     far more eagerly than positive ones).
 *  3. E_in = floor(log2 max|inliers|) - emax_in (log2 of 2^-126 for an all-zero
 *     set); E_in > 127 -> NaN; E_in < -127 -> -20 (not -127: official quirk).
 *  4. inliers: q = Q_in(x / 2^E_in) · 2^E_in.
 *  5. outliers are multiplied (not divided) by 2^E_in, then
 *     E_out = floor(log2 max|scaled outliers|) - emax_out (same rules as 3),
 *     quantized in the outlier format and rescaled by 2^E_out / 2^E_in.
 *  6. result = inlier part + outlier part (float32 add).
 */
import { InputError, checkOneOf } from '../../common/errors.ts';
import { elementFormat, type ElementFormat, type Rounding } from '../formats.ts';
import { quantizeElement } from '../element.ts';
import { float32Bits, torchFloorLog2Bits } from '../float32.ts';
import { FP32_MIN_NORMAL_EXPONENT, SCALE_EMAX } from '../shared-exponent.ts';

/** Names the official code accepts for the formats of the reference vectors ('fp4' is its alias of fp4_e2m1). */
const OFFICIAL_ALIASES: Readonly<Record<string, string>> = { fp4: 'fp4_e2m1', fp8: 'fp8_e4m3', fp6: 'fp6_e3m2' };

export const OFFICIAL_INLIER_FORMATS = ['int2', 'int4', 'int8'] as const;

export interface OfficialOptions {
  /** Inlier element format: int2 | int4 | int8 (any registry name is accepted). */
  inlierFormat: string;
  /** Outlier element format: fp4 (= fp4_e2m1) | fp8_e4m3 | any FP registry name. */
  outlierFormat: string;
  /** Block size along `axis` (the official default is 16). */
  blockSize: number;
  /** k of the mean ± k·std outlier test (official default 2). */
  stdDev: number;
  /** Axis the blocks run along (official: 0, the output-channel axis of W[out, in]); negative counts from the end. */
  axis?: number;
  rounding?: Rounding;
}

export interface OfficialStats {
  blocks: number;
  outliers: number;
}

/** Resolves a format name, accepting the official code's aliases. */
export function officialFormat(name: string): ElementFormat {
  return elementFormat(OFFICIAL_ALIASES[name] ?? name);
}

/** Raw shared exponent of the official code: no clamping at -127 (see step 3). */
function officialExponent(maxAbs: number, emax: number): number {
  if (!(maxAbs <= 3.4028234663852886e38)) return NaN;
  const bits = float32Bits(maxAbs) & 0x7fffffff;
  const log2 = bits === 0 ? FP32_MIN_NORMAL_EXPONENT : torchFloorLog2Bits(bits);
  const e = log2 - emax;
  if (e > SCALE_EMAX) return NaN;
  if (e < -SCALE_EMAX) return -20;
  return e;
}

/**
 * Fake-quantizes `data` (a float32 tensor of `shape`, C order) like the official
 * quantize_mx_outlier_v1. Returns the dequantized float32 tensor of the same shape.
 */
export function quantizeOfficial(
  data: Float32Array,
  shape: readonly number[],
  opts: OfficialOptions,
): { output: Float32Array; stats: OfficialStats } {
  const inFmt = officialFormat(opts.inlierFormat);
  const outFmt = officialFormat(opts.outlierFormat);
  if (outFmt.kind !== 'fp') throw new InputError(`outlier format ${opts.outlierFormat} is not a floating-point format`);
  const rounding: Rounding = opts.rounding ?? 'nearest';
  checkOneOf('--rounding', rounding, ['nearest', 'even'] as const);
  const bs = opts.blockSize;
  if (!Number.isInteger(bs) || bs < 1 || bs > 1 << 20) throw new InputError(`--block-size ${bs} is out of range: allowed integers 1..1048576`);
  if (!(opts.stdDev >= 0) || !Number.isFinite(opts.stdDev)) throw new InputError(`--std-dev ${opts.stdDev} is out of range: allowed finite numbers >= 0`);
  if (shape.length === 0) throw new InputError('a 0-dimensional array has no axis to block along: give an array with at least one dimension');
  let axis = opts.axis ?? 0;
  if (!Number.isInteger(axis) || axis < -shape.length || axis >= shape.length) {
    throw new InputError(`--axis ${axis} is out of range for a ${shape.length}-dimensional array: allowed ${-shape.length}..${shape.length - 1}`);
  }
  if (axis < 0) axis += shape.length;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`shape [${shape.join(', ')}] holds ${count} values, data has ${data.length}`);

  const len = shape[axis]!;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const nBlocks = Math.ceil(len / bs);
  const k32 = Math.fround(opts.stdDev);
  const output = new Float32Array(count);
  const vals = new Float64Array(bs); // the block, zero padded
  const isOut = new Uint8Array(bs);
  const stats: OfficialStats = { blocks: 0, outliers: 0 };

  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      for (let blk = 0; blk < nBlocks; blk++) {
        stats.blocks++;
        const start = blk * bs;
        for (let t = 0; t < bs; t++) {
          const idx = start + t;
          vals[t] = idx < len ? data[base + idx * inner]! : 0;
        }
        // 1. statistics of |x| (padding zeros included)
        let sum32 = 0;
        let sumD = 0;
        for (let t = 0; t < bs; t++) {
          const a = Math.abs(vals[t]!);
          sum32 = Math.fround(sum32 + a);
          sumD += a;
        }
        const mean = Math.fround(sum32 / bs);
        const meanD = sumD / bs;
        let ss = 0;
        for (let t = 0; t < bs; t++) {
          const d = Math.abs(vals[t]!) - meanD;
          ss += d * d;
        }
        const std = Math.fround(Math.sqrt(ss / bs));
        const kstd = Math.fround(k32 * std);
        const lower = Math.fround(mean - kstd);
        const upper = Math.fround(mean + kstd);
        // 2. signed test (quirk)
        let maxIn = 0;
        let anyNaN = false;
        for (let t = 0; t < bs; t++) {
          const x = vals[t]!;
          if (x !== x) anyNaN = true;
          const out = x < lower || x > upper;
          isOut[t] = out ? 1 : 0;
          if (out) {
            if (start + t < len) stats.outliers++;
          } else {
            const a = Math.abs(x);
            if (a > maxIn) maxIn = a;
          }
        }
        // 3.-4. inliers
        const eIn = anyNaN ? NaN : officialExponent(maxIn, inFmt.emax);
        const sIn = 2 ** eIn; // exact float32 power of two (eIn >= -127)
        let maxOut = 0;
        const scaledOut = vals; // reuse: outlier slots now hold x·2^E_in, inlier slots their result
        const inPart = new Float64Array(bs);
        for (let t = 0; t < bs; t++) {
          const x = vals[t]!;
          if (isOut[t]) {
            inPart[t] = 0;
            const so = Math.fround(x * sIn);
            scaledOut[t] = so;
            const a = Math.abs(so);
            if (a > maxOut || a !== a) maxOut = a !== a ? NaN : Math.max(maxOut, a);
          } else {
            const q = quantizeElement(Math.fround(x / sIn), inFmt, rounding);
            inPart[t] = Math.fround(q * sIn);
            scaledOut[t] = 0;
          }
        }
        // 5. outliers
        const eOut = officialExponent(maxOut, outFmt.emax);
        const sOut = 2 ** eOut;
        for (let t = 0; t < bs; t++) {
          const idx = start + t;
          if (idx >= len) continue;
          let outPart = 0;
          if (isOut[t]) {
            const q = quantizeElement(Math.fround(scaledOut[t]! / sOut), outFmt, rounding);
            outPart = Math.fround(Math.fround(q * sOut) / sIn);
          }
          output[base + idx * inner] = Math.fround(inPart[t]! + outPart);
        }
      }
    }
  }
  return { output, stats };
}
