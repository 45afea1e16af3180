import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { lit } from '../dsl/expr.ts';
import { checkReconConfig, reconSuffix, reconWidths, type ReconConfig } from './recon-config.ts';
import { reconNetworkPorts } from './recon-crossbar.ts';
import { laneFlags, laneOutput } from './recon-lane.ts';
import { reconSwitch } from './recon-switch.ts';

/**
 * Butterfly ReCoN network: log2(LANES) stages of 2x2 switches; stage s joins
 * lanes i and i + 2^s (i with bit s clear). A switch merges when one of its
 * lanes is an outlier whose partner is the other lane, so an outlier can pair
 * with any lane at distance 2^s; inliers pass every stage untouched. After the
 * stages every lane goes through the same shift stage as the crossbar's.
 *
 * Cheaper than the crossbar (no LANES:1 multiplexers); the quantizer must then
 * only produce pairs whose lanes differ in exactly one index bit.
 */
export function reconButterfly(c: ReconConfig): ModuleDef {
  checkReconConfig(c);
  const w = reconWidths(c);
  const stages = Math.log2(c.lanes);
  const sw = reconSwitch(w.MW, c.wbits - 1);
  return defineModule(`msq_recon_bfly_${reconSuffix(c)}`, 'ReCoN butterfly network: outlier pairing between lanes at distance 2^s', { block: 'recon_butterfly', ...c }, (m) => {
    const p = reconNetworkPorts(m, c);
    const MODEW = p.CFG.fieldWidth('mode');
    m.comment('Lane settings, split into per-lane fields once; stage_0 holds the products, stage_s+1 the values after stage s.');
    const mode = m.wire('mode', p.LANES.times(MODEW), { doc: 'lane modes' });
    const partner = m.wire('partner', p.LANES.times(p.PB), { doc: 'lane partner indices' });
    const shift = m.wire('shift', p.LANES.times(p.SHW), { doc: 'lane shifts' });
    const stage = Array.from({ length: stages + 1 }, (_, s) => m.wire(`stage_${s}`, p.LANES.times(p.MW), { doc: s === 0 ? 'products, sign-extended' : `values after switch stage ${s - 1}` }));

    m.generate('g_field', 'i', p.LANES, (gi, s) => {
      s.assign(mode.lane(gi, MODEW), p.CFG.field(p.cfg, 'mode', gi));
      s.assign(partner.lane(gi, p.PB), p.CFG.field(p.cfg, 'partner', gi));
      s.assign(shift.lane(gi, p.SHW), p.CFG.field(p.cfg, 'shift', gi));
      s.assign(stage[0]!.lane(gi, p.MW), p.prods.lane(gi, p.PW).asSigned().sext(p.MW));
    });

    m.comment('Switch stages, unrolled: lane pairs at distance 2^s are not affine in a loop index.\nA switch merges when one of its lanes is an outlier whose partner is the other lane.');
    for (let st = 0; st < stages; st++) {
      const dist = 1 << st;
      for (let lo = 0; lo < c.lanes; lo++) {
        if (lo & dist) continue;
        const hi = lo + dist;
        const wants = (a: number, b: number) =>
          mode.lane(a, MODEW).eq(p.modes.outlier).and(partner.lane(a, w.PB).eq(lit(b, w.PB)));
        m.instance(`u_sw_s${st}_${lo}_${hi}`, sw, {
          x_lo: stage[st]!.lane(lo, p.MW).asSigned(),
          x_hi: stage[st]!.lane(hi, p.MW).asSigned(),
          merge_lo: wants(lo, hi),
          merge_hi: wants(hi, lo),
          y_lo: stage[st + 1]!.lane(lo, p.MW),
          y_hi: stage[st + 1]!.lane(hi, p.MW),
        }, { MW: p.MW, SPLIT: p.SPLIT });
      }
    }

    m.comment('The output stage of every lane: inlier << F, merged outlier << shift, pruned 0.');
    m.generate('g_lane', 'i', p.LANES, (gi, s) => {
      const flags = laneFlags(s, mode.lane(gi, MODEW), p.modes);
      laneOutput(s, p.lanes.lane(gi, p.LW), stage[stages]!.lane(gi, p.MW).asSigned(), flags, shift.lane(gi, p.SHW), p.GUARD);
    });
  });
}
