/**
 * Float32 bit-level helpers. microxcaling computes in float32 (torch on CPU);
 * to match it bit for bit we read exponents straight from float32 bit patterns
 * and emulate torch's float32 log2 where its rounding changes a result.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 bit pattern of `x` (after rounding x to float32). */
export function float32Bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}

/** The float32 whose bit pattern is `bits`. */
export function float32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0]!;
}

/**
 * Exact floor(log2(x)) of a float32 bit pattern with its sign bit cleared,
 * for a positive finite nonzero value (subnormals included: -149..-127).
 */
export function exactFloorLog2Bits(absBits: number): number {
  const field = absBits >>> 23;
  if (field !== 0) return field - 127;
  // Subnormal: value = mant · 2^-149, floor(log2) = -149 + index of top set bit.
  return -149 + (31 - Math.clz32(absBits));
}

/**
 * torch.log2 on float32 returns a float32; for values a few ulps below a power
 * of two, the correctly rounded float32 log2 is the integer itself, so
 * floor(log2(x)) is one more than the exact floor. microxcaling's shared
 * exponent inherits that. BUMP[e + 149] is the smallest mantissa (23-bit field,
 * or the subnormal significand) in binade e from which torch's floor(log2) gives
 * e + 1; 2^23 (never reached) when no value in the binade is affected.
 *
 * We model torch's log2 as correctly rounded to float32 (fround of the double
 * log2). Torch's vectorized log2 is accurate to about 1 ulp, so the very last
 * value of this zone could differ; none of the reference vectors lands there.
 */
const BUMP = new Int32Array(127 + 149 + 1);
for (let e = -149; e <= 127; e++) {
  // Normal binades: compare the 23-bit mantissa field, values 0 .. 2^23-1.
  // Subnormal binade e: compare the significand, values 2^(e+149) .. 2^(e+150)-1.
  const normal = e >= -126;
  const lo = normal ? 0 : 2 ** (e + 149);
  const limit = normal ? 2 ** 23 : 2 ** (e + 150);
  let m = limit; // first mantissa from which the bump applies
  for (let cand = limit - 1; cand >= lo && limit - cand < 4096; cand--) {
    const x = normal ? 2 ** e * (1 + cand / 2 ** 23) : cand * 2 ** -149;
    if (Math.floor(Math.fround(Math.log2(x))) === e + 1) m = cand;
    else break;
  }
  BUMP[e + 149] = m;
}

/**
 * floor(torch.log2(x)) for x a positive finite float32 value given by its bit
 * pattern with the sign cleared: the exact floor, plus one inside the narrow
 * zone just below a power of two where float32 log2 rounds up to the integer.
 */
export function torchFloorLog2Bits(absBits: number): number {
  const field = absBits >>> 23;
  if (field !== 0) {
    const e = field - 127;
    return (absBits & 0x7fffff) >= BUMP[e + 149]! ? e + 1 : e;
  }
  const e = -149 + (31 - Math.clz32(absBits));
  return absBits >= BUMP[e + 149]! ? e + 1 : e;
}

/** floor(torch.log2(|x|)) for a nonzero finite float32 value x. */
export function torchFloorLog2(x: number): number {
  return torchFloorLog2Bits(float32Bits(x) & 0x7fffffff);
}
