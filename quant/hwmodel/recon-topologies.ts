/**
 * The ReCoN topologies of the numerics layer (quantizer, packed format,
 * hardware models, testbenches), one record each. A topology is which outlier
 * lanes of a μB can merge with which partner lanes; everything the numerics
 * need to know of it is here:
 *  - its name (`--recon`), its id in the .msq header and its tag in compare
 *    specs (`microscopiq+bf`);
 *  - the partner field of a packed record: its width, how a pair is encoded
 *    into it and read back (the spec reader and the decode unit's RTL view),
 *    and which stored values are corrupt;
 *  - the pairing legality rule: which partners a lane reaches (in the order
 *    the pairing search tries them) and whether a whole pairing is routable;
 *  - the lane model of its network (quant/hwmodel/recon.ts);
 *  - the testbench hook: a random legal pairing of a given size.
 *
 * Adding a topology = one record here (and its generator record and network
 * block, generator/blocks/recon-topologies.ts). Nothing else in quant/ or
 * testbench/ compares topology names; `ReconTopology` is derived from the
 * records below. An unknown name is refused with the list of records.
 */
import { ceilLog2 } from '../../common/bits.ts';
import { checkOneOf } from '../../common/errors.ts';
import { reconLanesButterfly, reconLanesCrossbar, type LaneSetting, type ReconParams } from './recon.ts';

/** One pair of a μB: the outlier slot and its pruned partner slot (0..B-1). */
export interface SlotPair {
  /** Slot index of the outlier in its μB (0..B-1). */
  outlier: number;
  /** Slot index of the pruned partner. */
  partner: number;
}

/** Random integers for the testbench hooks (testbench/rng.ts `Rng`): `int(lo, hi)` is uniform in lo..hi inclusive. */
export interface IntDraw {
  int(lo: number, hi: number): number;
}

export interface ReconTopologyModel<N extends string = string> {
  /** `--recon` value, `MsqConfig.recon`, `DecodeConfig.topology` */
  name: N;
  /** byte 7 of the .msq header (docs/FORMAT.md) */
  headerId: number;
  /** token of a compare spec choosing this topology (`microscopiq+TAG`); the scheme label shows `+TAG` unless this is the default */
  specTag: string;

  // --- the partner field of a record (docs/FORMAT.md, "pair[i].partner")
  /** width of the partner field for a μB of 2^slotBits slots */
  partnerFieldBits(slotBits: number): number;
  /** the partner field of a legal pair (outlier slot o, partner slot p) */
  partnerField(o: number, p: number): number;
  /** the partner slot a stored field f names (spec reader) */
  partnerSlot(o: number, f: number): number;
  /** the partner slot as the decode unit's RTL computes it in log2 B bits, for any field value (generator/blocks/recon-topologies.ts) */
  partnerSlotHw(o: number, f: number, lanes: number): number;
  /** why a stored field is corrupt (the packed reader's message), or undefined when it names a slot */
  partnerFieldError(f: number, slotBits: number): string | undefined;

  // --- the pairing legality rule
  /** can an outlier in lane o merge with the value of lane p (o, p in 0..B-1) */
  reachable(o: number, p: number): boolean;
  /** the lanes o reaches, in the order the exact pairing search tries them (ties keep the first) */
  partners(o: number, lanes: number): number[];
  /** every two distinct lanes reach each other: any disjoint pairing is legal (the quantizer then pairs greedily, which is optimal) */
  anyPairing: boolean;
  /** true iff `pairs` is a legal pairing of a B-slot μB: slots in range, all distinct, every partner reachable */
  routable(pairs: readonly SlotPair[], B: number): boolean;
  /** what the partner slot must satisfy, as a phrase after "a pruned partner slot" in messages ('' when any slot will do) */
  partnerNote: string;

  // --- the hardware model
  /** exact lane values of the network for any setting (quant/hwmodel/recon.ts) */
  lanes(products: bigint[], settings: LaneSetting[], p: ReconParams, productWidth: number): bigint[];

  // --- the testbench hook
  /**
   * A random legal pairing of np pairs for a B-slot μB (fewer when the draw
   * gets stuck, except that np = B/2 always gives B/2 pairs: every slot
   * paired, the longest records). Unsorted.
   */
  randomPairs(B: number, np: number, rng: IntDraw): { o: number; p: number }[];
}

function isPow2(x: number): boolean {
  return x > 0 && (x & (x - 1)) === 0;
}

/** The slots of `pairs` are integers in 0..B-1, pairwise distinct, and every partner is reachable from its outlier. */
function disjointReachable(pairs: readonly SlotPair[], B: number, reachable: (o: number, p: number) => boolean): boolean {
  let used = 0n;
  for (const { outlier: o, partner: p } of pairs) {
    if (!Number.isInteger(o) || !Number.isInteger(p) || o < 0 || p < 0 || o >= B || p >= B || !reachable(o, p)) return false;
    const bo = 1n << BigInt(o);
    const bp = 1n << BigInt(p);
    if (used & bo || used & bp) return false;
    used |= bo | bp;
  }
  return true;
}

/**
 * Up to np random pairs: a random free outlier slot, then a random free slot
 * it reaches (8·B draws at most). Returns the pairs and the slots left free.
 */
function drawPairs(B: number, np: number, reachable: (o: number, p: number) => boolean, rng: IntDraw): { pairs: { o: number; p: number }[]; free: number[] } {
  const pairs: { o: number; p: number }[] = [];
  const free = Array.from({ length: B }, (_, i) => i);
  for (let tries = 0; pairs.length < np && tries < 8 * B; tries++) {
    const o = free[rng.int(0, free.length - 1)]!;
    const opts = free.filter((q) => q !== o && reachable(o, q));
    if (opts.length === 0) continue;
    const q = opts[rng.int(0, opts.length - 1)]!;
    pairs.push({ o, p: q });
    free.splice(free.indexOf(o), 1);
    free.splice(free.indexOf(q), 1);
  }
  return { pairs, free };
}

/** True iff `pairs` is a legal crossbar pairing: slots in range, distinct, o != p. */
export function isCrossbarRoutable(pairs: readonly SlotPair[], B: number): boolean {
  return disjointReachable(pairs, B, crossbar.reachable);
}

/**
 * True iff `pairs` can be routed by a B-lane butterfly ReCoN: B a power of
 * two, every slot in 0..B-1, all slots of all pairs distinct, and outlier XOR
 * partner a power of two for every pair (docs/ARITHMETIC.md, "ReCoN").
 */
export function isButterflyRoutable(pairs: readonly SlotPair[], B: number): boolean {
  return isPow2(B) && disjointReachable(pairs, B, butterfly.reachable);
}

/** The butterfly stage at which a routable pair merges: log2(o XOR p). */
export function butterflyStage(pair: SlotPair): number {
  return 31 - Math.clz32(pair.outlier ^ pair.partner);
}

/** Crossbar: each lane selects any other lane with a B:1 multiplexer; a record names the partner slot itself. */
const crossbar: ReconTopologyModel<'crossbar'> = {
  name: 'crossbar',
  headerId: 0,
  specTag: 'xb',
  partnerFieldBits: (slotBits) => slotBits,
  partnerField: (_o, p) => p,
  partnerSlot: (_o, f) => f,
  // the field is log2 B bits: it is the slot
  partnerSlotHw: (_o, f) => f,
  partnerFieldError: () => undefined,
  reachable: (o, p) => p !== o,
  partners: (o, lanes) => Array.from({ length: lanes }, (_, q) => q).filter((q) => q !== o),
  anyPairing: true,
  routable: (pairs, B) => isCrossbarRoutable(pairs, B),
  partnerNote: '',
  lanes: reconLanesCrossbar,
  randomPairs(B, np, rng) {
    const { pairs, free } = drawPairs(B, np, crossbar.reachable, rng);
    // every slot reaches every other: pair the remaining slots in order
    if (pairs.length < np && np === B / 2) while (free.length >= 2) pairs.push({ o: free.shift()!, p: free.shift()! });
    return pairs;
  },
};

/**
 * Butterfly: log2 B stages of 2×2 switches, stage s joining lanes i and
 * i XOR 2^s. Inliers never move, so a pair merges only at o XOR p = 2^s; a
 * record stores the stage s (ceil(log2 log2 B) bits), p = o XOR 2^s.
 */
const butterfly: ReconTopologyModel<'butterfly'> = {
  name: 'butterfly',
  headerId: 1,
  specTag: 'bf',
  partnerFieldBits: (slotBits) => ceilLog2(slotBits),
  partnerField: (o, p) => butterflyStage({ outlier: o, partner: p }),
  partnerSlot: (o, f) => o ^ (1 << f),
  // the RTL forms 2^s in log2 B bits: an out-of-range stage gives p = o
  partnerSlotHw: (o, f, lanes) => (o ^ ((1 << f) & (lanes - 1))) & (lanes - 1),
  partnerFieldError: (f, slotBits) => (f >= slotBits ? `butterfly stage ${f} >= log2 B` : undefined),
  reachable: (o, p) => isPow2(o ^ p),
  // by stage: o XOR 1, o XOR 2, o XOR 4, ...
  partners: (o, lanes) => Array.from({ length: 31 - Math.clz32(lanes) }, (_, s) => o ^ (1 << s)),
  anyPairing: false,
  routable: (pairs, B) => isButterflyRoutable(pairs, B),
  partnerNote: ' at a power-of-two lane distance for the butterfly',
  lanes: reconLanesButterfly,
  randomPairs(B, np, rng) {
    if (np !== B / 2) return drawPairs(B, np, butterfly.reachable, rng).pairs;
    // a perfect butterfly matching: every slot with its neighbour at one stage
    const out: { o: number; p: number }[] = [];
    const s = rng.int(0, Math.log2(B) - 1);
    for (let i = 0; i < B; i++) {
      if (i & (1 << s)) continue;
      const j = i | (1 << s);
      out.push(rng.int(0, 1) ? { o: i, p: j } : { o: j, p: i });
    }
    return out;
  },
};

/** Every topology, in the order of help texts and error messages. */
export const RECON_TOPOLOGY_MODELS = [crossbar, butterfly] as const;

/** A ReCoN topology name (the union of the records' names). */
export type ReconTopology = (typeof RECON_TOPOLOGY_MODELS)[number]['name'];

/** The topology names, in registry order. */
export const RECON_TOPOLOGY_NAMES: readonly ReconTopology[] = RECON_TOPOLOGY_MODELS.map((t) => t.name);

/** The default topology of the quantizer and the accelerator. */
export const DEFAULT_RECON_TOPOLOGY: ReconTopology = crossbar.name;

const BY_NAME = new Map<string, ReconTopologyModel<ReconTopology>>(RECON_TOPOLOGY_MODELS.map((t) => [t.name, t]));

/** The record of `name`; an unknown name is an InputError listing the allowed ones. */
export function reconTopologyModel(name: string): ReconTopologyModel<ReconTopology> {
  const t = BY_NAME.get(name);
  if (t === undefined) checkOneOf<string>('--recon', name, RECON_TOPOLOGY_NAMES);
  return t!;
}

/** The record with .msq header id `id`, or undefined. */
export function reconTopologyByHeaderId(id: number): ReconTopologyModel<ReconTopology> | undefined {
  return RECON_TOPOLOGY_MODELS.find((t) => t.headerId === id);
}

/** The record whose compare-spec tag is `tag` (microscopiq+TAG), or undefined. */
export function reconTopologyBySpecTag(tag: string): ReconTopologyModel<ReconTopology> | undefined {
  return RECON_TOPOLOGY_MODELS.find((t) => t.specTag === tag);
}
