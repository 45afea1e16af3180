import { Const, ParamConst, lit, mux } from '../dsl/expr.ts';
import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { InputError, checkIntRange } from '../../common/errors.ts';
import { ceilLog2 } from '../../common/bits.ts';
import { intToFp32, INT2FP_INTW_MAX } from './int-to-fp32.ts';
import { fp32Add } from './fp32-add.ts';

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
 * Timing: the read-modify-write of both buffers happens inside the beat's
 * cycle (asynchronous reads, writes on the clock edge), so back-to-back beats
 * may use the same row (M-chunk of one row). The result row is registered:
 * row_valid/row_data appear in the cycle after the beat (one cycle latency).
 * A bubble (beat_valid = 0) writes nothing, pops nothing and outputs nothing;
 * neither does a beat during reset.
 *
 * Group scales: a 2-entry FIFO of C E8M0 codes (column c in bits [8c +: 8]).
 * Its head serves the group the beats belong to; the beat with last_ktile and
 * last_beat (the group's last beat) pops it. The head must have been pushed
 * before the first last_ktile beat of its group (no bypass from scale_data,
 * which keeps scale_valid off the datapath); scale_ready = fewer than 2
 * entries, from registers only.
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

/** The unit's timing, which the controller and the result FIFO are sized from. */
export interface PostArrayTiming {
  /** cycles from a beat (its edge) to row_valid of the row it finishes */
  latency: number;
  /** the least distance in cycles between two beats with the same beat_addr (the controller spaces them) */
  revisitGap: number;
}

export function postArrayTiming(_c: PostArrayConfig): PostArrayTiming {
  return { latency: 1, revisitGap: 1 };
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
  return `msq_post_array_c${c.cols}_a${c.accWidth}_i${c.intWidth}_d${c.depth}_eo${c.expOffset}`;
}

export function postArray(c: PostArrayConfig): ModuleDef {
  checkPostArrayConfig(c);
  const shape = postArrayBufferShape(c.depth);
  const int2fp = intToFp32({ intWidth: c.intWidth, expWidth: POST_ARRAY_EXPW });
  const adder = fp32Add();
  const doc = `post-array unit for ${c.cols} columns: integer accumulation over the K-tiles of a group, int->fp32 with the group exponent, fp32 accumulation over groups (${c.depth} rows)`;
  return defineModule(postArrayModuleName(c), doc, { block: 'post-array', ...c }, (m) => {
    const COLS = m.param('COLS', c.cols, 'columns: outputs per tile');
    const ACCW = m.param('ACCW', c.accWidth, 'column-sum width');
    const INTW = m.param('INTW', c.intWidth, 'within-group accumulator width: ACCW + ceil(log2(G/R))');
    const DEPTH = m.param('DEPTH', shape.words, `buffer rows: the M-chunk size D${c.depth === 1 ? ' (D = 1 uses 2)' : ''}`);
    const AW = m.param('AW', shape.addrWidth, 'row address width: log2(DEPTH)');
    const EXPW = m.param('EXPW', POST_ARRAY_EXPW, 'exponent width of int->fp32');
    const EOFF = m.param('EOFF', c.expOffset, 'E = S_w + S_x - EOFF, EOFF = 254 + (b-2) + F + (a-2)');

    m.clock();
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
    const rowData = m.output('row_data', COLS.times(32), { doc: 'binary32 results of one row, column 0 in the LSBs' });
    const rowValid = m.output('row_valid', 1, { doc: 'row_data holds the row of the beat one cycle earlier' });

    m.comment('A beat is taken only out of reset: nothing is written while rst_n is low.\nA bubble (beat_valid = 0) writes nothing, pops nothing and outputs nothing.');
    const beat = m.let('beat', beatValid.and(rstN), 'a beat to process this cycle');

    m.comment(
      [
        'Group scale FIFO, 2 entries, head in sc_head. The head serves the group of the',
        "current beats; the group's last beat (last_ktile and last_beat) pops it. There is",
        'no bypass from scale_data: the exponent path starts at flip-flops and scale_ready',
        'depends on sc_count only (a word must arrive before its group\'s last K-tile).',
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

    m.comment(
      'Exponent E = S_w + S_x - EOFF per column; S_x - EOFF is shared by all columns.\nUnsigned EXPW-bit arithmetic wraps to the right two\'s complement value: E lies in [-512, 511].',
    );
    const sxOff = m.let('sx_off', sx.zext(EXPW).minus(new ParamConst(EOFF, EXPW)), 'S_x - EOFF (two\'s complement)');

    m.comment(
      "Row buffers (one word per row m of the M-chunk, all columns side by side): read\nasynchronously at beat_addr, written at the clock edge, so the read-modify-write of a\nbeat completes in its cycle and the next beat may use the same row.",
    );
    const ibuf = m.memory('ibuf', COLS.times(INTW), DEPTH, { doc: 'within-group integer accumulators of each row' });
    const fbuf = m.memory('fbuf', COLS.times(32), DEPTH, { doc: 'binary32 accumulators over the groups of each row' });
    const ibufRd = m.let('ibuf_rd', ibuf.read(beatAddr), 'integer accumulators of row beat_addr');
    const fbufRd = m.let('fbuf_rd', fbuf.read(beatAddr), 'binary32 accumulators of row beat_addr');
    const ibufWd = m.wire('ibuf_wd', COLS.times(INTW), { doc: 'new integer accumulators (all columns)' });
    const fbufWd = m.wire('fbuf_wd', COLS.times(32), { doc: 'new binary32 accumulators (all columns)' });

    m.comment('Per column: integer accumulation, int->fp32 with the group exponent, fp32 accumulation.');
    m.generate('g_col', 'c', COLS, (col, s) => {
      const sum = s.let('col_ext', colSum.lane(col, ACCW).asSigned().sext(INTW), 'column sum, sign-extended to INTW');
      s.comment('The first K-tile of a group starts from zero (the buffer word is stale).');
      const prevInt = s.let('acc_prev', mux(firstKtile, Const.zero(INTW, true), ibufRd.lane(col, INTW).asSigned()), 'group sum so far (0 on the first K-tile)');
      const acc = s.let('acc', prevInt.plus(sum), 'exact: INTW holds the sum of the G/R column sums of a group');
      s.assign(ibufWd.lane(col, INTW), acc.asUnsigned());

      s.comment("acc * 2^E, rounded once (used on the group's last K-tile only).");
      const exp = s.let('exp', scHead.lane(col, 8).zext(EXPW).plus(sxOff).asSigned(), 'E = S_w + S_x - EOFF');
      const term = s.wire('term', 32, { doc: 'acc * 2^E in binary32 (RNE)' });
      s.instance('u_int2fp', int2fp, { value: acc, exp, result: term }, { INTW, EXPW });

      s.comment("The first group adds to +0 rather than bypassing the adder: the contract starts\nat y = +0, and (+0) + (-0) = +0 while a bypass would pass a -0 term through.");
      const prevFp = s.let('fp_prev', mux(firstGroup, lit(0, 32), fbufRd.lane(col, 32)), 'sum of the earlier groups (+0 for the first)');
      s.instance('u_add', adder, { a: prevFp, b: term, result: fbufWd.lane(col, 32) });
    });

    m.comment("Exactly one buffer is written per beat: ibuf inside a group, fbuf at its last K-tile\n(fbuf also on the last group: harmless, the row is output then).");
    const ibufWe = m.let('ibuf_we', beat.and(lastKtile.not()), 'the group goes on: keep the integer sum');
    const fbufWe = m.let('fbuf_we', beat.and(lastKtile), 'group done: keep the binary32 sum');
    ibuf.write(beatAddr, ibufWd, ibufWe);
    fbuf.write(beatAddr, fbufWd, fbufWe);

    m.comment('Result row, registered: row_valid/row_data follow the beat by one cycle; row_data holds\nthe last row between rows.');
    const rowOut = m.let('row_out', fbufWe.and(lastGroup), 'the last group finished this row');
    const rowValidQ = m.reg('row_valid_q', 1, { doc: 'a row was finished in the previous cycle' });
    const rowDataQ = m.reg('row_data_q', COLS.times(32), { doc: 'the last finished row (held)' });
    m.update(rowValidQ, rowOut);
    m.update(rowDataQ, fbufWd, { enable: rowOut });
    m.assign(rowValid, rowValidQ);
    m.assign(rowData, rowDataQ);
  });
}
