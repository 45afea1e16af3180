/**
 * The hardware weight stream (docs/ARCHITECTURE.md, "Weight stream"): what the
 * host sends on w_data, and two independent ways to say what the decode unit
 * must make of it.
 *
 *  - weightStreamTile / weightStream: the serializer. Records come from
 *    quant/microscopiq/packed.ts writeRecord (the one definition of the record
 *    layout); a tile is [scale words], its records, zero padding to a word.
 *  - decodeTileModel: parses a tile's words bit by bit per docs/FORMAT.md,
 *    without using the serializer or the layer.
 *  - tileRowsFromLayer: the rows straight from the quantized layer (operand,
 *    kind, the pairs' partner and shift), without any bit stream.
 *
 * Tests compare all three; the RTL is compared with the cycle model in
 * decode.ts, whose rows are compared with tileRowsFromLayer.
 */
import { BitWriter } from '../microscopiq/bitstream.ts';
import type { MsqConfig } from '../microscopiq/config.ts';
import { SLOT_INLIER, SLOT_OUTLIER, SLOT_PRUNED, ublockIndex, type MsqLayer } from '../microscopiq/layer.ts';
import { writeRecord } from '../microscopiq/packed.ts';
import type { LaneSetting } from './recon.ts';

/** E8M0 code of an all-zero group (S = -126, docs/ARITHMETIC.md), used for columns beyond Np. */
const ZERO_GROUP_SCALE_CODE = -126 + 127;

export interface WeightStreamOptions {
  rows: number;
  cols: number;
  /** plain build (no outliers): a record is only the B codes */
  plain?: boolean;
}

export interface ProblemStreamOptions extends WeightStreamOptions {
  /** M-chunks: the weight tiles are re-sent for each (default 1) */
  mChunks?: number;
}

function checkTileGeometry(layer: MsqLayer, rows: number, cols: number): void {
  const { groupSize: G, ublockSize: B } = layer.config;
  if (cols % B !== 0) throw new Error(`cols ${cols} is not a multiple of the μB size ${B}`);
  if (G % rows !== 0) throw new Error(`group size ${G} is not a multiple of rows ${rows}`);
}

/** Does tile (nt, kt) start a group (it then carries the group scales)? */
export function tileHasScales(layer: MsqLayer, kt: number, rows: number): boolean {
  return (kt * rows) % layer.config.groupSize === 0;
}

/**
 * The words of tile (nt, kt): with `withScales` first the E8M0 codes of the
 * tile's C columns (4 per word, column 0 in bits 7:0), then the records of rows
 * r = 0..R-1 (input k = kt·R + r), μBs j = nt·C/B .. (nt+1)·C/B - 1 in each row,
 * then zero padding to the next word.
 */
export function weightStreamTile(layer: MsqLayer, nt: number, kt: number, rows: number, cols: number, withScales: boolean, opts: { plain?: boolean } = {}): Uint32Array {
  checkTileGeometry(layer, rows, cols);
  const cfg = layer.config;
  const B = cfg.ublockSize;
  const ubPerTile = cols / B;
  if (kt < 0 || (kt + 1) * rows > layer.Kp) throw new Error(`K-tile ${kt} is outside Kp = ${layer.Kp}`);
  const scaleWords: number[] = [];
  if (withScales) {
    const g = Math.floor((kt * rows) / cfg.groupSize);
    for (let w = 0; w < cols / 4; w++) {
      let word = 0;
      for (let i = 0; i < 4; i++) {
        const n = nt * cols + 4 * w + i;
        const code = n < layer.Np ? layer.scales[n * layer.groups + g]! + 127 : ZERO_GROUP_SCALE_CODE;
        word |= code << (8 * i);
      }
      scaleWords.push(word >>> 0);
    }
  }
  const w = new BitWriter(8 + Math.ceil((rows * cols * (cfg.b + 2)) / 32));
  for (let r = 0; r < rows; r++) {
    const k = kt * rows + r;
    for (let jj = 0; jj < ubPerTile; jj++) {
      const j = nt * ubPerTile + jj;
      if (j >= layer.ublocksPerColumn) {
        // N-tile padding beyond Np: a μB of zero weights, no pairs (docs/FORMAT.md:
        // "a μB without outliers costs 1 + B·b bits"; the plain record is its codes).
        if (!opts.plain) w.write(0, 1);
        for (let i = 0; i < B; i++) w.write(0, cfg.b);
        continue;
      }
      const u = ublockIndex(layer, k, j);
      if (opts.plain) {
        if (layer.pairStart[u + 1]! !== layer.pairStart[u]!) throw new Error(`plain weight stream: μB ${u} (k ${k}, column block ${j}) has outliers`);
        const base = j * B * layer.Kp + k;
        for (let i = 0; i < B; i++) w.write(layer.codes[base + i * layer.Kp]!, cfg.b);
      } else {
        writeRecord(layer, u, w);
      }
    }
  }
  const records = w.finish();
  const out = new Uint32Array(scaleWords.length + records.length);
  out.set(scaleWords, 0);
  out.set(records, scaleWords.length);
  return out;
}

export interface StreamTile {
  nt: number;
  mc: number;
  kt: number;
  withScales: boolean;
  words: Uint32Array;
}

/** The tiles of the whole problem, in stream order (N-tile, M-chunk, K-tile). */
export function weightStreamTiles(layer: MsqLayer, o: ProblemStreamOptions): StreamTile[] {
  checkTileGeometry(layer, o.rows, o.cols);
  const tiles: StreamTile[] = [];
  const nTiles = Math.ceil(layer.N / o.cols);
  const kTiles = layer.Kp / o.rows;
  for (let nt = 0; nt < nTiles; nt++) {
    for (let mc = 0; mc < (o.mChunks ?? 1); mc++) {
      for (let kt = 0; kt < kTiles; kt++) {
        const withScales = tileHasScales(layer, kt, o.rows);
        tiles.push({ nt, mc, kt, withScales, words: weightStreamTile(layer, nt, kt, o.rows, o.cols, withScales, { plain: o.plain }) });
      }
    }
  }
  return tiles;
}

/** The whole weight stream of a problem, as sent on w_data. */
export function weightStream(layer: MsqLayer, o: ProblemStreamOptions): Uint32Array {
  const tiles = weightStreamTiles(layer, o);
  const out = new Uint32Array(tiles.reduce((a, t) => a + t.words.length, 0));
  let at = 0;
  for (const t of tiles) {
    out.set(t.words, at);
    at += t.words.length;
  }
  return out;
}

// ---------------------------------------------------------------------------

export interface TileRow {
  /** C signed operands, column 0 first */
  operands: bigint[];
  /** C lane settings (all inlier in plain builds) */
  settings: LaneSetting[];
}

export interface DecodedTile {
  /** E8M0 codes (S + 127) of the C columns, or null for a tile without scales */
  scales: number[] | null;
  rows: TileRow[];
}

export interface TileDecodeConfig {
  /** the quantizer configuration: field widths and the outlier format */
  msq: MsqConfig;
  rows: number;
  cols: number;
  withScales: boolean;
  plain?: boolean;
}

const INLIER: LaneSetting = { mode: 'inlier', partner: 0, shift: 0 };
const PRUNED: LaneSetting = { mode: 'pruned', partner: 0, shift: 0 };

/**
 * Parses one tile's words as docs/FORMAT.md describes the record: fields in
 * order, LSB first, then checks the padding is zero and nothing is left over.
 * Refuses (throws) a stream that runs short or carries bits beyond the tile.
 */
export function decodeTileModel(words: Uint32Array, cfg: TileDecodeConfig): DecodedTile & { recordBits: number } {
  const m = cfg.msq;
  const B = m.ublockSize;
  const b = m.b;
  let pos = 0;
  const bit = (i: number): number => {
    if (i >= words.length * 32) throw new Error(`tile stream ends at bit ${words.length * 32}`);
    return (words[i >>> 5]! >>> (i & 31)) & 1;
  };
  const take = (w: number): number => {
    let v = 0;
    for (let t = 0; t < w; t++) v |= bit(pos + t) << t;
    pos += w;
    return v >>> 0;
  };
  let scales: number[] | null = null;
  if (cfg.withScales) {
    scales = [];
    for (let c = 0; c < cfg.cols; c++) scales.push(take(8));
  }
  const start = pos;
  const signed = (v: number, w: number): bigint => BigInt(v >= 1 << (w - 1) ? v - (1 << w) : v);
  const rows: TileRow[] = [];
  for (let r = 0; r < cfg.rows; r++) {
    const row: TileRow = { operands: [], settings: [] };
    for (let jj = 0; jj < cfg.cols / B; jj++) {
      // count: NP one-bits, then a zero unless NP = B/2
      let np = 0;
      if (!cfg.plain) {
        while (np < B / 2) {
          if (take(1) === 0) break;
          np++;
        }
      }
      const X = np > 0 ? take(m.xbits) : 0;
      const pairs: { o: number; p: number }[] = [];
      for (let a = 0; a < np; a++) {
        const o = take(m.slotBits);
        const f = take(m.fields.partner);
        const p = m.recon === 'crossbar' ? f : o ^ (1 << f);
        if (p >= B || p === o) throw new Error(`record of row ${r}, μB ${jj}: pair ${a} has no partner slot (field ${f})`);
        pairs.push({ o, p });
      }
      const codes = Array.from({ length: B }, () => take(b));
      const ops = codes.map((c) => signed(c, b));
      const settings: LaneSetting[] = codes.map(() => INLIER);
      for (const { o, p } of pairs) {
        // the outlier's 2b-bit code: upper half in its own slot, lower half in the partner's
        const code = (codes[o]! << b) | codes[p]!;
        const f = m.outFmt;
        const sign = code >> (2 * b - 1);
        const e = (code >> f.mbits) & ((1 << f.ebits) - 1);
        const man = code & ((1 << f.mbits) - 1);
        const M = (e > 0 ? 2 ** f.mbits : 0) + man;
        const hi = M >> m.splitL;
        const lo = M & ((1 << m.splitL) - 1);
        const s = sign ? -1n : 1n;
        ops[o] = s * BigInt(hi);
        ops[p] = s * BigInt(lo);
        settings[o] = { mode: 'outlier', partner: p, shift: Math.max(e, 1) + X + m.shiftConst };
        settings[p] = PRUNED;
      }
      row.operands.push(...ops);
      row.settings.push(...settings);
    }
    rows.push(row);
  }
  const recordBits = pos - start;
  while (pos % 32 !== 0) {
    if (take(1) !== 0) throw new Error(`tile padding bit ${pos - 1} is not zero`);
  }
  if (pos !== words.length * 32) throw new Error(`tile has ${words.length} words, its records end in word ${pos / 32}`);
  return { scales, rows, recordBits };
}

/**
 * The rows of tile (nt, kt) straight from the layer: operand and kind per slot,
 * and for an outlier its pair's partner slot and shift. Columns beyond Np are
 * zero inliers (scale code of an all-zero group).
 */
export function tileRowsFromLayer(layer: MsqLayer, nt: number, kt: number, rows: number, cols: number, withScales: boolean): DecodedTile {
  const cfg = layer.config;
  const B = cfg.ublockSize;
  let scales: number[] | null = null;
  if (withScales) {
    const g = Math.floor((kt * rows) / cfg.groupSize);
    scales = Array.from({ length: cols }, (_, c) => {
      const n = nt * cols + c;
      return n < layer.Np ? layer.scales[n * layer.groups + g]! + 127 : ZERO_GROUP_SCALE_CODE;
    });
  }
  const out: TileRow[] = [];
  for (let r = 0; r < rows; r++) {
    const k = kt * rows + r;
    const row: TileRow = { operands: [], settings: [] };
    for (let c = 0; c < cols; c++) {
      const n = nt * cols + c;
      if (n >= layer.Np) {
        row.operands.push(0n);
        row.settings.push(INLIER);
        continue;
      }
      const i = n * layer.Kp + k;
      row.operands.push(BigInt(layer.operand[i]!));
      const kind = layer.kind[i]!;
      if (kind === SLOT_INLIER) row.settings.push(INLIER);
      else if (kind === SLOT_PRUNED) row.settings.push(PRUNED);
      else if (kind === SLOT_OUTLIER) {
        const u = ublockIndex(layer, k, Math.floor(n / B));
        let found: LaneSetting | null = null;
        for (let a = layer.pairStart[u]!; a < layer.pairStart[u + 1]!; a++) {
          if (layer.pairs.outlier[a] === n % B) found = { mode: 'outlier', partner: layer.pairs.partner[a]!, shift: layer.pairs.shift[a]! };
        }
        if (!found) throw new Error(`internal: outlier slot (${n}, ${k}) has no pair`);
        row.settings.push(found);
      } else throw new Error(`internal: slot kind ${kind}`);
    }
    out.push(row);
  }
  return { scales, rows: out };
}
