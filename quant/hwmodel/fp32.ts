/**
 * Bit-exact reference models of the post-array FP32 units
 * (generator/blocks/int-to-fp32.ts and generator/blocks/fp32-add.ts).
 *
 * The arithmetic contract of the post-array unit: inside a group the dot
 * product is an exact signed integer; across groups each group's integer is
 * converted to FP32 with a combined power-of-two exponent and accumulated in
 * FP32, round-to-nearest-even, in increasing group order:
 *
 *     acc = Math.fround(acc + Math.fround(Number(int) * 2 ** exp))
 *
 * Why this JavaScript expression is the IEEE-754 binary32 result, with a single
 * rounding:
 *
 * - `Number(int) * 2 ** exp` is exact in binary64 whenever |int| < 2^53 and
 *   -1074 <= exp <= 1023 (the blocks allow INTW <= 53 and EXPW <= 11, i.e.
 *   |exp| <= 1024; the model refuses anything else): `Number(int)` is exact
 *   below 2^53; `2 ** exp` is an exact power of two (checked for every such
 *   exponent in test/fp32-blocks.test.ts); the product is a multiple of
 *   2^-1074 with at most 53 significant bits, so it is representable (as a
 *   binary64 subnormal when below 2^-1022) unless it is >= 2^1024, where
 *   binary64 gives Infinity, which is also the binary32 answer.
 *   `Math.fround` then rounds that exact value once to binary32 (RNE, with
 *   gradual underflow and overflow to Infinity), as ECMA-262 specifies.
 * - `Math.fround(x + y)` for binary32 x, y: the binary64 sum is rounded once
 *   to 53 bits, then to 24 bits. Double rounding is innocuous for +, -, *, /
 *   and sqrt when p >= 2q + 2 (S. A. Figueroa, "When is double rounding
 *   innocuous?", SIGNUM 1995): here p = 53 >= 2*24 + 2 = 50. Subnormal binary32
 *   sums are exact anyway (both operands are multiples of 2^-149), and the
 *   binary64 sum of two binary32 values never overflows.
 *
 * NaN: ECMA-262 lets an engine store any NaN encoding into a Float32Array
 * (SetValueInBuffer: "an implementation-chosen ... NaN value"), and an x86 add
 * may propagate an input payload. The hardware outputs the canonical quiet NaN
 * 0x7FC00000 (what V8 stores for its own NaN) for every NaN result, and the
 * model canonicalizes explicitly so the two agree bit for bit.
 *
 * Both models are checked against an independent exact BigInt rounding
 * (`roundScaledToFp32Bits` below) in test/fp32-blocks.test.ts.
 */

export const FP32_CANONICAL_NAN = 0x7fc00000;
export const FP32_POS_INF = 0x7f800000;
export const FP32_NEG_INF = 0xff800000;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary32 bits of a number that is already a binary32 value (or gets rounded to one). */
export function fp32Bits(x: number): number {
  if (Number.isNaN(x)) return FP32_CANONICAL_NAN;
  f32[0] = x;
  return u32[0]!;
}

/** The binary32 value with the given bits (as an exact double; NaN for NaN encodings). */
export function fp32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/**
 * IEEE-754 binary32 bits of value * 2^exp, rounded to nearest even, with
 * gradual underflow, overflow to +-Inf, +0 for a zero value and a signed zero
 * for a nonzero value that rounds to zero.
 */
export function intToFp32Bits(value: bigint, exp: number): number {
  if (!Number.isInteger(exp) || exp < -1074 || exp > 1023) throw new RangeError(`intToFp32Bits: exponent ${exp} outside [-1074, 1023]`);
  if (value >= 1n << 53n || value <= -(1n << 53n)) throw new RangeError(`intToFp32Bits: |${value}| must be below 2^53 for an exact double`);
  return fp32Bits(Math.fround(Number(value) * 2 ** exp));
}

/** IEEE-754 binary32 a + b (bits in, bits out), RNE; every NaN result is 0x7FC00000. */
export function fp32AddBits(a: number, b: number): number {
  return fp32Bits(Math.fround(fp32FromBits(a) + fp32FromBits(b)));
}

/** One step of the cross-group accumulation: acc + int * 2^exp, in binary32 bits. */
export function fp32AccumulateBits(acc: number, value: bigint, exp: number): number {
  return fp32AddBits(acc, intToFp32Bits(value, exp));
}

// ---------------------------------------------------------------------------
// Independent exact reference (no floating point at all), for the tests.
// ---------------------------------------------------------------------------

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Binary32 bits of (-1)^negative * mag * 2^exp, rounded to nearest even with
 * unbounded-precision integer arithmetic. mag = 0 gives a zero with the given sign.
 */
export function roundScaledToFp32Bits(negative: boolean, mag: bigint, exp: number): number {
  const sign = negative ? 0x80000000 : 0;
  if (mag < 0n) throw new RangeError('mag must be non-negative');
  if (mag === 0n) return sign >>> 0;
  const e = bitLength(mag) - 1 + exp; // value in [2^e, 2^(e+1))
  // quantum (weight of the last significand bit) of the binade, fixed at 2^-149 below the normals
  let q = Math.max(e, -126) - 23;
  let sig: bigint;
  const shift = q - exp;
  if (shift <= 0) {
    sig = mag << BigInt(-shift);
  } else {
    const s = BigInt(shift);
    sig = mag >> s;
    const rem = mag - (sig << s);
    const half = 1n << (s - 1n);
    if (rem > half || (rem === half && (sig & 1n) === 1n)) sig += 1n;
  }
  if (sig === 1n << 24n) {
    sig >>= 1n;
    q += 1;
  }
  if (sig < 1n << 23n) return (sign | Number(sig)) >>> 0; // subnormal (q = -149) or rounded to zero
  const field = q + 23 + 127;
  if (field >= 255) return (sign | FP32_POS_INF) >>> 0;
  return (sign | (field << 23) | Number(sig - (1n << 23n))) >>> 0;
}

/** Exact int * 2^exp rounding, independent of Math.fround. */
export function intToFp32BitsExact(value: bigint, exp: number): number {
  return roundScaledToFp32Bits(value < 0n, value < 0n ? -value : value, exp);
}

/** A finite binary32 as an exact integer multiple of 2^-149. */
function fp32ToScaled(bits: number): bigint {
  const e = (bits >>> 23) & 0xff;
  const f = BigInt(bits & 0x7fffff);
  const m = e === 0 ? f : (f | (1n << 23n)) << BigInt(e - 1);
  return bits >>> 31 ? -m : m;
}

/** Exact IEEE binary32 addition with BigInt rationals, independent of Math.fround. */
export function fp32AddBitsExact(a: number, b: number): number {
  const ea = (a >>> 23) & 0xff;
  const eb = (b >>> 23) & 0xff;
  const nanA = ea === 0xff && (a & 0x7fffff) !== 0;
  const nanB = eb === 0xff && (b & 0x7fffff) !== 0;
  const infA = ea === 0xff && !nanA;
  const infB = eb === 0xff && !nanB;
  const sa = a >>> 31;
  const sb = b >>> 31;
  if (nanA || nanB || (infA && infB && sa !== sb)) return FP32_CANONICAL_NAN;
  if (infA) return a >>> 0;
  if (infB) return b >>> 0;
  const sum = fp32ToScaled(a) + fp32ToScaled(b);
  if (sum === 0n) return (sa & sb ? 0x80000000 : 0) >>> 0; // exact zero: -0 only for (-0) + (-0)
  return roundScaledToFp32Bits(sum < 0n, sum < 0n ? -sum : sum, -149);
}
