/**
 * Cycle-accurate model of the post-array unit (generator/blocks/post-array.ts),
 * register for register: the same buffers with the same read and write edges,
 * the same 2-entry scale FIFO, the same pipeline (the beat's registers, the
 * int->fp32 stages, the adder stages) and the same registered result row.
 * Arithmetic in BigInt two's complement (the INTW accumulator wraps as the
 * hardware would) and in binary32 bits via quant/hwmodel/fp32.ts
 * (intToFp32Bits, fp32AddBits), the arithmetic reference of the FP32 units.
 *
 * Timeline of a beat presented in cycle 0 (edge k ends cycle k):
 *   edge 0       ibuf read (read-first: not the word written at the same
 *                edge), S_w + S_x from the scale FIFO head, the FIFO pop
 *   edge 1       acc = (first_ktile ? 0 : ibuf word) + col_sum, E registered
 *   edge 2       ibuf written (without last_ktile); int->fp32 runs in
 *                cycles 2 .. C + 1 (C = convert stages)
 *   edge C + 1   the term is registered; fbuf read, write-first (the word
 *                written at the same edge is seen), +0 for the first group
 *   edge C+A+1   (A = adder stages) y = fbuf word + term registered
 *   edge C+A+2   y written to fbuf; with last_group the row is finished
 *   edge C+A+3   the finished row is read out of fbuf into row_data (at once
 *                when the output register is empty or taken: row_ready)
 *   cycle C+A+4  row_valid: latency = C + A + 4
 * Two beats of one row must be at least revisitGap = max(3, A + 1) cycles apart.
 * Finished rows are read out in the order they finished; the read-out address
 * goes back to row 0 after a row that was the last of its pass (last_beat).
 * row_free/row_free_addr say, the cycle after, which row was read out.
 *
 * Usage: `step(inputs)` applies one rising clock edge with the inputs held
 * during the cycle and returns the outputs after the edge (what the cycle
 * harness compares). `outputs` are the current outputs (after the last edge),
 * e.g. scale_ready, which a driver must look at before deciding a push.
 *
 * The model refuses what the hardware does not define (a protocol error): a
 * beat of a row closer than revisitGap cycles to the previous beat of that row
 * (a read-after-write hazard), a beat that starts a new pass's fbuf word
 * (first_group with last_ktile) while the row's previous result is still to
 * be read out (it would be overwritten; the controller waits for row_free),
 * reading a buffer word that was never written
 * (the RAM is not reset: X in simulation), a last_ktile beat with an empty
 * scale FIFO, a column sum outside ACCW bits, a scale code outside 0..255, a
 * row address beyond D. Reset (rst_n low) drops the beats in flight and the
 * finished rows not yet read out, and clears the FIFO, the output register
 * and the row history; the buffers keep their words (and take the writes of
 * the reset edge, as the RAMs do: their write enables are registers only).
 */
import { wrapSigned } from '../../common/bits.ts';
import { intToFp32Bits, fp32AddBits } from './fp32.ts';

/** Pipeline stages of the RTL: int->fp32 (INT2FP_STAGES) and the fp32 adder (FP32_ADD_STAGES). */
export interface PostArrayStages {
  convert: number;
  add: number;
}

/** The stages of generator/blocks/int-to-fp32.ts and fp32-add.ts (test/post-array.test.ts checks they agree). */
export const POST_ARRAY_STAGES: PostArrayStages = { convert: 5, add: 6 };

export interface PostArrayModelParams {
  cols: number;
  accWidth: number;
  intWidth: number;
  /** rows of an M-chunk (beat_addr < depth) */
  depth: number;
  expOffset: number;
  /** default POST_ARRAY_STAGES */
  stages?: PostArrayStages;
}

/** Latency (a beat's edge to row_valid of its row, row_ready high) and the least distance of two beats of one row. */
export function postArrayModelTiming(stages: PostArrayStages = POST_ARRAY_STAGES): { latency: number; revisitGap: number } {
  return { latency: 4 + stages.convert + stages.add, revisitGap: Math.max(3, stages.add + 1) };
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
  /** row_ready: the consumer takes row_data this cycle (omitted: true) */
  rowReady?: boolean;
}

export interface PostArrayOutputs {
  scaleReady: boolean;
  rowValid: boolean;
  /** C binary32 bit patterns (row_data), held until the next row is read out */
  rowData: number[];
  /** row_free: a row was read out of fbuf at the last edge */
  rowFree: boolean;
  /** row_free_addr: the read-out address before the last edge (the row read out, with rowFree) */
  rowFreeAddr: number;
}

/** A beat in flight: what its stage registers hold. */
interface InFlight {
  beat: PostArrayBeat;
  /** E = S_w + S_x - EOFF of each column (exp_q) */
  exps: number[];
  /** ibuf word read at edge 0 (ibuf_rd_q); undefined: never written */
  ibufRd: bigint[] | undefined;
  /** the integer sums, from edge 1 on (acc_q) */
  acc?: bigint[];
  /** int->fp32 results, from edge 1 on (last_ktile beats) */
  term?: number[];
  /** the adder's sums, from edge C on */
  y?: number[];
}

export class PostArrayModel {
  private ibuf: (bigint[] | undefined)[];
  private fbuf: (number[] | undefined)[];
  private fifo: number[][] = [];
  /** pipe[k]: the beat in cycle k + 1 of its timeline (after its edge k), or null; from pipe[2] on only last_ktile beats */
  private pipe: (InFlight | null)[];
  private rowValid = false;
  private rowData: number[];
  /** the read-out side: rows finished and still in fbuf, the next row to read out, row_last, row_free */
  private finCount = 0;
  private outAddr = 0;
  private rowLast: boolean[];
  private rowFree = false;
  private rowFreeAddr = 0;
  /** rows whose result is promised (their last group's last K-tile entered) and not yet read out */
  private owed = new Set<number>();
  /** cycle of the last beat of each row since the last reset */
  private lastVisit = new Map<number, number>();
  private cycle = 0;
  readonly stages: PostArrayStages;
  readonly latency: number;
  readonly revisitGap: number;
  /** rows output so far, in order */
  readonly rows: { addr: number; data: number[] }[] = [];
  /** scale words accepted / beats that popped the FIFO, for the tests' coverage checks */
  pushes = 0;
  pops = 0;

  constructor(readonly p: PostArrayModelParams) {
    if (p.intWidth < p.accWidth) throw new RangeError(`intWidth ${p.intWidth} < accWidth ${p.accWidth}`);
    this.stages = p.stages ?? POST_ARRAY_STAGES;
    if (this.stages.convert < 1 || this.stages.add < 1) throw new RangeError(`stages ${JSON.stringify(this.stages)}: at least 1 each`);
    ({ latency: this.latency, revisitGap: this.revisitGap } = postArrayModelTiming(this.stages));
    this.ibuf = new Array(p.depth).fill(undefined);
    this.fbuf = new Array(p.depth).fill(undefined);
    // edges 0 .. C + A + 1 of a beat's timeline; its fbuf write is the edge after the last
    this.pipe = new Array<InFlight | null>(2 + this.stages.convert + this.stages.add).fill(null);
    this.rowData = new Array<number>(p.cols).fill(0);
    this.rowLast = new Array<boolean>(p.depth).fill(false);
  }

  /** Outputs now (after the last clock edge). */
  get outputs(): PostArrayOutputs {
    return { scaleReady: this.fifo.length < 2, rowValid: this.rowValid, rowData: [...this.rowData], rowFree: this.rowFree, rowFreeAddr: this.rowFreeAddr };
  }

  /** The row's previous result is still to be read out: a new pass must not start its fbuf word yet. */
  owes(addr: number): boolean {
    return this.owed.has(addr);
  }

  /** Entries in the scale FIFO now. */
  get scaleCount(): number {
    return this.fifo.length;
  }

  /** Beats in flight now (in the pipeline's stages). */
  get inFlight(): number {
    return this.pipe.filter((x) => x !== null).length;
  }

  /** Cycles until a beat of row `addr` may be presented (0: now). */
  waitFor(addr: number): number {
    const last = this.lastVisit.get(addr);
    return last === undefined ? 0 : Math.max(0, last + this.revisitGap - this.cycle);
  }

  /** One rising clock edge; returns the outputs after it. */
  step(inp: PostArrayCycleInputs): PostArrayOutputs {
    const p = this.p;
    const now = this.cycle;
    if (!inp.rstN) {
      this.cycle++;
      // Synchronous reset: every stage's valid bit clears, so the beats in flight are dropped.
      // The buffer writes of the reset edge itself still happen (the RAMs' write enables come
      // from stage registers, not from rst_n); no later read sees those words as data, since
      // every row starts over from 0 and +0. The buffers (RAMs) keep their words.
      this.applyRamWrites(this.ramWrites());
      this.fifo = [];
      this.pipe.fill(null);
      this.lastVisit.clear();
      this.rowValid = false;
      this.rowData = new Array<number>(p.cols).fill(0);
      this.finCount = 0;
      this.outAddr = 0;
      this.rowFree = false;
      this.rowFreeAddr = 0;
      this.owed.clear();
      return this.outputs;
    }
    const C = this.stages.convert;
    const ready = this.fifo.length < 2;
    const b = inp.beat;
    if (b) this.checkBeat(b, now);
    this.cycle++;

    const writes = this.ramWrites();
    const fbufWrite = writes.fbuf;
    // edge 1 (pipe[0]): the integer sums (acc_q); int->fp32 of the last K-tile's
    const acc = this.pipe[0] ?? null;
    if (acc) {
      acc.acc = acc.beat.colSum.map((s, c) => wrapSigned((acc.beat.firstKtile ? 0n : acc.ibufRd![c]!) + s, p.intWidth));
      if (acc.beat.lastKtile) acc.term = acc.acc.map((v, c) => intToFp32Bits(v, acc.exps[c]!));
    }
    const writing = this.pipe[1] ?? null;
    // edge C + 1 (pipe[C]): the term is registered and fbuf read, write-first, +0 for the first group
    const adding = this.pipe[C] ?? null;
    if (adding?.beat.lastKtile) {
      const rd = fbufWrite && fbufWrite.addr === adding.beat.addr ? fbufWrite.y : this.fbuf[adding.beat.addr];
      if (!adding.beat.firstGroup && !rd) throw new Error(`protocol: row ${adding.beat.addr} continues over groups but its binary32 accumulators were never written`);
      adding.y = adding.term!.map((t, c) => fp32AddBits(adding.beat.firstGroup ? 0 : rd![c]!, t));
    }
    // edge 0: the entering beat reads ibuf (read-first), takes E from the FIFO head, pops
    let entering: InFlight | null = null;
    let pop = false;
    if (b) {
      const ibufRd = this.ibuf[b.addr];
      if (!b.firstKtile && !ibufRd) throw new Error(`protocol: row ${b.addr} continues a group but its integer accumulators were never written`);
      let exps: number[] = [];
      if (b.lastKtile) {
        const head = this.fifo[0];
        if (!head) throw new Error('protocol: a last_ktile beat with an empty scale FIFO');
        exps = head.map((s) => s + b.sx - p.expOffset);
        pop = b.lastBeat;
      }
      entering = { beat: b, exps, ibufRd: ibufRd ? [...ibufRd] : undefined };
      this.lastVisit.set(b.addr, now);
      if (b.lastKtile && b.lastGroup) this.owed.add(b.addr);
    }

    // the read-out port: a finished row waits and the output register is empty or taken at this edge
    const rowReady = inp.rowReady ?? true;
    const readOut = this.finCount > 0 && (!this.rowValid || rowReady);
    let readRow: { addr: number; data: number[]; last: boolean } | null = null;
    if (readOut) {
      const data = this.fbuf[this.outAddr];
      if (!data) throw new Error(`model: read-out of row ${this.outAddr}, never written`);
      readRow = { addr: this.outAddr, data: [...data], last: this.rowLast[this.outAddr]! };
    }

    // the edge: buffer writes, FIFO, stage registers, read-out
    this.applyRamWrites(writes);
    if (pop) {
      this.fifo.shift();
      this.pops++;
    }
    if (inp.scale && ready) {
      if (inp.scale.length !== p.cols || inp.scale.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new RangeError(`scale word ${inp.scale} is not ${p.cols} codes 0..255`);
      this.fifo.push([...inp.scale]);
      this.pushes++;
    }
    // only last_ktile beats go on past the ibuf write
    this.pipe = [entering, acc, writing?.beat.lastKtile ? writing : null, ...this.pipe.slice(2, -1)];
    const finished = fbufWrite?.finished ?? false;
    this.finCount += (finished ? 1 : 0) - (readOut ? 1 : 0);
    this.rowFree = readOut;
    this.rowFreeAddr = this.outAddr;
    if (readRow) {
      this.outAddr = readRow.last ? 0 : (this.outAddr + 1) % Math.max(2, p.depth);
      this.rowValid = true;
      this.rowData = readRow.data;
      this.rows.push({ addr: readRow.addr, data: [...readRow.data] });
      this.owed.delete(readRow.addr);
    } else if (rowReady) {
      this.rowValid = false;
    }
    return this.outputs;
  }

  /**
   * The RAM writes of the coming edge, from the stage registers alone (the RTL's
   * write enables are stage registers, so a reset edge makes them too):
   * edge 2 (pipe[1]) writes ibuf inside a group; edge C + A + 2 (the last stage)
   * writes the sum to fbuf, and with the last group finishes the row (row_last).
   */
  private ramWrites(): { ibuf: { addr: number; acc: bigint[] } | null; fbuf: { addr: number; y: number[]; finished: boolean; lastBeat: boolean } | null } {
    const writing = this.pipe[1] ?? null;
    const done = this.pipe.at(-1) ?? null;
    return {
      ibuf: writing && !writing.beat.lastKtile ? { addr: writing.beat.addr, acc: writing.acc! } : null,
      fbuf: done ? { addr: done.beat.addr, y: done.y!, finished: done.beat.lastGroup, lastBeat: done.beat.lastBeat } : null,
    };
  }

  private applyRamWrites(w: ReturnType<PostArrayModel['ramWrites']>): void {
    if (w.ibuf) this.ibuf[w.ibuf.addr] = w.ibuf.acc;
    if (w.fbuf) {
      this.fbuf[w.fbuf.addr] = [...w.fbuf.y];
      if (w.fbuf.finished) this.rowLast[w.fbuf.addr] = w.fbuf.lastBeat;
    }
  }

  private checkBeat(b: PostArrayBeat, now: number): void {
    const p = this.p;
    if (!Number.isInteger(b.addr) || b.addr < 0 || b.addr >= p.depth) throw new RangeError(`beat_addr ${b.addr} outside 0..${p.depth - 1}`);
    if (b.colSum.length !== p.cols) throw new RangeError(`${b.colSum.length} column sums for ${p.cols} columns`);
    if (!Number.isInteger(b.sx) || b.sx < 0 || b.sx > 255) throw new RangeError(`sx code ${b.sx} outside 0..255`);
    const lim = 1n << BigInt(p.accWidth - 1);
    for (const s of b.colSum) if (s < -lim || s >= lim) throw new RangeError(`column sum ${s} does not fit ${p.accWidth} signed bits`);
    if (b.firstGroup && b.lastKtile && this.owed.has(b.addr)) {
      throw new Error(`protocol: a new pass writes row ${b.addr} while its previous result is still to be read out (wait for row_free)`);
    }
    const last = this.lastVisit.get(b.addr);
    if (last !== undefined && now - last < this.revisitGap) {
      throw new Error(`protocol: a beat of row ${b.addr} ${now - last} cycle(s) after the previous one; the revisit gap is ${this.revisitGap}`);
    }
  }
}
