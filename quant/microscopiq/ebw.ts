/**
 * Effective bit width (EBW): every bit of the packed .msq file (header, scales,
 * scale padding, codes, record metadata, word padding) divided by the number of
 * real weights N·K. Padding rows/columns are stored, so they count too.
 */
import { HEADER_BYTES } from './packed.ts';
import type { MsqLayer } from './layer.ts';

export interface EbwReport {
  weights: number;
  totalBits: number;
  /** totalBits / weights. */
  ebw: number;
  /** Bits by category; they add up to totalBits. */
  bits: {
    header: number;
    scales: number;
    scalePadding: number;
    codes: number;
    /** Unary pair counts of all records. */
    count: number;
    /** X fields. */
    xfield: number;
    /** Pair entries (outlier slot + partner field). */
    pairs: number;
    wordPadding: number;
  };
}

export function ebwReport(layer: MsqLayer): EbwReport {
  const cfg = layer.config;
  const B = cfg.ublockSize;
  const scaleBytes = layer.groups * layer.Np;
  const scalePadBytes = Math.ceil(scaleBytes / 4) * 4 - scaleBytes;
  let count = 0;
  let xfield = 0;
  let pairs = 0;
  for (let u = 0; u < layer.ublocks; u++) {
    const np = layer.pairStart[u + 1]! - layer.pairStart[u]!;
    count += np + (np < B / 2 ? 1 : 0);
    if (np > 0) {
      xfield += cfg.xbits;
      pairs += np * (cfg.slotBits + cfg.fields.partner);
    }
  }
  const codes = layer.ublocks * B * cfg.b;
  const recordBits = count + xfield + pairs + codes;
  const wordPadding = Math.ceil(recordBits / 32) * 32 - recordBits;
  const bits = {
    header: HEADER_BYTES * 8,
    scales: scaleBytes * 8,
    scalePadding: scalePadBytes * 8,
    codes,
    count,
    xfield,
    pairs,
    wordPadding,
  };
  const totalBits = Object.values(bits).reduce((a, b) => a + b, 0);
  const weights = layer.N * layer.K;
  return { weights, totalBits, ebw: totalBits / weights, bits };
}

/** EBW of a layer: all packed bits per real weight. */
export function effectiveBits(layer: MsqLayer): number {
  return ebwReport(layer).ebw;
}
