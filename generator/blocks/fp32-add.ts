import { lit, concat, mux, type Expr, type Signal } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { UNIT_RESET_NOTE, FP32_LAYOUT, FP32_QNAN, Stages, stageSplitSuffix, foldSticky, limitedLeadingZeros, roundPackFp32, stageReg, styledAdd, styledSum, adderStyleSuffix, DEFAULT_ADDER_STYLE, type AdderStyle, type StepSpec } from './fp32-common.ts';

/*
 * fp32-add: IEEE-754 binary32 a + b, round to nearest even, as a pipeline of
 * FP32_ADD_STAGES stages with no valid bit and no stall: the operands of cycle
 * t give `result` (a register) in cycle t + FP32_ADD_STAGES. Every stage ends
 * in its registers s<k>_*_q (the last one in result_q); the operands feed
 * stage 1 directly.
 *
 * The post-array unit accumulates the groups' FP32 values (int-to-fp32.ts) in
 * increasing group order with this adder. The steps, in order (FP32_ADD_CUTS
 * groups them into stages; a stage's logic is sized for the 4 ns sign-off of
 * issue 13: one wide adder, shifter or leading-zero tree each):
 *
 *   order: specials, unpack, the operands by exponent.
 *      - NaN in, or Inf + -Inf, gives the canonical quiet NaN 0x7FC00000 (one
 *        encoding, so results are comparable bit for bit); otherwise an Inf
 *        operand gives that Inf. An Inf is the larger magnitude, so its sign
 *        is the sign of the result.
 *      - a subnormal has exponent field 0, hidden bit 0 and the same scale as
 *        field 1, so its effective exponent is 1.
 *      - the operand with the larger exponent field goes first (an 8-bit
 *        compare: fast enough to steer the significands). That is the larger
 *        magnitude unless the effective exponents are equal; then nothing is
 *        shifted, and when the first is the smaller (flip) the add step takes
 *        the exact difference b - a, computed here beside the ordering.
 *      - the exponent difference (the right shift of the smaller significand)
 *        both ways from the fields, saturated at 31.
 *   align: the smaller significand is shifted right into a 27-bit window
 *      {24 bits, guard, round, sticky}; every bit shifted past the window is
 *      ORed into the sticky bit. Three extra bits suffice for RNE: with a
 *      difference of 2 or more the sum needs at most one bit of left
 *      normalization, and with 0 or 1 nothing is shifted out, so the result is
 *      exact before rounding. The window is inverted when subtracting, and the
 *      adder's generate and propagate vectors are formed here.
 *   add: big + (small ^ sub) + sub (the effective operation from the two
 *      signs), 28 bits with the carry: the carries of a Kogge-Stone prefix
 *      adder (fp32-common.ts). With flip, b - a and the other sign instead.
 *   lzc: the normalizing left shift, the leading zeros of the sum limited to
 *      the larger exponent (a stop bit, no comparison): what stops there is a
 *      subnormal result (always exact). With no carry the result is shifted
 *      left once, with a carry not at all.
 *   normalize: the shift; an exact zero sum is +0, except (-0) + (-0) = -0
 *      (the signs agree only when adding): it gets exponent field 0 and that
 *      sign.
 *   round and pack (fp32-common.ts): RNE on guard and sticky, a rounding carry
 *      goes into the exponent, a field of 255 is +-Inf (Inf forces it); then
 *      NaN.
 *
 * The TS model is `fp32AddBits` in quant/hwmodel/fp32.ts
 * (Math.fround(a + b), NaN canonicalized); the pipeline delays it by
 * FP32_ADD_STAGES cycles.
 */

export const FP32_ADD_MODULE = 'msq_fp32_add';

/** The aligned window of the smaller significand: 24 bits, guard, round, sticky. */
const WINDOW = 27;

/** The steps of the datapath, in order (the stage split groups them). */
export const FP32_ADD_STEPS = [
  { id: 'order', title: 'specials, unpack, order by exponent, exponent difference' },
  { id: 'align', title: 'align the smaller significand into the 27-bit window {24 bits, guard, round, sticky}' },
  { id: 'add', title: 'add or subtract, 28 bits with the carry' },
  { id: 'lzc', title: 'leading zeros: the normalizing shift, at most down to the smallest exponent' },
  { id: 'normalize', title: 'normalize; an exact zero sum' },
  { id: 'round', title: 'round to nearest even and pack (Inf forces the overflow); then NaN' },
] as const satisfies readonly StepSpec[];
export type Fp32AddStep = (typeof FP32_ADD_STEPS)[number]['id'];

/** The steps after which a stage ends: one stage per step. */
export const FP32_ADD_CUTS: readonly Fp32AddStep[] = ['order', 'align', 'add', 'lzc', 'normalize'];
/** Pipeline stages: operands in cycle t, the registered `result` in cycle t + FP32_ADD_STAGES. */
export const FP32_ADD_STAGES = FP32_ADD_CUTS.length + 1;

export interface Fp32AddConfig {
  /** the steps after which a stage ends (default FP32_ADD_CUTS) */
  cuts?: readonly Fp32AddStep[];
  /** how the significand add and the reverse subtraction are built (default prefix: Kogge-Stone) */
  adders?: AdderStyle;
}

export function fp32AddModuleName(c: Fp32AddConfig = {}): string {
  const split = stageSplitSuffix(FP32_ADD_STEPS, c.cuts, FP32_ADD_CUTS);
  return `${FP32_ADD_MODULE}${split}${adderStyleSuffix(c.adders)}`;
}

export function fp32Add(c: Fp32AddConfig = {}): ModuleDef {
  const cuts = new Set<Fp32AddStep>(c.cuts ?? FP32_ADD_CUTS);
  const stages = cuts.size + 1;
  const adders = c.adders ?? DEFAULT_ADDER_STYLE;
  const doc = `IEEE-754 binary32 adder, round to nearest even, subnormals, canonical NaN 0x7FC00000, ${stages}-stage pipeline${adders === DEFAULT_ADDER_STYLE ? '' : `, ${adders} adders`}`;
  return defineModule(fp32AddModuleName(c), doc, { block: 'fp32-add', stages, adders }, (m) => {
    m.clock();
    m.noReset(UNIT_RESET_NOTE);
    const a = m.input('a', 32, { doc: 'IEEE-754 binary32 operand, stage 1' });
    const b = m.input('b', 32, { doc: 'IEEE-754 binary32 operand, stage 1' });
    const result = m.output('result', 32, { doc: `a + b, IEEE-754 binary32, ${stages} cycles after the operands` });
    const FP = m.struct('FP', FP32_LAYOUT, { nameWidths: false });
    const QNAN = m.constant('FP32_QNAN', FP32_QNAN, 32, 'the canonical quiet NaN');
    const EXP_MAX = m.constant('EXP_MAX', 255, 8, 'exponent field of Inf and NaN');
    const ALIGN_MAX = m.constant('ALIGN_MAX', 31, 5, 'the largest alignment shift: it leaves only sticky bits');
    const sign = (x: Signal) => FP.field(x, 'sign');
    const expOf = (x: Signal) => FP.field(x, 'exp');
    const frac = (x: Signal) => FP.field(x, 'frac');
    const st = new Stages<Fp32AddStep>(m, FP32_ADD_STEPS, cuts);

    const s1 = st.step('order', () => {
      const aExpMax = m.let('a_exp_max', expOf(a).eq(EXP_MAX));
      const bExpMax = m.let('b_exp_max', expOf(b).eq(EXP_MAX));
      const aFracNz = m.let('a_frac_nz', frac(a).any());
      const bFracNz = m.let('b_frac_nz', frac(b).any());
      const aInf = m.let('a_inf', aExpMax.and(aFracNz.not()));
      const bInf = m.let('b_inf', bExpMax.and(bFracNz.not()));
      const infMinusInf = m.let('inf_minus_inf', aInf.and(bInf).and(sign(a).xor(sign(b))), 'Inf + (-Inf)');
      const isNan = m.let('is_nan', aExpMax.and(aFracNz).or(bExpMax.and(bFracNz)).or(infMinusInf), 'the result is NaN: a NaN operand, or Inf - Inf');
      const isInf = m.let('is_inf', aInf.or(bInf), 'the result is Inf (unless NaN): an Inf operand, the larger magnitude');
      const aSub = m.let('a_sub', expOf(a).eq(lit(0, 8)), 'a is zero or subnormal');
      const bSub = m.let('b_sub', expOf(b).eq(lit(0, 8)), 'b is zero or subnormal');
      m.comment('effective exponents: a field of 0 (zero or subnormal) has the scale of field 1');
      const aExp = m.let('a_exp', expOf(a).or(aSub.zext(8)), 'effective biased exponent of a');
      const bExp = m.let('b_exp', expOf(b).or(bSub.zext(8)), 'effective biased exponent of b');
      const aSig = m.let('a_sig', concat(aSub.not(), frac(a)), 'significand of a with hidden bit');
      const bSig = m.let('b_sig', concat(bSub.not(), frac(b)), 'significand of b with hidden bit');
      m.comment(
        'The operands are ordered by their exponent fields (an 8-bit compare, fast enough to steer the significands):\n' +
          'the larger field is the larger magnitude unless the effective exponents are equal (equal fields, or\n' +
          'fields 0 and 1). Then nothing is shifted and the difference of the significands is exact; when a comes\n' +
          'first there but b is the larger, the add step takes b - a (flip).',
      );
      const aFirst = m.let('a_first', expOf(a).ge(expOf(b)), 'the exponent field of a is the larger (or equal)');
      m.comment(
        'The exponent differences from the fields, beside the zero tests: a subnormal (field 0) counts as field 1,\n' +
          'so the difference is one less when only the other operand is subnormal. 32 or more shifts as 31: the\n' +
          'whole significand is then below the window (sticky).',
      );
      const sat = (d: Expr) => mux(d.slice(5, 3).any(), ALIGN_MAX, d.slice(0, 5));
      const fieldDiff = (name: string, x: Signal, y: Signal, ySub: Signal, xSub: Signal): Signal => {
        const d = m.let(`${name}_d`, expOf(x).minus(expOf(y)), `field difference`);
        const dm = m.let(`${name}_dm`, expOf(x).plus(lit(255, 8)), `field - 1 (when the other field is 0)`);
        return m.let(name, mux(ySub.and(xSub.not()), sat(dm), sat(d)), 'the effective exponent difference, saturated');
      };
      const shAb = fieldDiff('shift_ab', a, b, bSub, aSub);
      const shBa = fieldDiff('shift_ba', b, a, aSub, bSub);
      const eff = m.let('eff_sub', sign(a).xor(sign(b)), 'signs differ: subtract magnitudes');
      const flip = m.let('flip', eff.and(aFirst).and(aExp.eq(bExp)).and(aSig.lt(bSig)), 'subtracting equal exponents, a first but |a| < |b|: the result is b - a');
      const aInv = m.let('a_sig_inv', aSig.not(), '~a_sig: b - a = b + ~a + 1');
      const rev = m.let('rev', styledAdd(m, adders, 'rev_diff', bSig, aInv, lit(1, 1)), 'b_sig - a_sig (the significands when flip)');
      return {
        nan: isNan,
        inf: isInf,
        sign: m.let('big_sign', mux(aFirst, sign(a), sign(b)), 'sign of the operand with the larger exponent'),
        sub: eff,
        flip,
        exp: m.let('big_exp', mux(aFirst, aExp, bExp), 'the larger effective exponent'),
        big_sig: m.let('big_sig', mux(aFirst, aSig, bSig), 'significand of the operand with the larger exponent'),
        small_sig: m.let('small_sig', mux(aFirst, bSig, aSig), 'significand of the other operand'),
        shift: m.let('align_shift', mux(aFirst, shAb, shBa), 'right shift of the smaller significand'),
        rev,
      };
    });
    const s2 = st.step('align', () => {
      const shifted = m.let('small_shifted', concat(s1.small_sig, lit(0, 31)).shr(s1.shift), 'bits [54:28] the window, [27:0] shifted out');
      const smallWin = m.let(
        'small_win',
        concat(shifted.slice(29, 26), shifted.bit(28).or(shifted.slice(0, 28).any())),
        'aligned smaller significand: 24 bits, guard, round, sticky',
      );
      const subMask = m.let('sub_mask', mux(s1.sub, lit((1n << BigInt(WINDOW + 1)) - 1n, WINDOW + 1), lit(0, WINDOW + 1)), 'all ones when subtracting');
      const smallOp = m.let('small_op', smallWin.zext(WINDOW + 1).xor(subMask), 'the smaller window, inverted when subtracting (the carry-in adds the one)');
      const bigWin = m.let('big_win', concat(lit(0, 1), s1.big_sig, lit(0, 3)), 'the larger significand in the same window, with a carry bit');
      m.comment("the adder's generate and propagate vectors, here beside the alignment: the add step keeps the carries");
      const gen = m.let('sum_gen', bigWin.slice(0, WINDOW).and(smallOp.slice(0, WINDOW)), 'generate: big & small, bits 0 .. 26');
      const prop = m.let('sum_prop', bigWin.xor(smallOp), 'propagate: big ^ small');
      return { nan: s1.nan, inf: s1.inf, sign: s1.sign, sub: s1.sub, flip: s1.flip, exp: s1.exp, gen, prop, rev: s1.rev };
    });
    const s3 = st.step('add', () => {
      m.comment('sum_raw = big -/+ small: bit 27 carry, [26:3] significand, guard, round, sticky');
      const sum = styledSum(m, adders, 'sum_raw', s2.gen, s2.prop, s2.sub);
      return {
        nan: s2.nan,
        inf: s2.inf,
        sign: m.let('sum_sign', s2.sign.xor(s2.flip), 'sign of the larger magnitude'),
        sub: s2.sub,
        exp: s2.exp,
        sum: m.let('sum', mux(s2.flip, concat(lit(0, 1), s2.rev, lit(0, 3)), sum), 'the exact sum of the magnitudes'),
      };
    });
    const s4 = st.step('lzc', () => {
      const lsh = limitedLeadingZeros(m, 'lsh', s3.sum, s3.exp);
      return { nan: s3.nan, inf: s3.inf, sign: s3.sign, sub: s3.sub, exp: s3.exp, sum: s3.sum, lsh };
    });
    const s5 = st.step('normalize', () => {
      const sumZero = m.let('sum_zero', s4.sum.any().not(), 'exact cancellation (or two zeros)');
      const norm = m.let('norm', s4.sum.shl(s4.lsh), 'the sum with its leading one at the top, or stopped at the smallest exponent');
      const sig = foldSticky(m, 'norm_sig', norm, 25, '24 bits, guard, sticky');
      const zeroSign = m.let('zero_sign', s4.sign.and(s4.sub.not()), '(-0) + (-0) = -0, every other exact zero is +0');
      m.comment('the exponent field is big_exp + 1 - shift with the hidden bit at 27, i.e. e_base = big_exp - shift');
      return {
        nan: s4.nan,
        inf: s4.inf,
        sign: m.let('res_sign', mux(sumZero, zeroSign, s4.sign), 'sign of the result'),
        e_base: m.let('e_base', mux(sumZero, lit(0, 8), s4.exp.minus(s4.lsh.zext(8))), 'exponent field minus the hidden bit'),
        sig,
      };
    });
    st.step('round', () => {
      const rounded = m.let('rounded', roundPackFp32(m, { sign: s5.sign, eBase: s5.e_base, sig: s5.sig, forceOverflow: s5.inf }), 'the rounded sum, or +-Inf');
      m.assign(result, stageReg(m, 'result', mux(s5.nan, QNAN, rounded), `stage ${stages}: a + b`));
      return {};
    });
  });
}
