/**
 * The hardware weight stream (docs/ARCHITECTURE.md, "Weight stream"): what the
 * host sends on w_data, and two independent ways to say what the decode unit
 * must make of it.
 *
 *  - weightStreamTile / weightStream: the serializer. Records come from
 *    quant/microscopiq/record.ts writeRecord (the one writer of the record
 *    layout); a tile is [scale words], its records, zero padding to a word.
 *  - decodeTileModel: parses a tile's words per docs/FORMAT.md with the one
 *    record reader (record.ts readRecord), without the serializer or the layer.
 *  - tileRowsFromLayer: the rows straight from the quantized layer (operand,
 *    kind, the pairs' partner and shift), without any bit stream.
 *
 * Tests compare all three; the RTL is compared with the cycle model in
 * decode.ts, whose rows are compared with tileRowsFromLayer.
 */
import { BitReader, BitWriter } from '../microscopiq/bitstream.ts';
import type { MsqConfig } from '../microscopiq/config.ts';
import { SLOT_INLIER, SLOT_OUTLIER, SLOT_PRUNED, ublockIndex, type MsqLayer } from '../microscopiq/layer.ts';
import { decodeOutlier } from '../microscopiq/outlier-code.ts';
import { RecordFields, readRecord, recordLayout, writeRecord, type PairCheck } from '../microscopiq/record.ts';
import type { LaneSetting } from './recon.ts';
import { reconTopologyModel } from './recon-topologies.ts';

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
  try {
    return parseTile(words, cfg);
  } catch (e) {
    if (e instanceof RangeError) throw new Error(`tile stream ends at bit ${words.length * 32}`);
    throw e;
  }
}

function parseTile(words: Uint32Array, cfg: TileDecodeConfig): DecodedTile & { recordBits: number } {
  const m = cfg.msq;
  const B = m.ublockSize;
  const b = m.b;
  const src = new BitReader(words);
  let scales: number[] | null = null;
  if (cfg.withScales) {
    scales = [];
    for (let c = 0; c < cfg.cols; c++) scales.push(src.read(8));
  }
  const start = src.pos;
  const signed = (v: number, w: number): bigint => BigInt(v >= 1 << (w - 1) ? v - (1 << w) : v);
  const lay = recordLayout(m, cfg.plain);
  const rec = new RecordFields(B);
  const topology = reconTopologyModel(m.recon);
  const rows: TileRow[] = [];
  for (let r = 0; r < cfg.rows; r++) {
    const row: TileRow = { operands: [], settings: [] };
    for (let jj = 0; jj < cfg.cols / B; jj++) {
      const checkPair: PairCheck = {
        pair(a, o, f) {
          const p = topology.partnerSlot(o, f);
          if (p >= B || p === o) throw new Error(`record of row ${r}, μB ${jj}: pair ${a} has no partner slot (field ${f})`);
        },
      };
      readRecord(src, lay, rec, checkPair);
      const codes = Array.from(rec.codes);
      const ops = codes.map((c) => signed(c, b));
      const settings: LaneSetting[] = codes.map(() => INLIER);
      for (let a = 0; a < rec.np; a++) {
        const o = rec.outlier[a]!;
        const p = topology.partnerSlot(o, rec.partnerField[a]!);
        // the outlier's 2b-bit code: upper half in its own slot, lower half in the partner's
        const d = decodeOutlier((codes[o]! << b) | codes[p]!, rec.X, m);
        const s = d.sign ? -1n : 1n;
        ops[o] = s * BigInt(d.hi);
        ops[p] = s * BigInt(d.lo);
        settings[o] = { mode: 'outlier', partner: p, shift: d.shift };
        settings[p] = PRUNED;
      }
      row.operands.push(...ops);
      row.settings.push(...settings);
    }
    rows.push(row);
  }
  const recordBits = src.pos - start;
  while (src.pos % 32 !== 0) {
    if (src.read(1) !== 0) throw new Error(`tile padding bit ${src.pos - 1} is not zero`);
  }
  if (src.pos !== words.length * 32) throw new Error(`tile has ${words.length} words, its records end in word ${src.pos / 32}`);
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
