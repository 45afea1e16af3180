/**
 * Hessian machinery for GPTQ-style quantization with Optimal-Brain-Surgeon
 * pruning: H = 2/M · XᵀX from calibration activations, damping, and the upper
 * Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU) that GPTQ walks column by column.
 *
 * All matrices are dense K×K Float64Array in row-major order. Loops run over
 * contiguous rows and are blocked so that a K = 4096 problem stays in cache
 * (one K×K buffer is reused in place for the whole factorization: 128 MiB at
 * K = 4096).
 *
 * U is obtained without a second Cholesky: with J the reversal permutation,
 * factor J·H·J = L·Lᵀ (L lower). Then H = (JLJ)(JLJ)ᵀ with JLJ upper, so
 * H⁻¹ = ((JLJ)⁻¹)ᵀ (JLJ)⁻¹ and U = (JLJ)⁻¹ = J·L⁻¹·J, which is upper
 * triangular with a positive diagonal, i.e. exactly the factor
 * torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
 * that GPTQ computes, for about a third of the arithmetic.
 */
import { InputError } from '../../common/errors.ts';

/**
 * H = 2/M · XᵀX for calibration activations X (M rows of K inputs, row-major).
 * Returns the full symmetric K×K matrix.
 */
export function hessianFromCalibration(X: ArrayLike<number>, M: number, K: number): Float64Array {
  if (X.length !== M * K) {
    throw new InputError(`calibration data holds ${X.length} values, expected M·K = ${M}·${K} = ${M * K}`);
  }
  if (M < 1) throw new InputError('calibration data has no rows: give at least one activation row');
  // Work on a float64 copy, transposed per row block is unnecessary: X rows are contiguous.
  const Xd = X instanceof Float64Array ? X : Float64Array.from(X);
  const H = new Float64Array(K * K);
  const f = 2 / M;
  // Upper triangle, H row i accumulated over all samples while it sits in cache.
  for (let i = 0; i < K; i++) {
    const hi = i * K;
    for (let s = 0; s < M; s++) {
      const xs = s * K;
      const a = Xd[xs + i]!;
      if (a === 0) continue;
      const af = a * f;
      for (let j = i; j < K; j++) H[hi + j]! += af * Xd[xs + j]!;
    }
  }
  // Mirror to the lower triangle.
  for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) H[i * K + j] = H[j * K + i]!;
  return H;
}

export interface DampingReport {
  /** Inputs whose Hessian diagonal was 0 (never active in the calibration data); their diagonal was set to 1. */
  deadInputs: number;
  /** Damping actually added to the diagonal (absolute). */
  damping: number;
  /** Relative damping actually used (fraction of the mean diagonal). */
  relativeDamping: number;
  /** How many times the damping had to be raised (×10) before the Cholesky factorization succeeded. */
  retries: number;
}

/**
 * Dot products of four rows (starting at offsets r0..r3) with one row (offset rj)
 * over columns [t0, t1), written to out[0..3]. Sharing the loads of row rj
 * across four rows is what makes the factorizations below run near the
 * machine's scalar multiply-add rate.
 */
function dot4(A: Float64Array, r0: number, r1: number, r2: number, r3: number, rj: number, t0: number, t1: number, out: Float64Array): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let t = t0; t < t1; t++) {
    const b = A[rj + t]!;
    s0 += A[r0 + t]! * b;
    s1 += A[r1 + t]! * b;
    s2 += A[r2 + t]! * b;
    s3 += A[r3 + t]! * b;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

function dot(A: Float64Array, ri: number, rj: number, t0: number, t1: number): number {
  let s0 = 0, s1 = 0;
  let t = t0;
  for (; t + 1 < t1; t += 2) {
    s0 += A[ri + t]! * A[rj + t]!;
    s1 += A[ri + t + 1]! * A[rj + t + 1]!;
  }
  if (t < t1) s0 += A[ri + t]! * A[rj + t]!;
  return s0 + s1;
}

const RB = 32; // rows per block: 32 rows of K = 4096 doubles = 1 MiB, L2-sized

/**
 * Cholesky factorization in place: A (K×K, row-major, symmetric, only the lower
 * triangle is read) becomes L (lower triangle; the strict upper triangle is left
 * untouched). Returns false if a pivot is not positive (A not positive definite);
 * A is then partially overwritten.
 *
 * Row-oriented (Cholesky–Banachiewicz), blocked over rows: for a block of RB
 * rows, every finished row j is streamed once and dotted with four block rows at
 * a time; the small triangle inside the block is finished row by row.
 */
export function choleskyInPlace(A: Float64Array, K: number): boolean {
  const o = new Float64Array(4);
  for (let i0 = 0; i0 < K; i0 += RB) {
    const i1 = Math.min(K, i0 + RB);
    // Columns j < i0: rows j are final; L[i][j] needs L[i][0..j-1], so go in increasing j
    // and divide at once.
    for (let j = 0; j < i0; j++) {
      const rj = j * K;
      const djj = A[rj + j]!;
      let i = i0;
      for (; i + 3 < i1; i += 4) {
        dot4(A, i * K, (i + 1) * K, (i + 2) * K, (i + 3) * K, rj, 0, j, o);
        A[i * K + j] = (A[i * K + j]! - o[0]!) / djj;
        A[(i + 1) * K + j] = (A[(i + 1) * K + j]! - o[1]!) / djj;
        A[(i + 2) * K + j] = (A[(i + 2) * K + j]! - o[2]!) / djj;
        A[(i + 3) * K + j] = (A[(i + 3) * K + j]! - o[3]!) / djj;
      }
      for (; i < i1; i++) A[i * K + j] = (A[i * K + j]! - dot(A, i * K, rj, 0, j)) / djj;
    }
    // The triangle inside the block, row by row.
    for (let i = i0; i < i1; i++) {
      const ri = i * K;
      for (let j = i0; j <= i; j++) {
        const rj = j * K;
        const v = A[ri + j]! - dot(A, ri, rj, 0, j);
        if (i === j) {
          if (!(v > 0) || !Number.isFinite(v)) return false;
          A[ri + i] = Math.sqrt(v);
        } else {
          A[ri + j] = v / A[rj + j]!;
        }
      }
    }
  }
  return true;
}

/**
 * Inverts the lower-triangular factor L held in the lower triangle of A and
 * stores X = L⁻¹ TRANSPOSED in the upper triangle: on return A[j][t] = X[t][j]
 * for t >= j (diagonal included); the strict lower triangle is garbage.
 *
 * X[i][j] = -(1/L_ii) Σ_{t=j}^{i-1} L[i][t]·X[t][j], a dot product of row i of L
 * (lower triangle, contiguous) with row j of Xᵀ (upper triangle, contiguous),
 * computed with the same row blocking as the factorization. In place: row i of
 * L is dead once row i of X is written, and Xᵀ only uses the upper triangle.
 */
export function invertLowerToUpperTransposeInPlace(A: Float64Array, K: number): void {
  const o = new Float64Array(4);
  for (let i0 = 0; i0 < K; i0 += RB) {
    const i1 = Math.min(K, i0 + RB);
    // Stash the block's partial sums over t in [j, i0) in place of L[i][j] is not
    // possible (L[i][t] is still needed), so keep them in a small side buffer.
    const part = new Float64Array((i1 - i0) * i0);
    for (let j = 0; j < i0; j++) {
      const rj = j * K; // row j of Xᵀ: entries t in [j, i0) are final
      let i = i0;
      for (; i + 3 < i1; i += 4) {
        dot4(A, i * K, (i + 1) * K, (i + 2) * K, (i + 3) * K, rj, j, i0, o);
        part[(i - i0) * i0 + j] = o[0]!;
        part[(i + 1 - i0) * i0 + j] = o[1]!;
        part[(i + 2 - i0) * i0 + j] = o[2]!;
        part[(i + 3 - i0) * i0 + j] = o[3]!;
      }
      for (; i < i1; i++) part[(i - i0) * i0 + j] = dot(A, i * K, rj, j, i0);
    }
    for (let i = i0; i < i1; i++) {
      const ri = i * K;
      const inv = 1 / A[ri + i]!;
      // j < i0: finish with t in [i0, i) (rows of the block already done).
      for (let j = 0; j < i; j++) {
        const rj = j * K;
        let s = j < i0 ? part[(i - i0) * i0 + j]! : 0;
        const tStart = j < i0 ? i0 : j;
        for (let t = tStart; t < i; t++) s += A[ri + t]! * A[rj + t]!;
        A[rj + i] = -s * inv; // Xᵀ[j][i] = X[i][j]
      }
      A[ri + i] = inv;
    }
  }
}
/** Rotates a K×K matrix by 180° in place: A[i][j] <-> A[K-1-i][K-1-j] (that is J·A·J). */
export function rotate180InPlace(A: Float64Array, K: number): void {
  for (let p = 0, q = K * K - 1; p < q; p++, q--) {
    const t = A[p]!;
    A[p] = A[q]!;
    A[q] = t;
  }
}

/**
 * Reflects the upper triangle of A about the anti-diagonal in place:
 * A[i][j] <-> A[K-1-j][K-1-i] for i <= j (the upper triangle maps onto itself).
 */
export function antiTransposeUpperInPlace(A: Float64Array, K: number): void {
  for (let i = 0; i < K; i++) {
    for (let j = i; j < K; j++) {
      const i2 = K - 1 - j;
      const j2 = K - 1 - i;
      // visit each unordered pair once
      if (i2 * K + j2 <= i * K + j) continue;
      const p = i * K + j;
      const q = i2 * K + j2;
      const t = A[p]!;
      A[p] = A[q]!;
      A[q] = t;
    }
  }
}

export interface InverseFactor {
  /** Upper-triangular U (row-major K×K, strict lower triangle zero) with H⁻¹ = UᵀU. */
  U: Float64Array;
  damping: DampingReport;
}

/**
 * GPTQ's inverse factor of a Hessian: handles inputs that are never active
 * (diagonal 0 -> 1, as GPTQ does), adds `relDamp` · mean(diag) to the diagonal
 * and raises the damping ×10 (up to 8 times) until the Cholesky factorization
 * succeeds, so a singular or indefinite H is damped rather than fatal.
 * `relDamp` defaults to GPTQ's own percdamp, 0.01, for direct callers; the
 * quantizer (and so `msq --damping`) passes the configured damping, whose
 * default is 0.1 (config.ts DEFAULTS.damping, measured in docs/QUALITY.md).
 *
 * H is consumed: its buffer becomes U.
 */
export function gptqInverseFactor(H: Float64Array, K: number, relDamp = 0.01): InverseFactor {
  if (H.length !== K * K) throw new RangeError(`Hessian holds ${H.length} values, expected ${K}² = ${K * K}`);
  if (!(relDamp >= 0) || !Number.isFinite(relDamp)) {
    throw new InputError(`--damping ${relDamp} is out of range: allowed finite numbers >= 0`);
  }
  let dead = 0;
  let diagSum = 0;
  for (let i = 0; i < K; i++) {
    const d = H[i * K + i]!;
    if (!Number.isFinite(d)) throw new InputError(`calibration Hessian has a non-finite diagonal entry at input ${i}: the calibration data holds NaN or Inf`);
    if (d === 0) {
      H[i * K + i] = 1;
      dead++;
    }
    diagSum += H[i * K + i]!;
  }
  const meanDiag = diagSum / K;
  // Keep the original lower triangle + diagonal so a failed attempt can restart.
  const diag0 = new Float64Array(K);
  for (let i = 0; i < K; i++) diag0[i] = H[i * K + i]!;
  rotate180InPlace(H, K); // now J·H·J; its lower triangle is H's upper triangle (reversed), symmetric anyway
  // Back up the lower triangle (the strict upper triangle is untouched by the Cholesky, so mirror from it).
  let rel = relDamp;
  let retries = 0;
  for (;;) {
    const damp = rel * meanDiag;
    for (let i = 0; i < K; i++) H[i * K + i] = diag0[K - 1 - i]! + damp;
    if (choleskyInPlace(H, K)) {
      invertLowerToUpperTransposeInPlace(H, K);
      // Now A[j][t] = X[t][j] (t >= j) with X = L⁻¹. U = J·X·J, i.e.
      // U[i][j] = X[K-1-i][K-1-j] = A[K-1-j][K-1-i]: reflect the upper triangle
      // about the anti-diagonal, then clear the strict lower triangle.
      antiTransposeUpperInPlace(H, K);
      for (let i = 1; i < K; i++) H.fill(0, i * K, i * K + i);
      return { U: H, damping: { deadInputs: dead, damping: damp, relativeDamping: rel, retries } };
    }
    if (retries >= 8) {
      throw new InputError(
        `calibration Hessian is not positive definite even with damping ${rel} · mean(diag): the calibration data is degenerate (NaN, Inf or huge values)`,
      );
    }
    retries++;
    rel = rel === 0 ? 1e-6 : rel * 10;
    // Restore the strict lower triangle from the untouched strict upper triangle (symmetry).
    for (let i = 0; i < K; i++) for (let j = 0; j < i; j++) H[i * K + j] = H[j * K + i]!;
  }
}
