/**
 * Bit-width arithmetic shared by the generator, the hardware models and the
 * quantizer: one definition of each, so a width derived in TypeScript is the
 * width the RTL declares.
 */

/** ceil(log2(x)) for x ≥ 1 (0 for x ≤ 1): the bits needed to count x things (0 … x−1). */
export function ceilLog2(x: number): number {
  return x <= 1 ? 0 : 32 - Math.clz32(x - 1);
}

/** The low `width` bits of v as a two's-complement number (what a `width`-bit register holds). */
export function wrapSigned(v: bigint, width: number): bigint {
  return BigInt.asIntN(width, v);
}
