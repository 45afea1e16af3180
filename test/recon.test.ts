import { describe, expect, it } from 'vitest';
import { reconLanesCrossbar, reconLanesIdeal } from '../quant/hwmodel/recon.ts';
import { RECON_TOPOLOGY_NAMES, reconTopologyModel, type ReconTopology } from '../quant/hwmodel/recon-topologies.ts';
import { reconParams, reconWidths, type ReconConfig } from '../generator/blocks/recon-config.ts';
import { reconTopology } from '../generator/blocks/recon-topologies.ts';
import { reconSlice } from '../generator/blocks/recon-slice.ts';
import { writeCycleBench, runBench, type Simulator } from '../testbench/cycle-harness.ts';
import { legalPairings, randomPairing, randomProduct, reconCases, reconNetworkVectors, settingsForPairing } from '../testbench/recon-vectors.ts';
import { Rng } from '../testbench/rng.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

const cfg = (lanes: number, wbits: number, topology: ReconTopology): ReconConfig => ({ lanes, wbits, abits: 8, guardBits: 3, shiftBits: 3, topology });
const network = (c: ReconConfig) => reconTopology(c.topology).network(c);

describe('ReCoN models: both topologies compute the contract on every legal pairing', () => {
  for (const lanes of [4, 8, 16]) {
    for (const topology of RECON_TOPOLOGY_NAMES) {
      it(`B=${lanes} ${topology}`, () => {
        const c = cfg(lanes, 4, topology);
        const p = reconParams(c);
        const pw = reconWidths(c).PW;
        const model = reconTopologyModel(topology);
        const rng = new Rng(lanes * 7 + 1 + RECON_TOPOLOGY_NAMES.indexOf(topology));
        let n = 0;
        // every pairing for B <= 8; a seeded sample for B = 16 (millions of pairings)
        const pairings = lanes <= 8 ? legalPairings(lanes, topology) : Array.from({ length: 3000 }, () => randomPairing(lanes, topology, rng));
        for (const pairs of pairings) {
          for (const [o, q] of pairs) expect(model.reachable(o, q)).toBe(true);
          const prods = Array.from({ length: lanes }, () => randomProduct(rng, 4, 8));
          const settings = settingsForPairing(lanes, pairs, [rng.int(0, 7), rng.int(0, 7)]);
          const ideal = reconLanesIdeal(prods, settings, p);
          const got = model.lanes(prods, settings, p, pw);
          expect(got).toEqual(ideal);
          n++;
        }
        expect(n).toBeGreaterThan(10);
      });
    }
  }

  it('butterfly pairings are exactly the pairs at distance 2^s', () => {
    const pairs = [...legalPairings(8, 'butterfly')].filter((x) => x.length === 1).map((x) => x[0]!);
    expect(pairs.length).toBe(8 * 3); // each lane has log2(8) neighbours
    for (const [o, q] of pairs) expect([1, 2, 4]).toContain(o ^ q);
  });
});

describe('ReCoN RTL is clean in all three tools', () => {
  const configs = [cfg(4, 2, 'crossbar'), cfg(8, 4, 'crossbar'), cfg(8, 2, 'butterfly'), cfg(16, 4, 'butterfly')];
  for (const c of configs) {
    it(`slice B=${c.lanes} w${c.wbits} ${c.topology}`, () => {
      expectCleanRtl(reconSlice(c));
    });
  }
});

describe('ReCoN networks simulated: every legal pairing plus random arbitrary settings', () => {
  const sims: Simulator[] = ['verilator', 'icarus'];
  const configs = [cfg(4, 2, 'crossbar'), cfg(4, 4, 'butterfly'), cfg(8, 4, 'crossbar'), cfg(8, 2, 'butterfly'), cfg(16, 4, 'butterfly'), cfg(16, 2, 'crossbar')];
  for (const c of configs) {
    const p = reconParams(c);
    const w = reconWidths(c);
    const cases = reconCases(p, c.wbits, c.abits, c.topology, 1234 + c.lanes, c.lanes === 16 ? 3000 : 20000, 400);
    const vectors = reconNetworkVectors(cases, p, w.PW, w.LW, c.topology);
    for (const sim of sims) {
      it(`B=${c.lanes} w${c.wbits} ${c.topology} on ${sim}: ${vectors.length} settings`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(network(c), vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  }
});

describe('ReCoN slice: settings are double buffered like the weights', () => {
  for (const sim of ['verilator', 'icarus'] as Simulator[]) {
    it(`crossbar B=4 on ${sim}`, () => {
      const c = cfg(4, 2, 'crossbar');
      const p = reconParams(c);
      const w = reconWidths(c);
      const rng = new Rng(99);
      const settingsA = settingsForPairing(4, [[0, 3]], [5]);
      const settingsB = settingsForPairing(4, [[2, 1], [3, 0]], [1, 7]);
      const enc = (s: typeof settingsA) => reconNetworkVectors([{ products: [0n, 0n, 0n, 0n], settings: s }], p, w.PW, w.LW, 'crossbar')[0]!.inputs.cfg!;
      const mask = (1n << BigInt(w.PW)) - 1n;
      const lmask = (1n << BigInt(w.LW)) - 1n;
      let shadow = settingsForPairing(4, [], [0]).map((s) => ({ ...s }));
      let active = shadow;
      const zeroCfg = enc(shadow);
      void zeroCfg;
      const vectors = [];
      // reset, load A, swap A, compute; load B while computing with A; swap; compute with B
      const plan: { load?: typeof settingsA; swap?: boolean; rst?: boolean }[] = [
        { rst: true }, { load: settingsA }, { swap: true }, {}, { load: settingsB }, {}, { swap: true }, {}, {},
      ];
      for (const step of plan) {
        const prods = Array.from({ length: 4 }, () => randomProduct(rng, 2, 8));
        const inputs = {
          rst_n: step.rst ? 0n : 1n,
          cfg_in: step.load ? enc(step.load) : 0n,
          cfg_load: step.load ? 1n : 0n,
          cfg_swap: step.swap ? 1n : 0n,
          prods: prods.reduce((a, v, i) => a | ((v & mask) << BigInt(i * w.PW)), 0n),
        };
        if (step.rst) {
          shadow = settingsForPairing(4, [], [0]).map(() => ({ mode: 'inlier' as const, partner: 0, shift: 0 }));
          active = shadow;
        } else {
          const nextActive = step.swap ? shadow : active;
          if (step.load) shadow = step.load;
          active = nextActive;
        }
        const lanes = reconLanesCrossbar(prods, active, p, w.PW);
        vectors.push({ inputs, expect: { lanes: lanes.reduce((a, v, i) => a | ((v & lmask) << BigInt(i * w.LW)), 0n) } });
      }
      const dir = tmpDir();
      const { files } = writeCycleBench(reconSlice(c), vectors, dir);
      const r = runBench(dir, files, sim);
      expect(r.mismatches).toEqual([]);
      expect(r.passed).toBe(plan.length);
    });
  }
});
