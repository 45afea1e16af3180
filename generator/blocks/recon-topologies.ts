/**
 * The ReCoN topologies of the generator, one record each. A topology is the
 * network that merges a μB's outlier halves (its block file builds it) plus
 * what the rest of the hardware needs to know of it: the tag in module names
 * and how the decode unit turns a record's partner field into the partner
 * slot. Adding a topology = one record here and its network block (and the
 * record of the numerics layer, quant/hwmodel/recon-topologies.ts, where the
 * name type ReconTopology comes from). Nothing else in generator/ compares
 * topology names.
 */
import { InputError } from '../../common/errors.ts';
import type { ReconTopology } from '../../quant/hwmodel/recon-topologies.ts';
import type { Dim } from '../dsl/dim.ts';
import { lit, type Signal } from '../dsl/expr.ts';
import type { ModuleDef, ScopeBuilder } from '../dsl/module.ts';
import type { ReconConfig } from './recon-config.ts';
import { reconCrossbar } from './recon-crossbar.ts';
import { reconButterfly } from './recon-butterfly.ts';

export interface ReconTopologyBlock {
  name: ReconTopology;
  /** short tag in module names (`msq_recon_slice_<tag>_…`) */
  tag: string;
  /** builds the merge network of one μB */
  network(c: ReconConfig): ModuleDef;
  /** what a record's partner field holds, for comments and parameter docs */
  partnerFieldDoc: string;
  /** the partner slot of a pair, from its outlier slot and its partner field (PB bits) */
  partnerSlot(s: ScopeBuilder, outlierSlot: Signal, partnerField: Signal, PB: Dim): Signal;
}

const crossbar: ReconTopologyBlock = {
  name: 'crossbar',
  tag: 'xbar',
  network: reconCrossbar,
  partnerFieldDoc: 'partner slot p',
  // any lane can pair with any other: the record names the partner slot itself
  partnerSlot: (_s, _o, field) => field,
};

const butterfly: ReconTopologyBlock = {
  name: 'butterfly',
  tag: 'bfly',
  network: reconButterfly,
  partnerFieldDoc: 'butterfly stage s: p = o XOR 2^s',
  // stage s of the butterfly joins lanes i and i XOR 2^s: the record names the stage
  partnerSlot: (s, o, field, PB) => s.let('p_slot', o.xor(lit(1, PB).shl(field)), 'partner slot: o XOR 2^stage'),
};

/** Every topology, in the order of help texts and sweeps. */
export const RECON_TOPOLOGY_BLOCKS: readonly ReconTopologyBlock[] = [crossbar, butterfly];

/** The record of `name`; an unknown name is refused with the allowed ones. */
export function reconTopology(name: string): ReconTopologyBlock {
  const t = RECON_TOPOLOGY_BLOCKS.find((b) => b.name === name);
  if (t === undefined) throw new InputError(`--recon ${name} is not supported: allowed values are ${RECON_TOPOLOGY_BLOCKS.map((b) => b.name).join(', ')}`);
  return t;
}
