/**
 * Deterministic synthetic data for tests, the quality report and benchmarks:
 * LLM-like weights (Student-t body, per-row and per-column spread, a fraction
 * of large outliers) and LLM-like activations (low-rank correlated features,
 * spread channel scales, a few outlier channels).
 */

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
