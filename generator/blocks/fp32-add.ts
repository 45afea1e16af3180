import { lit, concat, mux } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { FP32_INF_MAG, FP32_QNAN, normalizeLeft, roundPackFp32 } from './fp32-common.ts';

/*
 * fp32-add: IEEE-754 binary32 a + b, round to nearest even, combinational.
 *
 * The post-array unit accumulates the groups' FP32 values (int-to-fp32.ts) in
 * increasing group order with this adder. The stages, in order:
 *
 *   1. specials: NaN in, or Inf + -Inf, gives the canonical quiet NaN
 *      0x7FC00000 (one encoding, so results are comparable bit for bit);
 *      otherwise an Inf operand gives that Inf.
 *   2. order by magnitude: comparing the 31 magnitude bits as an integer puts
 *      the larger operand first, so the difference below is never negative
 *      and the result takes the larger operand's sign.
 *   3. unpack: a subnormal has exponent field 0, hidden bit 0 and the same
 *      scale as field 1, so its effective exponent is 1.
 *   4. align: the smaller significand is shifted right by the exponent
 *      difference into a 27-bit window {24 bits, guard, round, sticky}; bits
 *      shifted past the window are ORed into the sticky bit. Three extra bits
 *      suffice for RNE: with a difference of 2 or more the sum needs at most one
 *      bit of left normalization, and with 0 or 1 nothing is shifted out, so
 *      the result is exact before rounding. Differences beyond 27 are clamped
 *      (the small operand is then all sticky).
 *   5. add or subtract (effective operation from the two signs), 28 bits with
 *      the carry.
 *   6. normalize: a logarithmic left shifter removes leading zeros (after a
 *      cancellation), but never by more than the larger exponent: what stops
 *      there is a subnormal result (always exact). With no carry the result
 *      is shifted left once, with a carry not at all.
 *   7. round and pack (fp32-common.ts): RNE on guard and sticky, a rounding
 *      carry ripples into the exponent, a field of 255 is +-Inf.
 *   8. zero: an exact zero sum is +0, except (-0) + (-0) = -0.
 *
 * The TS model is `fp32AddBits` in quant/hwmodel/fp32.ts
 * (Math.fround(a + b), NaN canonicalized).
 */

export const FP32_ADD_MODULE = 'msq_fp32_add';

export function fp32Add(): ModuleDef {
  return defineModule(FP32_ADD_MODULE, 'IEEE-754 binary32 adder, round to nearest even, subnormals, canonical NaN 0x7FC00000', { block: 'fp32-add' }, (m) => {
    const a = m.input('a', 32, { doc: 'IEEE-754 binary32 operand' });
    const b = m.input('b', 32, { doc: 'IEEE-754 binary32 operand' });
    const result = m.output('result', 32, { doc: 'a + b, IEEE-754 binary32' });

    // 1. specials
    const aExpMax = m.let('a_exp_max', a.slice(23, 8).eq(lit(255, 8)));
    const bExpMax = m.let('b_exp_max', b.slice(23, 8).eq(lit(255, 8)));
    const aFracNz = m.let('a_frac_nz', a.slice(0, 23).any());
    const bFracNz = m.let('b_frac_nz', b.slice(0, 23).any());
    const aInf = m.let('a_inf', aExpMax.and(aFracNz.not()));
    const bInf = m.let('b_inf', bExpMax.and(bFracNz.not()));
    const isNan = m.let(
      'is_nan',
      aExpMax.and(aFracNz).or(bExpMax.and(bFracNz)).or(aInf.and(bInf).and(a.bit(31).xor(b.bit(31)))),
      'NaN operand, or Inf - Inf',
    );
    const isInf = m.let('is_inf', aInf.or(bInf));
    const infSign = m.let('inf_sign', mux(aInf, a.bit(31), b.bit(31)));

    // 2. order by magnitude
    const swap = m.let('swap', a.slice(0, 31).lt(b.slice(0, 31)), '|a| < |b|');
    const big = m.let('op_big', mux(swap, b, a), 'operand of larger magnitude');
    const small = m.let('op_small', mux(swap, a, b), 'operand of smaller magnitude');

    // 3. unpack
    const bigSub = m.let('big_sub', big.slice(23, 8).eq(lit(0, 8)), 'zero or subnormal');
    const smallSub = m.let('small_sub', small.slice(23, 8).eq(lit(0, 8)), 'zero or subnormal');
    const bigExp = m.let('big_exp', mux(bigSub, lit(1, 8), big.slice(23, 8)), 'effective biased exponent');
    const smallExp = m.let('small_exp', mux(smallSub, lit(1, 8), small.slice(23, 8)), 'effective biased exponent');
    const bigSig = m.let('big_sig', concat(bigSub.not(), big.slice(0, 23)), 'significand with hidden bit');
    const smallSig = m.let('small_sig', concat(smallSub.not(), small.slice(0, 23)), 'significand with hidden bit');

    // 4. align
    const expDiff = m.let('exp_diff', bigExp.minus(smallExp), 'never negative: big >= small');
    const alignFar = m.let('align_far', expDiff.ge(lit(27, 8)), 'small operand lies entirely below the window');
    const alignShift = m.let('align_shift', mux(alignFar, lit(27, 5), expDiff.slice(0, 5)));
    const smallShifted = m.let('small_shifted', concat(smallSig, lit(0, 27)).shr(alignShift), 'bits [50:24] window, [23:0] sticky');
    const smallWin = m.let(
      'small_win',
      concat(smallShifted.slice(25, 26), smallShifted.bit(24).or(smallShifted.slice(0, 24).any())),
      'aligned small significand: 24 bits, guard, round, sticky',
    );
    const bigWin = concat(bigSig, lit(0, 3));

    // 5. add or subtract
    const effSub = m.let('eff_sub', big.bit(31).xor(small.bit(31)), 'signs differ: subtract magnitudes');
    const sumRaw = m.let(
      'sum_raw',
      mux(effSub, bigWin.zext(28).minus(smallWin.zext(28)), bigWin.zext(28).plus(smallWin.zext(28))),
      'bit 27 carry, [26:3] significand, guard, round, sticky',
    );
    const sumZero = m.let('sum_zero', sumRaw.any().not(), 'exact cancellation (or two zeros)');

    // 6. normalize, at most down to the smallest exponent
    const norm = normalizeLeft(m, 'nrm', sumRaw, bigExp);

    // 7. round and pack; the exponent field is big_exp + 1 - shift with the
    //    hidden bit at 27, i.e. eBase = big_exp - shift = the remaining room
    const packed = roundPackFp32(m, { sign: big.bit(31), eBase: norm.room!, sig: norm.value });

    // 8. zero, specials
    const zeroSign = a.bit(31).and(b.bit(31));
    m.assign(
      result,
      mux(isNan, lit(FP32_QNAN, 32), mux(isInf, concat(infSign, lit(FP32_INF_MAG, 31)), mux(sumZero, concat(zeroSign, lit(0, 31)), packed))),
    );
  });
}
