/**
 * MX quantization, bit-exact with microsoft/microxcaling's
 * `_quantize_mx(A, scale_bits=8, elem_format, axes=[axis], block_size, round)`.
 *
 * Per block: E = shared exponent (shared-exponent.ts), each x/2^E is rounded to
 * the element grid (element.ts) and multiplied back by 2^E, all in float32.
 * The kernel produces, in one pass, the E8M0 scale codes, the element codes and
 * the dequantized float32 values; the dequantized value of an element is
 * decoded from its code, so unpack(pack(x)) is bit-identical to quantize(x).
 *
 * NaN/Inf rule (OCP MX v1.0, and what microxcaling does): a block whose
 * max |x| is NaN or ±Inf, i.e. a block holding any NaN or ±Inf, gets the NaN
 * scale (E8M0 code 0xFF) and all its elements dequantize to NaN (their element
 * codes are written as 0). microxcaling gets there because torch.max propagates
 * NaN, log2(Inf) = Inf, an exponent above 127 becomes NaN, and x / 2^NaN is NaN
 * (its test_corners_mx.py: [NaN|±Inf, 0, 2^127, 0] -> all NaN). Finite inputs
 * never overflow: large values saturate to ±max normal times the scale.
 *
 * Zeros: an FP element that rounds to zero from a negative value keeps the -0
 * code, as microxcaling keeps -0.0; INT codes are two's complement and have no
 * -0, so INT zeros are +0.
 *
 * Speed: the inner loop works on float32 bit patterns (Uint32Array view) for
 * the block maximum and element exponents, uses precomputed power-of-two and
 * code-value tables, and allocates nothing per element.
 */
import type { ElementFormat, Rounding } from './formats.ts';
import { elementFormat } from './formats.ts';
import { blockGeometry, type BlockGeometry } from './blocks.ts';
import { sharedExponentFromBits, E8M0_NAN_CODE } from './shared-exponent.ts';
import { encodeElement, elementValueTable } from './element.ts';

export interface MxOptions {
  /** Element format or its registry name (e.g. 'fp4_e2m1', 'int8'). */
  format: ElementFormat | string;
  blockSize?: number;
  /** Axis along which blocks run; negative counts from the end. Default -1. */
  axis?: number;
  rounding?: Rounding;
}

export interface MxEncoded {
  geometry: BlockGeometry;
  format: ElementFormat;
  rounding: Rounding;
  /** E8M0 scale codes, one per block, in block order (blocks.ts). 0xFF = NaN. */
  scaleCodes: Uint8Array;
  /** Element codes, one per element, in the tensor's C order. */
  codes: Uint8Array;
  /** Dequantized values (what microxcaling returns), the tensor's C order. */
  values: Float32Array;
}

/** Power-of-two table: POW2[k + POW2_OFFSET] = 2^k for k in [-POW2_OFFSET, POW2_OFFSET]. */
const POW2_OFFSET = 400;
const POW2 = new Float64Array(2 * POW2_OFFSET + 1);
for (let k = -POW2_OFFSET; k <= POW2_OFFSET; k++) POW2[k + POW2_OFFSET] = 2 ** k;

/** Constants of one element format the kernel needs, computed once per call. */
interface KernelTables {
  isFp: boolean;
  emax: number;
  emin: number;
  mbits: number;
  /** 2^mbits for FP; the scaling of |x| before rounding for INT is 2^fracBits. */
  intScale: number;
  /** Largest magnitude code (the code of maxNormal without sign). */
  maxMag: number;
  maxNormal: number;
  /** Magnitude code -> value. */
  magValue: Float64Array;
  signBit: number;
  bits: number;
  /** INT: two's complement mask. */
  codeMask: number;
}

function kernelTables(fmt: ElementFormat): KernelTables {
  const maxMag = encodeElement(fmt.maxNormal, fmt);
  const magValue = new Float64Array(maxMag + 1);
  for (let c = 0; c <= maxMag; c++) {
    magValue[c] = fmt.kind === 'fp' ? magnitudeOfFpCode(c, fmt.mbits, fmt.bias) : c / 2 ** fmt.fracBits;
  }
  return {
    isFp: fmt.kind === 'fp',
    emax: fmt.emax,
    emin: fmt.kind === 'fp' ? fmt.emin : 0,
    mbits: fmt.kind === 'fp' ? fmt.mbits : 0,
    intScale: fmt.kind === 'int' ? 2 ** fmt.fracBits : 1,
    maxMag,
    maxNormal: fmt.maxNormal,
    magValue,
    signBit: fmt.kind === 'fp' ? 1 << (fmt.bits - 1) : 0,
    bits: fmt.bits,
    codeMask: (1 << fmt.bits) - 1,
  };
}

function magnitudeOfFpCode(c: number, mbits: number, bias: number): number {
  const field = c >> mbits;
  const mant = c & ((1 << mbits) - 1);
  return field === 0 ? mant * 2 ** (1 - bias - mbits) : 2 ** (field - bias) * (1 + mant / 2 ** mbits);
}

/**
 * Quantizes a float32 tensor to MX and returns scale codes, element codes and
 * dequantized values. Throws InputError on a bad format, axis or block size.
 */
export function mxEncode(data: Float32Array, shape: readonly number[], opts: MxOptions): MxEncoded {
  return run(data, shape, opts, true) as MxEncoded;
}

/** MX fake quantization: the dequantized tensor, as microxcaling's _quantize_mx returns it. */
export function quantizeMx(data: Float32Array, shape: readonly number[], opts: MxOptions): Float32Array {
  // Without element codes: writing them costs about a third of the kernel's time.
  return run(data, shape, opts, false).values;
}

/**
 * MX fake quantization that also returns the block scales: the dequantized
 * tensor, the E8M0 scale code of every block (0xFF: the block's max |x| is NaN
 * or ±Inf, so all its elements are NaN) and the block geometry.
 */
export function quantizeMxWithScales(
  data: Float32Array,
  shape: readonly number[],
  opts: MxOptions,
): { values: Float32Array; scaleCodes: Uint8Array; geometry: BlockGeometry } {
  const r = run(data, shape, opts, false);
  return { values: r.values, scaleCodes: r.scaleCodes, geometry: r.geometry };
}

/** Blocks with the NaN scale (E8M0 0xFF): those whose max |x| is NaN or ±Inf. */
export function nanScaleCount(scaleCodes: Uint8Array): number {
  let n = 0;
  for (let b = 0; b < scaleCodes.length; b++) if (scaleCodes[b] === E8M0_NAN_CODE) n++;
  return n;
}

function run(data: Float32Array, shape: readonly number[], opts: MxOptions, withCodes: boolean): Omit<MxEncoded, 'codes'> & { codes: Uint8Array | null } {
  const format = typeof opts.format === 'string' ? elementFormat(opts.format) : opts.format;
  const rounding = opts.rounding ?? 'nearest';
  const g = blockGeometry(shape, opts.axis ?? -1, opts.blockSize ?? 32);
  if (data.length !== g.size) throw new RangeError(`data has ${data.length} values, shape [${shape.join(', ')}] needs ${g.size}`);
  const scaleCodes = new Uint8Array(g.blockCount);
  const codes = withCodes ? new Uint8Array(g.size) : null;
  const values = new Float32Array(g.size);
  mxKernel(data, g, kernelTables(format), rounding === 'even', scaleCodes, codes, values);
  return { geometry: g, format, rounding, scaleCodes, codes, values };
}

/**
 * Runs the contiguous kernel on every block. Blocks along the last axis
 * (inner = 1) are contiguous already; for any other axis the tensor is
 * transposed to [outer, inner, len] first, so that the hot loop always walks
 * memory in order, and the results are transposed back.
 */
function mxKernel(
  data: Float32Array,
  g: BlockGeometry,
  t: KernelTables,
  even: boolean,
  scaleCodes: Uint8Array,
  codes: Uint8Array | null,
  values: Float32Array,
): void {
  const { outer, len, inner, nBlocks } = g;
  if (inner === 1) {
    contiguousKernel(data, outer, len, g.blockSize, t, even, scaleCodes, codes, values);
    return;
  }
  const tIn = new Float32Array(g.size);
  transposeInner(data, tIn, outer, len, inner);
  const tVals = new Float32Array(g.size);
  const tCodes = codes ? new Uint8Array(g.size) : null;
  const tScales = new Uint8Array(g.blockCount);
  contiguousKernel(tIn, outer * inner, len, g.blockSize, t, even, tScales, tCodes, tVals);
  transposeBack(tVals, values, outer, len, inner);
  if (codes && tCodes) transposeBack(tCodes, codes, outer, len, inner);
  transposeBack(tScales, scaleCodes, outer, nBlocks, inner);
}

/** [outer, len, inner] -> [outer, inner, len], in 64x64 tiles to stay in cache. */
function transposeInner<T extends Float32Array | Uint8Array>(src: T, dst: T, outer: number, len: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    for (let i0 = 0; i0 < len; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, len);
      for (let n0 = 0; n0 < inner; n0 += TILE) {
        const n1 = Math.min(n0 + TILE, inner);
        for (let i = i0; i < i1; i++) {
          const row = base + i * inner;
          for (let n = n0; n < n1; n++) dst[base + n * len + i] = src[row + n]!;
        }
      }
    }
  }
}

/** [outer, inner, len] -> [outer, len, inner]. */
function transposeBack<T extends Float32Array | Uint8Array>(src: T, dst: T, outer: number, len: number, inner: number): void {
  transposeInner(src, dst, outer, inner, len);
}

const TILE = 64;

const SIGN = 1 << 31; // int32 sign bit
/** Smallest s for which float32 s + 0.5 rounds up to 1.0 (the sum 1 - 2^-25 is a tie to even). */
const ALMOST_HALF = 0.5 - 2 ** -25;
const ABS = 0x7fffffff;

/**
 * `rows` rows of `len` contiguous elements, blocks of `blockSize` along each row.
 *
 * FP elements take an integer fast path when both the input and its element
 * value are normal: then x = v/2^E has v's mantissa bits, so rounding x to
 * mbits mantissa bits is rounding v's float32 bit pattern (add half an LSB,
 * plus the kept LSB's parity for ties-to-even, then mask; a carry moves into the
 * exponent as it should), and the result is already q·2^E. Saturation is a
 * compare against the bit pattern of maxNormal·2^E. Everything else (element
 * subnormals, float32 subnormal inputs, INT formats) follows microxcaling's
 * arithmetic in doubles with float32 rounding where float32 would round.
 */
function contiguousKernel(
  data: Float32Array,
  rows: number,
  len: number,
  blockSize: number,
  t: KernelTables,
  even: boolean,
  scaleCodes: Uint8Array,
  codes: Uint8Array | null,
  values: Float32Array,
): void {
  // Int32 views keep the bit arithmetic in V8's small-integer fast path
  // (a Uint32 view yields values >= 2^31 that become doubles).
  const vb32 = new Int32Array(data.buffer, data.byteOffset, data.length);
  const ob32 = new Int32Array(values.buffer, values.byteOffset, values.length);
  const { isFp, emax, emin, mbits, intScale, maxMag, magValue, signBit, codeMask } = t;
  const fround = Math.fround;
  const floor = Math.floor;
  const shift = 23 - mbits; // dropped float32 mantissa bits in the FP fast path
  const lowMask = (1 << shift) - 1;
  // Ties to even look at the parity of the kept LSB. With no mantissa bits
  // (E3M0) the rounded integer r is 1 or 2 and a tie always goes to 2, i.e. up,
  // as with ties away: microxcaling's mask never fires there.
  const evenTies = even && mbits > 0;
  const halfAdd = evenTies ? (1 << (shift - 1)) - 1 : 1 << (shift - 1);
  const parity = evenTies ? 1 : 0;
  const subParity = even ? 1 : 0; // below emin, r = 0 or 1: a tie at 0.5 does go to 0
  const mantUnit = 1 << mbits;
  const signShift = t.bits - 1;
  let sb = 0; // index into scaleCodes
  for (let row = 0; row < rows; row++) {
    const rowStart = row * len;
    const rowEnd = rowStart + len;
    for (let i0 = rowStart; i0 < rowEnd; i0 += blockSize) {
      const i1 = i0 + blockSize < rowEnd ? i0 + blockSize : rowEnd;
      let maxBits = 0;
      for (let i = i0; i < i1; i++) {
        const ab = vb32[i]! & ABS;
        if (ab > maxBits) maxBits = ab;
      }
      const e = sharedExponentFromBits(maxBits, emax);
      if (e !== e) {
        scaleCodes[sb++] = E8M0_NAN_CODE;
        values.fill(NaN, i0, i1);
        if (codes) codes.fill(0, i0, i1);
        continue;
      }
      scaleCodes[sb++] = e + 127;
      const scale = POW2[POW2_OFFSET + e]!;
      const invScale = POW2[POW2_OFFSET - e]!;
      if (isFp) {
        // Float32 exponent field of v from which the element is normal (p >= emin).
        let fieldMin = emin + e + 127;
        if (fieldMin < 1) fieldMin = 1;
        // The fast path needs the element's normal range to be float32-normal;
        // then maxNormal·2^E is a normal float32 too, exactly representable.
        const fastOk = emin + e + 127 >= 1;
        const satBits = fastOk ? float32BitsOf(t.maxNormal * scale) : 0;
        const codeOffset = (fieldMin - 1) * mantUnit;
        const subStep = POW2[POW2_OFFSET + emin - mbits + e]!; // element subnormal step, times 2^E
        for (let i = i0; i < i1; i++) {
          const vb = vb32[i]!;
          const ab = vb & ABS;
          const field = ab >>> 23;
          if (fastOk && field >= fieldMin) {
            let rb = ab + halfAdd + ((ab >>> shift) & parity);
            rb -= rb & lowMask;
            if (rb > satBits) rb = satBits;
            ob32[i] = rb | (vb & SIGN);
            if (codes) codes[i] = ((rb >>> shift) - codeOffset) | ((vb >>> 31) << signShift);
            continue;
          }
          if (fastOk && field !== 0) {
            // Element subnormal (x below 2^emin), v a normal float32: r = |x| / step
            // rounded, where |x|/step = M·2^-sh with M the 24-bit significand of v.
            const sh = shift + fieldMin - field;
            const m24 = (ab & 0x7fffff) | 0x800000;
            let r: number;
            if (sh <= 24) r = (m24 + (1 << (sh - 1)) - subParity + ((m24 >>> sh) & subParity)) >>> sh;
            // |x|/step < 0.5 here. microxcaling's float32 |x|/step + 0.5 rounds up to 1.0
            // only for the largest float32 below 0.5 (sh = 25, all mantissa bits set).
            else r = sh === 25 && m24 === 0xffffff ? 1 : 0;
            values[i] = r * subStep * ((vb >> 31) | 1); // keeps -0, as microxcaling does
            if (codes) codes[i] = r | ((vb >>> 31) << signShift);
            continue;
          }
          // Slow path: microxcaling's steps in doubles, float32 rounding where it rounds.
          const ax = fround(Math.abs(data[i]!) * invScale);
          let p = field !== 0 ? field - 127 - e : -118 - Math.clz32(ab) - e;
          if (p < emin) p = emin;
          const s = ax * POW2[POW2_OFFSET + mbits - p]!;
          const tt = s + 0.5;
          let r = floor(fround(tt));
          if (even && r === tt && (r & 1) === 1) r -= 1;
          let mag = (p - emin) * mantUnit + r;
          if (mag > maxMag) mag = maxMag;
          const q = magValue[mag]! * scale;
          if (vb < 0) {
            values[i] = -q;
            if (codes) codes[i] = signBit | mag;
          } else {
            values[i] = q;
            if (codes) codes[i] = mag;
          }
        }
      } else {
        // INT: s = |v|·2^(fracBits-E); exact in doubles (an x below 2^-126 rounds to 0 anyway).
        const toInt = intScale * invScale;
        const back = scale / intScale;
        for (let i = i0; i < i1; i++) {
          const v = data[i]!;
          const s = Math.abs(v) * toInt; // < 2^(bits-1) + 1, so tt | 0 is floor(tt)
          const tt = s + 0.5;
          // floor(fl32(s + 0.5)) without the float32 round trip: the sum is exact
          // in doubles, and float32 rounding only matters in [ALMOST_HALF, 0.5).
          let r = tt | 0;
          if (r === 0 && s >= ALMOST_HALF) r = 1;
          else if (even && r === tt && (r & 1) === 1) r -= 1;
          if (r > maxMag) r = maxMag;
          const sgn = (vb32[i]! >> 31) | 1;
          values[i] = r * back * sgn + 0; // + 0 turns -0 into +0: two's complement has no -0
          if (codes) codes[i] = (r * sgn) & codeMask;
        }
      }
    }
  }
}

const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);
function float32BitsOf(x: number): number {
  bitsF32[0] = x;
  return bitsU32[0]!;
}

/** Decodes MX codes back to float32 values (the inverse of mxEncode's code output). */
export function mxDecode(
  scaleCodes: Uint8Array,
  codes: Uint8Array,
  g: BlockGeometry,
  format: ElementFormat | string,
): Float32Array {
  const fmt = typeof format === 'string' ? elementFormat(format) : format;
  const table = elementValueTable(fmt);
  const out = new Float32Array(g.size);
  const { outer, len, inner, blockSize, nBlocks } = g;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < len; i++) {
      const b = (i / blockSize) | 0;
      const row = (o * len + i) * inner;
      const srow = (o * nBlocks + b) * inner;
      for (let n = 0; n < inner; n++) {
        const sc = scaleCodes[srow + n]!;
        out[row + n] = sc === E8M0_NAN_CODE ? NaN : table[codes[row + n]!]! * POW2[POW2_OFFSET + sc - 127]!;
      }
    }
  }
  return out;
}
