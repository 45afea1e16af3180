import { defineModule, type ModuleDef, type ModuleBuilder, type ScopeBuilder } from '../dsl/module.ts';
import { mux, type Expr } from '../dsl/expr.ts';
import type { Genvar } from '../dsl/index.ts';
import { MODE_CODE } from '../../quant/hwmodel/recon.ts';
import { checkReconConfig, laneSettingLayout, LANE_MODE_BITS, reconSuffix, reconWidths } from './recon-config.ts';
import { isPipelined, laneFlags, laneOutput, type ReconNetworkConfig } from './recon-lane.ts';

/**
 * Parameters and ports every ReCoN network shares. A combinational network
 * takes the active settings on `cfg`; a pipelined one (ReconNetworkConfig)
 * holds the active settings itself, in the form it needs, and takes the next
 * tile's settings on `cfg_next` (the slice's shadow copy) with `cfg_swap`.
 */
export function reconNetworkPorts(m: ModuleBuilder, c: ReconNetworkConfig) {
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
  const piped = isPipelined(c);
  const cfg = piped
    ? m.input('cfg_next', LANES.times(CFGW), { doc: 'lane settings of the next tile, lane 0 in the LSBs' })
    : m.input('cfg', LANES.times(CFGW), { doc: 'active lane settings, lane 0 in the LSBs' });
  const swap = piped ? m.input('cfg_swap', 1, { doc: 'make cfg_next the active settings' }) : null;
  const lanes = m.output('lanes', LANES.times(LW), { doc: 'lane values for the PE adders' });
  const CFG = m.struct('CFG', laneSettingLayout(PB, SHW), { width: CFGW });
  const modes = {
    inlier: m.constant('MODE_INLIER', MODE_CODE.inlier, LANE_MODE_BITS, 'lane mode: inlier, value = product << F'),
    outlier: m.constant('MODE_OUTLIER', MODE_CODE.outlier, LANE_MODE_BITS, 'lane mode: outlier, merged with its partner'),
  };
  return { LANES, PW, SPLIT, GUARD, SHW, PB, CFGW, MW, LW, prods, cfg, swap, lanes, CFG, modes };
}

/**
 * Crossbar ReCoN network: each lane picks any partner of the μB with a
 * LANES:1 multiplexer, merges ((own << L) + partner), and shifts.
 * Combinational by default: it sits between the PE product registers and the
 * PE adders. Pipelined (ReconNetworkConfig): it holds the active settings
 * (cfg_next / cfg_swap); the products and the picked partners are registered
 * with the lanes' mode and shift fields, then merged and shifted (latency 1:
 * the multiplexer and the merge adder do not fit one 4 ns cycle together in
 * SKY130 HD).
 */
export function reconCrossbar(c: ReconNetworkConfig): ModuleDef {
  checkReconConfig(c);
  const piped = isPipelined(c);
  const name = `msq_recon_xbar_${piped ? 'p1_' : ''}${reconSuffix(c)}`;
  const doc = `ReCoN crossbar network: any-to-any outlier pairing within one μB${piped ? ', one register stage after the partner multiplexers' : ''}`;
  return defineModule(name, doc, { block: 'recon_crossbar', ...c, ...(piped ? { latency: 1 } : {}) }, (m) => {
    if (piped) {
      m.clock();
      m.resetN();
    }
    const p = reconNetworkPorts(m, c);
    if (!piped) {
      m.comment('Per lane: its setting, the partner picked by a LANES:1 multiplexer, the merge, the output shift.');
      m.generate('g_lane', 'i', p.LANES, (gi, s) => {
        const own = s.let('own', p.prods.lane(gi, p.PW).asSigned(), "this lane's product");
        const mode = s.let('mode', p.CFG.field(p.cfg, 'mode', gi));
        const partner = s.let('partner', p.CFG.field(p.cfg, 'partner', gi));
        const shift = s.let('shift', p.CFG.field(p.cfg, 'shift', gi));
        const lo = s.let('lo', p.prods.laneAt(partner, p.PW).asSigned(), "partner's product: the outlier's low half");
        mergeAndShift(s, p, gi, own, lo, mode, shift);
      });
      return;
    }
    m.comment('---- Active lane settings: cfg_swap makes the next tile\'s settings active ----');
    const active = m.reg('cfg_active', p.LANES.times(p.CFGW), { doc: 'settings in use' });
    m.update(active, p.cfg, { enable: p.swap! });
    m.comment('---- Partner multiplexers: per lane, the product of its partner (LANES:1) ----');
    const MODEW = p.CFG.fieldWidth('mode');
    const partners = m.wire('partners', p.LANES.times(p.PW), { doc: "every lane's partner product" });
    const modes = m.wire('modes', p.LANES.times(MODEW), { doc: 'lane modes' });
    const shifts = m.wire('shifts', p.LANES.times(p.SHW), { doc: 'lane shifts' });
    m.generate('g_pick', 'i', p.LANES, (gi, s) => {
      const partner = s.let('partner', p.CFG.field(active, 'partner', gi));
      s.assign(partners.lane(gi, p.PW), p.prods.laneAt(partner, p.PW));
      s.assign(modes.lane(gi, MODEW), p.CFG.field(active, 'mode', gi));
      s.assign(shifts.lane(gi, p.SHW), p.CFG.field(active, 'shift', gi));
    });
    m.comment('---- Register stage: products and partners with the mode and shift fields they go with ----');
    const prodsQ = m.reg('prods_q', p.LANES.times(p.PW), { doc: 'own products, one cycle later' });
    const partnersQ = m.reg('partners_q', p.LANES.times(p.PW), { doc: 'their partner products' });
    const modesQ = m.reg('modes_q', p.LANES.times(MODEW), { doc: 'their lane modes' });
    const shiftsQ = m.reg('shifts_q', p.LANES.times(p.SHW), { doc: 'their lane shifts' });
    m.update(prodsQ, p.prods);
    m.update(partnersQ, partners);
    m.update(modesQ, modes);
    m.update(shiftsQ, shifts);
    m.comment('---- Merge and output shift of every lane: inlier << F, merged outlier << shift, pruned 0 ----');
    m.generate('g_lane', 'i', p.LANES, (gi, s) => {
      const own = s.let('own', prodsQ.lane(gi, p.PW).asSigned(), "this lane's product");
      const lo = s.let('lo', partnersQ.lane(gi, p.PW).asSigned(), "partner's product: the outlier's low half");
      mergeAndShift(s, p, gi, own, lo, modesQ.lane(gi, MODEW), shiftsQ.lane(gi, p.SHW));
    });
  });
}

/** The merge (own << L) + partner of an outlier lane, then the output stage every lane shares. */
function mergeAndShift(s: ScopeBuilder, p: ReturnType<typeof reconNetworkPorts>, gi: Genvar, own: Expr, lo: Expr, mode: Expr, shift: Expr): void {
  const merged = s.let('merged', own.shlGrow(p.SPLIT).plus(lo.sext(p.MW)), '(hi << L) + lo');
  const flags = laneFlags(s, mode, p.modes);
  const value = s.let('value', mux(flags.isOutlier, merged, own.sext(p.MW)));
  laneOutput(s, p.lanes.lane(gi, p.LW), value, flags, shift, p.GUARD);
}
