import { defineModule, type ModuleBuilder, type ModuleDef } from '../dsl/module.ts';
import { Const, concat, mux, type Expr, type Signal } from '../dsl/expr.ts';
import type { Dim } from '../dsl/dim.ts';
import { InputError, checkIntRange, checkOneOf } from '../../common/errors.ts';

export const PE_WBITS = [2, 4] as const;
export const PE_ABITS_MIN = 4;
export const PE_ABITS_MAX = 8;

export interface PeConfig {
  /** weight operand width b: signed two's complement */
  wbits: number;
  /** activation operand width a: signed two's complement */
  abits: number;
  /** width of the column partial sum flowing through the PE */
  accWidth: number;
  /**
   * Where the accumulated value comes from. `self`: the PE adds its own
   * product (a plain INT array). `lane`: the PE adds `lane_in`, the value the
   * row's ReCoN slice returns for this column (the product, a merged outlier
   * product, or 0 for a pruned slot).
   */
  addend: 'self' | 'lane';
  /** width of lane_in when addend = 'lane' */
  laneWidth?: number;
  /** expose the registered product on prod_out (default true; a plain array does not need it) */
  productOut?: boolean;
}

/** Product width of a signed b x a multiplier. */
export function peProductWidth(wbits: number, abits: number): number {
  return wbits + abits;
}

export function checkPeConfig(c: PeConfig): void {
  checkOneOf('--wbits', c.wbits, PE_WBITS);
  checkIntRange('--abits', c.abits, PE_ABITS_MIN, PE_ABITS_MAX);
  const pw = peProductWidth(c.wbits, c.abits);
  checkIntRange('accumulator width', c.accWidth, pw, 64);
  if (c.addend === 'lane') {
    if (c.productOut === false) throw new InputError('a PE whose addend comes from the ReCoN lane must expose its product');
    if (c.laneWidth === undefined) throw new InputError('a PE with addend "lane" needs laneWidth');
    checkIntRange('lane width', c.laneWidth, pw, c.accWidth);
  }
}

export function peModuleName(c: PeConfig): string {
  const lane = c.addend === 'lane' ? `_l${c.laneWidth}` : '';
  const internal = c.productOut === false ? '_np' : '';
  return `msq_pe_w${c.wbits}a${c.abits}_acc${c.accWidth}${lane}${internal}`;
}

/**
 * Cycles from a_in to the partial sum it contributes to: the product register,
 * then (addend = lane) the lane register, then the partial-sum register.
 */
export function peLatency(c: Pick<PeConfig, 'addend'>): number {
  return c.addend === 'lane' ? 3 : 2;
}

/**
 * The multi-precision INT processing element of a weight-stationary array.
 *
 *   w_load  : w_in is written to the shadow weight register
 *   w_swap  : the shadow weight becomes the active weight (double buffering:
 *             the next tile's weights load while this tile computes)
 *   cycle t : a_in presented            -> prod_q = weight * a_in at t+1
 * addend = self (a plain array):
 *   cycle t+1: psum_in presented         -> psum_out = psum_in + prod_q at t+2
 * addend = lane (an array with ReCoN):
 *   cycle t+1: lane_in presented (the row's ReCoN slice, from prod_q) -> lane_q at t+2
 *   cycle t+2: psum_in presented         -> psum_out = psum_in + lane_q at t+3
 *
 * The multiplier is radix-4 Booth with the weight recoded once, when it
 * becomes active: w_active holds WBITS / 2 digits in {-2..2} as select bits, so
 * the product is WBITS / 2 partial products (activation, twice it or 0,
 * negated) instead of WBITS rows.
 * The product is registered so the ReCoN slice between multiplier and adder
 * starts from a flop; the lane value is registered so the slice's network and
 * the adder are separate cycles (each fits a 4 ns clock in SKY130 HD). The
 * partial sum wraps modulo 2^ACCW; the array generator sizes ACCW so that no
 * legal GEMM tile overflows.
 */
export function pe(c: PeConfig): ModuleDef {
  checkPeConfig(c);
  return defineModule(peModuleName(c), 'weight-stationary INT PE: signed WBITS x ABITS multiply, registered product, column accumulate', { block: 'pe', ...c }, (m) => {
    const WBITS = m.param('WBITS', c.wbits, 'weight operand width');
    const ABITS = m.param('ABITS', c.abits, 'activation operand width');
    const ACCW = m.param('ACCW', c.accWidth, 'partial-sum width');
    const PW = WBITS.plus(ABITS);
    const LANEW = c.addend === 'lane' ? m.param('LANEW', c.laneWidth!, 'width of the ReCoN lane value') : null;

    m.clock();
    m.resetN();
    const wLoad = m.input('w_load', 1, { doc: 'write w_in into the shadow weight' });
    const wIn = m.input('w_in', WBITS, { signed: true, doc: 'weight to load' });
    const wSwap = m.input('w_swap', 1, { doc: 'make the shadow weight active' });
    const aIn = m.input('a_in', ABITS, { signed: true, doc: 'activation' });
    const psumIn = m.input('psum_in', ACCW, { signed: true, doc: 'partial sum from the PE above' });
    const laneIn = LANEW ? m.input('lane_in', LANEW, { signed: true, doc: 'value to accumulate, from the row ReCoN slice' }) : null;
    const prodOut = c.productOut === false ? null : m.output('prod_out', PW, { signed: true, doc: 'registered product, to the row ReCoN slice' });
    const psumOut = m.output('psum_out', ACCW, { signed: true, doc: 'registered partial sum, to the PE below' });

    const DIGITS = c.wbits / 2;
    const wShadow = m.reg('w_shadow', WBITS, { signed: true, doc: 'weight being loaded for the next tile' });
    const wActive = m.reg('w_active', 3 * DIGITS, { doc: 'weight used by the multiplier: Booth digits {neg, two, one}, digit 0 in the LSBs' });
    const prodQ = m.reg('prod_q', PW, { signed: true });
    const laneQ = LANEW ? m.reg('lane_q', LANEW, { signed: true, doc: 'lane value of the previous cycle' }) : null;
    const psumQ = m.reg('psum_q', ACCW, { signed: true });

    m.comment('Double-buffered weight: the next tile loads into w_shadow while w_active computes; the swap recodes it.');
    m.update(wShadow, wIn, { enable: wLoad });
    m.update(wActive, boothRecode(m, wShadow, DIGITS), { enable: wSwap });
    m.comment('Full-precision product, registered (the ReCoN slice starts from this flop).');
    m.update(prodQ, boothProduct(m, wActive, aIn, DIGITS, ABITS, PW));
    if (laneIn && laneQ) {
      m.comment('Lane value, registered: the ReCoN network and the adder below are separate cycles.');
      m.update(laneQ, laneIn);
    }
    const addend = laneQ ?? prodQ;
    m.comment(laneQ ? 'Accumulate the registered lane value; the sum wraps modulo 2^ACCW.' : 'Accumulate the own product; the sum wraps modulo 2^ACCW.');
    m.update(psumQ, psumIn.plus(addend.sext(ACCW)));

    if (prodOut) m.assign(prodOut, prodQ);
    m.assign(psumOut, psumQ);
  });
}

/**
 * Radix-4 Booth recoding of a signed weight: digit k = -2 w[2k+1] + w[2k] +
 * w[2k-1] (w[-1] = 0), as select bits {neg, two, one} per digit (digit 0 in
 * the LSBs): |digit| = 1, |digit| = 2, negative. Zero is all clear.
 */
function boothRecode(m: ModuleBuilder, w: Signal, digits: number): Expr {
  const parts: Expr[] = [];
  for (let k = 0; k < digits; k++) {
    const b2 = w.bit(2 * k + 1);
    const b1 = w.bit(2 * k);
    let digit: Expr;
    if (k === 0) {
      // w[-1] = 0: -2 b2 + b1
      digit = concat(b2, b2.and(b1.not()), b1);
    } else {
      const b0 = w.bit(2 * k - 1);
      const two = b2.and(b1.not()).and(b0.not()).or(b2.not().and(b1).and(b0));
      digit = concat(b2.and(b1.and(b0).not()), two, b1.xor(b0));
    }
    parts.push(m.let(`booth_${k}`, digit, `Booth digit ${k} of w_shadow: {neg, two, one}`));
  }
  return concat(...parts.reverse());
}

/**
 * w * a from the Booth digits: partial product k is a, 2a or 0 (ABITS + 2
 * bits), inverted when the digit is negative; the +1 of each negation joins
 * the sum as a correction bit at position 2k. The sum wraps at PW bits, which
 * holds every product of a WBITS x ABITS signed pair.
 */
function boothProduct(m: ModuleBuilder, sel: Signal, a: Signal, digits: number, ABITS: Dim, PW: Dim): Expr {
  const PPW = ABITS.plus(2);
  const a1 = m.let('a_x1', a.sext(PPW), 'the activation, sign-extended');
  const a2 = m.let('a_x2', a.sext(ABITS.plus(1)).shlGrow(1), 'twice the activation');
  let sum: Expr | null = null;
  const corr: Expr[] = [];
  for (let k = 0; k < digits; k++) {
    const one = sel.bit(3 * k);
    const two = sel.bit(3 * k + 1);
    const neg = sel.bit(3 * k + 2);
    const mag = m.let(`mag_${k}`, mux(one, a1, mux(two, a2, Const.zero(PPW, true))), `|digit ${k}| times the activation`);
    const pp = m.let(`pp_${k}`, mux(neg, mag.not(), mag), `partial product of digit ${k}, before the +1 of a negation`);
    const term = k === 0 ? pp.sext(PW) : pp.sext(PW.minus(2 * k)).shlGrow(2 * k);
    sum = sum === null ? term : sum.plus(term);
    corr.unshift(neg);
    if (k < digits - 1) corr.unshift(Const.zero(1));
  }
  const correction = m.let('booth_corr', concat(Const.zero(PW.minus(2 * digits - 1)), ...corr).asSigned(), 'the +1 of every negated partial product');
  return sum!.plus(correction);
}
