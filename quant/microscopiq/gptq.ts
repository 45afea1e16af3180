/**
 * Hessian mode: GPTQ column order with Optimal-Brain-Surgeon error
 * compensation and lazy block updates (H = 2/M XᵀX, U = chol(H⁻¹) upper; see
 * quantizer.ts). W is copied into a padded float64 matrix; each block of
 * columns is transposed into Wb[t][n] so that the column-by-column work runs
 * over contiguous memory. The outlier rule, the inlier exponent and the μB
 * solver are the ones direct-cast uses, applied to the compensated weights at
 * the moment each group is reached.
 */
import { sharedExponent } from '../shared-exponent.ts';
import { candidateLimit, groupStats } from './group-stats.ts';
import type { LayerBuilder } from './layer-builder.ts';
import { pow2 } from './pow2.ts';
import { searchScale, searchWorthwhile } from './scale-search.ts';
import { UblockSolver } from './ublock-solver.ts';

/**
 * GPTQ's lazy block update: W[n][j] -= Σ_t Err[t][n] · U[i1+t][j] for j >= i2,
 * tiled over j so the U tile stays in cache; four error terms per pass over the
 * W row segment.
 */
function lazyUpdate(Wf: Float64Array, Err: Float64Array, U: Float64Array, N: number, Np: number, Kp: number, i1: number, nb: number, i2: number): void {
  const JT = 256;
  for (let j0 = i2; j0 < Kp; j0 += JT) {
    const j1 = Math.min(Kp, j0 + JT);
    for (let n = 0; n < N; n++) {
      const wr = n * Kp;
      let t = 0;
      for (; t + 3 < nb; t += 4) {
        const e0 = Err[t * Np + n]!;
        const e1 = Err[(t + 1) * Np + n]!;
        const e2 = Err[(t + 2) * Np + n]!;
        const e3 = Err[(t + 3) * Np + n]!;
        const u0 = (i1 + t) * Kp;
        const u1 = u0 + Kp;
        const u2 = u1 + Kp;
        const u3 = u2 + Kp;
        for (let jj = j0; jj < j1; jj++) {
          Wf[wr + jj] = Wf[wr + jj]! - (e0 * U[u0 + jj]! + e1 * U[u1 + jj]! + (e2 * U[u2 + jj]! + e3 * U[u3 + jj]!));
        }
      }
      for (; t < nb; t++) {
        const e = Err[t * Np + n]!;
        if (e === 0) continue;
        const ur = (i1 + t) * Kp;
        for (let jj = j0; jj < j1; jj++) Wf[wr + jj]! -= e * U[ur + jj]!;
      }
    }
  }
}

export function gptq(bld: LayerBuilder, W: Float32Array | Float64Array, U: Float64Array): void {
  const { cfg, N, K, Np, Kp, groups } = bld;
  const G = cfg.groupSize;
  const B = cfg.ublockSize;
  const frac = cfg.fracBits;
  const zThr = bld.zThr;
  const BC = cfg.gptqBlock;
  const Wf = new Float64Array(Np * Kp);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) Wf[n * Kp + k] = W[n * K + k]!;
  const Wb = new Float64Array(BC * Np);
  const Err = new Float64Array(BC * Np);
  const sum = new Float64Array(Np);
  const sum2 = new Float64Array(Np);
  const maxIn = new Float64Array(Np);
  const lim = new Float64Array(Np);
  const mean = new Float64Array(Np);
  const cand = new Uint8Array(G * Np); // candidate flags of the current group [t][n]
  const ubMask = new Int32Array(Np / B);
  // scale search on a group of one row, rounded to float32 as direct-cast sees weights
  const seg = new Float32Array(G);
  const segBits = new Uint32Array(seg.buffer);
  const segScratch = new Int8Array(2 * G);
  const ub = new UblockSolver(bld);
  for (let i1 = 0; i1 < Kp; i1 += BC) {
    const i2 = Math.min(Kp, i1 + BC);
    const nb = i2 - i1;
    for (let t = 0; t < nb; t++) for (let n = 0; n < Np; n++) Wb[t * Np + n] = Wf[n * Kp + i1 + t]!;
    for (let k = i1; k < i2; k++) {
      const t = k - i1;
      const g = Math.floor(k / G);
      const k0 = g * G;
      if (k === k0) {
        // group start: statistics on the compensated weights of the whole group
        const kEnd = Math.min(K, k0 + G);
        const cnt = kEnd - k0;
        sum.fill(0);
        sum2.fill(0);
        maxIn.fill(0);
        cand.fill(0);
        for (let kk = k0; kk < kEnd; kk++) {
          const r = (kk - i1) * Np;
          for (let n = 0; n < N; n++) {
            const a = Math.abs(Wb[r + n]!);
            sum[n]! += a;
            sum2[n]! += a * a;
          }
        }
        for (let n = 0; n < N; n++) {
          if (cnt <= 0) {
            lim[n] = Infinity;
            mean[n] = 0;
            continue;
          }
          const st = groupStats(sum[n]!, sum2[n]!, cnt);
          lim[n] = candidateLimit(st.std, zThr);
          mean[n] = st.mean;
        }
        for (let kk = k0; kk < kEnd; kk++) {
          const r = (kk - i1) * Np;
          const rc = (kk - k0) * Np;
          for (let n = 0; n < N; n++) {
            const a = Math.abs(Wb[r + n]!);
            if (a - mean[n]! > lim[n]!) {
              cand[rc + n] = 1;
              bld.stats.candidates++;
            } else if (a > maxIn[n]!) maxIn[n] = a;
          }
        }
        for (let n = 0; n < Np; n++) {
          const mx = n < N ? Math.fround(maxIn[n]!) : 0;
          let S = sharedExponent(mx, 0);
          if (cfg.scaleSearch && n < N && cnt > 0 && searchWorthwhile(mx, S, cfg.maxInt)) {
            for (let i = 0; i < cnt; i++) seg[i] = Wb[(k0 - i1 + i) * Np + n]!;
            S = searchScale(seg, segBits, 0, cnt, mean[n]!, lim[n]!, S, bld.rounder, segScratch);
          }
          bld.scales[n * groups + g] = S;
        }
      }
      // quantize column k
      const r = t * Np;
      const rc = (k - k0) * Np;
      const d = U[k * Kp + k]!;
      ubMask.fill(0);
      for (let n = 0; n < Np; n++) {
        const S = bld.scales[n * groups + g]!;
        const v = Wb[r + n]!;
        const q = n < N ? bld.inlierQ(v, S) : 0;
        bld.setInlier(n * Kp + k, q);
        Err[r + n] = (v - q * pow2(S - frac)) / d;
        if (cand[rc + n]) ubMask[Math.floor(n / B)]! |= 1 << n % B;
      }
      for (let j = 0; j < Np / B; j++) {
        const mask = ubMask[j]!;
        if (mask === 0) continue;
        for (let i = 0; i < B; i++) ub.vals[i] = Wb[r + j * B + i]!;
        ub.solve(k, j, g, mask);
        for (let i = 0; i < B; i++) Err[r + j * B + i] = (ub.vals[i]! - ub.final[i]!) / d;
      }
      // in-block compensation of columns k+1 .. i2-1
      const Uk = k * Kp;
      for (let tt = t + 1; tt < nb; tt++) {
        const ukj = U[Uk + i1 + tt]!;
        if (ukj === 0) continue;
        const rr = tt * Np;
        for (let n = 0; n < N; n++) Wb[rr + n]! -= Err[r + n]! * ukj;
      }
    }
    // lazy update of columns i2 .. Kp-1: W[n][j] -= Σ_t Err[t][n] · U[i1+t][j]
    if (i2 < Kp) lazyUpdate(Wf, Err, U, N, Np, Kp, i1, nb, i2);
  }
}
