/**
 * The MX shared exponent of a block, exactly as microxcaling computes it
 * (mx_ops._shared_exponents + _quantize_mx):
 *
 *   E = floor(log2(max|x|)) - emax_elem      (log2 taken in float32, see float32.ts)
 *   an all-zero block uses log2(FP32_MIN_NORMAL) = -126 instead of log2(0)
 *   E > 127  -> NaN  (unreachable for finite inputs, since floor(log2) <= 127)
 *   E < -127 -> -127 (clamped; the elements then underflow towards zero)
 *   a NaN or ±Inf maximum gives NaN (the whole block becomes NaN).
 *
 * The E8M0 code of the scale is E + 127 (0..254); NaN is 0xFF.
 */
import { float32Bits, torchFloorLog2Bits } from './float32.ts';

/** microxcaling's FP32_MIN_NORMAL = 2^-126, used in place of log2(0). */
export const FP32_MIN_NORMAL_EXPONENT = -126;
export const SCALE_EMAX = 127; // 2^(scale_bits-1) - 1 for 8-bit scales
export const E8M0_NAN_CODE = 0xff;

/**
 * Shared exponent of a block from its largest magnitude (a float32 value, >= 0,
 * or NaN/Inf) and the element format's emax. Returns an integer in
 * [-127, 127], or NaN when the block holds NaN or ±Inf.
 */
export function sharedExponent(maxAbs: number, emax: number): number {
  if (!(maxAbs <= 3.4028234663852886e38)) return NaN; // NaN, +Inf
  const absBits = float32Bits(maxAbs) & 0x7fffffff;
  const log2 = absBits === 0 ? FP32_MIN_NORMAL_EXPONENT : torchFloorLog2Bits(absBits);
  const e = log2 - emax;
  if (e > SCALE_EMAX) return NaN;
  return e < -SCALE_EMAX ? -SCALE_EMAX : e;
}

/** Same as sharedExponent, from the float32 bit pattern of max|x| (sign cleared). Fast path for loops. */
export function sharedExponentFromBits(absBits: number, emax: number): number {
  if (absBits >= 0x7f800000) return NaN;
  const log2 = absBits === 0 ? FP32_MIN_NORMAL_EXPONENT : torchFloorLog2Bits(absBits);
  const e = log2 - emax;
  if (e > SCALE_EMAX) return NaN;
  return e < -SCALE_EMAX ? -SCALE_EMAX : e;
}

/** Largest magnitude of a block of values (NaN if any is NaN; microxcaling's torch.max propagates NaN). */
export function blockMaxAbs(values: ArrayLike<number>, start = 0, end = values.length, stride = 1): number {
  let m = 0;
  for (let i = start; i < end; i += stride) {
    const a = Math.abs(values[i]!);
    if (a !== a) return NaN;
    if (a > m) m = a;
  }
  return m;
}

/** E8M0 code of a shared exponent (NaN -> 0xFF). */
export function e8m0Code(e: number): number {
  return e !== e ? E8M0_NAN_CODE : e + 127;
}

/** Shared exponent of an E8M0 code (0xFF -> NaN). */
export function e8m0Exponent(code: number): number {
  return code === E8M0_NAN_CODE ? NaN : code - 127;
}
