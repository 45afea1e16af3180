/**
 * Cycle-accurate model of the post-array unit (generator/blocks/post-array.ts),
 * register for register: the same buffers, the same 2-entry scale FIFO and the
 * same one-cycle registered result row. Arithmetic in BigInt two's complement
 * (the INTW accumulator wraps as the hardware would) and in binary32 bits via
 * quant/hwmodel/fp32.ts (intToFp32Bits, fp32AddBits).
 *
 * Usage: `step(inputs)` applies one rising clock edge with the inputs held
 * during the cycle and returns the outputs after the edge (what the cycle
 * harness compares). `outputs` are the current outputs (after the last edge),
 * e.g. scale_ready, which a driver must look at before deciding a push.
 *
 * The model refuses what the hardware does not define (a protocol error):
 * reading a buffer word that was never written (the RAM is not reset: X in
 * simulation), a last_ktile beat with an empty scale FIFO, a column sum
 * outside ACCW bits, a scale code outside 0..255, a row address beyond D.
 */
import { wrapSigned } from '../../common/bits.ts';
import { intToFp32Bits, fp32AddBits } from './fp32.ts';

export interface PostArrayModelParams {
  cols: number;
  accWidth: number;
  intWidth: number;
  /** rows of an M-chunk (beat_addr < depth) */
  depth: number;
  expOffset: number;
}

/** The beat fields of one cycle (beat_valid = 1). */
export interface PostArrayBeat {
  addr: number;
  firstKtile: boolean;
  lastKtile: boolean;
  firstGroup: boolean;
  lastGroup: boolean;
  lastBeat: boolean;
  /** E8M0 code of S_x */
  sx: number;
  /** C signed column sums */
  colSum: bigint[];
}

export interface PostArrayCycleInputs {
  /** false: reset this cycle (rst_n low) */
  rstN: boolean;
  /** the beat, or null for a bubble (beat_valid = 0) */
  beat: PostArrayBeat | null;
  /** scale_valid with scale_data (C E8M0 codes), or null for scale_valid = 0 */
  scale: number[] | null;
}

export interface PostArrayOutputs {
  scaleReady: boolean;
  rowValid: boolean;
  /** C binary32 bit patterns (row_data), held between rows */
  rowData: number[];
}

export class PostArrayModel {
  private ibuf: (bigint[] | undefined)[];
  private fbuf: (number[] | undefined)[];
  private fifo: number[][] = [];
  private rowValid = false;
  private rowData: number[];
  /** rows output so far, in order */
  readonly rows: { addr: number; data: number[] }[] = [];
  /** scale words accepted / beats that popped the FIFO, for the tests' coverage checks */
  pushes = 0;
  pops = 0;

  constructor(readonly p: PostArrayModelParams) {
    if (p.intWidth < p.accWidth) throw new RangeError(`intWidth ${p.intWidth} < accWidth ${p.accWidth}`);
    this.ibuf = new Array(p.depth).fill(undefined);
    this.fbuf = new Array(p.depth).fill(undefined);
    this.rowData = new Array<number>(p.cols).fill(0);
  }

  /** Outputs now (after the last clock edge). */
  get outputs(): PostArrayOutputs {
    return { scaleReady: this.fifo.length < 2, rowValid: this.rowValid, rowData: [...this.rowData] };
  }

  /** Entries in the scale FIFO now. */
  get scaleCount(): number {
    return this.fifo.length;
  }

  /** The binary32 value y = (first_group ? +0 : fbuf) + int2fp32(acc, E) of one column, and acc. */
  static columnStep(prevInt: bigint | null, colSum: bigint, prevFp: number | null, exponent: number, intWidth: number): { acc: bigint; term: number; y: number } {
    const acc = wrapSigned((prevInt ?? 0n) + colSum, intWidth);
    const term = intToFp32Bits(acc, exponent);
    return { acc, term, y: fp32AddBits(prevFp ?? 0, term) };
  }

  /** One rising clock edge; returns the outputs after it. */
  step(inp: PostArrayCycleInputs): PostArrayOutputs {
    const p = this.p;
    if (!inp.rstN) {
      // Synchronous reset: registers clear; the buffers (RAMs) keep their words.
      this.fifo = [];
      this.rowValid = false;
      this.rowData = new Array<number>(p.cols).fill(0);
      return this.outputs;
    }
    const ready = this.fifo.length < 2;
    const b = inp.beat;
    let rowOut: number[] | null = null;
    let pop = false;
    if (b) {
      if (!Number.isInteger(b.addr) || b.addr < 0 || b.addr >= p.depth) throw new RangeError(`beat_addr ${b.addr} outside 0..${p.depth - 1}`);
      if (b.colSum.length !== p.cols) throw new RangeError(`${b.colSum.length} column sums for ${p.cols} columns`);
      if (!Number.isInteger(b.sx) || b.sx < 0 || b.sx > 255) throw new RangeError(`sx code ${b.sx} outside 0..255`);
      const lim = 1n << BigInt(p.accWidth - 1);
      for (const s of b.colSum) if (s < -lim || s >= lim) throw new RangeError(`column sum ${s} does not fit ${p.accWidth} signed bits`);
      const prevInts = b.firstKtile ? null : this.ibuf[b.addr];
      if (!b.firstKtile && !prevInts) throw new Error(`protocol: row ${b.addr} continues a group but its integer accumulators were never written`);
      if (b.lastKtile) {
        const head = this.fifo[0];
        if (!head) throw new Error('protocol: a last_ktile beat with an empty scale FIFO');
        const prevFps = b.firstGroup ? null : this.fbuf[b.addr];
        if (!b.firstGroup && !prevFps) throw new Error(`protocol: row ${b.addr} continues over groups but its binary32 accumulators were never written`);
        const ys = b.colSum.map((s, c) => PostArrayModel.columnStep(prevInts?.[c] ?? null, s, prevFps?.[c] ?? null, head[c]! + b.sx - p.expOffset, p.intWidth).y);
        this.fbuf[b.addr] = ys;
        if (b.lastGroup) rowOut = ys;
        pop = b.lastBeat;
      } else {
        this.ibuf[b.addr] = b.colSum.map((s, c) => wrapSigned((prevInts?.[c] ?? 0n) + s, p.intWidth));
      }
    }
    // Scale FIFO: push if there was room before the edge; pop by the group's last beat.
    if (pop) {
      this.fifo.shift();
      this.pops++;
    }
    if (inp.scale && ready) {
      if (inp.scale.length !== p.cols || inp.scale.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`scale word ${inp.scale} is not ${p.cols} codes 0..255`);
      this.fifo.push([...inp.scale]);
      this.pushes++;
    }
    this.rowValid = rowOut !== null;
    if (rowOut) {
      this.rowData = [...rowOut];
      this.rows.push({ addr: b!.addr, data: [...rowOut] });
    }
    return this.outputs;
  }
}
