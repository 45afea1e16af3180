import { defineModule, type ModuleDef } from '../dsl/module.ts';
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
 * The multi-precision INT processing element of a weight-stationary array.
 *
 *   w_load  : w_in is written to the shadow weight register
 *   w_swap  : the shadow weight becomes the active weight (double buffering:
 *             the next tile's weights load while this tile computes)
 *   cycle t : a_in presented            -> prod_q = w_active * a_in at t+1
 *   cycle t+1: psum_in presented         -> psum_out = psum_in + addend at t+2
 *
 * The product is registered so the ReCoN slice between multiplier and adder
 * starts from a flop. The partial sum wraps modulo 2^ACCW; the array generator
 * sizes ACCW so that no legal GEMM tile overflows.
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

    const wShadow = m.reg('w_shadow', WBITS, { signed: true, doc: 'weight being loaded for the next tile' });
    const wActive = m.reg('w_active', WBITS, { signed: true, doc: 'weight used by the multiplier' });
    const prodQ = m.reg('prod_q', PW, { signed: true });
    const psumQ = m.reg('psum_q', ACCW, { signed: true });

    m.comment('Double-buffered weight: the next tile loads into w_shadow while w_active computes.');
    m.update(wShadow, wIn, { enable: wLoad });
    m.update(wActive, wShadow, { enable: wSwap });
    m.comment('Full-precision product, registered (the ReCoN slice starts from this flop).');
    m.update(prodQ, wActive.times(aIn));
    const addend = laneIn ?? prodQ;
    m.comment(laneIn ? 'Accumulate the ReCoN lane value; the sum wraps modulo 2^ACCW.' : 'Accumulate the own product; the sum wraps modulo 2^ACCW.');
    m.update(psumQ, psumIn.plus(addend.sext(ACCW)));

    if (prodOut) m.assign(prodOut, prodQ);
    m.assign(psumOut, psumQ);
  });
}
