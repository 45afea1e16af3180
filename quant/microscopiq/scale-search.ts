/**
 * Scale refinement (option scaleSearch): the MX rule S = floor(log2 max|inlier|)
 * leaves up to half of the integer range unused when the largest inlier sits just
 * above 2^S. Try S - 1 as well (twice the resolution; inliers above
 * maxInt·2^(S-1-fracBits) saturate) and keep whichever gives the lower squared
 * error over the group's non-candidate weights.
 */
import { roundStep, type IntRounder } from './int-rounder.ts';
import { pow2 } from './pow2.ts';

/**
 * Whether S - 1 can win at all. Only S and S - 1 are candidates, and (int4)
 * only when max|inlier| < 1.4·2^S: measured (docs/QUALITY.md), S - 1 wins only
 * below ~1.35·2^S; with int2 (three levels) it can win up to 2^(S+1), so every
 * group is tried.
 */
export function searchWorthwhile(maxIn: number, S: number, maxInt: number): boolean {
  return maxIn > 0 && S > -127 && maxIn < (maxInt === 1 ? 2 : 1.4) * pow2(S);
}

/**
 * Rounds the `count` weights x[off ..] for the exponents S and S - 1 in one
 * pass, into scratch[0 .. count) and scratch[count .. 2·count) (signed, the sign
 * from the float32 sign bit in xu), sums the squared errors of the
 * non-candidates (|x| - mean <= lim) for each, and returns the exponent with
 * the lower error (S on a tie).
 */
export function searchScale(
  x: Float32Array, xu: Uint32Array, off: number, count: number, mean: number, lim: number, S: number, r: IntRounder, scratch: Int8Array,
): number {
  const { thr, up, maxInt } = r;
  const inv0 = pow2(-S);
  const step = 1 / up;
  let e0 = 0;
  let e1 = 0;
  // int2 (maxInt = 1) has one threshold, and every int2 group comes here: its
  // step is the comparison alone (roundStep's result for a finite magnitude)
  const t1 = thr[1]!;
  for (let i = 0; i < count; i++) {
    const raw = Math.abs(x[off + i]!);
    const x0 = raw * inv0;
    const x1 = x0 + x0;
    const q0 = maxInt === 1 ? +(x0 >= t1) : roundStep(x0, thr, up, maxInt);
    const q1 = maxInt === 1 ? +(x1 >= t1) : roundStep(x1, thr, up, maxInt);
    if (!(raw - mean > lim)) {
      const d0 = x0 - q0 * step;
      const d1 = x1 - q1 * step;
      e0 += d0 * d0;
      e1 += d1 * d1;
    }
    const neg = xu[off + i]! >>> 31; // sign bit; branch-free negation
    scratch[i] = (q0 ^ -neg) + neg;
    scratch[count + i] = (q1 ^ -neg) + neg;
  }
  // the errors of S - 1 are in units of 2^(S-1)
  return e1 * 0.25 < e0 ? S - 1 : S;
}
