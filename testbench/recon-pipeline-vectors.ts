/**
 * Vectors for the pipelined ReCoN networks and slices the PE array builds
 * (ReconNetworkConfig.pipelined): the lanes of the products and settings
 * presented in cycle t come out after the edge of cycle t + latency - 1, as
 * the exact combinational model (the topology's lane model) computes them.
 */
import { encodeSliceSettings, type LaneSetting, type ReconParams } from '../quant/hwmodel/recon.ts';
import { reconTopologyModel, type ReconTopology } from '../quant/hwmodel/recon-topologies.ts';
import type { CycleVector } from './cycle-harness.ts';
import { randomProduct, type ReconCase } from './recon-vectors.ts';
import { Rng } from './rng.ts';

export interface PipelineBench {
  p: ReconParams;
  topology: ReconTopology;
  wbits: number;
  abits: number;
  productWidth: number;
  laneWidth: number;
  /** register stages of the network (reconSliceLatency) */
  latency: number;
}

const pack = (values: bigint[], width: number): bigint => {
  const mask = (1n << BigInt(width)) - 1n;
  return values.reduce((acc, v, i) => acc | ((v & mask) << BigInt(i * width)), 0n);
};

/** What the network computes for one case. */
function lanesOf(b: PipelineBench, products: bigint[], settings: LaneSetting[]): bigint {
  return pack(reconTopologyModel(b.topology).lanes(products, settings, b.p, b.productWidth), b.laneWidth);
}

/**
 * The pipelined network alone (it holds the active settings: cfg_next with
 * cfg_swap): the next case's settings are swapped in nearly every cycle, so
 * consecutive beats in the pipeline have different settings; a reset first and
 * one in the middle. Expected after the edge of cycle t: the lanes of the
 * products of cycle t - latency + 1 under the settings active in that cycle,
 * or 0 while the pipeline holds reset values.
 */
export function pipelinedNetworkVectors(b: PipelineBench, cases: ReconCase[], seed: number): CycleVector[] {
  const rng = new Rng(seed);
  const zero = zeroSettings(b);
  let active = zero;
  const history: { rst: boolean; products: bigint[]; active: LaneSetting[] }[] = [];
  return cases.map((c, t) => {
    const rst = t === 0 || t === Math.floor(cases.length / 2);
    const next = cases[(t + 1) % cases.length]!.settings;
    const swap = rng.float() < 0.85;
    history.push({ rst, products: c.products, active });
    active = rst ? zero : swap ? next : active;
    return {
      inputs: { rst_n: rst ? 0n : 1n, prods: pack(c.products, b.productWidth), cfg_next: encodeSliceSettings(next, b.p), cfg_swap: swap ? 1n : 0n },
      expect: { lanes: expected(b, history, t) },
    };
  });
}

function zeroSettings(b: PipelineBench): LaneSetting[] {
  return Array.from({ length: b.p.lanes }, () => ({ mode: 'inlier', partner: 0, shift: 0 }));
}

/** The lanes after the edge of cycle t: those of cycle t - latency + 1, or 0 when a reset is in between. */
function expected(b: PipelineBench, history: { rst: boolean; products: bigint[]; active: LaneSetting[] }[], t: number): bigint {
  const src = t - b.latency + 1;
  for (let k = Math.max(0, src); k <= t; k++) if (history[k]!.rst) return 0n;
  return src < 0 ? 0n : lanesOf(b, history[src]!.products, history[src]!.active);
}

/**
 * The pipelined slice: random products every cycle, settings loaded into the
 * shadow copy and swapped in at random cycles (often, so beats of both
 * settings are in the pipeline at once), a reset first and one in the middle.
 * Expected after the edge of cycle t: the lanes of the products of cycle
 * t - latency + 1 under the settings active in that cycle.
 */
export function pipelinedSliceVectors(b: PipelineBench, cases: ReconCase[], seed: number): CycleVector[] {
  const rng = new Rng(seed);
  const zero = zeroSettings(b);
  let shadow = zero;
  let active = zero;
  const history: { rst: boolean; products: bigint[]; active: LaneSetting[] }[] = [];
  const out: CycleVector[] = [];
  for (let t = 0; t < cases.length; t++) {
    const rst = t === 0 || t === Math.floor(cases.length / 2);
    const load = !rst && rng.float() < 0.4;
    const swap = !rst && rng.float() < 0.3;
    const next = cases[(t * 7 + 3) % cases.length]!.settings;
    const products = Array.from({ length: b.p.lanes }, () => randomProduct(rng, b.wbits, b.abits));
    // the settings the network applies in this cycle: those active before the edge
    history.push({ rst, products, active });
    if (rst) {
      shadow = active = zero;
    } else {
      const nextActive = swap ? shadow : active;
      if (load) shadow = next;
      active = nextActive;
    }
    out.push({
      inputs: {
        rst_n: rst ? 0n : 1n,
        cfg_in: load ? encodeSliceSettings(next, b.p) : 0n,
        cfg_load: load ? 1n : 0n,
        cfg_swap: swap ? 1n : 0n,
        prods: pack(products, b.productWidth),
      },
      expect: { lanes: expected(b, history, t) },
    });
  }
  return out;
}
