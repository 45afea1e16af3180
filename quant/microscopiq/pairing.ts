/**
 * Pairing of outliers with pruned partner slots inside one μB.
 *
 * Which pairings a topology can route is its record's rule
 * (quant/hwmodel/recon-topologies.ts: `reachable`, `partners`, `routable`):
 *  - crossbar: any set of disjoint pairs {outlier o, partner p}, o != p.
 *  - butterfly: log2(B) stages; stage s has a 2×2 switch on every lane pair
 *    (i, i XOR 2^s) with settings pass / merge-into-lower / merge-into-upper.
 *    Inlier lanes must leave in their own lane, and a lane can only change its
 *    position through a swap that no later stage undoes (stage s is the only one
 *    that flips bit s), so neither inliers nor outliers are ever swapped. A pair
 *    is therefore routable exactly when o XOR p = 2^s for some s: both values
 *    stay in their lanes up to stage s, the switch at stage s merges p into o
 *    (o gets ((p_hi << L) + p_lo) << shift, p gets 0) and all later stages pass.
 *    Pairs are disjoint, and a switch touches two lanes, so two pairs never need
 *    the same switch: a set of disjoint pairs is routable iff every pair has
 *    o XOR p a power of two. That is the rule the hardware implements.
 *
 * The solver maximizes the total error reduction of a μB: keeping outlier o as
 * an FP outlier gains benefit[o] (its clipped-inlier error minus its outlier
 * error); pruning partner p costs cost[p] (its pruned error minus its inlier
 * error). Partners are non-outlier slots only. A topology where any pairing is
 * legal (`anyPairing`, the crossbar): greedy (best benefits with cheapest
 * costs), which is optimal then. Otherwise (the butterfly): exact search over
 * legal pairings (dynamic programming over the set of used partners), trying
 * each outlier's reachable partners in the record's order.
 */
import { butterflyStage, isButterflyRoutable, reconTopologyModel, type ReconTopology, type ReconTopologyModel, type SlotPair } from '../hwmodel/recon-topologies.ts';

export { butterflyStage, isButterflyRoutable, isCrossbarRoutable, type SlotPair } from '../hwmodel/recon-topologies.ts';

/** True iff `pairs` is a legal pairing of a B-slot μB in topology `recon`. */
export function isRoutable(pairs: readonly SlotPair[], B: number, recon: ReconTopology): boolean {
  return reconTopologyModel(recon).routable(pairs, B);
}

/** Switch setting of one 2×2 butterfly switch. */
export type SwitchSetting = 'pass' | 'merge-to-lower' | 'merge-to-upper';

/**
 * Switch settings of a butterfly ReCoN for a routable pairing:
 * settings[s][t] for stage s and switch t, where switch t of stage s joins lanes
 * lo = the t-th lane with bit s clear and hi = lo | 2^s. 'merge-to-lower' means
 * the outlier is the lower lane (the partner's value is merged into it).
 */
export function butterflySettings(pairs: readonly SlotPair[], B: number): SwitchSetting[][] {
  if (!isButterflyRoutable(pairs, B)) throw new RangeError('pairing is not butterfly-routable');
  const stages = 31 - Math.clz32(B);
  const settings: SwitchSetting[][] = [];
  for (let s = 0; s < stages; s++) settings.push(new Array<SwitchSetting>(B / 2).fill('pass'));
  for (const pr of pairs) {
    const s = butterflyStage(pr);
    const lo = Math.min(pr.outlier, pr.partner);
    // index of lane `lo` among lanes with bit s clear
    const t = ((lo >> (s + 1)) << s) | (lo & ((1 << s) - 1));
    settings[s]![t] = pr.outlier === lo ? 'merge-to-lower' : 'merge-to-upper';
  }
  return settings;
}

/**
 * Reusable solver for one μB (no allocation per call).
 * Fill `benefit` for candidate slots and `cost` for non-candidate slots, set
 * `candMask`, call solve(); the result is in pairO/pairP[0..count-1], sorted by
 * outlier slot.
 */
export class PairingSolver {
  readonly B: number;
  readonly recon: ReconTopology;
  /** The topology's record (its legality rule). */
  readonly topology: ReconTopologyModel<ReconTopology>;
  readonly benefit: Float64Array;
  readonly cost: Float64Array;
  candMask = 0;
  readonly pairO: Uint8Array;
  readonly pairP: Uint8Array;
  count = 0;
  private readonly cand: Int32Array;
  private readonly non: Int32Array;
  /** The lanes lane o reaches, in the record's order: reach[reachStart[o] .. reachStart[o + 1] - 1]. */
  private readonly reachStart: Int32Array;
  private readonly reach: Int32Array;
  private memo = new Map<number, number>();
  private choice = new Map<number, number>();
  private nc = 0;

  constructor(B: number, recon: ReconTopology) {
    this.B = B;
    this.topology = reconTopologyModel(recon);
    this.recon = this.topology.name;
    this.benefit = new Float64Array(B);
    this.cost = new Float64Array(B);
    this.pairO = new Uint8Array(B);
    this.pairP = new Uint8Array(B);
    this.cand = new Int32Array(B);
    this.non = new Int32Array(B);
    const lists = Array.from({ length: B }, (_, o) => this.topology.partners(o, B));
    this.reachStart = new Int32Array(B + 1);
    for (let o = 0; o < B; o++) this.reachStart[o + 1] = this.reachStart[o]! + lists[o]!.length;
    this.reach = Int32Array.from(lists.flat());
  }

  solve(): number {
    const { B, benefit, cost, cand, non } = this;
    let nc = 0;
    let nn = 0;
    for (let i = 0; i < B; i++) {
      if ((this.candMask >> i) & 1) {
        if (benefit[i]! > 0) cand[nc++] = i;
      } else non[nn++] = i;
    }
    this.count = 0;
    if (nc === 0 || nn === 0) return 0;
    if (this.topology.anyPairing) this.greedy(nc, nn);
    else this.exact(nc);
    this.sortPairs();
    return this.count;
  }

  private greedy(nc: number, nn: number): void {
    const { benefit, cost, cand, non } = this;
    // insertion sorts: candidates by benefit desc, partners by cost asc (index breaks ties)
    for (let a = 1; a < nc; a++) {
      const x = cand[a]!;
      let t = a - 1;
      while (t >= 0 && (benefit[cand[t]!]! < benefit[x]! || (benefit[cand[t]!]! === benefit[x]! && cand[t]! > x))) {
        cand[t + 1] = cand[t]!;
        t--;
      }
      cand[t + 1] = x;
    }
    const need = Math.min(nc, nn);
    // partial selection sort of the `need` cheapest partners
    for (let a = 0; a < need; a++) {
      let best = a;
      for (let t = a + 1; t < nn; t++) {
        const ct = cost[non[t]!]!;
        const cb = cost[non[best]!]!;
        if (ct < cb || (ct === cb && non[t]! < non[best]!)) best = t;
      }
      const x = non[a]!;
      non[a] = non[best]!;
      non[best] = x;
    }
    let n = 0;
    for (let a = 0; a < need; a++) {
      if (benefit[cand[a]!]! - cost[non[a]!]! > 0) {
        this.pairO[n] = cand[a]!;
        this.pairP[n] = non[a]!;
        n++;
      } else break;
    }
    this.count = n;
  }

  private exact(nc: number): void {
    if (nc === 1) {
      // one candidate: its cheapest legal neighbour, if that pays off (same result as the search)
      const o = this.cand[0]!;
      let best = -1;
      let bestGain = 0;
      for (let t = this.reachStart[o]!, end = this.reachStart[o + 1]!; t < end; t++) {
        const p = this.reach[t]!;
        if ((this.candMask >> p) & 1) continue;
        const g = this.benefit[o]! - this.cost[p]!;
        if (g > bestGain) {
          bestGain = g;
          best = p;
        }
      }
      this.count = 0;
      if (best >= 0) {
        this.pairO[0] = o;
        this.pairP[0] = best;
        this.count = 1;
      }
      return;
    }
    this.nc = nc;
    this.memo.clear();
    this.choice.clear();
    this.best(0, 0);
    // reconstruct
    let used = 0;
    let n = 0;
    for (let i = 0; i < nc; i++) {
      const key = i * 65536 + used;
      const p = this.choice.get(key)!;
      if (p >= 0) {
        this.pairO[n] = this.cand[i]!;
        this.pairP[n] = p;
        n++;
        used |= 1 << p;
      }
    }
    this.count = n;
  }

  /** Best total gain for candidates i.. with partner slots in `used` taken. */
  private best(i: number, used: number): number {
    if (i === this.nc) return 0;
    const key = i * 65536 + used;
    const got = this.memo.get(key);
    if (got !== undefined) return got;
    const o = this.cand[i]!;
    let bestVal = this.best(i + 1, used);
    let bestP = -1;
    for (let t = this.reachStart[o]!, end = this.reachStart[o + 1]!; t < end; t++) {
      const p = this.reach[t]!;
      if ((this.candMask >> p) & 1 || (used >> p) & 1) continue;
      const g = this.benefit[o]! - this.cost[p]!;
      if (!(g > 0)) continue;
      const v = g + this.best(i + 1, used | (1 << p));
      if (v > bestVal) {
        bestVal = v;
        bestP = p;
      }
    }
    this.memo.set(key, bestVal);
    this.choice.set(key, bestP);
    return bestVal;
  }

  private sortPairs(): void {
    const { pairO, pairP } = this;
    for (let a = 1; a < this.count; a++) {
      const o = pairO[a]!;
      const p = pairP[a]!;
      let t = a - 1;
      while (t >= 0 && pairO[t]! > o) {
        pairO[t + 1] = pairO[t]!;
        pairP[t + 1] = pairP[t]!;
        t--;
      }
      pairO[t + 1] = o;
      pairP[t + 1] = p;
    }
  }

  /** Drops pair `a` (keeps the order of the rest). */
  dropPair(a: number): void {
    for (let t = a; t + 1 < this.count; t++) {
      this.pairO[t] = this.pairO[t + 1]!;
      this.pairP[t] = this.pairP[t + 1]!;
    }
    this.count--;
  }
}
