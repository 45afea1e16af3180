import { lit, concat, mux, type Expr, type Signal } from '../dsl/expr.ts';
import type { ModuleBuilder } from '../dsl/module.ts';
import { Layout } from '../dsl/struct.ts';

/**
 * Building blocks shared by the FP32 units (int-to-fp32.ts, fp32-add.ts):
 * leading-zero normalization as a logarithmic shifter, and round-to-nearest-even
 * plus IEEE-754 binary32 packing. They add named wires to the caller's module.
 */

/** IEEE-754 binary32 constants (magnitude bits, sign excluded). */
export const FP32_INF_MAG = 0x7f800000n;
export const FP32_QNAN = 0x7fc00000n;

/** An IEEE-754 binary32 value: fraction in the LSBs, biased exponent, sign in bit 31. */
export const FP32_LAYOUT = new Layout<'frac' | 'exp' | 'sign'>('binary32', [
  { name: 'frac', width: 23, doc: 'fraction' },
  { name: 'exp', width: 8, doc: 'biased exponent' },
  { name: 'sign', width: 1 },
]);

export interface Normalized {
  /** `x` shifted left by the leading-zero count (limited by `limit`, if given) */
  value: Signal;
  /** the shift amount's bits, most significant first (one per stage) */
  shiftBits: Signal[];
  /** `limit` minus the shift amount, when a limit was given */
  room: Signal | null;
}

/**
 * Left-normalizes `x` (unsigned) so its leading one reaches the top bit, as a
 * logarithmic shifter: stage j shifts by 2^j when the top 2^j bits are all
 * zero, for j = ceil(log2(width)) - 1 down to 0. The stage decisions are the
 * bits of the leading-zero count, so no separate priority encoder is needed.
 * Greedy from the top is exact because after the stages above j the remaining
 * count is below 2^(j+1).
 *
 * With `limit` (unsigned), stage j also requires at least 2^j of remaining
 * room, so the total shift is min(leading zeros, limit): the remaining room
 * after the last stage is `limit - shift` (this is how the adder stops
 * normalizing at the smallest exponent and produces subnormals). When x = 0
 * the result is 0 and the shift is arbitrary (up to width - 1 or the limit).
 */
export function normalizeLeft(m: ModuleBuilder, prefix: string, x: Signal, limit?: Signal): Normalized {
  const w = x.width.value;
  const stages = Math.max(1, Math.ceil(Math.log2(w)));
  let cur = x;
  let room: Signal | null = limit ?? null;
  const shiftBits: Signal[] = [];
  for (let j = stages - 1; j >= 0; j--) {
    const amt = 2 ** j;
    if (amt >= w) throw new Error(`normalizeLeft: stage ${amt} is not below width ${w}`);
    const topZero = cur.slice(w - amt, amt).any().not();
    const doShift = m.let(
      `${prefix}_shift${amt}`,
      room ? topZero.and(room.ge(lit(amt, room.width))) : topZero,
      `${amt === 1 ? 'top bit' : `top ${amt} bits`} zero${room ? ` and room for ${amt} more` : ''}`,
    );
    shiftBits.push(doShift);
    cur = m.let(`${prefix}_norm${amt}`, mux(doShift, concat(cur.slice(0, w - amt), lit(0, amt)), cur));
    if (room) room = m.let(`${prefix}_room${amt}`, mux(doShift, room.minus(lit(amt, room.width)), room));
  }
  return { value: cur, shiftBits, room };
}

export interface RoundPackInputs {
  sign: Expr;
  /**
   * 8 bits: the exponent field minus the significand's top (hidden) bit. For a
   * normal result the hidden bit is 1 and the field is eBase + 1; for a
   * subnormal eBase = 0 and the hidden bit 0. Adding the significand into
   * {eBase, 23'b0} therefore yields the field directly, and a rounding carry
   * out of the fraction increments the exponent (subnormal -> smallest normal,
   * largest finite -> exponent 255 = overflow) with no extra logic.
   */
  eBase: Expr;
  /**
   * The significand, aligned: bits [W-1 : W-24] are the 24 kept bits (hidden
   * bit first), bit W-25 the guard (round) bit, and all lower bits are ORed into
   * the sticky bit. W >= 26.
   */
  sig: Signal;
  /** force +-Inf regardless of the rounded value (an exponent already out of range) */
  forceOverflow?: Expr;
}

/**
 * Round to nearest even and pack sign | exponent | fraction. Overflow (a field
 * of 255 or more after rounding, or `forceOverflow`) gives +-Inf. Returns the
 * 32-bit result expression; zeros, NaN and Inf inputs are the caller's business.
 */
export function roundPackFp32(m: ModuleBuilder, p: RoundPackInputs): Expr {
  const w = p.sig.width.value;
  if (w < 26) throw new Error(`roundPackFp32: significand must have at least 26 bits, got ${w}`);
  if (p.eBase.width.value !== 8) throw new Error(`roundPackFp32: eBase must be 8 bits, got ${p.eBase.width.value}`);
  const kept = p.sig.slice(w - 24, 24);
  const lsb = p.sig.bit(w - 24);
  const guard = m.let('rnd_guard', p.sig.bit(w - 25), 'first dropped bit: half an ulp');
  const sticky = m.let('rnd_sticky', p.sig.slice(0, w - 25).any(), 'any lower dropped bit');
  const up = m.let('rnd_up', guard.and(sticky.or(lsb)), 'round to nearest, ties to even');
  const mag = m.let(
    'rnd_mag',
    concat(lit(0, 1), p.eBase, lit(0, 23)).plus(kept.zext(32)).plus(up.zext(32)),
    '{exponent overflow, exponent field, fraction} after rounding',
  );
  const ovfRounded = mag.ge(lit(FP32_INF_MAG, 32));
  const ovf = m.let('rnd_overflow', p.forceOverflow ? p.forceOverflow.or(ovfRounded) : ovfRounded, 'too large: +-Inf');
  return concat(p.sign, mux(ovf, lit(FP32_INF_MAG, 31), mag.slice(0, 31)));
}
