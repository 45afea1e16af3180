import { encodeSliceSettings, type LaneSetting, type ReconParams } from '../quant/hwmodel/recon.ts';
import { reconTopologyModel, type ReconTopology } from '../quant/hwmodel/recon-topologies.ts';
import type { CycleVector } from './cycle-harness.ts';
import { Rng } from './rng.ts';

export interface ReconCase {
  products: bigint[];
  settings: LaneSetting[];
}

/** Settings for a pairing: outliers merge with their pruned partner, everyone else is an inlier. */
export function settingsForPairing(lanes: number, pairs: [number, number][], shifts: number[]): LaneSetting[] {
  const s: LaneSetting[] = Array.from({ length: lanes }, () => ({ mode: 'inlier', partner: 0, shift: 0 }));
  for (const [k, [o, q]] of pairs.entries()) {
    s[o] = { mode: 'outlier', partner: q, shift: shifts[k % shifts.length]! };
    s[q] = { mode: 'pruned', partner: 0, shift: 0 };
  }
  return s;
}

/** A product the PE can produce: a b-bit weight times an a-bit activation (two's complement). */
export function randomProduct(rng: Rng, wbits: number, abits: number): bigint {
  const w = rng.int(-(2 ** (wbits - 1)), 2 ** (wbits - 1) - 1);
  const a = rng.int(-(2 ** (abits - 1)), 2 ** (abits - 1) - 1);
  return BigInt(w) * BigInt(a);
}

/**
 * Every legal pairing of the topology (all of them for B <= 8; a seeded sample
 * of `limit` for B = 16), each with random products and shifts, then `extra`
 * random arbitrary settings (illegal ones included) to check the RTL against
 * the exact model everywhere.
 */
export function reconCases(p: ReconParams, wbits: number, abits: number, topology: ReconTopology, seed: number, limit = 20000, extra = 500): ReconCase[] {
  const rng = new Rng(seed);
  const all = p.lanes <= 8 ? [...legalPairings(p.lanes, topology)].slice(0, limit) : Array.from({ length: limit }, () => randomPairing(p.lanes, topology, rng));
  const maxShift = (1 << p.shiftBits) - 1;
  const cases: ReconCase[] = all.map((pairs) => ({
    products: Array.from({ length: p.lanes }, () => randomProduct(rng, wbits, abits)),
    settings: settingsForPairing(p.lanes, pairs, Array.from({ length: p.lanes }, () => rng.int(0, maxShift))),
  }));
  const modes = ['inlier', 'outlier', 'pruned'] as const;
  for (let k = 0; k < extra; k++) {
    cases.push({
      products: Array.from({ length: p.lanes }, () => randomProduct(rng, wbits, abits)),
      settings: Array.from({ length: p.lanes }, () => ({ mode: modes[rng.int(0, 2)]!, partner: rng.int(0, p.lanes - 1), shift: rng.int(0, maxShift) })),
    });
  }
  return cases;
}

/**
 * A random legal pairing: up to B/2 pairs, each a random free outlier lane with
 * a random free partner reachable in the topology. Used where enumerating every
 * pairing is out of reach (B = 16 has millions).
 */
export function randomPairing(lanes: number, topology: ReconTopology, rng: Rng): [number, number][] {
  const { reachable } = reconTopologyModel(topology);
  const want = rng.int(0, lanes / 2);
  const used = new Set<number>();
  const pairs: [number, number][] = [];
  for (let tries = 0; pairs.length < want && tries < 4 * lanes; tries++) {
    const o = rng.int(0, lanes - 1);
    if (used.has(o)) continue;
    const options = Array.from({ length: lanes }, (_, q) => q).filter((q) => !used.has(q) && q !== o && reachable(o, q));
    if (options.length === 0) continue;
    const q = options[rng.int(0, options.length - 1)]!;
    used.add(o).add(q);
    pairs.push([o, q]);
  }
  return pairs;
}

/** Cycle vectors for the combinational network module. */
export function reconNetworkVectors(cases: ReconCase[], p: ReconParams, productWidth: number, laneWidthBits: number, topology: ReconTopology): CycleVector[] {
  const mask = (1n << BigInt(productWidth)) - 1n;
  const lmask = (1n << BigInt(laneWidthBits)) - 1n;
  const model = reconTopologyModel(topology);
  return cases.map((c) => {
    const lanes = model.lanes(c.products, c.settings, p, productWidth);
    return {
      inputs: {
        prods: c.products.reduce((acc, v, i) => acc | ((v & mask) << BigInt(i * productWidth)), 0n),
        cfg: encodeSliceSettings(c.settings, p),
      },
      expect: { lanes: lanes.reduce((acc, v, i) => acc | ((v & lmask) << BigInt(i * laneWidthBits)), 0n) },
    };
  });
}

/**
 * All legal pairings of a μB in a topology, as lists of (outlier, partner)
 * lanes: every set of disjoint ordered pairs whose partner the outlier reaches
 * (the record's rule). Used to test the slices exhaustively for small B.
 */
export function* legalPairings(lanes: number, topology: ReconTopology): Generator<[number, number][]> {
  const { reachable } = reconTopologyModel(topology);
  function* rec(start: number, used: number, acc: [number, number][]): Generator<[number, number][]> {
    yield acc;
    for (let o = start; o < lanes; o++) {
      if (used & (1 << o)) continue;
      for (let q = 0; q < lanes; q++) {
        if (q === o || used & (1 << q) || !reachable(o, q)) continue;
        yield* rec(o + 1, used | (1 << o) | (1 << q), [...acc, [o, q]]);
      }
    }
  }
  yield* rec(0, 0, []);
}
