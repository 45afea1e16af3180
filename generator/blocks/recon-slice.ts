import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { checkReconConfig, reconSuffix, reconWidths, type ReconConfig } from './recon-config.ts';
import { reconTopology } from './recon-topologies.ts';

/**
 * One ReCoN slice: the lane settings of one μB in one PE-array row, double
 * buffered like the weights (cfg_load writes the shadow copy while the array
 * computes; cfg_swap makes it active), and the network of the chosen topology.
 */
export function reconSlice(c: ReconConfig): ModuleDef {
  checkReconConfig(c);
  const w = reconWidths(c);
  const topology = reconTopology(c.topology);
  const net = topology.network(c);
  return defineModule(`msq_recon_slice_${topology.tag}_${reconSuffix(c)}`, `ReCoN slice (${c.topology}): double-buffered lane settings and the merge network of one μB`, { block: 'recon_slice', ...c }, (m) => {
    const LANES = m.param('LANES', c.lanes, 'lanes per μB');
    const PW = m.param('PW', w.PW, 'product width');
    const CFGW = m.param('CFGW', w.CFGW, 'bits of one lane setting');
    const LW = m.param('LW', w.LW, 'lane output width');
    m.clock();
    m.resetN();
    const cfgIn = m.input('cfg_in', LANES.times(CFGW), { doc: 'lane settings for the next tile' });
    const cfgLoad = m.input('cfg_load', 1, { doc: 'write cfg_in into the shadow settings' });
    const cfgSwap = m.input('cfg_swap', 1, { doc: 'make the shadow settings active' });
    const prods = m.input('prods', LANES.times(PW), { doc: 'registered PE products of this μB' });
    const lanes = m.output('lanes', LANES.times(LW), { doc: 'lane values for the PE adders' });
    const shadow = m.reg('cfg_shadow', LANES.times(CFGW), { doc: 'settings being loaded' });
    const active = m.reg('cfg_active', LANES.times(CFGW), { doc: 'settings in use' });
    m.comment('Lane settings, double buffered like the weights: cfg_load fills the shadow copy, cfg_swap makes it active.');
    m.update(shadow, cfgIn, { enable: cfgLoad });
    m.update(active, shadow, { enable: cfgSwap });
    m.comment(`The ${c.topology} network merges outlier pairs and shifts every lane.`);
    m.instance('u_net', net, { prods, cfg: active, lanes }, { LANES, PW, CFGW, LW });
  });
}
