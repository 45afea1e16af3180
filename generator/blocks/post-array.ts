import { ParamConst, lit, mux, type Signal } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { Layout } from '../dsl/struct.ts';
import type { Dim } from '../dsl/dim.ts';
import { InputError, checkIntRange } from '../../common/errors.ts';
import { ceilLog2 } from '../../common/bits.ts';
import { intToFp32, INT2FP_INTW_MAX, INT2FP_STAGES } from './int-to-fp32.ts';
import { fp32Add, FP32_ADD_STAGES } from './fp32-add.ts';
import { adderStyleSuffix, styledAdd, DEFAULT_ADDER_STYLE, type AdderStyle } from './fp32-common.ts';

/*
 * post-array unit: the arithmetic across K-tiles and groups
 * (docs/ARITHMETIC.md §3-4, docs/ARCHITECTURE.md "Post-array unit").
 *
 * The PE array delivers, per beat (row m of the M-chunk, one K-tile), C exact
 * column sums. Per beat and column c:
 *
 *   acc = (first_ktile ? 0 : ibuf[m][c]) + sext(col_sum[c])       exact integer, INTW bits
 *   if !last_ktile:  ibuf[m][c] = acc                              (the group goes on)
 *   if  last_ktile:  t = int2fp32(acc, S_w[c] + S_x - EOFF)        one RNE rounding
 *                    y = (first_group ? +0 : fbuf[m][c]) + t       binary32 add, RNE
 *                    fbuf[m][c] = y;  with last_group, y is the result
 *
 * Pipeline (a fixed-latency flow: no stall inside; C = INT2FP_STAGES
 * = 5, A = FP32_ADD_STAGES = 6). A beat presented in cycle 0 (edge k ends
 * cycle k):
 *
 *   edge 0       the beat's registers: flags and row (acc_meta_q), column
 *                sums (col_sum_q), S_w - EOFF of each column from the scale
 *                FIFO head (sw_off_q) and S_x (sx_q); the registered read of
 *                ibuf at beat_addr (ibuf_rd_q, 0 for a first K-tile)
 *   cycle 1      integer accumulation (a Kogge-Stone adder) and E = S_w + S_x
 *                - EOFF; the sums (acc_q) go to int->fp32 and, inside a
 *                group, to the ibuf write data
 *   edge 2       ibuf written
 *   cycles 2..   int->fp32 (int-to-fp32.ts), its result registered at edge
 *      C + 1     C + 1 = 6, where fbuf is read at the beat's row (fbuf_rd_q,
 *                write-first: it sees the word written at the same edge; +0
 *                for the first group)
 *   cycles 7..   the fp32 adder (fp32-add.ts), its sum registered at edge
 *      C + A + 1 C + A + 1 = 12
 *   edge 13      fbuf written with the sum; with the last group the row is
 *                finished (fin_count counts it)
 *   edge 14      the read-out port reads it into row_data (out_data_q), at
 *                once when the output register is free
 *   cycle 15     row_valid/row_data: latency 4 + C + A = 15 (postArrayTiming)
 *
 * The flags and row of a last_ktile beat ride the stage registers
 * cvt<k>_meta_q (int->fp32 stage k), add<k>_meta_q (adder stage k) and
 * wr_meta_q (the fbuf write).
 *
 * Revisit gap: the read-modify-write of a row spans edges 0-2 (ibuf:
 * read-first at edge 0, written at edge 2) and edges 6-13 (fbuf). A beat of
 * the same row 7 cycles later reads fbuf at edge 13, where the write-first
 * port passes it the sum written then. So two beats of one row must be at
 * least max(3, A + 1) = 7 cycles apart (revisitGap); the controller spaces
 * them. Beats of other rows may follow every cycle.
 * Results: a finished row stays in fbuf until the read-out port takes it
 * (rows in the order they finished); row_valid/row_data are a valid/ready
 * stream (row_ready), and row_free/row_free_addr name each row read out. The
 * unit does not check the one rule this leaves to the controller: a beat that
 * writes fbuf for a new pass (first_group with last_ktile) waits until the
 * row's previous result was read out (row_free). So a consumer that holds
 * row_ready low stalls the next pass, never the pipeline.
 * A bubble (beat_valid = 0) writes nothing, pops nothing and outputs nothing.
 * Reset (rst_n low, synchronous) clears every stage's valid bit: beats in
 * flight are dropped; finished rows not yet read out are dropped too (the
 * output register empties, the read-out starts again at row 0); the buffers
 * (RAMs) keep their words. Their write enables are stage registers only, so
 * the writes of the reset edge itself happen: no later read takes those words
 * as data (every row starts over from 0 and +0).
 *
 * Group scales: a 2-entry FIFO of C E8M0 codes (column c in bits [8c +: 8]).
 * Its head serves the group the beats belong to; the beat with last_ktile and
 * last_beat (the group's last beat) pops it at its own edge 0. The head must
 * have been pushed before the first last_ktile beat of its group (no bypass
 * from scale_data, which keeps scale_valid off the datapath); scale_ready =
 * fewer than 2 entries, from registers only. The scales each beat needs are
 * taken from the head at edge 0 and carried down the pipeline (sw_off_q,
 * exp_q, then inside int->fp32), so the FIFO's protocol at the ports is that
 * of a single-cycle unit.
 *
 * The exponent E = S_w + S_x - EOFF of each column is computed in EXPW = 10
 * bits: codes 0..255 give E in [-EOFF, 510 - EOFF], inside [-512, 511] for
 * EOFF in 0..512 (the builds have EOFF = 254 + (b-2) + F + (a-2) in 256..268).
 * E8M0 code 255 is not treated as NaN: the quantizers never emit it.
 */

export const POST_ARRAY_EXPW = 10;

export interface PostArrayConfig {
  /** C: columns (outputs per tile) */
  cols: number;
  /** ACCW: width of one signed column sum */
  accWidth: number;
  /** INTW: within-group accumulator width, >= ACCW (postArrayIntWidth) */
  intWidth: number;
  /** D: rows of one M-chunk (buffer depth), a power of two; D = 1 builds 2-word buffers with a 1-bit address */
  depth: number;
  /** EOFF: E = S_w + S_x - EOFF, 254 + (b-2) + F + (a-2) (postArrayExpOffset) */
  expOffset: number;
  /** how the integer accumulation and the fp32 adders' wide adds are built (default prefix; carry for FPGAs) */
  adders?: AdderStyle;
}

/** INTW = ACCW + ceil(log2(G/R)): the sum of the G/R column sums of one group never wraps. */
export function postArrayIntWidth(accWidth: number, groupSize: number, rows: number): number {
  if (groupSize % rows !== 0) throw new InputError(`group size ${groupSize} is not a multiple of rows ${rows}`);
  return accWidth + ceilLog2(groupSize / rows);
}

/** EOFF = 254 + (b-2) + F + (a-2): the two E8M0 biases and the fixed-point scales of the operands. */
export function postArrayExpOffset(wbits: number, abits: number, guardBits: number): number {
  return 254 + (wbits - 2) + guardBits + (abits - 2);
}

/** Words of each buffer (at least 2) and the row address width log2(words). */
export function postArrayBufferShape(depth: number): { words: number; addrWidth: number } {
  const words = Math.max(2, depth);
  return { words, addrWidth: Math.log2(words) };
}

/** The unit's timing, which the controller spaces its beats by. */
export interface PostArrayTiming {
  /** cycles from a beat (its edge) to row_valid of the row it finishes, when the output is not held back (row_ready high) */
  latency: number;
  /** the least distance in cycles between two beats with the same beat_addr (the controller spaces them) */
  revisitGap: number;
}

/**
 * Cycles a row's ibuf word needs between a read and the next read of the same
 * row: read-first at the beat's edge 0, written at edge 2.
 */
const IBUF_REVISIT = 3;

/**
 * The beat's registers (edge 0), the integer accumulation (edge 1), the
 * int->fp32 pipeline (its result registered), the adder pipeline (its sum
 * registered), the fbuf write of the sum, the read of the finished row out of
 * fbuf into the output register, then row_valid: latency 4 + INT2FP_STAGES +
 * FP32_ADD_STAGES. fbuf is read (write-first) at the edge the term is
 * registered and written FP32_ADD_STAGES + 1 edges later; ibuf is read at
 * edge 0 and written at edge 2.
 */
export function postArrayTiming(_c: PostArrayConfig): PostArrayTiming {
  return { latency: 4 + INT2FP_STAGES + FP32_ADD_STAGES, revisitGap: Math.max(IBUF_REVISIT, FP32_ADD_STAGES + 1) };
}

/** The flags and row of a beat in its first stage (cycle 1: integer accumulation). */
function accMetaLayout(addrBits: Dim): Layout<'valid' | 'last_ktile' | 'first_group' | 'last_group' | 'last_beat' | 'addr'> {
  return new Layout('beat in the accumulation stage', [
    { name: 'valid', width: 1, doc: 'a beat (not a bubble)' },
    { name: 'last_ktile', width: 1 },
    { name: 'first_group', width: 1 },
    { name: 'last_group', width: 1 },
    { name: 'last_beat', width: 1, doc: 'the last row of its M-chunk' },
    { name: 'addr', width: addrBits, doc: 'row m' },
  ]);
}

/** The ibuf write of a beat, one cycle after its accumulation. */
function ibufWriteLayout(addrBits: Dim): Layout<'we' | 'addr'> {
  return new Layout('ibuf write', [
    { name: 'we', width: 1, doc: 'a beat inside its group' },
    { name: 'addr', width: addrBits, doc: 'row m' },
  ]);
}

/** What a last_ktile beat carries through the int->fp32 stages into the adder. */
function cvtMetaLayout(addrBits: Dim): Layout<'valid' | 'first_group' | 'last_group' | 'last_beat' | 'addr'> {
  return new Layout('beat in an int->fp32 stage', [
    { name: 'valid', width: 1, doc: 'a last_ktile beat' },
    { name: 'first_group', width: 1 },
    { name: 'last_group', width: 1 },
    { name: 'last_beat', width: 1, doc: 'the last row of its M-chunk' },
    { name: 'addr', width: addrBits, doc: 'row m' },
  ]);
}

/** What it carries through the later adder stages. */
function addMetaLayout(addrBits: Dim): Layout<'valid' | 'last_group' | 'last_beat' | 'addr'> {
  return new Layout('beat in an adder stage', [
    { name: 'valid', width: 1, doc: 'a last_ktile beat' },
    { name: 'last_group', width: 1 },
    { name: 'last_beat', width: 1, doc: 'the last row of its M-chunk' },
    { name: 'addr', width: addrBits, doc: 'row m' },
  ]);
}

export function checkPostArrayConfig(c: PostArrayConfig): void {
  checkIntRange('post-array columns', c.cols, 1, 64);
  checkIntRange('post-array column-sum width', c.accWidth, 2, INT2FP_INTW_MAX);
  checkIntRange('post-array accumulator width', c.intWidth, c.accWidth, INT2FP_INTW_MAX);
  checkIntRange('post-array depth', c.depth, 1, 65536);
  if ((c.depth & (c.depth - 1)) !== 0) throw new InputError(`post-array depth ${c.depth} is not a power of two`);
  checkIntRange('post-array exponent offset', c.expOffset, 0, 2 ** (POST_ARRAY_EXPW - 1));
}

export function postArrayModuleName(c: PostArrayConfig): string {
  return `msq_post_array_c${c.cols}_a${c.accWidth}_i${c.intWidth}_d${c.depth}_eo${c.expOffset}${adderStyleSuffix(c.adders)}`;
}

export function postArray(c: PostArrayConfig): ModuleDef {
  checkPostArrayConfig(c);
  const shape = postArrayBufferShape(c.depth);
  const int2fp = intToFp32({ intWidth: c.intWidth, expWidth: POST_ARRAY_EXPW });
  const adders = c.adders ?? DEFAULT_ADDER_STYLE;
  const adder = fp32Add({ adders });
  const timing = postArrayTiming(c);
  /** cycles (after the beat's cycle 0) whose edge writes ibuf, registers the term, registers the sum, writes it */
  const IBUF_WRITE = 2;
  const CVT_END = 1 + INT2FP_STAGES;
  const ADD_END = CVT_END + FP32_ADD_STAGES;
  const FBUF_WRITE = ADD_END + 1;
  const doc =
    `post-array unit for ${c.cols} columns: integer accumulation over the K-tiles of a group, int->fp32 with the group exponent, ` +
    `fp32 accumulation over groups (${c.depth} rows); a ${timing.latency}-cycle pipeline, rows revisited ${timing.revisitGap} cycles apart`;
  return defineModule(postArrayModuleName(c), doc, { block: 'post-array', ...c, adders }, (m) => {
    const COLS = m.param('COLS', c.cols, 'columns: outputs per tile');
    const ACCW = m.param('ACCW', c.accWidth, 'column-sum width');
    const INTW = m.param('INTW', c.intWidth, 'within-group accumulator width: ACCW + ceil(log2(G/R))');
    const DEPTH = m.param('DEPTH', shape.words, `buffer rows: the M-chunk size D${c.depth === 1 ? ' (D = 1 uses 2)' : ''}`);
    const AW = m.param('AW', shape.addrWidth, 'row address width: log2(DEPTH)');
    const EXPW = m.param('EXPW', POST_ARRAY_EXPW, 'exponent width of int->fp32');
    const EOFF = m.param('EOFF', c.expOffset, 'E = S_w + S_x - EOFF, EOFF = 254 + (b-2) + F + (a-2)');
    const ACC = m.struct('ACC', accMetaLayout(AW));
    const IBW = m.struct('IBW', ibufWriteLayout(AW));
    const CVT = m.struct('CVT', cvtMetaLayout(AW));
    const ADD = m.struct('ADD', addMetaLayout(AW));

    const clk = m.clock();
    const rstN = m.resetN();
    const colSum = m.input('col_sum', COLS.times(ACCW), { doc: 'column sums of one beat (signed), column 0 in the LSBs' });
    const beatValid = m.input('beat_valid', 1, { doc: 'a real beat (not a bubble)' });
    const beatAddr = m.input('beat_addr', AW, { doc: 'row m within the M-chunk' });
    const firstKtile = m.input('first_ktile', 1, { doc: "first K-tile of the beat's group" });
    const lastKtile = m.input('last_ktile', 1, { doc: "last K-tile of the beat's group" });
    const firstGroup = m.input('first_group', 1, { doc: "the beat's group is the first of K" });
    const lastGroup = m.input('last_group', 1, { doc: "the beat's group is the last of K" });
    const lastBeat = m.input('last_beat', 1, { doc: 'last beat of its tile' });
    const sx = m.input('sx', 8, { doc: "E8M0 code of the beat's activation group scale" });
    const scaleData = m.input('scale_data', COLS.times(8), { doc: 'E8M0 weight group scales, column 0 in bits 7:0' });
    const scaleValid = m.input('scale_valid', 1, { doc: 'scale_data holds the next group scales' });
    const scaleReady = m.output('scale_ready', 1, { doc: 'the scale FIFO has room (fewer than 2 entries)' });
    const rowData = m.output('row_data', COLS.times(32), { doc: 'binary32 results of one finished row, column 0 in the LSBs' });
    const rowValid = m.output('row_valid', 1, { doc: `row_data holds a finished row (${timing.latency} cycles after its last beat at the earliest), until row_ready` });
    const rowReady = m.input('row_ready', 1, { doc: 'the consumer takes row_data (a valid/ready stream)' });
    const rowFree = m.output('row_free', 1, { doc: "a finished row was read out of fbuf at the last edge: its word may be written again" });
    const rowFreeAddr = m.output('row_free_addr', AW, { doc: 'the row read out (with row_free)' });

    m.comment('A beat is taken only out of reset. A bubble (beat_valid = 0) writes nothing, pops nothing and outputs nothing.');
    const beat = m.let('beat', beatValid.and(rstN), 'a beat enters the pipeline this cycle');

    m.comment(
      [
        'Group scale FIFO, 2 entries, head in sc_head. The head serves the group of the',
        "entering beats; the group's last beat (last_ktile and last_beat) pops it. There is",
        'no bypass from scale_data: the exponent path starts at flip-flops and scale_ready',
        "depends on sc_count only (a word must arrive before its group's last K-tile).",
      ].join('\n'),
    );
    const scCount = m.flop('sc_count', 2, { doc: 'scale FIFO entries: 0, 1 or 2' });
    const scHead = m.reg('sc_head', COLS.times(8), { doc: 'FIFO head: the scales of the current group' });
    const scNext = m.reg('sc_next', COLS.times(8), { doc: 'second FIFO entry: the scales of the next group' });
    const scEmpty = m.let('sc_empty', scCount.q.eq(lit(0, 2)));
    const scOne = m.let('sc_one', scCount.q.eq(lit(1, 2)));
    const scFull = m.let('sc_full', scCount.q.bit(1), 'two entries');
    m.assign(scaleReady, scFull.not());
    const push = m.let('sc_push', scaleValid.and(scFull.not()), 'scale word accepted');
    const pop = m.let('sc_pop', beat.and(lastKtile).and(lastBeat).and(scEmpty.not()), "the group's last beat releases its scales");
    m.comb((b) => {
      b.hold(scCount);
      b.when(push.and(pop.not()), () => b.set(scCount.d, scCount.q.plus(lit(1, 2))))
        .elsewhen(pop.and(push.not()), () => b.set(scCount.d, scCount.q.minus(lit(1, 2))));
    });
    m.comment('The head loads the pushed word when the FIFO is (or becomes) empty; a pop with two\nentries moves the second entry up.');
    m.update(scHead, mux(scFull, scNext, scaleData), { enable: push.and(scEmpty.or(pop.and(scOne))).or(pop.and(scFull)) });
    m.update(scNext, scaleData, { enable: push.and(scOne).and(pop.not()) });

    m.comment("---- edge 0: the beat's registers ----");
    const accMeta = m.reg('acc_meta_q', ACC.width, { doc: 'the beat in the accumulation stage (cycle 1)' });
    m.update(accMeta, ACC.pack({ valid: beat, last_ktile: lastKtile, first_group: firstGroup, last_group: lastGroup, last_beat: lastBeat, addr: beatAddr }));
    const colSumQ = m.reg('col_sum_q', COLS.times(ACCW), { doc: 'its column sums' });
    m.update(colSumQ, colSum);
    m.comment(
      "S_w - EOFF of each column (from the FIFO head, which the group's last beat pops at this edge) and S_x.\n" +
        "Unsigned EXPW-bit arithmetic wraps to the right two's complement value: E = S_w + S_x - EOFF lies in [-512, 511].",
    );
    const swOffIn = m.wire('sw_off_in', COLS.times(EXPW), { doc: 'S_w - EOFF of each column of the head' });
    const swOffQ = m.reg('sw_off_q', COLS.times(EXPW), { doc: 'S_w - EOFF of each column of its group' });
    m.update(swOffQ, swOffIn);
    const sxQ = m.reg('sx_q', 8, { doc: 'its S_x code' });
    m.update(sxQ, sx);

    m.comment(
      'Row buffers, one word per row m of the M-chunk (all columns side by side), RAMs with registered reads:\n' +
        `ibuf is read as the beat enters and written at the end of cycle ${IBUF_WRITE}; fbuf is read when the term is ready\n` +
        `(end of cycle ${CVT_END}) and written with the sum (end of cycle ${FBUF_WRITE}).`,
    );
    const ibuf = m.memory('ibuf', COLS.times(INTW), DEPTH, { doc: 'within-group integer accumulators of each row' });
    const fbuf = m.memory('fbuf', COLS.times(32), DEPTH, { doc: 'binary32 accumulators over the groups of each row' });
    m.comment('The first K-tile of a group starts from zero (the buffer word is stale): the read port loads 0 for it.');
    const ibufRd = ibuf.readRegistered(m, 'ibuf_rd_q', beatAddr, { zero: firstKtile, doc: "integer accumulators of the beat's row, 0 on its group's first K-tile (cycle 1)" });

    m.comment('---- cycle 1: integer accumulation; the exponent E = (S_w - EOFF) + S_x (per column below) ----');
    const accValid = m.let('acc_valid', ACC.field(accMeta, 'valid'));
    const accAddr = m.let('acc_addr', ACC.field(accMeta, 'addr'));
    const accLastKtile = m.let('acc_last_ktile', ACC.field(accMeta, 'last_ktile'));
    const accIn = m.wire('acc_in', COLS.times(INTW), { doc: 'the new integer accumulators (all columns)' });
    const expIn = m.wire('exp_in', COLS.times(EXPW), { doc: 'E of each column' });
    m.comment('The sums go to one register: the int->fp32 input (last_ktile beats) and the ibuf write data (the others).');
    const accQ = m.reg('acc_q', COLS.times(INTW), { doc: 'the integer accumulators of the beat (cycle 2): to int->fp32, or to ibuf inside its group' });
    m.update(accQ, accIn);
    const expQ = m.reg('exp_q', COLS.times(EXPW), { doc: 'its E of each column (cycle 2)' });
    m.update(expQ, expIn);
    const ibufWr = m.reg('ibuf_wr_q', IBW.width, { doc: 'the ibuf write of the beat (cycle 2)' });
    m.update(ibufWr, IBW.pack({ we: accValid.and(accLastKtile.not()), addr: accAddr }));

    m.comment(
      `---- cycle ${IBUF_WRITE}: ibuf keeps the sum while the group goes on ----\n` +
        'The write enables of both RAMs come from stage registers only, not from rst_n (which would reach\n' +
        'every word of their write ports from an input): a write at a reset edge still happens, and no\n' +
        'later read sees it, because every row starts over from 0 (first_ktile) and +0 (first_group).',
    );
    const ibufWe = m.let('ibuf_we', IBW.field(ibufWr, 'we'), 'write the integer sums');
    ibuf.write(IBW.field(ibufWr, 'addr'), accQ, ibufWe);

    m.comment(
      `---- cycles ${IBUF_WRITE}..${FBUF_WRITE}: the flags and row of a last_ktile beat ride the int->fp32 and adder stages ----\n` +
        'cvt<k>_meta_q: int->fp32 stage k; add<k>_meta_q: adder stage k; wr_meta_q: the fbuf write. first_group\n' +
        `zeroes the fbuf read at the end of cycle ${CVT_END}; the adder stages carry the rest.`,
    );
    let cvtLast: Signal | null = null;
    for (let k = 1; k <= INT2FP_STAGES; k++) {
      const q = m.reg(`cvt${k}_meta_q`, CVT.width, { doc: `the beat in int->fp32 stage ${k} (cycle ${k + 1})` });
      m.update(
        q,
        cvtLast ??
          CVT.pack({
            valid: accValid.and(accLastKtile),
            first_group: ACC.field(accMeta, 'first_group'),
            last_group: ACC.field(accMeta, 'last_group'),
            last_beat: ACC.field(accMeta, 'last_beat'),
            addr: accAddr,
          }),
      );
      cvtLast = q;
    }
    let addLast: Signal | null = null;
    for (let k = 1; k <= FP32_ADD_STAGES + 1; k++) {
      const name = k <= FP32_ADD_STAGES ? `add${k}_meta_q` : 'wr_meta_q';
      const q = m.reg(name, ADD.width, { doc: k <= FP32_ADD_STAGES ? `the beat in adder stage ${k} (cycle ${CVT_END + k})` : `the beat whose sum is written (cycle ${FBUF_WRITE})` });
      m.update(q, addLast ?? ADD.pack({ valid: CVT.field(cvtLast!, 'valid'), last_group: CVT.field(cvtLast!, 'last_group'), last_beat: CVT.field(cvtLast!, 'last_beat'), addr: CVT.field(cvtLast!, 'addr') }));
      addLast = q;
    }
    const wrMeta = addLast!;

    m.comment(`---- cycle ${FBUF_WRITE}: fbuf keeps every sum; with last_group the row is output ----`);
    const fbufWd = m.wire('fbuf_wd', COLS.times(32), { doc: 'new binary32 accumulators (all columns): the adders\' results' });
    const fbufWe = m.let('fbuf_we', ADD.field(wrMeta, 'valid'), 'group done: keep the binary32 sum');
    const fbufWaddr = m.let('fbuf_waddr', ADD.field(wrMeta, 'addr'), 'row of the sum');
    fbuf.write(fbufWaddr, fbufWd, fbufWe);
    const fbufRaddr = m.let('fbuf_raddr', CVT.field(cvtLast!, 'addr'), 'row of the term entering the adder');
    m.comment(
      "The first group adds to +0 rather than bypassing the adder: the contract starts at y = +0, and\n" +
        "(+0) + (-0) = +0 while a bypass would pass a -0 term through. The read port loads +0 for it.",
    );
    const fbufRd = fbuf.readRegistered(m, 'fbuf_rd_q', fbufRaddr, {
      transparent: true,
      zero: m.let('fbuf_rd_zero', CVT.field(cvtLast!, 'first_group'), 'the first group starts from +0'),
      doc: 'binary32 accumulators of the row of the beat entering the adder (+0 for its first group)',
    });

    m.comment(`Per column: E, integer accumulation, int->fp32 (cycles 2-${CVT_END}), fp32 accumulation (cycles ${CVT_END + 1}-${ADD_END}).`);
    m.generate('g_col', 'c', COLS, (col, s) => {
      s.assign(swOffIn.lane(col, EXPW), scHead.lane(col, 8).zext(EXPW).minus(new ParamConst(EOFF, EXPW)));
      s.assign(expIn.lane(col, EXPW), swOffQ.lane(col, EXPW).plus(sxQ.zext(EXPW)));
      const sum = s.let('col_ext', colSumQ.lane(col, ACCW).asSigned().sext(INTW).asUnsigned(), 'column sum, sign-extended to INTW');
      const prevInt = s.let('acc_prev', ibufRd.lane(col, INTW), 'group sum so far (0 on the first K-tile)');
      s.assign(accIn.lane(col, INTW), styledAdd(s, adders, 'acc_sum', prevInt, sum));

      s.comment(`acc * 2^E, rounded once (used for the group's last K-tile only), registered at the end of cycle ${CVT_END}.`);
      const value = s.let('acc', accQ.lane(col, INTW).asSigned(), 'exact: INTW holds the sum of the G/R column sums of a group');
      const exp = s.let('exp', expQ.lane(col, EXPW).asSigned(), 'E = S_w + S_x - EOFF of this column');
      const term = s.wire('term', 32, { doc: `acc * 2^E in binary32 (RNE), cycle ${CVT_END + 1}` });
      s.instance('u_int2fp', int2fp, { clk, value, exp, result: term }, { INTW, EXPW });
      s.instance('u_add', adder, { clk, a: fbufRd.lane(col, 32), b: term, result: fbufWd.lane(col, 32) });
    });

    m.comment(
      [
        '---- Read-out: finished rows leave fbuf in the order they finished ----',
        'A row is finished when its last group writes fbuf. fbuf keeps it until the read-out port',
        '(registered, into row_data) takes it, when the output register is empty or being emptied.',
        "The controller writes a row of the next M-chunk pass only after row_free named it, so the",
        'word is never overwritten before it is read: the results need no FIFO of their own.',
        'Rows finish in the order 0, 1, .. last of each pass; the read-out address follows that order,',
        'back to row 0 after the last row of a pass, which row_last remembers per row.',
      ].join('\n'),
    );
    const FINW = m.localparam('FINW', AW.plus(1), 'bits of fin_count: 0..DEPTH');
    const rowOut = m.let('row_out', fbufWe.and(ADD.field(wrMeta, 'last_group')), 'the last group finishes this row at this edge');
    const rowLast = m.memory('row_last', 1, DEPTH, { doc: 'the row was the last of its pass (written when it finishes)' });
    rowLast.write(fbufWaddr, ADD.field(wrMeta, 'last_beat'), rowOut);
    const finCount = m.flop('fin_count', FINW, { doc: 'rows finished and still in fbuf' });
    const outAddr = m.flop('out_addr', AW, { doc: 'the next row to read out' });
    const outValid = m.flop('out_valid', 1, { doc: 'row_data holds a row not yet taken' });
    const readOut = m.let(
      'read_out',
      finCount.q.any().and(outValid.q.not().or(rowReady)),
      'a finished row waits and the output register is empty or emptied at this edge',
    );
    const outData = fbuf.readRegistered(m, 'out_data_q', outAddr.q, { enable: readOut, doc: 'the row on row_data' });
    const outLast = m.let('out_last', rowLast.read(outAddr.q), 'the row read out is the last of its pass');
    const freeQ = m.reg('row_free_q', 1, { doc: 'a row was read out at the last edge' });
    const freeAddrQ = m.reg('row_free_addr_q', AW, { doc: 'its row' });
    m.update(freeQ, readOut);
    m.update(freeAddrQ, outAddr.q);
    m.comment('Reset (every register) empties the output and starts the read-out at row 0.');
    m.comb((b) => {
      b.hold(finCount, outAddr, outValid);
      b.when(rowOut.and(readOut.not()), () => b.set(finCount.d, finCount.q.plus(lit(1, FINW)))).elsewhen(readOut.and(rowOut.not()), () =>
        b.set(finCount.d, finCount.q.minus(lit(1, FINW))),
      );
      b.when(readOut, () => {
        b.set(outAddr.d, mux(outLast, lit(0, AW), outAddr.q.plus(lit(1, AW))));
        b.set(outValid.d, lit(1, 1));
      }).elsewhen(rowReady, () => b.set(outValid.d, lit(0, 1)));
    });
    m.assign(rowValid, outValid.q);
    m.assign(rowData, outData);
    m.assign(rowFree, freeQ);
    m.assign(rowFreeAddr, freeAddrQ);
  });
}
