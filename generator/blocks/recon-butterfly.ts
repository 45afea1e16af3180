import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { lit, type Expr, type Signal } from '../dsl/expr.ts';
import { checkReconConfig, reconSuffix, reconWidths } from './recon-config.ts';
import { reconNetworkPorts } from './recon-crossbar.ts';
import { isPipelined, laneControls, laneFlags, laneOutput, laneShift, type ReconNetworkConfig } from './recon-lane.ts';
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
 * Combinational by default; pipelined (ReconNetworkConfig) it registers the
 * values before the switch stages butterflyCuts(LANES) names (see there).
 */
export function reconButterfly(c: ReconNetworkConfig): ModuleDef {
  checkReconConfig(c);
  if (isPipelined(c)) return pipelinedButterfly(c);
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

/**
 * Where the pipelined butterfly has its registers: before each switch stage b
 * listed (the values entering it). A switch stage (multiplexers, an MW-bit
 * adder, multiplexers) takes about half a 4 ns cycle in SKY130 HD, two of them
 * do not fit one with the register overhead: every switch stage has a cycle of
 * its own, the last one shares it with the output shift. Registers before
 * stages 1 .. log2 B - 1 (B = 4: 1; 8: 1, 2; 16: 1, 2, 3).
 */
export function butterflyCuts(lanes: number): number[] {
  return Array.from({ length: Math.log2(lanes) - 1 }, (_, k) => k + 1);
}

/**
 * The butterfly with registers: it holds the active settings itself, decoded
 * at the swap into per-stage merge flags (bit s * LANES + i: "lane i is an
 * outlier whose partner is lane i XOR 2^s") and the lanes' output controls
 * (keep, shift amount), so no decode sits in front of a switch or the shift.
 * Before each switch stage of butterflyCuts it registers the lane values with
 * the merge flags of the stages still to come and the output controls, so
 * every stage sees the settings of the beat whose values it switches.
 */
function pipelinedButterfly(c: ReconNetworkConfig): ModuleDef {
  const w = reconWidths(c);
  const stages = Math.log2(c.lanes);
  const cuts = butterflyCuts(c.lanes);
  const sw = reconSwitch(w.MW, c.wbits - 1);
  const name = `msq_recon_bfly_p${cuts.join('')}_${reconSuffix(c)}`;
  const doc = `ReCoN butterfly network: outlier pairing between lanes at distance 2^s, registers before stage${cuts.length > 1 ? 's' : ''} ${cuts.join(', ')}`;
  return defineModule(name, doc, { block: 'recon_butterfly', ...c, cuts, latency: cuts.length }, (m) => {
    m.clock();
    m.resetN();
    const p = reconNetworkPorts(m, c);
    const MODEW = p.CFG.fieldWidth('mode');
    m.comment(
      '---- Active lane settings, decoded at cfg_swap: merge flags of every stage, output controls ----\n' +
        'keep: the lane is an inlier or an outlier (else its value is 0); amount: its left shift (F for an inlier).',
    );
    const mode = m.wire('mode', p.LANES.times(MODEW), { doc: 'lane modes of the next tile' });
    const partner = m.wire('partner', p.LANES.times(p.PB), { doc: 'lane partner indices of the next tile' });
    const keep = m.wire('keep', p.LANES, { doc: 'output controls of the next tile: keep the lane value' });
    const amount = m.wire('amount', p.LANES.times(p.SHW), { doc: 'output controls of the next tile: left shift' });
    const stageIn = m.wire('stage_0', p.LANES.times(p.MW), { doc: 'products, sign-extended' });
    m.generate('g_field', 'i', p.LANES, (gi, s) => {
      const md = s.let('lane_mode', p.CFG.field(p.cfg, 'mode', gi));
      s.assign(mode.lane(gi, MODEW), md);
      s.assign(partner.lane(gi, p.PB), p.CFG.field(p.cfg, 'partner', gi));
      const ctl = laneControls(md, p.CFG.field(p.cfg, 'shift', gi), p.modes, p.GUARD);
      s.assign(keep.bit(gi), ctl.keep);
      s.assign(amount.lane(gi, p.SHW), ctl.amount);
      s.assign(stageIn.lane(gi, p.MW), p.prods.lane(gi, p.PW).asSigned().sext(p.MW));
    });
    m.comment('Merge flags: lane i merges at stage s when it is an outlier whose partner is lane i XOR 2^s.');
    const merges = m.wire('merges', p.LANES.times(stages), { doc: 'bit s * LANES + i: lane i merges at stage s (next tile)' });
    for (let st = 0; st < stages; st++) {
      for (let i = 0; i < c.lanes; i++) {
        const wants = mode.lane(i, MODEW).eq(p.modes.outlier).and(partner.lane(i, w.PB).eq(lit(i ^ (1 << st), w.PB)));
        m.assign(merges.bit(st * c.lanes + i), wants);
      }
    }
    const merges0 = m.reg('merges_0_q', p.LANES.times(stages), { doc: 'merge flags in use' });
    const keep0 = m.reg('keep_0_q', p.LANES, { doc: 'output controls in use: keep' });
    const amount0 = m.reg('amount_0_q', p.LANES.times(p.SHW), { doc: 'output controls in use: left shift' });
    m.update(merges0, merges, { enable: p.swap! });
    m.comment('Reset: every lane an inlier (keep, left shift GUARD), as the all-zero setting decodes.');
    const keepReset = (1n << BigInt(c.lanes)) - 1n;
    const amountReset = Array.from({ length: c.lanes }, (_, i) => BigInt(c.guardBits) << BigInt(i * c.shiftBits)).reduce((x, y) => x | y, 0n);
    m.update(keep0, keep, { enable: p.swap!, reset: keepReset });
    m.update(amount0, amount, { enable: p.swap!, reset: amountReset });

    // What the stages from `base` on read: values, merge flags (stages base..), output controls.
    let cur: { base: number; values: Signal; merges: Signal; keep: Signal; amount: Signal } = { base: 0, values: stageIn, merges: merges0, keep: keep0, amount: amount0 };
    const cutAt = (b: number, values: Signal): void => {
      m.comment(`---- Register stage before switch stage ${b}: values with the settings they go with ----`);
      const left = stages - b;
      const vq = m.reg(`stage_${b}_q`, p.LANES.times(p.MW), { doc: `values entering stage ${b}` });
      const mq = m.reg(`merges_${b}_q`, p.LANES.times(left), { doc: `their merge flags of stage${left > 1 ? `s ${b}..${stages - 1}` : ` ${b}`}` });
      const keepQ = m.reg(`keep_${b}_q`, p.LANES, { doc: 'their output controls: keep' });
      const amountQ = m.reg(`amount_${b}_q`, p.LANES.times(p.SHW), { doc: 'their output controls: left shift' });
      m.update(vq, values);
      m.update(mq, cur.merges.slice(p.LANES.times(b - cur.base), p.LANES.times(left)));
      m.update(keepQ, cur.keep, { reset: keepReset });
      m.update(amountQ, cur.amount, { reset: amountReset });
      cur = { base: b, values: vq, merges: mq, keep: keepQ, amount: amountQ };
    };

    let values: Signal = stageIn;
    for (let st = 0; st < stages; st++) {
      if (cuts.includes(st)) {
        cutAt(st, values);
        values = cur.values;
      }
      m.comment(`---- Switch stage ${st}: lanes at distance ${1 << st} ----`);
      const next = m.wire(`stage_${st + 1}`, p.LANES.times(p.MW), { doc: `values after switch stage ${st}` });
      const dist = 1 << st;
      const flag = (lane: number): Expr => cur.merges.bit((st - cur.base) * c.lanes + lane);
      for (let lo = 0; lo < c.lanes; lo++) {
        if (lo & dist) continue;
        const hi = lo + dist;
        m.instance(`u_sw_s${st}_${lo}_${hi}`, sw, {
          x_lo: values.lane(lo, p.MW).asSigned(),
          x_hi: values.lane(hi, p.MW).asSigned(),
          merge_lo: flag(lo),
          merge_hi: flag(hi),
          y_lo: next.lane(lo, p.MW),
          y_hi: next.lane(hi, p.MW),
        }, { MW: p.MW, SPLIT: p.SPLIT });
      }
      values = next;
    }

    m.comment('---- The output stage of every lane: inlier << F, merged outlier << shift, pruned 0 ----');
    const last = cur;
    m.generate('g_lane', 'i', p.LANES, (gi, s) => {
      laneShift(s, p.lanes.lane(gi, p.LW), values.lane(gi, p.MW).asSigned(), last.keep.bit(gi), last.amount.lane(gi, p.SHW));
    });
  });
}
