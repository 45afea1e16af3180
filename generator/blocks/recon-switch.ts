import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { Const, mux } from '../dsl/expr.ts';

/**
 * One 2x2 switch of the butterfly ReCoN: joins lanes lo and hi (hi = lo + 2^s).
 *   pass      : y_lo = x_lo, y_hi = x_hi
 *   merge_lo  : y_lo = (x_lo << L) + x_hi, y_hi = 0   (the outlier is lane lo)
 *   merge_hi  : y_hi = (x_hi << L) + x_lo, y_lo = 0   (the outlier is lane hi)
 * One adder serves both directions; merge_lo wins if both are set (an illegal
 * setting the decoder never produces). Values wrap at MW bits.
 */
export function reconSwitch(mergedWidth: number, splitBits: number): ModuleDef {
  return defineModule(`msq_recon_switch_m${mergedWidth}_l${splitBits}`, 'butterfly ReCoN 2x2 switch: pass or merge an outlier pair', { block: 'recon_switch', mergedWidth, splitBits }, (m) => {
    const MW = m.param('MW', mergedWidth, 'value width');
    const SPLIT = m.param('SPLIT', splitBits, 'outlier significand split L');
    const xLo = m.input('x_lo', MW, { signed: true, doc: 'value of the lower lane' });
    const xHi = m.input('x_hi', MW, { signed: true, doc: 'value of the upper lane' });
    const mergeLo = m.input('merge_lo', 1, { doc: 'lower lane is an outlier whose partner is the upper lane' });
    const mergeHi = m.input('merge_hi', 1, { doc: 'upper lane is an outlier whose partner is the lower lane' });
    const yLo = m.output('y_lo', MW, { signed: true });
    const yHi = m.output('y_hi', MW, { signed: true });

    m.comment('x << L within MW bits: the top L bits fall off (only illegal double merges reach them).');
    const loShifted = m.let('lo_shifted', xLo.slice(0, MW.minus(SPLIT)).shlGrow(SPLIT).asSigned(), 'x_lo << L');
    const hiShifted = m.let('hi_shifted', xHi.slice(0, MW.minus(SPLIT)).shlGrow(SPLIT).asSigned(), 'x_hi << L');
    const high = m.let('high_half', mux(mergeLo, loShifted, hiShifted), "the outlier's value, shifted by L");
    const low = m.let('low_half', mux(mergeLo, xHi, xLo), "the pruned lane's value");
    const merged = m.let('merged', high.plus(low), '(hi << L) + lo, wrapping at MW bits');
    m.comment('Pass, or merge into the outlier lane and clear the other; merge_lo wins if both are set.');
    const zero = Const.zero(MW, true);
    const mergeHiOnly = m.let('merge_hi_only', mergeHi.and(mergeLo.not()));
    m.assign(yLo, mux(mergeLo, merged, mux(mergeHiOnly, zero, xLo)));
    m.assign(yHi, mux(mergeHiOnly, merged, mux(mergeLo, zero, xHi)));
  });
}
