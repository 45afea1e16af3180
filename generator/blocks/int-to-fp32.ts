import { Dim } from '../dsl/dim.ts';
import { lit, concat, mux } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { checkIntRange } from '../../common/errors.ts';
import { normalizeLeft, roundPackFp32 } from './fp32-common.ts';

/*
 * int-to-fp32: value * 2^exp -> IEEE-754 binary32, round to nearest even.
 *
 * The post-array unit turns each group's exact integer dot product into FP32
 * with the group's combined power-of-two scale (shared exponents, element
 * scales) before the FP32 accumulation (fp32-add.ts). Combinational; the
 * stages, in order:
 *
 *   1. sign/magnitude: |value| fits INTW unsigned bits (even for -2^(INTW-1)),
 *      and a zero value is flagged: it has no leading one and always gives +0.
 *   2. normalize: a logarithmic left shifter brings the leading one to the top
 *      bit; its stage decisions are the leading-zero count lz (no priority
 *      encoder needed).
 *   3. exponent: the biased exponent of the leading one is
 *      exp + INTW - 1 - lz + 127, computed in a signed word wide enough for
 *      every input (EBW bits), so out-of-range exponents are seen, not wrapped.
 *      It is kept minus one ("e_base"): adding the hidden bit gives the field.
 *   4. denormalize: below the normal range (biased exponent <= 0) the
 *      significand is shifted right by 1 - biased exponent so that it sits at
 *      the fixed subnormal scale 2^-149; 25 zero bits appended below make sure
 *      no bit is lost, and shifts beyond 25 are clamped to 25 (the leading one
 *      is then already below the guard bit, so larger shifts round the same).
 *   5. round and pack (fp32-common.ts): RNE on guard and sticky, the rounding
 *      carry ripples into the exponent field (subnormal -> normal, largest
 *      finite -> Inf); a biased exponent >= 255 before rounding forces Inf.
 *      A nonzero value that rounds to zero keeps its sign (-0 for negatives).
 *
 * The TS model is `intToFp32Bits` in quant/hwmodel/fp32.ts
 * (Math.fround(Number(value) * 2 ** exp)), exact for INTW <= 53, EXPW <= 11.
 */

export const INT2FP_INTW_MIN = 2;
export const INT2FP_INTW_MAX = 53; // the model's double product is exact below 2^53
export const INT2FP_EXPW_MIN = 2;
export const INT2FP_EXPW_MAX = 11; // keeps |exp| <= 1024: 2^exp and the product stay exact doubles

export interface IntToFp32Config {
  /** width of the signed integer input */
  intWidth: number;
  /** width of the signed power-of-two exponent input */
  expWidth: number;
}

export function checkIntToFp32Config(c: IntToFp32Config): void {
  checkIntRange('int-to-fp32 integer width', c.intWidth, INT2FP_INTW_MIN, INT2FP_INTW_MAX);
  checkIntRange('int-to-fp32 exponent width', c.expWidth, INT2FP_EXPW_MIN, INT2FP_EXPW_MAX);
}

export function intToFp32ModuleName(c: IntToFp32Config): string {
  return `msq_int2fp32_i${c.intWidth}_e${c.expWidth}`;
}

/**
 * Signed width holding the biased exponent minus one, exp + INTW + 125 - lz,
 * for every input: in [-2^(EXPW-1) + 126, 2^(EXPW-1) - 1 + INTW + 125].
 */
export function intToFp32ExpWordWidth(c: IntToFp32Config): number {
  return Math.max(c.expWidth + 1, 10);
}

export function intToFp32(c: IntToFp32Config): ModuleDef {
  checkIntToFp32Config(c);
  const ebw = intToFp32ExpWordWidth(c);
  const lo = -(2 ** (c.expWidth - 1)) + 126;
  const hi = 2 ** (c.expWidth - 1) - 1 + c.intWidth + 125;
  if (lo <= -(2 ** (ebw - 1)) || hi > 2 ** (ebw - 1) - 1) throw new Error(`exponent word of ${ebw} bits cannot hold [${lo}, ${hi}]`);
  return defineModule(
    intToFp32ModuleName(c),
    'signed integer times a power of two to IEEE-754 binary32 (round to nearest even, subnormals, +-Inf on overflow)',
    { block: 'int-to-fp32', ...c },
    (m) => {
      const INTW = m.param('INTW', c.intWidth, 'integer input width');
      const EXPW = m.param('EXPW', c.expWidth, 'exponent input width');
      const EBW = c.expWidth + 1 >= 10 ? EXPW.plus(1) : Dim.of(10);

      const value = m.input('value', INTW, { signed: true, doc: 'signed integer (e.g. a group dot product)' });
      const exp = m.input('exp', EXPW, { signed: true, doc: 'signed power-of-two scale' });
      const result = m.output('result', 32, { doc: 'IEEE-754 binary32 bits of value * 2^exp' });

      m.comment('1. sign and magnitude: |value| fits INTW unsigned bits; a zero value always gives +0');
      const sign = m.let('sign', value.bit(INTW.minus(1)));
      const mag = m.let('mag', mux(sign, value.neg(), value).asUnsigned(), '|value|, exact also for the most negative value');
      const isZero = m.let('is_zero', mag.any().not());

      m.comment('2. normalize: the leading one to bit INTW - 1; the stage decisions are the leading-zero count');
      const norm = normalizeLeft(m, 'lz', mag);
      const lz = m.let('lz', concat(...norm.shiftBits), 'leading zeros of mag');

      m.comment('3. biased exponent of the leading one, minus one (adding the hidden bit gives the field)');
      const eBaseFull = m.let(
        'e_base_full',
        exp.sext(EBW).plus(lit(c.intWidth + 125, EBW, true)).minus(lz.zext(EBW).asSigned()),
        'exp + INTW - 1 - lz + 127 - 1',
      );
      const isNormal = m.let('is_normal', eBaseFull.ge(lit(0, EBW, true)), 'biased exponent >= 1');
      const expOverflow = m.let('exp_overflow', eBaseFull.ge(lit(254, EBW, true)), 'biased exponent >= 255 before rounding');

      m.comment('4. denormalize below the normal range: shift to the fixed subnormal scale 2^-149');
      const denormFull = m.let('denorm_full', eBaseFull.neg(), '1 - biased exponent: right shift to the subnormal scale');
      const denormDeep = m.let('denorm_deep', denormFull.ge(lit(25, EBW, true)), 'leading one below the guard bit');
      const denormShift = m.let('denorm_shift', mux(isNormal, lit(0, 5), mux(denormDeep, lit(25, 5), denormFull.slice(0, 5))));
      const sig = m.let('sig', concat(norm.value, lit(0, 25)).shr(denormShift), 'significand, guard and sticky bits at the result scale');

      m.comment('5. round to nearest even, pack, and the zero case');
      const eBase = mux(isNormal, eBaseFull.slice(0, 8), lit(0, 8));
      const packed = roundPackFp32(m, { sign, eBase, sig, forceOverflow: expOverflow });
      m.assign(result, mux(isZero, lit(0, 32), packed));
    },
  );
}
