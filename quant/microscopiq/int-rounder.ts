/**
 * Fast exact inlier rounding for the hot loops.
 *
 * quant/element.ts's quantizeElement is the definition of MX-INT rounding. For
 * a non-negative float32 input it is a monotone step function, so it is fully
 * described by its thresholds: thr[i] = the smallest float32 a with
 * quantizeElement(a)·2^fracBits >= i (i = 1..maxInt). We find them once per
 * (format, rounding) by bisection over float32 bit patterns, calling
 * quantizeElement itself, and the loops then compare against them. Nothing
 * about the rounding is restated here: the tables are derived from element.ts,
 * and the tests check the two agree on every float32 near every threshold.
 */
import { quantizeElement } from '../element.ts';
import type { IntElementFormat, Rounding } from '../formats.ts';
import { float32Bits, float32FromBits } from '../float32.ts';

export interface IntRounder {
  maxInt: number;
  /** 2^fracBits. */
  up: number;
  /** thr[i] for i = 0..maxInt+1 (thr[0] = 0, thr[maxInt+1] = Infinity). */
  thr: Float64Array;
  /**
   * Isolated float32 magnitudes where quantizeElement is not monotone (with
   * rounding 'even', the few float32 values just below a tie n + 1/2, n even,
   * round up through float32's s + 0.5 while the tie itself rounds down), and
   * their integer. Null when there are none.
   */
  exceptions: Map<number, number> | null;
}

const cache = new Map<string, IntRounder>();

export function intRounder(fmt: IntElementFormat, rounding: Rounding): IntRounder {
  const key = `${fmt.name}/${rounding}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const up = 2 ** fmt.fracBits;
  const q = (a: number) => quantizeElement(a, fmt, rounding) * up;
  const thr = new Float64Array(fmt.maxInt + 2);
  thr[fmt.maxInt + 1] = Infinity;
  for (let i = 1; i <= fmt.maxInt; i++) {
    // smallest positive float32 bit pattern with q >= i; q(maxNormal) = maxInt >= i
    let lo = 0; // q(lo) < i
    let hi = float32Bits(fmt.maxNormal); // q(hi) >= i
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (q(float32FromBits(mid)) >= i) hi = mid;
      else lo = mid;
    }
    thr[i] = float32FromBits(hi);
  }
  // Scan around every threshold for values the step model gets wrong.
  const exceptions = new Map<number, number>();
  const model = (a: number) => {
    let k = 0;
    while (k < fmt.maxInt && a >= thr[k + 1]!) k++;
    return k;
  };
  for (let i = 1; i <= fmt.maxInt; i++) {
    const b = float32Bits(thr[i]!);
    for (let d = -4096; d <= 4096; d++) {
      if (b + d <= 0) continue;
      const a = float32FromBits(b + d);
      const want = q(a);
      if (want !== model(a)) exceptions.set(a, want);
    }
  }
  const r: IntRounder = { maxInt: fmt.maxInt, up, thr, exceptions: exceptions.size > 0 ? exceptions : null };
  cache.set(key, r);
  return r;
}

/**
 * The rounding step, the one place it is written: the integer of a magnitude
 * a >= 0 (in units of 2^S) from the thresholds `thr` of a rounder (thr, up =
 * 2^fracBits and maxInt passed apart so hot loops keep them in registers). The
 * guess floor(a·up + 1/2), clamped to maxInt, is at most one step off the
 * threshold model, so one comparison each way fixes it. Exceptions are not
 * looked at (roundInt does that).
 */
export function roundStep(a: number, thr: Float64Array, up: number, maxInt: number): number {
  let t = a * up + 0.5;
  if (t > maxInt) t = maxInt; // also keeps huge magnitudes inside int32
  let q = t | 0; // floor, t >= 0
  if (a >= thr[q + 1]!) q++;
  else if (a < thr[q]!) q--;
  return q;
}

/**
 * Integer k = quantizeElement(v·inv)·2^fracBits for a finite v and a power of
 * two `inv` (the value is rounded to float32 first, as quantizeElement does).
 */
export function roundInt(r: IntRounder, v: number, inv: number): number {
  const a = Math.fround(Math.abs(v) * inv);
  if (r.exceptions !== null) {
    const e = r.exceptions.get(a);
    if (e !== undefined) return v < 0 ? -e : e;
  }
  const k = roundStep(a, r.thr, r.up, r.maxInt);
  return v < 0 ? -k : k;
}
