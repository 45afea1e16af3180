/**
 * The packed MicroScopiQ weight format (.msq), docs/FORMAT.md has the full
 * description and a worked example.
 *
 *   header   32 bytes (little-endian)
 *   scales   groups·Np bytes, E8M0 codes S + 127, order [g][n]; zero-padded to 4 bytes
 *   records  `recordWords` 32-bit LE words: one record per μB, u = k·(Np/B) + j,
 *            concatenated as a bit stream (LSB first), last word zero-padded;
 *            the record itself is written and read by record.ts
 */
import { InputError } from '../../common/errors.ts';
import { resolveConfig, type MsqConfig } from './config.ts';
import { outlierFormat, outlierFormatById } from './outlier-formats.ts';
import { BitReader, BitWriter } from './bitstream.ts';
import { decodeOutlier, isOutlierNaN } from './outlier-code.ts';
import { reconTopologyByHeaderId, reconTopologyModel, type ReconTopology, type ReconTopologyModel, type SlotPair } from '../hwmodel/recon-topologies.ts';
import { RecordFields, readRecord, recordLayout, writeRecord, type PairCheck, type RecordLayout } from './record.ts';
import { SLOT_INLIER, emptyStats, setPairSlots, type MsqLayer } from './layer.ts';

export const MSQ_MAGIC = 'MSQ1';
export const MSQ_VERSION = 1;
export const HEADER_BYTES = 32;

/** Record stream of the given μBs (any order: a hardware tile order, for instance). */
export function encodeRecordStream(layer: MsqLayer, ublocks: Iterable<number>): { words: Uint32Array; bits: number } {
  const w = new BitWriter(1 + Math.ceil((layer.ublocks * (layer.config.ublockSize * layer.config.b + 1)) / 32));
  for (const u of ublocks) writeRecord(layer, u, w);
  const bits = w.pos;
  return { words: w.finish(), bits };
}

function* allUblocks(n: number): Generator<number> {
  for (let u = 0; u < n; u++) yield u;
}

/** Serializes a layer to .msq bytes. */
export function encodePacked(layer: MsqLayer): Uint8Array {
  const cfg = layer.config;
  const { words } = encodeRecordStream(layer, allUblocks(layer.ublocks));
  const scaleBytes = layer.groups * layer.Np;
  const scalePadded = Math.ceil(scaleBytes / 4) * 4;
  const out = new Uint8Array(HEADER_BYTES + scalePadded + words.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = MSQ_MAGIC.charCodeAt(i);
  out[4] = MSQ_VERSION;
  out[5] = cfg.b;
  out[6] = outlierFormat(cfg.outlier).headerId;
  out[7] = reconTopologyModel(cfg.recon).headerId;
  out[8] = cfg.ublockSize;
  out[9] = cfg.xbits;
  out[10] = cfg.guardBits;
  out[11] = cfg.maxShift;
  dv.setInt8(12, cfg.shiftConst);
  dv.setInt8(13, cfg.outlierExpOffset);
  dv.setUint16(14, cfg.groupSize, true);
  dv.setUint32(16, layer.N, true);
  dv.setUint32(20, layer.K, true);
  out[24] = cfg.rounding === 'nearest' ? 0 : 1;
  dv.setUint32(28, words.length, true);
  let o = HEADER_BYTES;
  for (let g = 0; g < layer.groups; g++) {
    for (let n = 0; n < layer.Np; n++) out[o++] = layer.scales[n * layer.groups + g]! + 127;
  }
  new Uint8Array(out.buffer, HEADER_BYTES + scalePadded, words.length * 4).set(new Uint8Array(words.buffer, 0, words.length * 4));
  // Words are stored little-endian; the host is little-endian (checked below).
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('big-endian hosts are not supported');
  return out;
}

function corrupt(what: string): never {
  throw new InputError(`packed MicroScopiQ data is corrupt: ${what}`);
}

/** The configuration stored in a .msq header. */
export function decodeHeader(bytes: Uint8Array): { cfg: MsqConfig; N: number; K: number; recordWords: number } {
  if (bytes.length < HEADER_BYTES) corrupt(`${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== MSQ_MAGIC) corrupt(`magic '${magic}' is not '${MSQ_MAGIC}'`);
  if (bytes[4] !== MSQ_VERSION) corrupt(`version ${bytes[4]} is not supported: this reader reads version ${MSQ_VERSION}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b = bytes[5]!;
  if (b !== 2 && b !== 4) corrupt(`inlier width ${b} is not 2 or 4`);
  const outlier = outlierFormatById(bytes[6]!)?.name;
  if (!outlier) corrupt(`outlier format id ${bytes[6]} is unknown`);
  const recon = reconTopologyByHeaderId(bytes[7]!)?.name;
  if (!recon) corrupt(`ReCoN topology id ${bytes[7]} is unknown`);
  let cfg: MsqConfig;
  try {
    cfg = resolveConfig({
      inlier: b === 2 ? 'mxint2' : 'mxint4',
      outlier,
      recon,
      ublockSize: bytes[8]!,
      xbits: bytes[9]!,
      guardBits: bytes[10]!,
      maxShift: bytes[11]!,
      outlierExpOffset: dv.getInt8(13),
      groupSize: dv.getUint16(14, true),
      rounding: bytes[24] === 0 ? 'nearest' : 'even',
    });
  } catch (e) {
    if (e instanceof InputError) corrupt(`header holds an illegal configuration (${e.message})`);
    throw e;
  }
  if (cfg.shiftConst !== dv.getInt8(12)) corrupt(`shift constant ${dv.getInt8(12)} disagrees with the configuration (${cfg.shiftConst})`);
  const N = dv.getUint32(16, true);
  const K = dv.getUint32(20, true);
  if (N < 1 || K < 1) corrupt(`shape [${N}, ${K}] is empty`);
  return { cfg, N, K, recordWords: dv.getUint32(28, true) };
}

/**
 * Reads the record stream into the layer's arrays, one μB per call (so the hot
 * path is compiled as a function, not on the stack of one long loop). As a
 * PairCheck it refuses each pair the moment it is read, before the fields
 * after it: a partner field that names no slot (a butterfly stage out of
 * range), pairs sorted, and with the last pair of the μB, a routable pairing.
 */
class RecordsReader implements PairCheck {
  readonly pu: number[] = [];
  readonly po: number[] = [];
  readonly pp: number[] = [];
  readonly pc: number[] = [];
  private readonly lay: RecordLayout;
  private readonly rec: RecordFields;
  private readonly pairBuf: SlotPair[] = [];
  private readonly signBit: number;
  private readonly topology: ReconTopologyModel<ReconTopology>;
  /** The μB being read (for messages). */
  private u = 0;

  constructor(
    private readonly cfg: MsqConfig,
    private readonly r: BitReader,
    private readonly geom: { Kp: number; upc: number },
    private readonly out: Pick<MsqLayer, 'codes' | 'kind' | 'operand' | 'ubX' | 'pairStart' | 'stats'>,
  ) {
    this.lay = recordLayout(cfg);
    this.rec = new RecordFields(cfg.ublockSize);
    this.signBit = 1 << (cfg.b - 1);
    this.topology = reconTopologyModel(cfg.recon);
  }

  pair(a: number, o: number, f: number, np: number): void {
    const { cfg, pairBuf, topology } = this;
    const p = topology.partnerSlot(o, f);
    const bad = topology.partnerFieldError(f, cfg.slotBits);
    if (bad !== undefined) corrupt(`μB ${this.u}: ${bad}`);
    if (a > 0 && o <= pairBuf[a - 1]!.outlier) corrupt(`μB ${this.u}: pairs are not sorted by outlier slot`);
    pairBuf.push({ outlier: o, partner: p });
    if (a === np - 1 && !topology.routable(pairBuf, cfg.ublockSize)) corrupt(`μB ${this.u}: pairing is not ${cfg.recon}-routable`);
  }

  ublock(u: number): void {
    const { cfg, rec, pairBuf, signBit } = this;
    const { codes, kind, operand, ubX } = this.out;
    const B = cfg.ublockSize;
    const { Kp, upc } = this.geom;
    this.out.pairStart[u] = this.pu.length;
    if (pairBuf.length > 0) pairBuf.length = 0;
    this.u = u;
    readRecord(this.r, this.lay, rec, this);
    const np = rec.np;
    if (np > 0) {
      ubX[u] = rec.X;
      this.out.stats.ublocksWithOutliers++;
    }
    const k = Math.floor(u / upc);
    const j = u % upc;
    const base = j * B * Kp + k;
    let pairSlots = 0;
    for (let a = 0; a < np; a++) pairSlots |= (1 << pairBuf[a]!.outlier) | (1 << pairBuf[a]!.partner);
    for (let i = 0; i < B; i++) {
      const c = rec.codes[i]!;
      const idx = base + i * Kp;
      codes[idx] = c;
      kind[idx] = SLOT_INLIER;
      if ((pairSlots >> i) & 1) continue;
      if (c === signBit) corrupt(`μB ${u}, slot ${i}: inlier code ${c} is outside the symmetric range`);
      operand[idx] = c & signBit ? c - (1 << cfg.b) : c;
    }
    for (let a = 0; a < np; a++) {
      const { outlier: o, partner: p } = pairBuf[a]!;
      const io = base + o * Kp;
      const ip = base + p * Kp;
      const code = (codes[io]! << cfg.b) | codes[ip]!;
      const d = decodeOutlier(code, ubX[u]!, cfg);
      if (d.M === 0) corrupt(`μB ${u}: outlier code ${code} is zero`);
      if (d.shift < 0 || d.shift > cfg.maxShift) corrupt(`μB ${u}: outlier shift ${d.shift} is outside 0..${cfg.maxShift}`);
      if (isOutlierNaN(code, cfg)) corrupt(`μB ${u}: outlier code ${code} is NaN`);
      setPairSlots(this.out, io, ip, d);
      this.pu.push(u);
      this.po.push(o);
      this.pp.push(p);
      this.pc.push(code);
    }
  }
}

/** Parses .msq bytes back into a layer (exact inverse of encodePacked). Stats hold what the records show. */
export function decodePacked(bytes: Uint8Array): MsqLayer {
  const { cfg, N, K, recordWords } = decodeHeader(bytes);
  const B = cfg.ublockSize;
  const G = cfg.groupSize;
  const Np = Math.ceil(N / B) * B;
  const Kp = Math.ceil(K / G) * G;
  const groups = Kp / G;
  const upc = Np / B;
  const nUb = Kp * upc;
  const scaleBytes = groups * Np;
  const scalePadded = Math.ceil(scaleBytes / 4) * 4;
  const need = HEADER_BYTES + scalePadded + recordWords * 4;
  if (bytes.length !== need) corrupt(`${bytes.length} bytes, the header announces ${need}`);
  const scales = new Int16Array(Np * groups);
  for (let g = 0; g < groups; g++) {
    for (let n = 0; n < Np; n++) {
      const c = bytes[HEADER_BYTES + g * Np + n]!;
      if (c === 0xff) corrupt(`scale of row ${n}, group ${g} is the NaN code 0xFF`);
      scales[n * groups + g] = c - 127;
    }
  }
  const wordBytes = bytes.slice(HEADER_BYTES + scalePadded, need);
  const words = new Uint32Array(wordBytes.buffer, 0, recordWords);
  const r = new BitReader(words);
  const codes = new Uint8Array(Np * Kp);
  const kind = new Uint8Array(Np * Kp);
  const operand = new Int8Array(Np * Kp);
  const ubX = new Uint8Array(nUb);
  const pairStart = new Uint32Array(nUb + 1);
  const stats = emptyStats(N * K);
  const reader = new RecordsReader(cfg, r, { Kp, upc }, { codes, kind, operand, ubX, pairStart, stats });
  try {
    for (let u = 0; u < nUb; u++) reader.ublock(u);
  } catch (e) {
    if (e instanceof RangeError) corrupt(e.message);
    throw e;
  }
  const { pu, po, pp, pc } = reader;
  pairStart[nUb] = pu.length;
  if (Math.ceil(r.pos / 32) !== recordWords) corrupt(`records end in word ${Math.ceil(r.pos / 32)}, the header announces ${recordWords} words`);
  const n = pu.length;
  const pairs = {
    ublock: Uint32Array.from(pu),
    outlier: Uint8Array.from(po),
    partner: Uint8Array.from(pp),
    code: Uint8Array.from(pc),
    sign: new Uint8Array(n),
    M: new Uint8Array(n),
    hi: new Uint8Array(n),
    lo: new Uint8Array(n),
    shift: new Uint8Array(n),
  };
  for (let a = 0; a < n; a++) {
    const d = decodeOutlier(pairs.code[a]!, ubX[pairs.ublock[a]!]!, cfg);
    pairs.sign[a] = d.sign;
    pairs.M[a] = d.M;
    pairs.hi[a] = d.hi;
    pairs.lo[a] = d.lo;
    pairs.shift[a] = d.shift;
  }
  stats.outliers = n;
  return { config: cfg, N, K, Np, Kp, groups, ublocksPerColumn: upc, ublocks: nUb, scales, codes, kind, operand, ubX, pairStart, pairs, stats };
}
