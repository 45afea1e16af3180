/**
 * Direct-cast (no calibration): weights are quantized as they are. Per group,
 * the row pass (row-pass.ts) rounds every row and collects the candidates; then
 * each μB that holds candidates is solved in (k, j) order, its partners being
 * the slots whose pruning costs least.
 */
import { sharedExponent } from '../shared-exponent.ts';
import { KeyList } from './growable.ts';
import type { LayerBuilder } from './layer-builder.ts';
import { rowGroup, type RowPass } from './row-pass.ts';
import { UblockSolver } from './ublock-solver.ts';

export function directCast(bld: LayerBuilder, W: Float32Array): void {
  const { cfg, N, K, Np, Kp, groups, scales } = bld;
  const G = cfg.groupSize;
  const B = cfg.ublockSize;
  const zeroS = sharedExponent(0, 0);
  const candList = new KeyList();
  const pass: RowPass = {
    W,
    Wu: new Uint32Array(W.buffer, W.byteOffset, W.length),
    K,
    Kp,
    Np,
    zThr: bld.zThr,
    rounder: bld.rounder,
    operand: bld.operand,
    codes: bld.codes,
    inCode: bld.inCode,
    candKeys: candList,
    searchScratch: cfg.scaleSearch ? new Int8Array(2 * G) : null,
  };
  const ub = new UblockSolver(bld);
  for (let g = 0; g < groups; g++) {
    const k0 = g * G;
    const k1 = Math.min(K, k0 + G);
    const cnt = k1 - k0;
    candList.n = 0;
    for (let n = 0; n < Np; n++) {
      // codes/operands of zero slots are already 0 (two's complement zero)
      scales[n * groups + g] = n >= N || cnt <= 0 ? zeroS : rowGroup(pass, n, k0, k1);
    }
    if (candList.n === 0) continue;
    bld.stats.candidates += candList.n;
    const candKeys = candList.sorted();
    // walk μBs in (k, j) order
    let c = 0;
    while (c < candKeys.length) {
      const key = candKeys[c]!;
      const k = Math.floor(key / Np);
      const j = Math.floor((key % Np) / B);
      let mask = 0;
      while (c < candKeys.length) {
        const kk = candKeys[c]!;
        if (Math.floor(kk / Np) !== k || Math.floor((kk % Np) / B) !== j) break;
        mask |= 1 << ((kk % Np) - j * B);
        c++;
      }
      for (let i = 0; i < B; i++) {
        const n = j * B + i;
        ub.vals[i] = n < N ? W[n * K + k]! : 0;
      }
      ub.solve(k, j, g, mask);
    }
  }
}
