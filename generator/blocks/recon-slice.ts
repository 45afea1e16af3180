import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { checkReconConfig, reconSuffix, reconWidths } from './recon-config.ts';
import { reconTopology } from './recon-topologies.ts';
import { isPipelined, type ReconNetworkConfig } from './recon-lane.ts';

/** Cycles from the slice's prods to its lanes: the register stages of its network (0 when combinational). */
export function reconSliceLatency(c: ReconNetworkConfig): number {
  return networkLatency(reconTopology(c.topology).network(c));
}

function networkLatency(net: ModuleDef): number {
  const latency = net.config.latency ?? 0;
  if (typeof latency !== 'number') throw new Error(`internal: ${net.name} has no numeric latency`);
  return latency;
}

/**
 * One ReCoN slice: the lane settings of one μB in one PE-array row, double
 * buffered like the weights (cfg_load writes the shadow copy while the array
 * computes; cfg_swap makes it active), and the network of the chosen topology.
 * With `pipelined` (what the PE array builds) the network has register stages
 * and holds the active settings itself (in the form it needs): the lanes of
 * the products presented in cycle t, under the settings active in cycle t,
 * come out reconSliceLatency cycles later (the settings travel with the values,
 * so cfg_swap keeps its timing: with the first products of a tile).
 */
export function reconSlice(c: ReconNetworkConfig): ModuleDef {
  checkReconConfig(c);
  const w = reconWidths(c);
  const topology = reconTopology(c.topology);
  const net = topology.network(c);
  const piped = isPipelined(c);
  const latency = networkLatency(net);
  const name = `msq_recon_slice_${topology.tag}_${piped ? 'p_' : ''}${reconSuffix(c)}`;
  const stagesText = `${latency} register stage${latency > 1 ? 's' : ''}`;
  const doc = `ReCoN slice (${c.topology}): double-buffered lane settings and the merge network of one μB${piped ? `, ${stagesText}` : ''}`;
  return defineModule(name, doc, { block: 'recon_slice', ...c, ...(piped ? { latency } : {}) }, (m) => {
    const LANES = m.param('LANES', c.lanes, 'lanes per μB');
    const PW = m.param('PW', w.PW, 'product width');
    const CFGW = m.param('CFGW', w.CFGW, 'bits of one lane setting');
    const LW = m.param('LW', w.LW, 'lane output width');
    const clk = m.clock();
    const rstN = m.resetN();
    const cfgIn = m.input('cfg_in', LANES.times(CFGW), { doc: 'lane settings for the next tile' });
    const cfgLoad = m.input('cfg_load', 1, { doc: 'write cfg_in into the shadow settings' });
    const cfgSwap = m.input('cfg_swap', 1, { doc: 'make the shadow settings active' });
    const prods = m.input('prods', LANES.times(PW), { doc: 'registered PE products of this μB' });
    const lanes = m.output('lanes', LANES.times(LW), { doc: piped ? `lane values for the PE adders, ${latency} cycle${latency > 1 ? 's' : ''} after their products` : 'lane values for the PE adders' });
    const shadow = m.reg('cfg_shadow', LANES.times(CFGW), { doc: 'settings being loaded' });
    if (piped) {
      m.comment('Lane settings, double buffered like the weights: cfg_load fills the shadow copy; the network holds the\nactive copy (cfg_swap) in the form it needs.');
      m.update(shadow, cfgIn, { enable: cfgLoad });
      m.comment(`The ${c.topology} network merges outlier pairs and shifts every lane, ${stagesText} inside.`);
      m.instance('u_net', net, { clk, rst_n: rstN, prods, cfg_next: shadow, cfg_swap: cfgSwap, lanes }, { LANES, PW, CFGW, LW });
      return;
    }
    const active = m.reg('cfg_active', LANES.times(CFGW), { doc: 'settings in use' });
    m.comment('Lane settings, double buffered like the weights: cfg_load fills the shadow copy, cfg_swap makes it active.');
    m.update(shadow, cfgIn, { enable: cfgLoad });
    m.update(active, shadow, { enable: cfgSwap });
    m.comment(`The ${c.topology} network merges outlier pairs and shifts every lane.`);
    m.instance('u_net', net, { prods, cfg: active, lanes }, { LANES, PW, CFGW, LW });
  });
}
