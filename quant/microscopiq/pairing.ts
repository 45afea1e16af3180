/**
 * Pairing of outliers with pruned partner slots inside one μB, and the ReCoN
 * routability rules.
 *
 * Topologies (B lanes, B a power of two):
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
 * error). Partners are non-outlier slots only. crossbar: greedy (best benefits
 * with cheapest costs), which is optimal because any pairing is legal.
 * butterfly: exact search over legal pairings (dynamic programming over the set
 * of used partners).
 */
import type { ReconTopology } from './config.ts';

export interface SlotPair {
  /** Slot index of the outlier in its μB (0..B-1). */
  outlier: number;
  /** Slot index of the pruned partner. */
  partner: number;
}

function isPow2(x: number): boolean {
  return x > 0 && (x & (x - 1)) === 0;
}

/**
 * True iff `pairs` can be routed by a B-lane butterfly ReCoN: every slot in
 * 0..B-1, all slots of all pairs distinct, and outlier XOR partner a power of
 * two for every pair. B must be a power of two (4, 8 or 16 in this project).
 */
export function isButterflyRoutable(pairs: readonly SlotPair[], B: number): boolean {
  if (!isPow2(B)) return false;
  let used = 0n;
  for (const { outlier: o, partner: p } of pairs) {
    if (!Number.isInteger(o) || !Number.isInteger(p) || o < 0 || p < 0 || o >= B || p >= B) return false;
    if (!isPow2(o ^ p)) return false;
    const bo = 1n << BigInt(o);
    const bp = 1n << BigInt(p);
    if (used & bo || used & bp) return false;
    used |= bo | bp;
  }
  return true;
}

/** True iff `pairs` is a legal crossbar pairing: slots in range, distinct, o != p. */
export function isCrossbarRoutable(pairs: readonly SlotPair[], B: number): boolean {
  let used = 0n;
  for (const { outlier: o, partner: p } of pairs) {
    if (!Number.isInteger(o) || !Number.isInteger(p) || o < 0 || p < 0 || o >= B || p >= B || o === p) return false;
    const bo = 1n << BigInt(o);
    const bp = 1n << BigInt(p);
    if (used & bo || used & bp) return false;
    used |= bo | bp;
  }
  return true;
}

export function isRoutable(pairs: readonly SlotPair[], B: number, recon: ReconTopology): boolean {
  return recon === 'butterfly' ? isButterflyRoutable(pairs, B) : isCrossbarRoutable(pairs, B);
}

/** The butterfly stage at which a routable pair merges: log2(o XOR p). */
export function butterflyStage(pair: SlotPair): number {
  return 31 - Math.clz32(pair.outlier ^ pair.partner);
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
  readonly benefit: Float64Array;
  readonly cost: Float64Array;
  candMask = 0;
  readonly pairO: Uint8Array;
  readonly pairP: Uint8Array;
  count = 0;
  private readonly cand: Int32Array;
  private readonly non: Int32Array;
  private readonly stages: number;
  private memo = new Map<number, number>();
  private choice = new Map<number, number>();
  private nc = 0;

  constructor(B: number, recon: ReconTopology) {
    this.B = B;
    this.recon = recon;
    this.benefit = new Float64Array(B);
    this.cost = new Float64Array(B);
    this.pairO = new Uint8Array(B);
    this.pairP = new Uint8Array(B);
    this.cand = new Int32Array(B);
    this.non = new Int32Array(B);
    this.stages = 31 - Math.clz32(B);
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
    if (this.recon === 'crossbar') this.greedy(nc, nn);
    else this.exactButterfly(nc);
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

  private exactButterfly(nc: number): void {
    if (nc === 1) {
      // one candidate: its cheapest legal neighbour, if that pays off (same result as the search)
      const o = this.cand[0]!;
      let best = -1;
      let bestGain = 0;
      for (let s = 0; s < this.stages; s++) {
        const p = o ^ (1 << s);
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
    for (let s = 0; s < this.stages; s++) {
      const p = o ^ (1 << s);
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
