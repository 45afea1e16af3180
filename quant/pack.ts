/**
 * Packed block files (.bin) for MX and NxFP: every block as one bit record of
 * scale, selector and element codes. The layout (docs/NUMERICS.md, "Packed
 * layout") is meant to be read by hardware loaders and testbenches:
 *
 *   offset 0   8 bytes  magic "MSQPACK1"
 *   offset 8   u32 LE   H = byte length of the JSON header
 *   offset 12  H bytes  JSON header (PackHeader), UTF-8
 *              zero bytes up to the next multiple of 8
 *   payload    blockCount records of blockBytes bytes each, in block order
 *
 * Block order: C order over the tensor's shape with the blocked axis replaced
 * by the block index (for axis -1 of a [N, K] matrix: row by row, blocks left
 * to right). A record is a little-endian bit stream: bit k of the record is bit
 * (k mod 8) of byte floor(k / 8), and a field of w bits is written from its
 * least significant bit up. Fields in order:
 *   scale     scaleBits (E8M0: the 8-bit code; E8Mm: exponent field << m | mantissa)
 *   selector  selectorBits (NxFP Adaptive Microexponent only; else 0 bits)
 *   codes     blockSize element codes of elementBits each, element j of the block
 *             being axis index b·blockSize + j; the missing tail of a short last
 *             block is written as code 0 (the zero padding) and ignored on unpack.
 * The record is padded with zero bits to a whole number of bytes.
 */
import { InputError } from '../common/errors.ts';
import { blockGeometry, type BlockGeometry } from './blocks.ts';
import { elementFormat, type Rounding } from './formats.ts';
import { mxDecode, type MxEncoded } from './mx.ts';
import { nxfpConfig, nxfpDecode, type NxfpEncoded, type NxfpFamily } from './nxfp.ts';

export const PACK_MAGIC = 'MSQPACK1';

export interface PackHeader {
  version: 1;
  /** 'mx' or 'nxfp'. */
  scheme: 'mx' | 'nxfp';
  /** The element format (MX) or NxFP family name. */
  format: string;
  /** NxFP only: the element formats selectable per block, in selector order. */
  elementFormats: string[];
  shape: number[];
  axis: number;
  blockSize: number;
  rounding: Rounding;
  nanoMantissa: number;
  adaptiveMicroexponent: boolean;
  codeRecycling: boolean;
  elementBits: number;
  scaleBits: number;
  selectorBits: number;
  blockBytes: number;
  blockCount: number;
  byteOrder: 'record bit stream, LSB first; fields: scale, selector, element codes';
}

interface Blocks {
  header: PackHeader;
  geometry: BlockGeometry;
  scaleCodes: ArrayLike<number>;
  selectors: ArrayLike<number> | null;
  codes: Uint8Array;
}

function recordBits(h: Pick<PackHeader, 'scaleBits' | 'selectorBits' | 'elementBits' | 'blockSize'>): number {
  return h.scaleBits + h.selectorBits + h.blockSize * h.elementBits;
}

function writeBlocks(b: Blocks): Uint8Array {
  const { header: h, geometry: g } = b;
  const json = new TextEncoder().encode(JSON.stringify(h));
  const headerEnd = 12 + json.length;
  const payloadStart = Math.ceil(headerEnd / 8) * 8;
  const out = new Uint8Array(payloadStart + h.blockCount * h.blockBytes);
  out.set(new TextEncoder().encode(PACK_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const { outer, len, inner, nBlocks, blockSize } = g;
  for (let o = 0; o < outer; o++) {
    for (let blk = 0; blk < nBlocks; blk++) {
      for (let n = 0; n < inner; n++) {
        const bi = (o * nBlocks + blk) * inner + n;
        let bit = (payloadStart + bi * h.blockBytes) * 8;
        bit = putBits(out, bit, b.scaleCodes[bi]!, h.scaleBits);
        if (h.selectorBits > 0) bit = putBits(out, bit, b.selectors![bi]!, h.selectorBits);
        const i0 = blk * blockSize;
        for (let j = 0; j < blockSize; j++) {
          const i = i0 + j;
          const code = i < len ? b.codes[(o * len + i) * inner + n]! : 0;
          bit = putBits(out, bit, code, h.elementBits);
        }
      }
    }
  }
  return out;
}

function putBits(buf: Uint8Array, bit: number, value: number, width: number): number {
  for (let k = 0; k < width; k++, bit++) {
    if ((value >>> k) & 1) buf[bit >>> 3]! |= 1 << (bit & 7);
  }
  return bit;
}

function getBits(buf: Uint8Array, bit: number, width: number): number {
  let v = 0;
  for (let k = 0; k < width; k++, bit++) v |= ((buf[bit >>> 3]! >>> (bit & 7)) & 1) << k;
  return v >>> 0;
}

function baseHeader(g: BlockGeometry, rest: Omit<PackHeader, 'version' | 'shape' | 'axis' | 'blockSize' | 'blockBytes' | 'blockCount' | 'byteOrder'>): PackHeader {
  const partial = { ...rest, blockSize: g.blockSize };
  return {
    version: 1,
    ...rest,
    shape: [...g.shape],
    axis: g.axis,
    blockSize: g.blockSize,
    blockBytes: Math.ceil(recordBits(partial) / 8),
    blockCount: g.blockCount,
    byteOrder: 'record bit stream, LSB first; fields: scale, selector, element codes',
  };
}

/** Packs MX scale and element codes (from mxEncode). */
export function packMx(enc: MxEncoded): Uint8Array {
  const header = baseHeader(enc.geometry, {
    scheme: 'mx',
    format: enc.format.name,
    elementFormats: [enc.format.name],
    rounding: enc.rounding,
    nanoMantissa: 0,
    adaptiveMicroexponent: false,
    codeRecycling: false,
    elementBits: enc.format.bits,
    scaleBits: 8,
    selectorBits: 0,
  });
  return writeBlocks({ header, geometry: enc.geometry, scaleCodes: enc.scaleCodes, selectors: null, codes: enc.codes });
}

/** Packs NxFP scale, selector and element codes (from nxfpEncode). */
export function packNxfp(enc: NxfpEncoded): Uint8Array {
  const c = enc.config;
  const header = baseHeader(enc.geometry, {
    scheme: 'nxfp',
    format: c.family,
    elementFormats: c.formats.map((f) => f.name),
    rounding: c.rounding,
    nanoMantissa: c.nanoMantissa,
    adaptiveMicroexponent: c.adaptiveMicroexponent,
    codeRecycling: c.codeRecycling,
    elementBits: c.elementBits,
    scaleBits: c.scale.bits,
    selectorBits: c.selectorBits,
  });
  return writeBlocks({ header, geometry: enc.geometry, scaleCodes: enc.scaleCodes, selectors: enc.selectors, codes: enc.codes });
}

export interface Unpacked {
  header: PackHeader;
  geometry: BlockGeometry;
  scaleCodes: Uint16Array;
  selectors: Uint8Array;
  codes: Uint8Array;
  /** The dequantized tensor (C order, header.shape). */
  values: Float32Array;
}

/** Reads a packed file's bytes back into codes and dequantized values. */
export function unpack(buf: Uint8Array): Unpacked {
  const magic = new TextDecoder().decode(buf.subarray(0, 8));
  if (buf.length < 12 || magic !== PACK_MAGIC) throw new InputError(`not a packed quantization file (magic '${PACK_MAGIC}' missing)`);
  const hlen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(8, true);
  if (12 + hlen > buf.length) throw new InputError('packed file is truncated inside its header');
  const h = JSON.parse(new TextDecoder().decode(buf.subarray(12, 12 + hlen))) as PackHeader;
  const payloadStart = Math.ceil((12 + hlen) / 8) * 8;
  if (payloadStart + h.blockCount * h.blockBytes > buf.length) throw new InputError('packed file is truncated: fewer blocks than its header announces');
  const g = blockGeometry(h.shape, h.axis, h.blockSize);
  const scaleCodes = new Uint16Array(g.blockCount);
  const selectors = new Uint8Array(g.blockCount);
  const codes = new Uint8Array(g.size);
  const { outer, len, inner, nBlocks, blockSize } = g;
  for (let o = 0; o < outer; o++) {
    for (let blk = 0; blk < nBlocks; blk++) {
      for (let n = 0; n < inner; n++) {
        const bi = (o * nBlocks + blk) * inner + n;
        let bit = (payloadStart + bi * h.blockBytes) * 8;
        scaleCodes[bi] = getBits(buf, bit, h.scaleBits);
        bit += h.scaleBits;
        if (h.selectorBits > 0) selectors[bi] = getBits(buf, bit, h.selectorBits);
        bit += h.selectorBits;
        const i0 = blk * blockSize;
        for (let j = 0; j < blockSize && i0 + j < len; j++, bit += h.elementBits) {
          codes[(o * len + i0 + j) * inner + n] = getBits(buf, bit, h.elementBits);
        }
      }
    }
  }
  let values: Float32Array;
  if (h.scheme === 'mx') {
    values = mxDecode(Uint8Array.from(scaleCodes), codes, g, elementFormat(h.format));
  } else {
    const config = nxfpConfig({
      family: h.format as NxfpFamily,
      blockSize: h.blockSize,
      axis: h.axis,
      rounding: h.rounding,
      nanoMantissa: h.nanoMantissa,
      adaptiveMicroexponent: h.adaptiveMicroexponent,
      codeRecycling: h.codeRecycling,
    });
    values = nxfpDecode(config, g, scaleCodes, selectors, codes);
  }
  return { header: h, geometry: g, scaleCodes, selectors, codes, values };
}
