import { lit, concat, mux, type Signal } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { FP32_INF_MAG, FP32_LAYOUT, FP32_QNAN, normalizeLeft, roundPackFp32 } from './fp32-common.ts';

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
    const FP = m.struct('FP', FP32_LAYOUT, { nameWidths: false });
    const QNAN = m.constant('FP32_QNAN', FP32_QNAN, 32, 'the canonical quiet NaN');
    const INF = m.constant('FP32_INF', FP32_INF_MAG, 31, 'exponent and fraction of +-Inf');
    const EXP_MAX = m.constant('EXP_MAX', 255, 8, 'exponent field of Inf and NaN');
    const sign = (x: Signal) => FP.field(x, 'sign');
    const expOf = (x: Signal) => FP.field(x, 'exp');
    const frac = (x: Signal) => FP.field(x, 'frac');
    const magnitude = (x: Signal) => x.slice(0, FP.lsb('sign'));

    m.comment('1. specials');
    const aExpMax = m.let('a_exp_max', expOf(a).eq(EXP_MAX));
    const bExpMax = m.let('b_exp_max', expOf(b).eq(EXP_MAX));
    const aFracNz = m.let('a_frac_nz', frac(a).any());
    const bFracNz = m.let('b_frac_nz', frac(b).any());
    const aInf = m.let('a_inf', aExpMax.and(aFracNz.not()));
    const bInf = m.let('b_inf', bExpMax.and(bFracNz.not()));
    const aNan = m.let('a_nan', aExpMax.and(aFracNz));
    const bNan = m.let('b_nan', bExpMax.and(bFracNz));
    const infMinusInf = m.let('inf_minus_inf', aInf.and(bInf).and(sign(a).xor(sign(b))), 'Inf + (-Inf)');
    const isNan = m.let('is_nan', aNan.or(bNan).or(infMinusInf), 'NaN operand, or Inf - Inf');
    const isInf = m.let('is_inf', aInf.or(bInf));
    const infSign = m.let('inf_sign', mux(aInf, sign(a), sign(b)));

    m.comment('2. order by magnitude');
    const swap = m.let('swap', magnitude(a).lt(magnitude(b)), '|a| < |b|');
    const big = m.let('op_big', mux(swap, b, a), 'operand of larger magnitude');
    const small = m.let('op_small', mux(swap, a, b), 'operand of smaller magnitude');

    m.comment('3. unpack: a subnormal has exponent field 0, hidden bit 0 and the scale of field 1');
    const bigSub = m.let('big_sub', expOf(big).eq(lit(0, 8)), 'zero or subnormal');
    const smallSub = m.let('small_sub', expOf(small).eq(lit(0, 8)), 'zero or subnormal');
    const bigExp = m.let('big_exp', mux(bigSub, lit(1, 8), expOf(big)), 'effective biased exponent');
    const smallExp = m.let('small_exp', mux(smallSub, lit(1, 8), expOf(small)), 'effective biased exponent');
    const bigSig = m.let('big_sig', concat(bigSub.not(), frac(big)), 'significand with hidden bit');
    const smallSig = m.let('small_sig', concat(smallSub.not(), frac(small)), 'significand with hidden bit');

    m.comment('4. align the smaller significand into a 27-bit window {24 bits, guard, round, sticky}');
    const expDiff = m.let('exp_diff', bigExp.minus(smallExp), 'never negative: big >= small');
    const alignFar = m.let('align_far', expDiff.ge(lit(27, 8)), 'small operand lies entirely below the window');
    const alignShift = m.let('align_shift', mux(alignFar, lit(27, 5), expDiff.slice(0, 5)));
    const smallShifted = m.let('small_shifted', concat(smallSig, lit(0, 27)).shr(alignShift), 'bits [50:24] window, [23:0] sticky');
    const smallWin = m.let(
      'small_win',
      concat(smallShifted.slice(25, 26), smallShifted.bit(24).or(smallShifted.slice(0, 24).any())),
      'aligned small significand: 24 bits, guard, round, sticky',
    );
    const bigWin = m.let('big_win', concat(bigSig, lit(0, 3)), 'the larger significand in the same window');

    m.comment('5. add or subtract, 28 bits with the carry');
    const effSub = m.let('eff_sub', sign(big).xor(sign(small)), 'signs differ: subtract magnitudes');
    const sumRaw = m.let(
      'sum_raw',
      mux(effSub, bigWin.zext(28).minus(smallWin.zext(28)), bigWin.zext(28).plus(smallWin.zext(28))),
      'bit 27 carry, [26:3] significand, guard, round, sticky',
    );
    const sumZero = m.let('sum_zero', sumRaw.any().not(), 'exact cancellation (or two zeros)');

    m.comment('6. normalize, at most down to the smallest exponent');
    const norm = normalizeLeft(m, 'nrm', sumRaw, bigExp);

    m.comment('7. round and pack; the exponent field is big_exp + 1 - shift with the hidden bit at 27,\n   i.e. eBase = big_exp - shift = the remaining room');
    const rounded = m.let('rounded', roundPackFp32(m, { sign: sign(big), eBase: norm.room!, sig: norm.value }), 'the rounded finite sum');

    m.comment('8. zero: +0, except (-0) + (-0) = -0; then the specials');
    const zeroResult = m.let('zero_result', concat(sign(a).and(sign(b)), lit(0, 31)), 'an exact zero sum');
    const infResult = m.let('inf_result', concat(infSign, INF), '+-Inf');
    m.assign(result, mux(isNan, QNAN, mux(isInf, infResult, mux(sumZero, zeroResult, rounded))));
  });
}
