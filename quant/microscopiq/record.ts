/**
 * The μB record of the packed format (docs/FORMAT.md, "Record of μB (k, j)"):
 * its one writer and its one reader. The .msq reader (packed.ts), the weight
 * stream's spec-level tile parser and the decode unit's model of the RTL
 * (quant/hwmodel/) all read records with readRecord and differ only in what
 * they make of the fields (and what they refuse).
 *
 * Fields, LSB first, in this order:
 *   count    NP ones then a zero (the zero is omitted when NP = B/2)
 *   X        xbits            only if NP > 0
 *   pairs    NP × { o: log2 B bits; partner: the topology's partner field
 *                  (quant/hwmodel/recon-topologies.ts): crossbar p (log2 B
 *                  bits) | butterfly stage s (ceil(log2 log2 B) bits),
 *                  p = o XOR 2^s }
 *            sorted by o ascending
 *   codes    B × b bits, slot 0 first: inlier q (two's complement), outlier
 *            slot = upper b bits of its FP code, partner slot = lower b bits
 * A plain (no-outlier) build's record is the codes alone.
 */
import { reconTopologyModel, type ReconTopology } from '../hwmodel/recon-topologies.ts';
import type { BitWriter } from './bitstream.ts';
import type { MsqConfig } from './config.ts';
import type { MsqLayer } from './layer.ts';

/** Writes the record of μB u to `w`. */
export function writeRecord(layer: MsqLayer, u: number, w: BitWriter): void {
  const cfg = layer.config;
  const B = cfg.ublockSize;
  const k = Math.floor(u / layer.ublocksPerColumn);
  const j = u % layer.ublocksPerColumn;
  const p0 = layer.pairStart[u]!;
  const np = layer.pairStart[u + 1]! - p0;
  for (let a = 0; a < np; a++) w.write(1, 1);
  if (np < B / 2) w.write(0, 1);
  if (np > 0) {
    const topology = reconTopologyModel(cfg.recon);
    w.write(layer.ubX[u]!, cfg.xbits);
    for (let a = p0; a < p0 + np; a++) {
      const o = layer.pairs.outlier[a]!;
      const p = layer.pairs.partner[a]!;
      w.write(o, cfg.slotBits);
      w.write(topology.partnerField(o, p), cfg.fields.partner);
    }
  }
  const base = j * B * layer.Kp + k;
  for (let i = 0; i < B; i++) w.write(layer.codes[base + i * layer.Kp]!, cfg.b);
}

/** The field widths of a record. */
export interface RecordLayout {
  /** B: slots of a μB. */
  lanes: number;
  /** b: bits of a slot code. */
  codeBits: number;
  xbits: number;
  /** log2 B: an outlier slot. */
  slotBits: number;
  /** The partner field: the topology's width (crossbar log2 B, butterfly ceil(log2 log2 B)). */
  partnerBits: number;
  /** false: a plain build's record (codes only, no count, X or pairs). */
  counted: boolean;
}

export function recordLayout(cfg: MsqConfig, plain = false): RecordLayout {
  return { lanes: cfg.ublockSize, codeBits: cfg.b, xbits: cfg.xbits, slotBits: cfg.slotBits, partnerBits: cfg.fields.partner, counted: !plain };
}

/** Where records are read from: `read(w)` returns the next w bits (0..32) of the stream, LSB first. */
export interface BitSource {
  read(width: number): number;
}

/** The fields of one record as stored (reused from record to record). */
export class RecordFields {
  /** NP: pairs. */
  np = 0;
  /** The μB's X field (0 without pairs). */
  X = 0;
  /** Per pair: the outlier slot and the raw partner field (partnerSlot turns it into a slot). */
  readonly outlier: Uint8Array;
  readonly partnerField: Uint8Array;
  /** The B slot codes. */
  readonly codes: Uint8Array;

  constructor(lanes: number) {
    this.outlier = new Uint8Array(lanes / 2);
    this.partnerField = new Uint8Array(lanes / 2);
    this.codes = new Uint8Array(lanes);
  }
}

/** Sees pair a of np (its slot o and partner field f) as soon as it is read; a reader that refuses bad data throws here. */
export interface PairCheck {
  pair(a: number, o: number, f: number, np: number): void;
}

/**
 * Reads the next record of `src` into `out` (see the field list above).
 * `check`, if given, sees every pair the moment it is read, before any later
 * field, so a reader refuses the first bad field it meets.
 */
export function readRecord(src: BitSource, lay: RecordLayout, out: RecordFields, check?: PairCheck): RecordFields {
  let np = 0;
  if (lay.counted) while (np < lay.lanes / 2 && src.read(1) === 1) np++;
  out.np = np;
  out.X = np > 0 ? src.read(lay.xbits) : 0;
  for (let a = 0; a < np; a++) {
    const o = src.read(lay.slotBits);
    const f = src.read(lay.partnerBits);
    out.outlier[a] = o;
    out.partnerField[a] = f;
    if (check) check.pair(a, o, f, np);
  }
  const codes = out.codes;
  for (let i = 0; i < lay.lanes; i++) codes[i] = src.read(lay.codeBits);
  return out;
}

/** The partner slot a partner field names (the topology's record: crossbar the slot; butterfly the stage s, p = o XOR 2^s). */
export function partnerSlot(recon: ReconTopology, o: number, f: number): number {
  return reconTopologyModel(recon).partnerSlot(o, f);
}
