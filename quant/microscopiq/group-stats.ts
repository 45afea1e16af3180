/**
 * The outlier rule's statistics (docs/ARITHMETIC.md): per group (n, g), the
 * mean and population standard deviation of |w| over its real inputs, from
 * float64 sums of |w| and w² taken in input order; a weight is a candidate when
 * |w| - mean > z·std. Every pass that applies the rule (direct-cast, GPTQ, the
 * top-fraction threshold, the synthetic weights that plant outliers) computes
 * the statistics here, so they agree to the bit.
 */

export interface GroupStats {
  mean: number;
  std: number;
}

/** Mean and population std of `cnt` values from their sum and sum of squares. */
export function groupStats(sum: number, sum2: number, cnt: number): GroupStats {
  const mean = sum / cnt;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / cnt - mean * mean)) };
}

/** The candidate limit on |w| - mean: z·std, or Infinity for a group without spread (no candidates). */
export function candidateLimit(std: number, zThr: number): number {
  return std > 0 ? zThr * std : Infinity;
}

/**
 * Global z threshold of the top-fraction rule: the z-score (|w| - mean)/std,
 * per group, above which the given fraction of all weights lies.
 */
export function topFractionThreshold(W: Float32Array | Float64Array, N: number, K: number, G: number, fraction: number): number {
  const total = N * K;
  const want = Math.floor(fraction * total);
  if (want <= 0) return Infinity;
  const z = new Float64Array(total);
  let nz = 0;
  for (let n = 0; n < N; n++) {
    for (let k0 = 0; k0 < K; k0 += G) {
      const k1 = Math.min(K, k0 + G);
      let s = 0;
      let s2 = 0;
      for (let k = k0; k < k1; k++) {
        const a = Math.abs(W[n * K + k]!);
        s += a;
        s2 += a * a;
      }
      const { mean, std } = groupStats(s, s2, k1 - k0);
      if (!(std > 0)) continue;
      for (let k = k0; k < k1; k++) z[nz++] = (Math.abs(W[n * K + k]!) - mean) / std;
    }
  }
  if (want >= nz) return -Infinity;
  const zs = z.subarray(0, nz).sort();
  // candidates are z > thr: pick thr so that `want` values exceed it
  return zs[nz - want - 1]!;
}
