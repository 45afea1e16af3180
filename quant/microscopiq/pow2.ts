/** Exact powers of two from a table (2 ** e is a slow Math.pow call in hot loops). */
const OFFSET = 600;
const TABLE = new Float64Array(2 * OFFSET + 1);
for (let e = -OFFSET; e <= OFFSET; e++) TABLE[e + OFFSET] = 2 ** e;

/** 2^e for an integer e in [-600, 600]. */
export function pow2(e: number): number {
  return TABLE[e + OFFSET]!;
}
