import type { LaneSetting, ReconParams } from './recon.ts';
import { reconTopologyModel, type ReconTopology } from './recon-topologies.ts';

/** What the array holds for one tile: a weight per PE and, with outlier support, a lane setting per PE. */
export interface ArrayTile {
  /** weights[r][c]: signed b-bit operand of PE(r, c) */
  weights: bigint[][];
  /** settings[r][c]: ReCoN lane setting of PE(r, c); null for the plain array */
  settings: LaneSetting[][] | null;
}

export interface ArrayModelParams {
  rows: number;
  cols: number;
  productWidth: number;
  recon: (ReconParams & { topology: ReconTopology }) | null;
}

/**
 * Column sums the array produces for one beat (one activation per row), exact:
 * each row's products go through that row's ReCoN slices (one per μB of
 * `lanes` columns) and the lane values are summed down each column. The plain
 * array sums the products themselves.
 */
export function arrayColumnSums(tile: ArrayTile, acts: bigint[], p: ArrayModelParams): bigint[] {
  const sums = new Array<bigint>(p.cols).fill(0n);
  const topology = p.recon ? reconTopologyModel(p.recon.topology) : null;
  for (let r = 0; r < p.rows; r++) {
    const prods = tile.weights[r]!.map((w) => w * acts[r]!);
    let lanes = prods;
    if (p.recon && topology && tile.settings) {
      lanes = [];
      const B = p.recon.lanes;
      for (let u = 0; u < p.cols / B; u++) {
        const pp = prods.slice(u * B, (u + 1) * B);
        const ss = tile.settings[r]!.slice(u * B, (u + 1) * B);
        lanes.push(...topology.lanes(pp, ss, p.recon, p.productWidth));
      }
    }
    for (let c = 0; c < p.cols; c++) sums[c]! += lanes[c]!;
  }
  return sums;
}
