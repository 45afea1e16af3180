/**
 * Deterministic synthetic data for tests, the quality report and benchmarks:
 * LLM-like weights (Student-t body, per-row and per-column spread, a fraction
 * of large outliers) and LLM-like activations (low-rank correlated features,
 * spread channel scales, a few outlier channels). plantedOutlierWeights makes
 * weights whose outliers under the quantizer's mean + k·std rule are exactly
 * the planted ones (msq vectors / msq sim --outlier-rate).
 */
import { reconTopologyModel, type ReconTopology, type ReconTopologyModel } from '../hwmodel/recon-topologies.ts';
import { groupStats, type GroupStats } from './group-stats.ts';

/** mulberry32: small, fast, deterministic 32-bit generator; returns [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal generator (Box–Muller) on top of `rng`. */
export function gaussian(seed: number): () => number {
  const r = rng(seed);
  let spare = NaN;
  return () => {
    if (spare === spare) {
      const s = spare;
      spare = NaN;
      return s;
    }
    let u = r();
    while (u === 0) u = r();
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
}

export interface LlmWeightOptions {
  /** Degrees of freedom of the Student-t body (smaller = heavier tails). Default 5. */
  nu?: number;
  /** Fraction of weights replaced by large outliers. Default 0.01. */
  outlierRate?: number;
  /** Outlier magnitude range in units of the local standard deviation. Default [6, 25]. */
  outlierRange?: [number, number];
  /** Overall scale. Default 0.02 (typical LLM linear-layer weights). */
  scale?: number;
}

/** LLM-like weights W[N][K] (float32, row-major [out, in]). */
export function llmLikeWeights(N: number, K: number, seed: number, opts: LlmWeightOptions = {}): Float32Array {
  const nu = opts.nu ?? 5;
  const rate = opts.outlierRate ?? 0.01;
  const [lo, hi] = opts.outlierRange ?? [6, 25];
  const scale = opts.scale ?? 0.02;
  const gz = gaussian(seed);
  const r = rng(seed ^ 0x9e3779b9);
  const rowS = new Float64Array(N).map(() => Math.exp(0.25 * gz()));
  const colS = new Float64Array(K).map(() => Math.exp(0.25 * gz()));
  const W = new Float32Array(N * K);
  const tnorm = Math.sqrt((nu - 2) / nu); // unit variance for nu > 2
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const sd = scale * rowS[n]! * colS[k]!;
      let v: number;
      if (r() < rate) {
        v = (r() < 0.5 ? -1 : 1) * sd * (lo + (hi - lo) * r());
      } else {
        let chi = 0;
        for (let i = 0; i < nu; i++) {
          const z = gz();
          chi += z * z;
        }
        v = sd * tnorm * (gz() / Math.sqrt(chi / nu));
      }
      W[n * K + k] = v;
    }
  }
  return W;
}

export interface LlmActivationOptions {
  /** Rank of the shared (correlated) component. Default 16. */
  rank?: number;
  /** Share of variance in the correlated component, 0..1. Default 0.6. */
  correlated?: number;
  /** Fraction of channels that are outlier channels (×`outlierGain`). Default 0.01. */
  outlierChannels?: number;
  outlierGain?: number;
}

/**
 * LLM-like activations X[M][K]: low-rank correlated features plus noise, per
 * channel scales spread log-normally, a few outlier channels. The channel
 * structure (which channels are outliers, the mixing) depends only on
 * `structureSeed`, so calibration and held-out sets share it.
 */
export function llmLikeActivations(M: number, K: number, structureSeed: number, sampleSeed: number, opts: LlmActivationOptions = {}): Float32Array {
  const rank = opts.rank ?? 16;
  const rho = opts.correlated ?? 0.6;
  const oc = opts.outlierChannels ?? 0.01;
  const gain = opts.outlierGain ?? 10;
  const gs = gaussian(structureSeed);
  const rs = rng(structureSeed ^ 0x51ed27);
  const chan = new Float64Array(K).map(() => Math.exp(0.5 * gs()) * (rs() < oc ? gain : 1));
  const mix = new Float64Array(rank * K).map(() => gs() / Math.sqrt(rank));
  const g = gaussian(sampleSeed);
  const X = new Float32Array(M * K);
  const f = new Float64Array(rank);
  const a = Math.sqrt(rho);
  const b = Math.sqrt(1 - rho);
  for (let m = 0; m < M; m++) {
    for (let r = 0; r < rank; r++) f[r] = g();
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let r = 0; r < rank; r++) s += f[r]! * mix[r * K + k]!;
      X[m * K + k] = chan[k]! * (a * s + b * g());
    }
  }
  return X;
}

/** Signal-to-quantization-noise ratio in dB: 10·log10(Σ ref² / Σ (ref - test)²). */
export function sqnrDb(ref: ArrayLike<number>, test: ArrayLike<number>): number {
  let s = 0;
  let e = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = r - test[i]!;
    s += r * r;
    e += d * d;
  }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

/** Y = X·Wᵀ in float64 (X[M][K], W[N][K]); returns Y[M][N]. */
export function matmulXWt(X: ArrayLike<number>, W: ArrayLike<number>, M: number, K: number, N: number): Float64Array {
  const Y = new Float64Array(M * N);
  const xr = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) xr[k] = X[m * K + k]!;
    for (let n = 0; n < N; n++) {
      let s0 = 0;
      let s1 = 0;
      const wb = n * K;
      let k = 0;
      for (; k + 1 < K; k += 2) {
        s0 += xr[k]! * W[wb + k]!;
        s1 += xr[k + 1]! * W[wb + k + 1]!;
      }
      if (k < K) s0 += xr[k]! * W[wb + k]!;
      Y[m * N + n] = s0 + s1;
    }
  }
  return Y;
}

/**
 * Planted outliers for a mean + k·std rule (the MicroScopiQ quantizer's rule,
 * quant/microscopiq/quantizer.ts): per group of G inputs of a row, |w| is
 * flagged when |w| - mean(|w|) > k·std(|w|), mean and std (population) taken
 * over the group's real inputs with the flagged values included.
 *
 * Cantelli's inequality bounds how many values of any set can lie more than k
 * standard deviations above its mean: a fraction below 1/(1 + k²), reached only
 * when the flagged values are all equal and the rest is constant. A group of
 * `count` inputs therefore holds fewer than count/(1 + k²) flagged weights; the
 * generator plants at most `plantedPerGroup(count, k)` = floor(0.95·count/(1 + k²)),
 * 5 % below the bound, so that the magnitude they need stays within a few times
 * the group's largest inlier (inside the outlier format's range).
 */
export const PLANT_MARGIN = 0.95;

/** Most outliers planted in a group of `count` inputs for the rule mean + k·std (see PLANT_MARGIN). */
export function plantedPerGroup(count: number, k: number): number {
  return Math.max(0, Math.floor((PLANT_MARGIN * count) / (1 + k * k) + 1e-9));
}

/** Most outliers planted in W[N][K]: N rows times the groups' capacities (the last group may be partial). */
export function plantedCapacity(N: number, K: number, groupSize: number, k: number): number {
  let perRow = 0;
  for (let k0 = 0; k0 < K; k0 += groupSize) perRow += plantedPerGroup(Math.min(K, k0 + groupSize) - k0, k);
  return N * perRow;
}

/** Number of outliers planted for a rate: round(rate·N·K), at least 1 for a positive rate. */
export function plantedCount(N: number, K: number, rate: number): number {
  return rate > 0 ? Math.max(1, Math.round(rate * N * K)) : 0;
}

export interface PlantedWeightOptions {
  /** Fraction of the N·K weights planted as outliers, at most plantedCapacity / (N·K). */
  rate: number;
  /** G: inputs per group of the outlier rule (along K). */
  groupSize: number;
  /** k of the rule |w| > mean + k·std. */
  stdDev: number;
  /** B: outputs per μB (along N); a μB takes at most B/2 outliers (each prunes a partner slot). */
  ublockSize: number;
  /** The outliers of a μB must have distinct partner lanes the topology reaches (butterfly: at a power-of-two distance). */
  recon: ReconTopology;
  /** Degrees of freedom of the Student-t body. Default 5. */
  nu?: number;
  /** Overall scale. Default 0.02. */
  scale?: number;
  /** Outlier magnitude in units of its group's largest inlier (raised when the rule needs more). Default [4, 8]. */
  ratio?: [number, number];
}

export interface PlantedWeights {
  W: Float32Array;
  /** Indices n·K + k of the planted outliers, increasing. */
  positions: Uint32Array;
}

/** True iff the outlier lanes of `mask` (B lanes) each get a distinct non-outlier partner lane allowed by the topology. */
function ublockPairable(mask: number, B: number, topology: ReconTopologyModel): boolean {
  let count = 0;
  for (let i = 0; i < B; i++) count += (mask >> i) & 1;
  if (2 * count > B) return false;
  if (topology.anyPairing) return true;
  // bipartite matching outlier lane -> free lane it reaches (augmenting paths; B <= 16)
  const owner = new Int32Array(B).fill(-1);
  const tryLane = (o: number, seen: number[]): boolean => {
    for (const p of topology.partners(o, B)) {
      if ((mask >> p) & 1 || seen[p]) continue;
      seen[p] = 1;
      if (owner[p]! < 0 || tryLane(owner[p]!, seen)) {
        owner[p] = o;
        return true;
      }
    }
    return false;
  };
  for (let o = 0; o < B; o++) {
    if (!((mask >> o) & 1)) continue;
    if (!tryLane(o, new Array<number>(B).fill(0))) return false;
  }
  return true;
}

/** Sums of |w| and w², the count and the largest |w| over the body of W[base + k0 .. base + k1 - 1]: the slots not marked in `isOutlier`, in order. */
function bodySums(W: Float32Array, isOutlier: Uint8Array, base: number, k0: number, k1: number): { s: number; s2: number; cnt: number; max: number } {
  let s = 0;
  let s2 = 0;
  let cnt = 0;
  let max = 0;
  for (let k = k0; k < k1; k++) {
    if (isOutlier[base + k]) continue;
    const a = Math.abs(W[base + k]!);
    s += a;
    s2 += a * a;
    cnt++;
    if (a > max) max = a;
  }
  return { s, s2, cnt, max };
}

/** mean and population std of |w| over W[base + k0 .. base + k1 - 1], as the quantizer computes them (float64 sums of float32 values, in order). */
function absStats(W: Float32Array, base: number, k0: number, k1: number): GroupStats {
  let s = 0;
  let s2 = 0;
  for (let k = k0; k < k1; k++) {
    const a = Math.abs(W[base + k]!);
    s += a;
    s2 += a * a;
  }
  return groupStats(s, s2, k1 - k0);
}

/**
 * LLM-like weights W[N][K] whose outliers under the rule |w| > mean + k·std
 * per group of G are exactly the planted ones: plantedCount(N, K, rate)
 * positions, spread evenly over the groups (at most plantedPerGroup each),
 * at most B/2 per μB and pairable in the ReCoN topology.
 *
 * Body: the Student-t weights of llmLikeWeights (per-row and per-column
 * spread), clamped per group to mean + (k - 0.25)·std of the body, so that no
 * body weight is flagged. Outliers: all planted weights of a group have one
 * magnitude (random sign), `ratio` times the group's largest body weight, or
 * more when the rule needs it: at least 2 % above the magnitude at which they
 * lie z_t = sqrt((1 + k²)/0.975 - 1) (3.04 for k = 3) standard deviations above
 * the mean computed with them included. Every group is checked with the rule's
 * own arithmetic. Deterministic per seed.
 */
export function plantedOutlierWeights(N: number, K: number, seed: number, opts: PlantedWeightOptions): PlantedWeights {
  const nu = opts.nu ?? 5;
  const scale = opts.scale ?? 0.02;
  const [rlo, rhi] = opts.ratio ?? [4, 8];
  const G = opts.groupSize;
  const kz = opts.stdDev;
  const B = opts.ublockSize;
  const total = plantedCount(N, K, opts.rate);
  const capacity = plantedCapacity(N, K, G, kz);
  if (!(opts.rate >= 0) || total > capacity) {
    throw new RangeError(`outlier rate ${opts.rate} needs ${total} outliers, at most ${capacity} fit (${plantedPerGroup(G, kz)} per group of ${G})`);
  }
  const gz = gaussian(seed);
  const r = rng(seed ^ 0x2545f491);
  const rowS = new Float64Array(N).map(() => Math.exp(0.25 * gz()));
  const colS = new Float64Array(K).map(() => Math.exp(0.25 * gz()));
  const W = new Float32Array(N * K);
  const tnorm = Math.sqrt((nu - 2) / nu);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      let chi = 0;
      for (let i = 0; i < nu; i++) {
        const z = gz();
        chi += z * z;
      }
      W[n * K + k] = scale * rowS[n]! * colS[k]! * tnorm * (gz() / Math.sqrt(chi / nu));
    }
  }

  // How many outliers each group (n, g) gets: proportional to its capacity, the rest to random groups with room.
  const groups = Math.ceil(K / G);
  const cap = new Int32Array(groups);
  for (let g = 0; g < groups; g++) cap[g] = plantedPerGroup(Math.min(K, (g + 1) * G) - g * G, kz);
  const want = new Int32Array(N * groups);
  let placed = 0;
  if (capacity > 0) {
    for (let i = 0; i < N * groups; i++) {
      want[i] = Math.floor((total * cap[i % groups]!) / capacity);
      placed += want[i]!;
    }
  }
  const order = shuffled(N * groups, r);
  for (let i = 0; placed < total; i = (i + 1) % order.length) {
    const q = order[i]!;
    if (want[q]! < cap[q % groups]!) {
      want[q]!++;
      placed++;
    }
  }

  // Positions: per group, random inputs whose μB stays pairable; a group that finds
  // too few passes the rest to groups with room.
  const topology = reconTopologyModel(opts.recon);
  const upc = Math.ceil(N / B);
  const ubMask = new Map<number, number>();
  const isOutlier = new Uint8Array(N * K);
  const have = new Int32Array(N * groups);
  const place = (q: number, count: number): number => {
    const n = Math.floor(q / groups);
    const k0 = (q % groups) * G;
    const k1 = Math.min(K, k0 + G);
    let got = 0;
    for (const t of shuffled(k1 - k0, r)) {
      if (got === count) break;
      const k = k0 + t;
      if (isOutlier[n * K + k]) continue;
      const u = k * upc + Math.floor(n / B);
      const mask = (ubMask.get(u) ?? 0) | (1 << n % B);
      if (!ublockPairable(mask, B, topology)) continue;
      ubMask.set(u, mask);
      isOutlier[n * K + k] = 1;
      got++;
    }
    have[q]! += got;
    return got;
  };
  let left = 0;
  for (const q of order) left += want[q]! - place(q, want[q]!);
  for (const q of order) {
    if (left === 0) break;
    if (have[q]! < cap[q % groups]!) left -= place(q, Math.min(left, cap[q % groups]! - have[q]!));
  }
  if (left > 0) throw new Error(`internal: ${left} planted outliers found no pairable slot`);

  // Per group: clamp the body, then set the outliers' magnitude; check with the rule's arithmetic.
  const zBody = Math.max(0, kz - 0.25);
  const zt = Math.sqrt((1 + kz * kz) / 0.975 - 1);
  const idx: number[] = [];
  for (let n = 0; n < N; n++) {
    const base = n * K;
    for (let g = 0; g < groups; g++) {
      const k0 = g * G;
      const k1 = Math.min(K, k0 + G);
      idx.length = 0;
      for (let k = k0; k < k1; k++) if (isOutlier[base + k]) idx.push(k);
      const m = idx.length;
      // body statistics (outlier slots excluded), clamped until nothing lies above mean + zBody·std
      for (let it = 0; it < 200; it++) {
        const { s, s2, cnt } = bodySums(W, isOutlier, base, k0, k1);
        if (cnt < 2) break;
        const { mean, std } = groupStats(s, s2, cnt);
        const lim = Math.fround(mean + zBody * std);
        let changed = false;
        for (let k = k0; k < k1; k++) {
          if (isOutlier[base + k]) continue;
          const v = W[base + k]!;
          if (Math.abs(v) > lim) {
            W[base + k] = v < 0 ? -lim : lim;
            changed = true;
          }
        }
        if (!changed) break;
      }
      if (m > 0) {
        const { s, s2, max: mx } = bodySums(W, isOutlier, base, k0, k1);
        const cnt = k1 - k0;
        const z = (A: number): number => {
          const { mean, std } = groupStats(s + m * A, s2 + m * A * A, cnt);
          return std > 0 ? (A - mean) / std : -Infinity;
        };
        // smallest magnitude reaching z_t: z(A) rises towards sqrt((cnt - m)/m) > z_t
        let lo = mx;
        let hi = Math.max(mx, 1e-30) * 2;
        while (z(hi) < zt) hi *= 2;
        for (let it = 0; it < 60; it++) {
          const mid = 0.5 * (lo + hi);
          if (z(mid) < zt) lo = mid;
          else hi = mid;
        }
        let A = Math.fround(Math.max(1.02 * hi, mx * (rlo + (rhi - rlo) * r())));
        for (let tries = 0; ; tries++) {
          for (const k of idx) W[base + k] = r() < 0.5 ? -A : A;
          const { mean, std } = absStats(W, base, k0, k1);
          if (A - mean > kz * std) break;
          if (tries === 20) throw new Error(`internal: planted outliers of row ${n}, group ${g} are not flagged`);
          A = Math.fround(A * 1.25);
        }
      }
      const { mean, std } = absStats(W, base, k0, k1);
      const lim = std > 0 ? kz * std : Infinity;
      for (let k = k0; k < k1; k++) {
        const flagged = Math.abs(W[base + k]!) - mean > lim;
        if (flagged !== (isOutlier[base + k] === 1)) throw new Error(`internal: W[${n}][${k}] ${flagged ? 'is flagged but not planted' : 'is planted but not flagged'}`);
      }
    }
  }
  const positions = new Uint32Array(total);
  let c = 0;
  for (let i = 0; i < N * K; i++) if (isOutlier[i]) positions[c++] = i;
  return { W, positions };
}

/** 0..n-1 in a random order (Fisher–Yates on `r`). */
function shuffled(n: number, r: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
