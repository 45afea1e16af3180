import { Dim } from '../dsl/dim.ts';
import { ParamConst, lit, concat, mux, type Expr } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { checkIntRange } from '../../common/errors.ts';
import { UNIT_RESET_NOTE, Stages, stageSplitSuffix, foldSticky, limitedLeadingZeros, roundPackFp32, stageReg, stopBit, type StepSpec } from './fp32-common.ts';

/*
 * int-to-fp32: value * 2^exp -> IEEE-754 binary32, round to nearest even.
 *
 * The post-array unit turns each group's exact integer dot product into FP32
 * with the group's combined power-of-two scale (shared exponents, element
 * scales) before the FP32 accumulation (fp32-add.ts). A pipeline of
 * INT2FP_STAGES stages with no valid bit and no stall: inputs presented in
 * cycle t give `result` (a register) in cycle t + INT2FP_STAGES. Every stage
 * ends in its registers s<k>_*_q (the last one in result_q); the inputs feed
 * stage 1 directly. The steps, in order (INT2FP_CUTS groups them into stages;
 * a stage's logic is sized for the 4 ns sign-off of issue 13):
 *
 *   below: the carries of the negation, for each bit whether a lower bit of
 *      value is set, found here within each block of BELOW_BLOCK bits (and
 *      whether each block holds a one). A leading one at the top bit
 *      of |value| would have the biased exponent minus one e_top = exp + INTW
 *      - 1 + 127 - 1, computed in a signed word wide enough for every input
 *      (EBW bits), so out-of-range exponents are seen, not wrapped. e_top < 0
 *      is below the normal range whatever the leading zeros: then the right
 *      shift -e_top (at most 25, beyond which every bit is below the guard
 *      bit) puts the top bit at the subnormal scale 2^-126.
 *   magnitude: the carries across blocks (a one in a lower block), then
 *      |value| = value ^ (sign & below), exact also for -2^(INTW-1);
 *      the stop bit of the left shift at e_top (0 when e_top < 0): for e_top
 *      >= 0 the normalizing shift stops there, leaving a subnormal with the
 *      top bit at 2^-126.
 *   lzc: the left shift min(leading zeros, e_top), one leading-zero tree
 *      with the stop bit (fp32-common.ts), and beside it the right shift to
 *      the subnormal scale into a window of max(INTW, 25) bits and a sticky
 *      bit (the two shifts never both apply).
 *   normalize: the left shift; e_base = e_top - shift is the biased exponent
 *      of the top bit minus one (adding the hidden bit gives the field); a
 *      field of 256 or more forces Inf; below the normal range or for a zero
 *      value (sign 0, no one) the field is 0, so a zero packs to +0.
 *   round: RNE on guard and sticky (fp32-common.ts), the rounding carry going
 *      into the exponent field (subnormal -> normal, largest finite -> Inf). A
 *      nonzero value that rounds to zero keeps its sign (-0 for negatives).
 *
 * The TS model is `intToFp32Bits` in quant/hwmodel/fp32.ts
 * (Math.fround(Number(value) * 2 ** exp)), exact for INTW <= 53, EXPW <= 11;
 * the pipeline delays it by INT2FP_STAGES cycles.
 */

/** The negation's carries are found per block of this many bits first (stage 1), then across blocks (stage 2). */
const BELOW_BLOCK = 4;

export const INT2FP_INTW_MIN = 2;
export const INT2FP_INTW_MAX = 53; // the model's double product is exact below 2^53
export const INT2FP_EXPW_MIN = 2;
export const INT2FP_EXPW_MAX = 11; // keeps |exp| <= 1024: 2^exp and the product stay exact doubles

export interface IntToFp32Config {
  /** width of the signed integer input */
  intWidth: number;
  /** width of the signed power-of-two exponent input */
  expWidth: number;
  /** the steps after which a stage ends (default INT2FP_CUTS) */
  cuts?: readonly Int2FpStep[];
}

export function checkIntToFp32Config(c: IntToFp32Config): void {
  checkIntRange('int-to-fp32 integer width', c.intWidth, INT2FP_INTW_MIN, INT2FP_INTW_MAX);
  checkIntRange('int-to-fp32 exponent width', c.expWidth, INT2FP_EXPW_MIN, INT2FP_EXPW_MAX);
}

export function intToFp32ModuleName(c: IntToFp32Config): string {
  const split = stageSplitSuffix(INT2FP_STEPS, c.cuts, INT2FP_CUTS);
  return `msq_int2fp32_i${c.intWidth}_e${c.expWidth}${split}`;
}

/**
 * Signed width holding the biased exponent minus one, exp + INTW + 125 - lz,
 * for every input: in [-2^(EXPW-1) + 126, 2^(EXPW-1) - 1 + INTW + 125].
 */
export function intToFp32ExpWordWidth(c: IntToFp32Config): number {
  return Math.max(c.expWidth + 1, 10);
}

/** The steps of the datapath, in order (the stage split groups them). */
export const INT2FP_STEPS = [
  { id: 'below', title: 'the negation\'s carries within blocks of 4 bits; the exponent of a leading one at the top bit' },
  { id: 'magnitude', title: 'the carries across blocks; sign and magnitude; where the left shift stops' },
  { id: 'lzc', title: 'leading zeros (the left shift); the right shift to the subnormal scale' },
  { id: 'normalize', title: 'normalize: the left shift; the biased exponent' },
  { id: 'round', title: 'round to nearest even and pack' },
] as const satisfies readonly StepSpec[];
export type Int2FpStep = (typeof INT2FP_STEPS)[number]['id'];

/** The steps after which a stage ends: one stage per step. */
export const INT2FP_CUTS: readonly Int2FpStep[] = ['below', 'magnitude', 'lzc', 'normalize'];
/** Pipeline stages: inputs in cycle t, the registered result in cycle t + INT2FP_STAGES. */
export const INT2FP_STAGES = INT2FP_CUTS.length + 1;

export function intToFp32(c: IntToFp32Config): ModuleDef {
  checkIntToFp32Config(c);
  const ebw = intToFp32ExpWordWidth(c);
  const lo = -(2 ** (c.expWidth - 1)) + 126;
  const hi = 2 ** (c.expWidth - 1) - 1 + c.intWidth + 125;
  if (lo <= -(2 ** (ebw - 1)) || hi > 2 ** (ebw - 1) - 1) throw new Error(`exponent word of ${ebw} bits cannot hold [${lo}, ${hi}]`);
  const cuts = new Set<Int2FpStep>(c.cuts ?? INT2FP_CUTS);
  const stages = cuts.size + 1;
  /** the window of the shifts: the integer and at least 25 bits, and a sticky bit */
  const keep = Math.max(c.intWidth, 25);
  return defineModule(
    intToFp32ModuleName(c),
    `signed integer times a power of two to IEEE-754 binary32 (round to nearest even, subnormals, +-Inf on overflow), ${stages}-stage pipeline`,
    { block: 'int-to-fp32', intWidth: c.intWidth, expWidth: c.expWidth, stages },
    (m) => {
      const INTW = m.param('INTW', c.intWidth, 'integer input width');
      const EXPW = m.param('EXPW', c.expWidth, 'exponent input width');
      const EBW = c.expWidth + 1 >= 10 ? EXPW.plus(1) : Dim.of(10);
      const E_TOP = m.localparam('E_TOP', INTW.plus(125), 'biased exponent minus one of a leading one at bit INTW - 1 of an integer: INTW - 1 + 127 - 1');
      const RSH_MAX = m.constant('RSH_MAX', 25, 5, 'a right shift that puts any leading one below the guard bit');

      m.clock();
      m.noReset(UNIT_RESET_NOTE);
      const value = m.input('value', INTW, { signed: true, doc: 'signed integer (e.g. a group dot product), stage 1' });
      const exp = m.input('exp', EXPW, { signed: true, doc: 'signed power-of-two scale, stage 1' });
      const result = m.output('result', 32, { doc: `IEEE-754 binary32 bits of value * 2^exp, ${stages} cycles after the inputs` });
      const st = new Stages<Int2FpStep>(m, INT2FP_STEPS, cuts);

      const s1 = st.step('below', () => {
        const bits = m.let('value_bits', value.asUnsigned(), 'value as bits');
        m.comment(
          `The negation's carries in two levels: here, within each block of ${BELOW_BLOCK} bits, a one below each bit\n` +
            '(local_below) and a one anywhere in the block (block_any); the next stage combines the blocks. One prefix\n' +
            'OR over the whole word has every prefix as an output, which logic synthesis maps as a ripple chain.',
        );
        const nBlocks = Math.ceil(c.intWidth / BELOW_BLOCK);
        const localBits: Expr[] = [];
        for (let i = c.intWidth - 1; i >= 0; i--) {
          const lo = i - (i % BELOW_BLOCK);
          localBits.push(i === lo ? lit(0, 1) : bits.slice(lo, i - lo).any());
        }
        const localBelow = m.let('local_below', concat(...localBits), `a one in value below each bit, within its block of ${BELOW_BLOCK}`);
        const anyBits: Expr[] = [];
        for (let j = nBlocks - 1; j >= 0; j--) anyBits.push(bits.slice(j * BELOW_BLOCK, Math.min(BELOW_BLOCK, c.intWidth - j * BELOW_BLOCK)).any());
        const blockAny = m.let('block_any', nBlocks === 1 ? anyBits[0]! : concat(...anyBits), `a one in each block of ${BELOW_BLOCK} bits of value`);
        m.comment(
          'A leading one at the top bit of |value| would have weight 2^(e_top - 126). For e_top >= 0 the left shift\n' +
            'that normalizes stops at e_top (then the top bit weighs 2^-126: a subnormal); for e_top < 0 there is\n' +
            'no left shift and a right shift by -e_top (at most 25) puts the top bit at 2^-126.',
        );
        const eTop = m.let('e_top', exp.sext(EBW).plus(new ParamConst(E_TOP, EBW).asSigned()), 'exp + INTW - 1 + 127 - 1');
        const eNeg = m.let('e_neg', eTop.bit(EBW.minus(1)), 'e_top < 0: below the normal range whatever the leading zeros');
        const eMinus = m.let('e_minus', new ParamConst(E_TOP, EBW.minus(1)).neg().minus(exp.sext(EBW.minus(1)).asUnsigned()), '-e_top = -E_TOP - exp (used when e_top < 0), beside e_top');
        const rshFar = m.let('rsh_far', eMinus.slice(5, EBW.minus(6)).any().or(eMinus.slice(0, 5).ge(RSH_MAX)), '-e_top >= 25 (for e_top < 0)');
        const rsh = m.let('rsh', mux(eNeg, mux(rshFar, RSH_MAX, eMinus.slice(0, 5)), lit(0, 5)), 'right shift to the subnormal scale');
        return { value: bits, local_below: localBelow, block_any: blockAny, e_top: m.let('e_top_u', eTop.slice(0, EBW.minus(1)), 'e_top without its sign bit (used when e_top >= 0)'), e_neg: eNeg, rsh };
      });
      const s2 = st.step('magnitude', () => {
        const sign = m.let('sign', s1.value.bit(INTW.minus(1)), 'sign of value');
        const nBlocks = Math.ceil(c.intWidth / BELOW_BLOCK);
        const belowBits: Expr[] = [];
        for (let i = c.intWidth - 1; i >= 0; i--) {
          const j = Math.floor(i / BELOW_BLOCK);
          const lower = j === 0 ? null : s1.block_any.slice(0, j).any();
          belowBits.push(lower ? s1.local_below.bit(i).or(lower) : s1.local_below.bit(i));
        }
        const below = m.let('below', concat(...belowBits), 'a one in value below each bit: within its block, or in a lower block');
        const nonzero = m.let('nonzero', s1.block_any.any(), 'value is not zero (a zero packs to +0)');
        const mag = m.let('mag', s1.value.xor(below.and(mux(sign, lit((1n << BigInt(c.intWidth)) - 1n, INTW), lit(0, INTW)))), '|value|: a negative value flips every bit above its lowest one');
        const limit = m.let('lsh_limit', mux(s1.e_neg, lit(0, EBW.minus(1)), s1.e_top), 'the left shift stops at e_top (0 when negative)');
        const stop = stopBit(m, 'lsh_stop', c.intWidth, limit, 'a one at bit INTW - 1 - limit of mag (bits INTW-1..1): the leading-zero count stops there');
        return { sign, mag, stop, nonzero, e_top: s1.e_top, e_neg: s1.e_neg, rsh: s1.rsh };
      });
      const s3 = st.step('lzc', () => {
        const lsh = limitedLeadingZeros(m, 'lsh', s2.mag, { stop: s2.stop });
        const full = m.let('rsh_full', concat(s2.mag, lit(0, 25)).shr(s2.rsh), 'mag at the subnormal scale when e_top < 0 (else unshifted)');
        const win = foldSticky(m, 'win', full, keep, `the top ${keep} bits and a sticky bit`);
        return { sign: s2.sign, nonzero: s2.nonzero, e_top: s2.e_top, e_neg: s2.e_neg, lsh, win };
      });
      const s4 = st.step('normalize', () => {
        const norm = m.let('norm', s3.win.shl(s3.lsh), 'the leading one at the top bit, or the top bit at 2^-126');
        const sig = foldSticky(m, 'sig', norm, 25, '24 kept bits, guard, sticky');
        const eBaseFull = m.let('e_base_full', s3.e_top.minus(s3.lsh.zext(EBW.minus(1))), 'e_top - left shift (for e_top >= 0): the biased exponent of the top bit, minus one');
        m.comment('e_base_full >= 255 (exponent field 256 or more; 254 overflows in rounding with the hidden bit)');
        const overflow = m.let('exp_overflow', s3.nonzero.and(s3.e_neg.not()).and(eBaseFull.slice(8, EBW.minus(9)).any().or(eBaseFull.slice(0, 8).eq(lit(255, 8)))), 'Inf regardless of rounding');
        const eBase = m.let('e_base', mux(s3.e_neg.or(s3.nonzero.not()), lit(0, 8), eBaseFull.slice(0, 8)), 'exponent field minus the hidden bit (0: below the normal range, or zero)');
        return { sign: s3.sign, sig, e_base: eBase, overflow };
      });
      st.step('round', () => {
        const rounded = m.let('rounded', roundPackFp32(m, { sign: s4.sign, eBase: s4.e_base, sig: s4.sig, forceOverflow: s4.overflow }), 'the rounded binary32');
        const resultQ = stageReg(m, 'result', rounded, `stage ${stages}: the binary32 result`);
        m.assign(result, resultQ);
        return {};
      });
    },
  );
}
