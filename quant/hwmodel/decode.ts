/**
 * The block-decode unit (generator/blocks/decode.ts): configuration, derived
 * widths, and a cycle-accurate model of the RTL.
 *
 * The unit turns the weight stream of docs/ARCHITECTURE.md ("Weight stream")
 * into PE-array rows: per row the C operands (b-bit two's complement) and, in
 * outlier builds, the C ReCoN lane settings (quant/hwmodel/recon.ts encoding).
 *
 * Microarchitecture, mirrored here register by register:
 *  - a word register `wq` takes the stream (w_ready: it is free or drains this
 *    cycle); it drains into the bit buffer when a whole word fits above the
 *    bits held now (fill <= BUFW - 32), landing at bit position `fill`.
 *  - stage 1, a bit buffer `buf` of BUFW bits holding `fill` valid bits, LSB =
 *    the next stream bit. Per cycle at most one step: a scale word (32 bits)
 *    during the scale phase of a tile, or one μB record when fill >= its length
 *    (known from the unary count at the buffer head: one record per cycle).
 *    At record rate `half` (DECODE_RATES) the length test is a register: a
 *    cycle that takes nothing finds the head record whole (`recFits`) and the
 *    next cycle takes it, so records go at most one per two cycles.
 *  - after a tile's last record, if bits of its last word are left, the next
 *    cycle drops them (fill mod 32: every tile starts on a word, so these are
 *    exactly the padding) and takes no step and no word.
 *  - stage 2 holds the taken record (decoded here at once: the RTL decodes the
 *    registered record bits, the same function) with the row it completes; a
 *    row shift register collects C/B - 1 μBs, the row's last μB goes with them
 *    into the output registers, which pulse w_row_load. tile_loaded pulses with
 *    the tile's last row.
 *  - commands queue in a one-entry register (cmd_ready = queue empty); a queued
 *    tile starts in the cycle after the previous tile's last record, or at once
 *    when idle.
 *  - scales: C/4 words shift into scale_q (column 0 ends in bits 7:0), then
 *    scale_valid rises and holds until scale_ready. A following tile with scales
 *    waits in its scale phase while scale_valid is still high; records of the
 *    current tile are not held up by a pending scale set.
 * Every output is a register or a function of registers only (no combinational
 * path from an input to an output).
 */
import { InputError, checkIntRange, checkOneOf } from '../../common/errors.ts';
import { ceilLog2 } from '../../common/bits.ts';
import { resolveConfig, type MsqConfig, type MsqOptions } from '../microscopiq/config.ts';
import type { MsqLayer } from '../microscopiq/layer.ts';
import { decodeOutlier } from '../microscopiq/outlier-code.ts';
import { RecordFields, readRecord, recordLayout, type BitSource } from '../microscopiq/record.ts';
import { laneSettingBits, MODE_CODE } from './recon.ts';
import { reconTopologyModel, type ReconTopology } from './recon-topologies.ts';

export const DECODE_UBLOCKS = [4, 8, 16] as const;
export const DECODE_WBITS = [2, 4] as const;
/** Width of a stream word. */
export const WORD_BITS = 32;
/**
 * Records the unit takes per cycle (`--decode-rate`): full, one per cycle
 * (the length test and the buffer shift in one cycle, the default), or half,
 * at most one per two cycles: the length test, the head's pair count and the
 * buffer's room are registers, so the record loop is one select and one shift
 * (for FPGAs; docs/TIMING_CLOSURE.md, "iCE40").
 */
export const DECODE_RATES = ['full', 'half'] as const;
export type DecodeRate = (typeof DECODE_RATES)[number];
export const DEFAULT_DECODE_RATE: DecodeRate = 'full';

export interface DecodeConfig {
  /** R: PE rows = records per column of a tile */
  rows: number;
  /** C: PE columns, a multiple of B */
  cols: number;
  /** b: slot bits (2 or 4) */
  wbits: number;
  /** B: μB size */
  ublock: number;
  topology: ReconTopology;
  /** false: plain MX-INT build, records are B codes only, no lane settings */
  outliers: boolean;
  /**
   * Further quantizer options (outlier format, xbits, D0, F, maxShift), resolved
   * by quant/microscopiq/config.ts resolveConfig for inlier mxint{b}: the
   * decode unit takes every format parameter from there.
   */
  quant?: Omit<MsqOptions, 'inlier' | 'ublockSize' | 'recon'>;
  /** records per cycle (DECODE_RATES; default full) */
  rate?: DecodeRate;
}

/** Everything the RTL and the models need, derived once from a DecodeConfig. */
export interface DecodeParams {
  config: DecodeConfig;
  msq: MsqConfig;
  rows: number;
  cols: number;
  /** b */
  wbits: number;
  /** B */
  lanes: number;
  topology: ReconTopology;
  outliers: boolean;
  /** records per cycle: full (one) or half (at most one per two cycles) */
  rate: DecodeRate;
  /** C / B: μBs per row */
  ublocks: number;
  /** C / 4: scale words of a tile that has scales */
  scaleWords: number;
  /** outlier element format fields (quant/formats.ts via the quantizer config) */
  ebits: number;
  mbits: number;
  /** L = b - 1 */
  split: number;
  xbits: number;
  /** c in shift = max(e, 1) + X + c */
  shiftConst: number;
  guardBits: number;
  maxShift: number;
  /** SHW: shift field of a lane setting (shiftFieldBits) */
  shiftBits: number;
  /** log2 B: a slot index */
  slotBits: number;
  /** partner field of a pair: the topology's width (crossbar log2 B, butterfly ceil(log2 log2 B)) */
  partnerFieldBits: number;
  /** one pair entry: slotBits + partnerFieldBits */
  pairBits: number;
  /** CFGW: bits of one lane setting */
  cfgBits: number;
  /** longest record (NP = B/2) */
  recordMax: number;
  /** BUFW: bit buffer width */
  bufBits: number;
  /** width of the fill counter (holds 0..BUFW) */
  fillBits: number;
}

/**
 * Width of the shift field of a ReCoN lane setting (SHW, ReconConfig.shiftBits):
 * enough for every merge shift 0..maxShift and for the inlier shift F (the
 * lane applies F from the same shifter), at least one bit. The accelerator top
 * and the tests call this one function.
 */
export function shiftFieldBits(maxShift: number, guardBits: number): number {
  return Math.max(1, ceilLog2(maxShift + 1), ceilLog2(guardBits + 1));
}

/** Quantizer options that reproduce a layer's resolved configuration. */
export function quantOptionsOf(msq: MsqConfig): NonNullable<DecodeConfig['quant']> {
  return { outlier: msq.outlier, xbits: msq.xbits, outlierExpOffset: msq.outlierExpOffset, guardBits: msq.guardBits, maxShift: msq.maxShift };
}

/** The decode configuration matching a quantized layer. */
export function decodeConfigFor(layer: MsqLayer, rows: number, cols: number, outliers = true): DecodeConfig {
  const m = layer.config;
  return { rows, cols, wbits: m.b, ublock: m.ublockSize, topology: m.recon, outliers, quant: quantOptionsOf(m) };
}

export function resolveDecode(c: DecodeConfig): DecodeParams {
  checkIntRange('--rows', c.rows, 2, 64);
  checkOneOf('--wbits', c.wbits, DECODE_WBITS);
  checkOneOf('--ublock', c.ublock, DECODE_UBLOCKS);
  reconTopologyModel(c.topology);
  checkIntRange('--cols', c.cols, c.ublock, 64);
  const rate = checkOneOf('--decode-rate', c.rate ?? DEFAULT_DECODE_RATE, DECODE_RATES);
  if (c.cols % c.ublock !== 0) throw new InputError(`--cols ${c.cols} is not a multiple of the μB size --ublock ${c.ublock}`);
  const msq = resolveConfig({ ...(c.quant ?? {}), inlier: c.wbits === 2 ? 'mxint2' : 'mxint4', ublockSize: c.ublock, recon: c.topology });
  const B = c.ublock;
  const b = c.wbits;
  const slotBits = msq.slotBits;
  const partnerFieldBits = msq.fields.partner;
  const pairBits = slotBits + partnerFieldBits;
  const shiftBits = shiftFieldBits(msq.maxShift, msq.guardBits);
  // NP = B/2: B/2 count bits (no terminating zero), X, B/2 pairs, B codes.
  const recordMax = c.outliers ? B / 2 + msq.xbits + (B / 2) * pairBits + B * b : B * b;
  // Two words of room above the longest record (rounded up to words). The word
  // register drains into the buffer when fill <= BUFW - 32 (judged on registers,
  // before this cycle's step, so that the insertion is off the record loop);
  // BUFW - 32 >= recordMax + 32, so a buffer that cannot take a word holds a
  // whole record, decoded this cycle: short records go at one per cycle, and
  // records of 32 bits or more never leave more than BUFW - 32 bits after a
  // cycle that drained and decoded, so words flow at one per cycle.
  const bufBits = WORD_BITS * Math.ceil(recordMax / WORD_BITS) + 2 * WORD_BITS;
  if (MODE_CODE.inlier !== 0 || MODE_CODE.outlier !== 1 || MODE_CODE.pruned !== 2) {
    throw new Error('internal: the decode unit builds the mode field as {pruned, outlier}');
  }
  return {
    config: c,
    msq,
    rows: c.rows,
    cols: c.cols,
    wbits: b,
    lanes: B,
    topology: c.topology,
    outliers: c.outliers,
    rate,
    ublocks: c.cols / B,
    scaleWords: c.cols / 4,
    ebits: msq.outFmt.ebits,
    mbits: msq.outFmt.mbits,
    split: msq.splitL,
    xbits: msq.xbits,
    shiftConst: msq.shiftConst,
    guardBits: msq.guardBits,
    maxShift: msq.maxShift,
    shiftBits,
    slotBits,
    partnerFieldBits,
    pairBits,
    cfgBits: laneSettingBits({ lanes: B, splitBits: msq.splitL, guardBits: msq.guardBits, shiftBits }),
    recordMax,
    bufBits,
    fillBits: ceilLog2(bufBits + 1),
  };
}

/** Bits of the unary count field for NP pairs. */
export function countFieldBits(p: DecodeParams, np: number): number {
  return np + (np < p.lanes / 2 ? 1 : 0);
}

/** Bits before the codes of a record with NP pairs (count, X, pairs). */
export function headerBits(p: DecodeParams, np: number): number {
  if (!p.outliers) return 0;
  return countFieldBits(p, np) + (np > 0 ? p.xbits + np * p.pairBits : 0);
}

/** Record length with NP pairs. */
export function recordBits(p: DecodeParams, np: number): number {
  return headerBits(p, np) + p.lanes * p.wbits;
}

// ---------------------------------------------------------------------------
// One record as the RTL decodes it (bit patterns, not LaneSettings, so that
// the reserved mode 3 of an illegal, overlapping pairing is representable).

export interface HwRecord {
  /** record length in bits */
  len: number;
  /** B operands, b bits each, slot 0 in the LSBs */
  ops: bigint;
  /** B lane settings, CFGW bits each, slot 0 in the LSBs (0 in plain builds) */
  cfg: bigint;
}

const mask = (w: number): bigint => (1n << BigInt(w)) - 1n;

/** The bits of a record held in a bigint, LSB first (the RTL's view of its bit buffer). */
class BigIntBits implements BitSource {
  pos = 0;
  constructor(private readonly v: bigint) {}
  read(width: number): number {
    const x = Number((this.v >> BigInt(this.pos)) & mask(width));
    this.pos += width;
    return x;
  }
}

/**
 * Decodes the record at the LSBs of `rec` exactly as the RTL: the pair count is
 * the run of ones at bit 0 (at most B/2); each pair marks its outlier and
 * partner slot; a slot takes the OR of what every pair marking it gives (one
 * pair in any legal stream), or its own code when no pair marks it.
 */
export function decodeRecordHw(p: DecodeParams, rec: bigint): HwRecord {
  const B = p.lanes;
  const b = p.wbits;
  const f = readRecord(new BigIntBits(rec), recordLayout(p.msq, !p.outliers), new RecordFields(B));
  const code = (i: number): number => f.codes[i]!;
  let ops = 0n;
  if (!p.outliers) {
    for (let i = 0; i < B; i++) ops |= BigInt(code(i)) << BigInt(i * b);
    return { len: B * b, ops, cfg: 0n };
  }
  const np = f.np;
  const shMask = (1 << p.shiftBits) - 1;
  const opOr = new Array<number>(B).fill(0);
  const isOut = new Array<boolean>(B).fill(false);
  const isPru = new Array<boolean>(B).fill(false);
  const partnerOr = new Array<number>(B).fill(0);
  const shiftOr = new Array<number>(B).fill(0);
  const neg = (v: number): number => (-v) & ((1 << b) - 1);
  const topology = reconTopologyModel(p.topology);
  for (let a = 0; a < np; a++) {
    const o = f.outlier[a]!;
    // the partner slot as the RTL forms it from the field (butterfly: o XOR 2^s in log2 B bits)
    const q = topology.partnerSlotHw(o, f.partnerField[a]!, B);
    const d = decodeOutlier((code(o) << b) | code(q), f.X, p.msq);
    opOr[o]! |= d.sign ? neg(d.hi) : d.hi;
    isOut[o] = true;
    partnerOr[o]! |= q;
    shiftOr[o]! |= d.shift & shMask;
    opOr[q]! |= d.sign ? neg(d.lo) : d.lo;
    isPru[q] = true;
  }
  let cfg = 0n;
  for (let i = 0; i < B; i++) {
    const op = isOut[i] || isPru[i] ? opOr[i]! : code(i);
    const mode = (isOut[i] ? 1 : 0) | (isPru[i] ? 2 : 0);
    const setting = mode | (partnerOr[i]! << 2) | (shiftOr[i]! << (2 + p.slotBits));
    ops |= BigInt(op) << BigInt(i * b);
    cfg |= BigInt(setting) << BigInt(i * p.cfgBits);
  }
  return { len: recordBits(p, np), ops, cfg };
}

// ---------------------------------------------------------------------------
// Cycle-accurate model of the unit.

export interface DecodeInputs extends Record<string, bigint> {
  rst_n: bigint;
  w_data: bigint;
  w_valid: bigint;
  cmd_valid: bigint;
  cmd_scales: bigint;
  scale_ready: bigint;
}

/** Output port values after a clock edge (plain builds have no cfg_row_data). */
export type DecodeOutputs = Record<string, bigint>;

interface State {
  /** the word register (w_q) and its valid bit */
  wq: bigint;
  wqv: boolean;
  buf: bigint;
  fill: number;
  /** this cycle drops the padding after a tile's last record */
  pad: boolean;
  /** rate half: the head record was whole in a cycle that took nothing (it is taken now) */
  recFits: boolean;
  pendV: boolean;
  pendS: boolean;
  tileAct: boolean;
  inScales: boolean;
  scaleCnt: number;
  scaleQ: bigint;
  scaleValid: boolean;
  ubCnt: number;
  /** index of the one-hot row register's set bit */
  row: number;
  /** stage 2: the taken record (decoded), whether it shifts into the row, the row it completes, tile end */
  recV: boolean;
  recOps: bigint;
  recCfg: bigint;
  recLoad: bigint;
  recLast: boolean;
  accOps: bigint;
  accCfg: bigint;
  rowOps: bigint;
  rowCfg: bigint;
  rowLoad: bigint;
  tileLoaded: boolean;
}

function resetState(): State {
  return {
    wq: 0n, wqv: false, buf: 0n, fill: 0, pad: false, recFits: false, recV: false, recOps: 0n, recCfg: 0n, recLoad: 0n, recLast: false, pendV: false, pendS: false, tileAct: false, inScales: false, scaleCnt: 0, scaleQ: 0n, scaleValid: false,
    ubCnt: 0, row: 0, accOps: 0n, accCfg: 0n, rowOps: 0n, rowCfg: 0n, rowLoad: 0n, tileLoaded: false,
  };
}

/** What happened at one clock edge (for the vector generator and tests). */
export interface EdgeEvents {
  wordTaken: boolean;
  cmdTaken: boolean;
  scaleTaken: boolean;
  recordDecoded: boolean;
}

export class DecodeModel {
  private s: State = resetState();
  readonly p: DecodeParams;

  constructor(p: DecodeParams) {
    this.p = p;
  }

  /** The combinational decisions of the current cycle (functions of the registers only). */
  private comb() {
    const p = this.p;
    const s = this.s;
    const rec = decodeRecordHw(p, s.buf & mask(p.recordMax));
    const scaleGo = s.tileAct && s.inScales && !s.pad && !s.scaleValid && s.fill >= WORD_BITS;
    const inRecords = s.tileAct && !s.inScales && !s.pad;
    const recGo = inRecords && (p.rate === 'half' ? s.recFits : s.fill >= rec.len);
    const ubLast = s.ubCnt === p.ublocks - 1;
    const rowDone = recGo && ubLast;
    const tileDone = rowDone && s.row === p.rows - 1;
    // the word register drains when a whole word fits above the bits held now
    const drain = s.wqv && !s.pad && s.fill <= p.bufBits - WORD_BITS;
    return { rec, inRecords, scaleGo, recGo, ubLast, rowDone, tileDone, drain, wReady: !s.wqv || drain };
  }

  /** w_ready before the edge. */
  get wReady(): boolean {
    return this.comb().wReady;
  }

  get cmdReady(): boolean {
    return !this.s.pendV;
  }

  get scaleValid(): boolean {
    return this.s.scaleValid;
  }

  outputs(): DecodeOutputs {
    const s = this.s;
    const o: DecodeOutputs = {
      w_ready: this.wReady ? 1n : 0n,
      cmd_ready: this.cmdReady ? 1n : 0n,
      w_row_data: s.rowOps,
      w_row_load: s.rowLoad,
      scale_data: s.scaleQ,
      scale_valid: s.scaleValid ? 1n : 0n,
      tile_loaded: s.tileLoaded ? 1n : 0n,
    };
    if (this.p.outliers) o.cfg_row_data = s.rowCfg;
    return o;
  }

  /** One clock edge with `inp` applied; returns what the edge did. */
  step(inp: DecodeInputs): EdgeEvents {
    const p = this.p;
    const s = this.s;
    const none: EdgeEvents = { wordTaken: false, cmdTaken: false, scaleTaken: false, recordDecoded: false };
    if (inp.rst_n === 0n) {
      this.s = resetState();
      return none;
    }
    const { rec, inRecords, scaleGo, recGo, ubLast, rowDone, tileDone, drain, wReady } = this.comb();
    const cmdReady = this.cmdReady;
    const start = s.pendV && (!s.tileAct || tileDone);
    const scaleLast = s.scaleCnt === p.scaleWords - 1;
    const cmdFire = inp.cmd_valid === 1n && cmdReady;
    const wTake = inp.w_valid === 1n && wReady;

    // stage 1: the buffer drops the padding, a scale word or the head record; w_q enters above its bits
    const stepBits = s.pad ? s.fill % WORD_BITS : scaleGo ? WORD_BITS : recGo ? rec.len : 0;
    const merged = drain ? s.buf | (s.wq << BigInt(s.fill)) : s.buf;
    const n: State = { ...s };
    n.buf = (merged >> BigInt(stepBits)) & mask(p.bufBits);
    n.fill = s.fill - stepBits + (drain ? WORD_BITS : 0);
    // the tile began on a word and words arrive whole: the bits left in the last word are padding
    n.pad = tileDone && (s.fill - rec.len) % WORD_BITS !== 0;
    // rate half: a cycle that takes nothing tests the head record, which stays the head (only words enter, above it)
    n.recFits = p.rate === 'half' && inRecords && !recGo && s.fill >= rec.len;
    if (wTake) n.wq = inp.w_data & mask(WORD_BITS);
    n.wqv = wTake || (s.wqv && !drain);
    n.pendV = cmdFire || (s.pendV && !start);
    if (cmdFire) n.pendS = inp.cmd_scales === 1n;
    n.tileAct = start || (s.tileAct && !tileDone);
    n.inScales = start ? s.pendS : scaleGo && scaleLast ? false : s.inScales;
    if (scaleGo) {
      n.scaleCnt = scaleLast ? 0 : s.scaleCnt + 1;
      const word = s.buf & mask(WORD_BITS);
      n.scaleQ = p.scaleWords > 1 ? (word << BigInt(p.cols * 8 - WORD_BITS)) | (s.scaleQ >> BigInt(WORD_BITS)) : word;
    }
    n.scaleValid = (scaleGo && scaleLast) || (s.scaleValid && inp.scale_ready !== 1n);
    const ubW = BigInt(p.lanes * p.wbits);
    const ubC = BigInt(p.lanes * p.cfgBits);
    const accW = BigInt((p.ublocks - 1) * p.lanes * p.wbits);
    const accC = BigInt((p.ublocks - 1) * p.lanes * p.cfgBits);
    if (recGo) {
      n.ubCnt = ubLast ? 0 : s.ubCnt + 1;
      n.recOps = rec.ops;
      n.recCfg = rec.cfg;
    }
    if (rowDone) n.row = (s.row + 1) % p.rows;
    n.recV = recGo;
    n.recLoad = rowDone ? 1n << BigInt(s.row) : 0n;
    n.recLast = tileDone;
    // stage 2: the registered record shifts into the row (the newest μB enters at the top) or completes it
    if (s.recV && p.ublocks > 1) {
      n.accOps = (s.recOps << (accW - ubW)) | (s.accOps >> ubW);
      n.accCfg = (s.recCfg << (accC - ubC)) | (s.accCfg >> ubC);
    }
    if (s.recLoad !== 0n) {
      n.rowOps = (s.recOps << accW) | s.accOps;
      n.rowCfg = p.outliers ? (s.recCfg << accC) | s.accCfg : 0n;
    }
    n.rowLoad = s.recLoad;
    n.tileLoaded = s.recLast;
    this.s = n;
    return { wordTaken: wTake, cmdTaken: cmdFire, scaleTaken: s.scaleValid && inp.scale_ready === 1n, recordDecoded: recGo };
  }
}
