import { defineModule, type ModuleDef, type ModuleBuilder } from '../dsl/module.ts';
import { mux } from '../dsl/expr.ts';
import { MODE_CODE } from '../../quant/hwmodel/recon.ts';
import { checkReconConfig, laneSettingLayout, LANE_MODE_BITS, reconSuffix, reconWidths, type ReconConfig } from './recon-config.ts';
import { laneFlags, laneOutput } from './recon-lane.ts';

/** Parameters and ports every ReCoN network shares. */
export function reconNetworkPorts(m: ModuleBuilder, c: ReconConfig) {
  const w = reconWidths(c);
  const LANES = m.param('LANES', c.lanes, 'lanes per μB');
  const PW = m.param('PW', w.PW, 'product width (WBITS + ABITS)');
  const SPLIT = m.param('SPLIT', c.wbits - 1, 'outlier significand split L = WBITS - 1');
  const GUARD = m.param('GUARD', c.guardBits, 'guard bits F below the inlier LSB');
  const SHW = m.param('SHW', c.shiftBits, 'width of a lane shift field');
  const PB = m.param('PB', w.PB, 'width of a partner index: log2(LANES)');
  const CFGW = m.param('CFGW', w.CFGW, 'bits of one lane setting: mode(2) + partner(PB) + shift(SHW)');
  const MW = m.param('MW', w.MW, 'merged value width: PW + SPLIT');
  const LW = m.param('LW', w.LW, 'lane output width: MW + largest shift');
  const prods = m.input('prods', LANES.times(PW), { doc: 'registered PE products of this μB, lane 0 in the LSBs' });
  const cfg = m.input('cfg', LANES.times(CFGW), { doc: 'active lane settings, lane 0 in the LSBs' });
  const lanes = m.output('lanes', LANES.times(LW), { doc: 'lane values for the PE adders' });
  const CFG = m.struct('CFG', laneSettingLayout(PB, SHW), { width: CFGW });
  const modes = {
    inlier: m.constant('MODE_INLIER', MODE_CODE.inlier, LANE_MODE_BITS, 'lane mode: inlier, value = product << F'),
    outlier: m.constant('MODE_OUTLIER', MODE_CODE.outlier, LANE_MODE_BITS, 'lane mode: outlier, merged with its partner'),
  };
  return { LANES, PW, SPLIT, GUARD, SHW, PB, CFGW, MW, LW, prods, cfg, lanes, CFG, modes };
}

/**
 * Crossbar ReCoN network: each lane picks any partner of the μB with a
 * LANES:1 multiplexer, merges ((own << L) + partner), and shifts.
 * Combinational: it sits between the PE product registers and the PE adders.
 */
export function reconCrossbar(c: ReconConfig): ModuleDef {
  checkReconConfig(c);
  return defineModule(`msq_recon_xbar_${reconSuffix(c)}`, 'ReCoN crossbar network: any-to-any outlier pairing within one μB', { block: 'recon_crossbar', ...c }, (m) => {
    const p = reconNetworkPorts(m, c);
    m.comment('Per lane: its setting, the partner picked by a LANES:1 multiplexer, the merge, the output shift.');
    m.generate('g_lane', 'i', p.LANES, (gi, s) => {
      const own = s.let('own', p.prods.lane(gi, p.PW).asSigned(), "this lane's product");
      const mode = s.let('mode', p.CFG.field(p.cfg, 'mode', gi));
      const partner = s.let('partner', p.CFG.field(p.cfg, 'partner', gi));
      const shift = s.let('shift', p.CFG.field(p.cfg, 'shift', gi));
      const lo = s.let('lo', p.prods.laneAt(partner, p.PW).asSigned(), "partner's product: the outlier's low half");
      const merged = s.let('merged', own.shlGrow(p.SPLIT).plus(lo.sext(p.MW)), '(hi << L) + lo');
      const flags = laneFlags(s, mode, p.modes);
      const value = s.let('value', mux(flags.isOutlier, merged, own.sext(p.MW)));
      laneOutput(s, p.lanes.lane(gi, p.LW), value, flags, shift, p.GUARD);
    });
  });
}
