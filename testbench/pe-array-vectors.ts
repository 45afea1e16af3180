import { arrayColumnSums, type ArrayModelParams, type ArrayTile } from '../quant/hwmodel/pe-array.ts';
import { encodeSliceSettings, type LaneSetting } from '../quant/hwmodel/recon.ts';
import type { CycleVector } from './cycle-harness.ts';
import { randomPairing, settingsForPairing } from './recon-vectors.ts';
import { Rng } from './rng.ts';

export interface ArrayBench {
  rows: number;
  cols: number;
  wbits: number;
  abits: number;
  model: ArrayModelParams;
  laneSettingBits: number;
  accWidth: number;
  /** cycles from a beat on a_in to its column sums (peArrayLatency) */
  latency: number;
}

/** A random tile: random weights, and per row and μB a random legal pairing with random shifts. */
export function randomTile(b: ArrayBench, rng: Rng): ArrayTile {
  const wmax = 2 ** (b.wbits - 1);
  const weights = Array.from({ length: b.rows }, () => Array.from({ length: b.cols }, () => BigInt(rng.int(-wmax, wmax - 1))));
  if (!b.model.recon) return { weights, settings: null };
  const rc = b.model.recon;
  const settings: LaneSetting[][] = Array.from({ length: b.rows }, () => {
    const row: LaneSetting[] = [];
    for (let u = 0; u < b.cols / rc.lanes; u++) {
      const pairs = randomPairing(rc.lanes, rc.topology, rng);
      row.push(...settingsForPairing(rc.lanes, pairs, Array.from({ length: rc.lanes }, () => rng.int(0, (1 << rc.shiftBits) - 1))));
    }
    return row;
  });
  return { weights, settings };
}

function pack(values: bigint[], width: number): bigint {
  const mask = (1n << BigInt(width)) - 1n;
  return values.reduce((acc, v, i) => acc | ((v & mask) << BigInt(i * width)), 0n);
}

/**
 * A stream of tiles through the array's ports, as the controller will drive it:
 * the first tile is loaded row by row and swapped in with an idle beat; then each
 * tile's beats stream while the next tile loads (rows in increasing order, with
 * random gaps), and the tile's last beat carries tile_swap. Idle beats (zero
 * activations) are sprinkled in. Expected column sums: those of the beat
 * `latency` cycles earlier, from the exact model; zero for idle beats.
 */
export function arrayStreamVectors(b: ArrayBench, tiles: ArrayTile[], beatsPerTile: number, seed: number): CycleVector[] {
  const rng = new Rng(seed);
  const amax = 2 ** (b.abits - 1);
  interface Cycle {
    inputs: Record<string, bigint>;
    sums: bigint[] | null;
  }
  const cycles: Cycle[] = [];
  const zeroSums = new Array<bigint>(b.cols).fill(0n);
  const idle = (extra: Record<string, bigint> = {}): Cycle => ({
    inputs: { rst_n: 1n, w_row_data: 0n, ...(b.model.recon ? { cfg_row_data: 0n } : {}), w_row_load: 0n, a_in: 0n, tile_swap: 0n, ...extra },
    sums: zeroSums,
  });
  const loadInputs = (tile: ArrayTile, r: number): Record<string, bigint> => ({
    w_row_data: pack(tile.weights[r]!, b.wbits),
    ...(tile.settings ? { cfg_row_data: encodeRowSettings(tile.settings[r]!) } : {}),
    w_row_load: 1n << BigInt(r),
  });

  // One μB after another, each packed as its ReCoN slice expects.
  const encodeRowSettings = (row: LaneSetting[]): bigint => {
    const rc = b.model.recon!;
    let acc = 0n;
    for (let u = 0; u < b.cols / rc.lanes; u++) {
      acc |= encodeSliceSettings(row.slice(u * rc.lanes, (u + 1) * rc.lanes), rc) << BigInt(u * rc.lanes * b.laneSettingBits);
    }
    return acc;
  };

  cycles.push({ ...idle({ rst_n: 0n }) });
  for (let r = 0; r < b.rows; r++) cycles.push(idle(loadInputs(tiles[0]!, r)));
  cycles.push(idle({ tile_swap: 1n }));
  for (let t = 0; t < tiles.length; t++) {
    const tile = tiles[t]!;
    const next = tiles[t + 1];
    // Rows of the next tile load in increasing order, starting after the previous
    // swap: row r's shadow is then written after row r has swapped (r cycles
    // after tile_swap), which is the array's loading rule.
    const order = Array.from({ length: b.rows }, (_, r) => r);
    let beat = 0;
    while (beat < beatsPerTile) {
      const c = idle();
      if (next && order.length > 0 && rng.float() < 0.7) Object.assign(c.inputs, loadInputs(next, order.shift()!));
      if (rng.float() < 0.15) {
        cycles.push(c); // an idle beat: zero activations
        continue;
      }
      const acts = Array.from({ length: b.rows }, () => BigInt(rng.int(-amax, amax - 1)));
      c.inputs.a_in = pack(acts, b.abits);
      c.sums = arrayColumnSums(tile, acts, b.model);
      beat++;
      if (beat === beatsPerTile) {
        // the next tile must be fully loaded before the swap
        while (next && order.length > 0) cycles.push(idle(loadInputs(next, order.shift()!)));
        c.inputs.tile_swap = 1n;
      }
      cycles.push(c);
    }
  }
  for (let k = 0; k < b.latency + 2; k++) cycles.push(idle());

  // Outputs lag the beats by the array's latency; after reset everything is zero.
  return cycles.map((c, t) => {
    const src = t - b.latency;
    const sums = src >= 0 && cycles[src]!.inputs.rst_n === 1n ? cycles[src]!.sums! : zeroSums;
    return { inputs: c.inputs, expect: { col_sum: pack(sums, b.accWidth) } };
  });
}
