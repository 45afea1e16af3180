/**
 * Element rounding, encoding and decoding.
 *
 * quantizeElement(v, fmt, rounding) rounds a value that has already been divided
 * by its block scale onto the element grid, exactly as microxcaling's
 * _quantize_elemwise_core does in float32 (saturate_normals=True, subnormals kept):
 *
 *   FP:  p = max(floor(log2|v|), emin)     (p = max(0, emin) for v = 0)
 *        s = |v| / 2^p · 2^mbits            (the mantissa as an integer part)
 *   INT: s = |v| · 2^fracBits
 *   nearest: r = floor(fl32(s + 0.5))       ties away from zero
 *   even:    r = floor(fl32(s + 0.5)) - (s - 0.5 is an even integer ? 1 : 0)
 *   q = sign(v) · min(r / 2^mbits · 2^p, maxNormal)  (resp. r / 2^fracBits)
 *
 * fl32(s + 0.5) is the float32 sum: for the two float32 values just below 0.5
 * it rounds up to 1.0, so microxcaling rounds them up, and so do we. NaN stays
 * NaN and ±Inf stay ±Inf (as in microxcaling); finite values saturate.
 *
 * Codes: FP elements are sign | exponent field | mantissa (sign-magnitude, so
 * there is a -0 code). INT elements are two's complement of k = q·2^fracBits;
 * the code 100..0 (k = -2^(bits-1)) lies outside microxcaling's symmetric set
 * and is never produced (it decodes to -2^(bits-1)·2^-fracBits).
 */
import type { ElementFormat, FpElementFormat, Rounding } from './formats.ts';
import { float32Bits, torchFloorLog2Bits, exactFloorLog2Bits } from './float32.ts';

/**
 * Rounds v (a float32 value already divided by the block scale) onto the
 * element grid of `fmt`, saturating at ±maxNormal.
 */
export function quantizeElement(v: number, fmt: ElementFormat, rounding: Rounding = 'nearest'): number {
  if (v !== v) return NaN;
  if (v === Infinity || v === -Infinity) return v;
  const a = Math.abs(v);
  let s: number;
  let unit: number; // value of one step of r
  if (fmt.kind === 'fp') {
    let p: number;
    if (a === 0) p = 0;
    else p = torchFloorLog2Bits(float32Bits(a) & 0x7fffffff);
    if (p < fmt.emin) p = fmt.emin;
    // float32: |v| / 2^p is exact except for tiny subnormals when p > 0; fround mirrors it.
    s = Math.fround(a / 2 ** p) * 2 ** fmt.mbits;
    unit = 2 ** (p - fmt.mbits);
  } else {
    s = Math.fround(a * 2 ** fmt.fracBits);
    unit = 2 ** -fmt.fracBits;
  }
  let r = Math.floor(Math.fround(s + 0.5));
  if (rounding === 'even' && (s - 0.5) % 2 === 0) r -= 1;
  let q = r * unit;
  if (q > fmt.maxNormal) q = fmt.maxNormal;
  return v < 0 ? -q : q;
}

/** Whether `q` is exactly a value of the element grid (the code 100..0 of INT formats excluded). */
export function isOnGrid(q: number, fmt: ElementFormat): boolean {
  if (!Number.isFinite(q)) return false;
  const a = Math.abs(q);
  if (a > fmt.maxNormal) return false;
  if (fmt.kind === 'int') return Number.isInteger(a * 2 ** fmt.fracBits);
  if (a === 0) return true;
  const p = Math.max(exactFloorLog2Bits(float32Bits(a) & 0x7fffffff), fmt.emin);
  if (Math.fround(a) !== a) return false;
  return Number.isInteger(a / 2 ** (p - fmt.mbits));
}

/**
 * The bit code of a grid value (see the file comment for the layout). Throws a
 * RangeError for a value that is not on the grid: callers quantize first.
 */
export function encodeElement(q: number, fmt: ElementFormat): number {
  if (!isOnGrid(q, fmt)) throw new RangeError(`${q} is not a value of element format ${fmt.name}`);
  if (fmt.kind === 'int') {
    const k = Math.round(q * 2 ** fmt.fracBits);
    return k & ((1 << fmt.bits) - 1);
  }
  return encodeFpMagnitude(Math.abs(q), fmt) | (q < 0 || Object.is(q, -0) ? 1 << (fmt.bits - 1) : 0);
}

function encodeFpMagnitude(a: number, fmt: FpElementFormat): number {
  if (a === 0) return 0;
  if (a < fmt.minNormal) return Math.round(a / fmt.minSubnormal); // subnormal: exponent field 0
  const e = exactFloorLog2Bits(float32Bits(a) & 0x7fffffff);
  const mant = Math.round((a / 2 ** e - 1) * 2 ** fmt.mbits);
  return ((e + fmt.bias) << fmt.mbits) | mant;
}

/** The value of an element bit code (NaN/Inf codes of fp8 formats decode to NaN/±Inf). */
export function decodeElement(code: number, fmt: ElementFormat): number {
  const mask = (1 << fmt.bits) - 1;
  if (!Number.isInteger(code) || code < 0 || code > mask) {
    throw new RangeError(`code ${code} is out of range for ${fmt.name} (0..${mask})`);
  }
  if (fmt.kind === 'int') {
    const k = code >= 1 << (fmt.bits - 1) ? code - (1 << fmt.bits) : code;
    return k * 2 ** -fmt.fracBits;
  }
  const negative = (code >> (fmt.bits - 1)) & 1;
  const field = (code >> fmt.mbits) & ((1 << fmt.ebits) - 1);
  const mant = code & ((1 << fmt.mbits) - 1);
  let a: number;
  if (fmt.specials === 'ieee-top-exponent' && field === (1 << fmt.ebits) - 1) {
    a = mant === 0 ? Infinity : NaN;
  } else if (fmt.specials === 'nan-only-all-ones' && field === (1 << fmt.ebits) - 1 && mant === (1 << fmt.mbits) - 1) {
    a = NaN;
  } else if (field === 0) {
    a = mant * fmt.minSubnormal;
  } else {
    a = 2 ** (field - fmt.bias) * (1 + mant / 2 ** fmt.mbits);
  }
  return negative ? -a : a;
}

/** The value of every code of a format, indexed by code (for table-driven decoders). */
export function elementValueTable(fmt: ElementFormat): Float64Array {
  const t = new Float64Array(1 << fmt.bits);
  for (let c = 0; c < t.length; c++) t[c] = decodeElement(c, fmt);
  return t;
}

/** The code of the negative zero of an FP format (sign bit alone); INT formats have none. */
export function negativeZeroCode(fmt: ElementFormat): number | undefined {
  return fmt.kind === 'fp' ? 1 << (fmt.bits - 1) : undefined;
}

/**
 * A specialized quantizeElement for one format and rounding mode: same results
 * (tested), with the format's constants captured once, for hot loops that try
 * many candidates (NxFP). The exponent comes from the float32 bit pattern;
 * the exact floor is used, since torch's float32 log2 rounding up just below a
 * power of two does not change a rounded element (both round to that power).
 */
export function makeElementQuantizer(fmt: ElementFormat, rounding: Rounding = 'nearest'): (v: number) => number {
  const even = rounding === 'even';
  const maxNormal = fmt.maxNormal;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const fround = Math.fround;
  const floor = Math.floor;
  if (fmt.kind === 'int') {
    const up = 2 ** fmt.fracBits;
    const down = 2 ** -fmt.fracBits;
    return (v: number): number => {
      if (v !== v) return NaN;
      if (v === Infinity || v === -Infinity) return v;
      const s = fround((v < 0 ? -v : v) * up);
      const t = s + 0.5;
      let r = floor(fround(t));
      if (even && r === t && (r & 1) === 1) r -= 1;
      const q = r * down;
      const m = q > maxNormal ? maxNormal : q;
      return v < 0 ? -m : m;
    };
  }
  const emin = fmt.emin;
  const mbits = fmt.mbits;
  const pow2 = new Float64Array(600);
  for (let k = -300; k < 300; k++) pow2[k + 300] = 2 ** k;
  const pFloor = Math.max(0, emin); // microxcaling's exponent for x = 0
  return (v: number): number => {
    if (v !== v) return NaN;
    if (v === Infinity || v === -Infinity) return v;
    const a = v < 0 ? -v : v;
    f32[0] = a;
    const b = u32[0]!;
    let p: number;
    if (b === 0) p = pFloor;
    else {
      p = b >= 0x00800000 ? (b >>> 23) - 127 : -118 - Math.clz32(b);
      if (p < emin) p = emin;
    }
    const s = fround(a * pow2[300 - p]!) * pow2[300 + mbits]!;
    const t = s + 0.5;
    let r = floor(fround(t));
    if (even && r === t && (r & 1) === 1) r -= 1;
    const q = r * pow2[300 + p - mbits]!;
    const m = q > maxNormal ? maxNormal : q;
    return v < 0 ? -m : m;
  };
}
