import { defineModule, type Flop, type ModuleDef } from '../dsl/module.ts';
import { Const, ParamConst, concat, lit, mux, type Expr, type Signal } from '../dsl/expr.ts';
import type { CombBuilder } from '../dsl/comb.ts';
import type { Dim } from '../dsl/dim.ts';
import { checkIntRange, InputError } from '../../common/errors.ts';

export interface ControllerConfig {
  rows: number;
  cols: number;
  group: number;
  /** M rows per pass (output buffer depth), a power of two */
  depth: number;
  /**
   * least distance in cycles between two beats of the same row (the post-array
   * unit's read-modify-write pipeline, postArrayTiming); 1 = no constraint
   */
  revisitGap?: number;
  /**
   * width of the problem dimensions M, K, N (default DIM_BITS): the accelerator
   * uses the default; a smaller one shortens the K check (one cycle per bit),
   * which the formal proof uses to reach a finished problem in few cycles
   */
  dimBits?: number;
}

export const DIM_BITS = 16;

function bitsFor(x: number): number {
  return Math.max(1, 32 - Math.clz32(x));
}

export function checkControllerConfig(c: ControllerConfig): void {
  checkIntRange('--group', c.group, c.rows, 4096);
  if (c.group % c.rows !== 0) throw new InputError(`--group ${c.group} is not a multiple of --rows ${c.rows}`);
  checkIntRange('--depth', c.depth, 1, 4096);
  if ((c.depth & (c.depth - 1)) !== 0) throw new InputError(`--depth ${c.depth} is not a power of two`);
  checkIntRange('row revisit gap', c.revisitGap ?? 1, 1, 64);
  const dw = c.dimBits ?? DIM_BITS;
  checkIntRange('controller dimension bits', dw, 2, DIM_BITS);
  if (c.depth >= 1 << dw || c.group >= 1 << dw) throw new InputError(`controller dimension bits ${dw} cannot hold --depth ${c.depth} and --group ${c.group}`);
}

/**
 * The controller sequences one GEMM through the array in the order of
 * docs/ARCHITECTURE.md (N-tiles, M-chunks of DEPTH rows, K-tiles), with two
 * independent walkers over the same loop nest:
 *  - the load walker asks the decode unit for the next tile as soon as the
 *    array's shadow registers are free (the cycle after a tile_swap), so loading
 *    overlaps computing;
 *  - the issue walker streams activation beats; the last beat of a tile carries
 *    tile_swap (so it waits until the next tile is loaded).
 * Results stay in the post-array unit's fbuf until it reads them out
 * (row_free names each row read out). A beat that starts a row's fbuf word
 * for a new pass (the first group's last K-tile) waits until that row's
 * previous result was read out (row_owed), so the fixed-latency pipeline
 * never has to stall and no result is overwritten; a consumer holding y_ready
 * low stalls the array only when the next pass reaches an unread row.
 * With a revisit gap V > 1 (a pipelined post-array unit), a beat also waits
 * until no beat of the same row fired in the last V - 1 cycles: an M-chunk
 * shorter than V rows then takes V cycles per K-tile instead of its row count.
 * A start is checked first: M, K, N non-zero and K a multiple of GROUP (a
 * 16-step restoring remainder, since GROUP need not be a power of two, then
 * one cycle that decides on the registered remainder). The walkers count
 * down what is left of K, M and N, so that every "last tile" test compares a
 * register with a constant (the timing of the beat-fire logic). The run state
 * is a state machine (S_IDLE, S_CHECK, S_DECIDE, S_RUN); every other
 * register is a flop (`_q`) whose next value (`_d`) one always block gives.
 */
export function controller(c: ControllerConfig): ModuleDef {
  checkControllerConfig(c);
  const tilesPerGroup = c.group / c.rows;
  const tgBits = bitsFor(tilesPerGroup - 1);
  const addrBits = Math.max(1, Math.log2(c.depth));
  const pendingBits = bitsFor(c.depth + 1);
  const gap = c.revisitGap ?? 1;
  const dimBits = c.dimBits ?? DIM_BITS;
  const name = `msq_controller_r${c.rows}c${c.cols}_g${c.group}_d${c.depth}${gap > 1 ? `_v${gap}` : ''}${dimBits !== DIM_BITS ? `_dw${dimBits}` : ''}`;
  return defineModule(name, 'GEMM sequencer: tile loads, activation beats, tile swaps, result rows owed, status', { block: 'controller', ...c }, (m) => {
    const ROWS = m.param('ROWS', c.rows, 'PE rows: K per tile');
    const COLS = m.param('COLS', c.cols, 'PE columns: N per tile');
    const GROUP = m.param('GROUP', c.group, 'group size along K');
    const DEPTH = m.param('DEPTH', c.depth, 'M rows per pass');
    const TPG = m.param('TPG', tilesPerGroup, 'K-tiles per group: GROUP / ROWS');
    const DW = m.param('DW', dimBits, 'width of the problem dimensions M, K, N');
    const AW = m.param('AW', addrBits, 'row address width: log2(DEPTH), at least 1');
    const TPG_LAST = m.localparam('TPG_LAST', TPG.minus(1), 'index of the last K-tile of a group');
    const DEPTH_LAST = m.localparam('DEPTH_LAST', DEPTH.minus(1), 'index of the last row of a full M-chunk');
    const CHK_FIRST = m.localparam('CHK_FIRST', DW.minus(1), 'the K check tests quotient bits CHK_FIRST down to 0');
    const pc = (d: Dim) => new ParamConst(d, DW);
    const zero = Const.zero(DW);
    const one = lit(1, 1);
    const off = lit(0, 1);

    m.clock();
    m.resetN();
    const start = m.input('start', 1, { doc: 'begin a GEMM (sampled while idle)' });
    const dimM = m.input('dim_m', DW, { doc: 'M: rows of X and Y' });
    const dimK = m.input('dim_k', DW, { doc: 'K: inputs, a multiple of GROUP' });
    const dimN = m.input('dim_n', DW, { doc: 'N: outputs' });
    const aValid = m.input('a_valid', 1, { doc: 'an activation beat is offered' });
    const cmdReady = m.input('cmd_ready', 1, { doc: 'decode unit accepts a tile command' });
    const tileLoaded = m.input('tile_loaded', 1, { doc: 'decode unit finished loading a tile' });
    const resultPop = m.input('result_pop', 1, { doc: 'a result row left the accelerator (y_valid and y_ready)' });
    const rowFree = m.input('row_free', 1, { doc: 'the post-array unit read a finished row out of fbuf at the last edge' });
    const rowFreeAddr = m.input('row_free_addr', AW, { doc: 'the row it read out' });
    const busy = m.output('busy', 1, { doc: 'a GEMM is running' });
    const done = m.output('done', 1, { doc: 'the last GEMM finished (until the next start)' });
    const error = m.output('error', 1, { doc: 'the last start was refused (with done)' });
    const aReady = m.output('a_ready', 1, { doc: 'the offered activation beat is taken this cycle' });
    const beatFire = m.output('beat_fire', 1, { doc: 'a real beat enters the array this cycle' });
    const tileSwap = m.output('tile_swap', 1, { doc: 'switch the array to the loaded tile after this cycle' });
    const cmdValid = m.output('cmd_valid', 1, { doc: 'ask the decode unit for the next tile' });
    const cmdScales = m.output('cmd_scales', 1, { doc: 'that tile starts a group: it carries the group scales' });
    const firstKtile = m.output('first_ktile', 1, { doc: "beat's K-tile is the first of its group" });
    const lastKtile = m.output('last_ktile', 1, { doc: "beat's K-tile is the last of its group" });
    const firstGroup = m.output('first_group', 1, { doc: "beat's group is the first of K" });
    const lastGroup = m.output('last_group', 1, { doc: "beat's group is the last of K" });
    const lastBeat = m.output('last_beat', 1, { doc: 'last beat of its tile' });
    const beatAddr = m.output('beat_addr', AW, { doc: 'row of the beat within its M-chunk' });

    m.comment('---- Run state and status ----');
    const st = m.fsm(
      'state',
      {
        S_IDLE: 'waiting for start',
        S_CHECK: 'checking K mod GROUP, one quotient bit per cycle',
        S_DECIDE: 'the remainder is known: refuse or run',
        S_RUN: 'loading tiles and issuing beats',
      },
      { reset: 'S_IDLE', doc: 'run state' },
    );
    const mQ = m.reg('m_q', DW, { doc: 'latched M' });
    const kQ = m.reg('k_q', DW, { doc: 'latched K' });
    const nQ = m.reg('n_q', DW, { doc: 'latched N' });
    const doneF = m.flop('done', 1, { doc: 'the last GEMM finished or was refused' });
    const errorF = m.flop('error', 1, { doc: 'the last start was refused' });
    const isIdle = m.let('is_idle', st.is('S_IDLE'));
    const isCheck = m.let('is_check', st.is('S_CHECK'));
    const isRun = m.let('is_run', st.is('S_RUN'));

    m.comment('---- Start and the K mod GROUP check: restoring division, one quotient bit per cycle ----');
    const startFire = m.let('start_fire', isIdle.and(start));
    const zeroDim = m.let('zero_dim', dimM.eq(zero).or(dimK.eq(zero)).or(dimN.eq(zero)));
    const REMW = DW.plus(bitsFor(c.group));
    const CHKW = bitsFor(dimBits - 1);
    const rem = m.reg('rem', REMW, { doc: 'K reduced modulo GROUP, one quotient bit per cycle' });
    const chkBit = m.reg('chk_bit', CHKW, { doc: 'quotient bit under test, CHK_FIRST down to 0' });
    const gShift = m.reg('g_shift', REMW, { doc: 'GROUP << chk_bit: shifted right once per cycle (no barrel shifter)' });
    const remNext = m.let('rem_next', mux(rem.ge(gShift), rem.minus(gShift), rem));
    m.comment('The last quotient bit is tested in S_CHECK; S_DECIDE looks at the registered remainder.');
    const checkLast = m.let('check_last', isCheck.and(chkBit.eq(lit(0, CHKW))));
    const isDecide = m.let('is_decide', st.is('S_DECIDE'));
    const badK = m.let('bad_k', isDecide.and(rem.any()), 'K is not a multiple of GROUP: refuse');
    const runStart = m.let('run_start', isDecide.and(rem.any().not()), 'K is a multiple of GROUP: go');
    m.update(rem, mux(startFire, dimK.zext(REMW), remNext));
    m.update(chkBit, mux(startFire, new ParamConst(CHK_FIRST, CHKW), chkBit.minus(lit(1, CHKW))));
    m.update(gShift, mux(startFire, new ParamConst(GROUP, REMW).shl(new ParamConst(CHK_FIRST, CHKW)), gShift.shr(lit(1, 1))));
    m.update(mQ, dimM, { enable: startFire });
    m.update(kQ, dimK, { enable: startFire });
    m.update(nQ, dimN, { enable: startFire });

    m.comment(
      '---- The two walkers over (N-tile, M-chunk, K-tile) ----\n' +
        'Each counts down what is left (K - k, K - g, M - m0, N - n), so every "last" test compares a\n' +
        'register with a constant, and a step subtracts a constant: no adder sits before a comparison.',
    );
    interface GroupPosition {
      gLeft: Flop;
      gFirst: Flop;
      lastGroup: Signal;
    }
    interface Walker {
      kLeft: Flop;
      mLeft: Flop;
      nLeft: Flop;
      /** where the K-tile lies among the groups of K: the issue walker only (its beats carry the flags) */
      grp: GroupPosition | null;
      tg: Flop;
      fin: Flop;
      lastKF: Flop;
      lastChunkF: Flop;
      lastNF: Flop;
      lastK: Signal;
      lastChunk: Signal;
      lastN: Signal;
      finalTile: Signal;
      groupEnd: Signal;
      /** the tile after this one is the last K-tile, the chunk after this one the last, the N-tile after this one the last */
      nextLastK: Signal;
      nextLastChunk: Signal;
      nextLastN: Signal;
    }
    m.comment(
      'The "last" flags of a walker are registers too, set as it moves: for its first tile from M, K and N,\n' +
        'for the next from what is left (two tiles, chunks or N-tiles or fewer), so that the beat-fire logic\n' +
        'reads flip-flops only.',
    );
    const TWO_TILES = m.localparam('TWO_TILES', ROWS.times(2), 'inputs of two K-tiles');
    const TWO_NTILES = m.localparam('TWO_NTILES', COLS.times(2), 'outputs of two N-tiles');
    const TWO_CHUNKS = m.localparam('TWO_CHUNKS', DEPTH.times(2), 'rows of two full M-chunks');
    const kOne = m.let('k_one_tile', kQ.eq(pc(ROWS)), 'K is one K-tile');
    const mOne = m.let('m_one_chunk', pc(DEPTH).ge(mQ), 'M fits one M-chunk');
    const nOne = m.let('n_one_tile', pc(COLS).ge(nQ), 'N fits one N-tile');
    const walker = (p: string, what: string, groups: boolean): Walker => {
      const kLeft = m.flop(`${p}_k_left`, DW, { doc: `${what}: K - k, inputs from the K-tile on` });
      const mLeft = m.flop(`${p}_m_left`, DW, { doc: `${what}: M - m0, rows from the M-chunk on` });
      const nLeft = m.flop(`${p}_n_left`, DW, { doc: `${what}: N - n, outputs from the N-tile on` });
      const tg = m.flop(`${p}_tg`, tgBits, { doc: `${what}: K-tile within the group` });
      const fin = m.flop(`${p}_fin`, 1, { doc: `${what}: every tile done` });
      const lastKF = m.flop(`${p}_last_k`, 1, { doc: `${what}: the K-tile is the last of K (K - k = ROWS)` });
      const lastChunkF = m.flop(`${p}_last_chunk`, 1, { doc: `${what}: the M-chunk is the last (M - m0 <= DEPTH)` });
      const lastNF = m.flop(`${p}_last_n`, 1, { doc: `${what}: the N-tile is the last (N - n <= COLS)` });
      const lastK = lastKF.q;
      const lastChunk = lastChunkF.q;
      const lastN = lastNF.q;
      const nextLastK = m.let(`${p}_next_last_k`, kLeft.q.eq(new ParamConst(TWO_TILES, DW)), 'the next K-tile is the last');
      const nextLastChunk = m.let(`${p}_next_last_chunk`, new ParamConst(TWO_CHUNKS, DW).ge(mLeft.q), 'the next M-chunk is the last');
      const nextLastN = m.let(`${p}_next_last_n`, new ParamConst(TWO_NTILES, DW).ge(nLeft.q), 'the next N-tile is the last');
      const finalTile = m.let(`${p}_final_tile`, lastK.and(lastChunk).and(lastN));
      const groupEnd = m.let(`${p}_group_end`, tg.q.eq(new ParamConst(TPG_LAST, tgBits)));
      let grp: GroupPosition | null = null;
      if (groups) {
        const gLeft = m.flop(`${p}_g_left`, DW, { doc: `${what}: K - g, inputs from the group on` });
        const gFirst = m.flop(`${p}_g_first`, 1, { doc: `${what}: the group is the first of K` });
        grp = { gLeft, gFirst, lastGroup: m.let(`${p}_last_group`, gLeft.q.eq(pc(GROUP))) };
      }
      return { kLeft, mLeft, nLeft, grp, tg, fin, lastKF, lastChunkF, lastNF, lastK, lastChunk, lastN, finalTile, groupEnd, nextLastK, nextLastChunk, nextLastN };
    };
    /** A walker's next position: back to the start on `clear`; on `step`, the next K-tile, M-chunk or N-tile. */
    const advance = (b: CombBuilder, w: Walker, step: Expr, clear: Expr, onChunk?: (next: 'first' | 'next') => void): void => {
      const g = w.grp;
      b.hold(w.kLeft, w.mLeft, w.nLeft, w.tg, w.fin, w.lastKF, w.lastChunkF, w.lastNF, ...(g ? [g.gLeft, g.gFirst] : []));
      const tgZero = lit(0, tgBits);
      b.when(clear, () => {
        b.set(w.kLeft.d, kQ);
        b.set(w.mLeft.d, mQ);
        b.set(w.nLeft.d, nQ);
        b.set(w.lastKF.d, kOne);
        b.set(w.lastChunkF.d, mOne);
        b.set(w.lastNF.d, nOne);
        if (g) {
          b.set(g.gLeft.d, kQ);
          b.set(g.gFirst.d, one);
        }
        b.set(w.tg.d, tgZero);
        b.set(w.fin.d, off);
        onChunk?.('first');
      }).elsewhen(step, () => {
        b.when(w.lastK, () => {
          b.comment('the last K-tile: the next M-chunk, or the next N-tile after the last chunk');
          b.set(w.kLeft.d, kQ);
          b.set(w.lastKF.d, kOne);
          if (g) {
            b.set(g.gLeft.d, kQ);
            b.set(g.gFirst.d, one);
          }
          b.set(w.tg.d, tgZero);
          b.when(w.lastChunk, () => {
            b.set(w.mLeft.d, mQ);
            b.set(w.lastChunkF.d, mOne);
            onChunk?.('first');
            b.when(w.lastN, () => {
              b.set(w.nLeft.d, nQ);
              b.set(w.lastNF.d, nOne);
            }).otherwise(() => {
              b.set(w.nLeft.d, w.nLeft.q.minus(pc(COLS)));
              b.set(w.lastNF.d, w.nextLastN);
            });
          }).otherwise(() => {
            b.set(w.mLeft.d, w.mLeft.q.minus(pc(DEPTH)));
            b.set(w.lastChunkF.d, w.nextLastChunk);
            onChunk?.('next');
          });
        }).otherwise(() => {
          b.set(w.kLeft.d, w.kLeft.q.minus(pc(ROWS)));
          b.set(w.lastKF.d, w.nextLastK);
          b.when(w.groupEnd, () => {
            if (g) {
              b.set(g.gLeft.d, g.gLeft.q.minus(pc(GROUP)));
              b.set(g.gFirst.d, off);
            }
            b.set(w.tg.d, tgZero);
          }).otherwise(() => b.set(w.tg.d, w.tg.q.plus(lit(1, tgBits))));
        });
        b.when(w.finalTile, () => b.set(w.fin.d, one));
      });
    };

    const ld = walker('l', 'load walker', false);
    const is = walker('i', 'issue walker', true);
    const isGrp = is.grp!;
    const shadowFull = m.flop('shadow_full', 1, { doc: "the array's shadow registers hold a loaded tile" });
    const cmdBusy = m.flop('cmd_busy', 1, { doc: 'the decode unit is loading a tile' });
    const active = m.flop('active', 1, { doc: 'the array computes with a tile of the issue walker' });
    const beatM = m.flop('beat_m', AW, { doc: 'row within the M-chunk of the next beat' });
    const pending = m.flop('pending', pendingBits, { doc: 'result rows issued and not yet out of the accelerator: 0..DEPTH + 1' });
    // one bit per row address (2^AW: two with DEPTH = 1, the post-array unit's two buffer words)
    const OWED = c.depth === 1 ? m.localparam('OWED_ROWS', DEPTH.plus(1), 'row_owed bits: one per row address, 2^AW') : DEPTH;
    const rowOwed = m.flop('row_owed', OWED, { doc: 'per row: its last result was issued and is not yet read out of fbuf' });
    const beatOh = m.flop('beat_oh', OWED, { doc: 'one-hot: beat_m (its row_owed bit), for the row-owed set and lookups', reset: 1 });

    m.comment('---- Load side: one decode command per tile, once the shadow registers are free ----');
    const cmdV = m.let('cmd_v', isRun.and(ld.fin.q.not()).and(shadowFull.q.not()).and(cmdBusy.q.not()));
    const cmdFire = m.let('cmd_fire', cmdV.and(cmdReady));
    m.assign(cmdValid, cmdV);
    m.assign(cmdScales, ld.tg.q.eq(lit(0, tgBits)));
    m.comb((b) => {
      advance(b, ld, cmdFire, runStart);
      b.hold(cmdBusy);
      b.when(runStart, () => b.set(cmdBusy.d, off))
        .elsewhen(cmdFire, () => b.set(cmdBusy.d, one))
        .elsewhen(tileLoaded, () => b.set(cmdBusy.d, off));
    });

    m.comment('---- Issue side: beats, the tile swap on the last beat of a tile, rows whose result is owed ----');
    m.comment(
      'last_row: the last row index of the issue walker\'s M-chunk (DEPTH - 1, or fewer in the last chunk),\n' +
        'set when the walker enters the chunk, from comparisons of registers with constants.',
    );
    const lastRow = m.flop('last_row', AW, { doc: "last row of the issue walker's M-chunk" });
    const depthLast = new ParamConst(DEPTH_LAST, AW);
    // DEPTH is 2^AW (or 1 with AW = 1), so the low AW bits of M - 1 and of M - m0 - DEPTH - 1 are
    // the low AW bits of M, M - m0 minus one (D = 1: every chunk is one row, row 0)
    const lowMinus1 = (x: Signal, name: string, doc: string) =>
      c.depth === 1 ? depthLast : m.let(name, x.slice(0, AW).minus(lit(1, AW)), doc);
    const firstChunkLast = m.let(
      'first_chunk_last',
      mux(mOne, lowMinus1(mQ, 'm_last_lsbs', 'low AW bits of M - 1'), depthLast),
      'last row of the first M-chunk: min(M, DEPTH) - 1',
    );
    const nextChunkLast = m.let(
      'next_chunk_last',
      mux(is.nextLastChunk, lowMinus1(is.mLeft.q, 'm_rest_lsbs', 'low AW bits of M - m0 - DEPTH - 1'), depthLast),
      'last row of the next M-chunk: min(M - m0 - DEPTH, DEPTH) - 1',
    );
    m.comment(
      'is_last_beat: the next beat is the last row of its M-chunk, a register: set for the first beat of a\n' +
        'pass when its last row is row 0, then when the row after the beat that fires is last_row.',
    );
    const lastBeatF = m.flop('is_last_beat', 1, { doc: 'the next beat is the last row of its M-chunk' });
    const isLastBeat = lastBeatF.q;
    const zeroRow = lit(0, AW);
    const beatAfterIsLast = m.let('beat_after_is_last', beatM.q.plus(lit(1, AW)).eq(lastRow.q), 'the row after this beat is the last');
    const resultBeat = m.let('result_beat', is.lastK, 'beats of the last K-tile produce result rows');
    m.comment(
      "A new pass's first fbuf write of a row (first group, last K-tile) waits until the row's previous result\n" +
        'was read out of fbuf: otherwise it would overwrite a result not yet delivered.',
    );
    m.comment(
      "The lookup row_owed[beat row] (a DEPTH-wide AND-OR over the one-hot row, below) is done a cycle ahead\n" +
        'into next_owed_q, for the row the next beat will have (row 0 after a tile, the next row after a beat,\n' +
        'else the same row). It misses the clears of its own cycle (the beat then waits one cycle more) and\n' +
        'the set of a result beat of the same row, which is added: only a 1-row chunk starts its next tile at\n' +
        'that row (and the revisit gap keeps such beats apart anyway).',
    );
    const nextOwed = m.flop('next_owed', 1, { doc: "row_owed of the next beat's row, one cycle old (see above)" });
    const startsRow = m.let('starts_row', isGrp.gFirst.q.and(is.groupEnd), "the beat writes its row's fbuf word first in this pass");
    const rowOk = m.let('row_ok', startsRow.not().or(nextOwed.q.not()), "the beat's row holds no unread result");
    const swapOk = m.let('swap_ok', isLastBeat.not().or(is.finalTile).or(shadowFull.q), 'the last beat swaps: the next tile must be loaded');
    const fire = m.wire('fire', 1, { doc: 'a beat fires: taken from a_data into the array' });
    let spacingOk: Expr = one;
    if (gap > 1) {
      m.comment(
        '---- Row spacing: the post-array unit reads and writes a row REVISIT cycles apart ----\n' +
          'recent_* hold the rows of the beats fired in the last REVISIT - 1 cycles (newest in the LSBs).',
      );
      const REVISIT = m.param('REVISIT', gap, 'least distance in cycles between two beats of the same row');
      const HIST = m.localparam('HIST', REVISIT.minus(1), 'beats remembered: those of the last REVISIT - 1 cycles');
      const recentValid = m.flop('recent_valid', HIST, { doc: 'a beat fired 1..HIST cycles ago' });
      const recentAddr = m.flop('recent_addr', HIST.times(AW), { doc: 'its row' });
      const hits: Expr[] = [];
      for (let j = 0; j < gap - 1; j++) hits.push(recentValid.q.bit(j).and(recentAddr.q.lane(j, AW).eq(beatM.q)));
      const rowBusy = m.let('row_busy', hits.reduce((a, b) => a.or(b)), 'the next beat\'s row is still in the post-array pipeline');
      spacingOk = rowBusy.not();
      m.comb((b) => {
        b.hold(recentValid, recentAddr);
        b.comment('shift in this cycle\'s beat (a bubble when none fires); clear on a new run');
        b.when(runStart, () => {
          b.set(recentValid.d, Const.zero(HIST));
          b.set(recentAddr.d, Const.zero(HIST.times(AW)));
        }).otherwise(() => {
          b.set(recentValid.d, gap === 2 ? fire : concat(recentValid.q.slice(0, HIST.minus(1)), fire));
          b.set(recentAddr.d, gap === 2 ? beatM.q : concat(recentAddr.q.slice(0, HIST.minus(1).times(AW)), beatM.q));
        });
      });
    }
    m.assign(fire, isRun.and(active.q).and(is.fin.q.not()).and(aValid).and(rowOk).and(swapOk).and(spacingOk));
    const bubbleSwap = m.let('bubble_swap', isRun.and(active.q.not()).and(is.fin.q.not()).and(shadowFull.q), 'the first tile is swapped in with an empty beat');
    const tileEnd = m.let('tile_end', fire.and(isLastBeat));
    const swap = m.let('swap', bubbleSwap.or(tileEnd.and(is.finalTile.not())));
    const take = m.let('take', fire.and(resultBeat), 'a result row is issued: its row is owed until read out');
    m.comb((b) => {
      b.hold(lastRow, lastBeatF);
      advance(b, is, tileEnd, runStart, (next) => b.set(lastRow.d, next === 'first' ? firstChunkLast : nextChunkLast));
      b.comment('a new pass starts at row 0: it is the last row when its chunk has one row');
      b.when(runStart, () => b.set(lastBeatF.d, firstChunkLast.eq(zeroRow)))
        .elsewhen(tileEnd, () =>
          b
            .when(is.lastK.and(is.lastChunk), () => b.set(lastBeatF.d, firstChunkLast.eq(zeroRow)))
            .elsewhen(is.lastK, () => b.set(lastBeatF.d, nextChunkLast.eq(zeroRow)))
            .otherwise(() => b.set(lastBeatF.d, lastRow.q.eq(zeroRow))),
        )
        .elsewhen(fire, () => b.set(lastBeatF.d, beatAfterIsLast));
      b.hold(beatM, beatOh, active);
      b.when(runStart.or(tileEnd), () => {
        b.set(beatM.d, lit(0, AW));
        b.set(beatOh.d, lit(1, OWED));
      }).elsewhen(fire, () => {
        b.set(beatM.d, beatM.q.plus(lit(1, AW)));
        b.comment('beat_m + 1 wraps at 2^AW: the one-hot row rotates');
        b.set(beatOh.d, concat(beatOh.q.slice(0, OWED.minus(1)), beatOh.q.bit(OWED.minus(1))));
      });
      b.when(runStart, () => b.set(active.d, off))
        .elsewhen(bubbleSwap, () => b.set(active.d, one))
        .elsewhen(tileEnd.and(is.finalTile), () => b.set(active.d, off));
    });
    m.comb((b) => {
      b.hold(shadowFull, pending);
      b.comment('the shadow registers fill when a tile is loaded and empty when it is swapped in');
      b.when(runStart, () => b.set(shadowFull.d, off))
        .elsewhen(tileLoaded, () => b.set(shadowFull.d, one))
        .elsewhen(swap, () => b.set(shadowFull.d, off));
      b.comment('a result beat adds a pending row, a row leaving the accelerator removes one');
      b.when(runStart, () => b.set(pending.d, lit(0, pendingBits)))
        .elsewhen(take.and(resultPop.not()), () => b.set(pending.d, pending.q.plus(lit(1, pendingBits))))
        .elsewhen(resultPop.and(take.not()), () => b.set(pending.d, pending.q.minus(lit(1, pendingBits))));
    });
    m.comment('row_owed: set for the row of a result beat, cleared for the row read out (row_free)');
    m.comment(
      'The beat row is also held one-hot (beat_oh_q beside beat_m_q): the set is an AND and each lookup an\n' +
        'AND-OR tree, where a decoder and DEPTH:1 multiplexers on beat_m_q gave it a fan-out of 3 * DEPTH.',
    );
    const owedSet = m.let('row_owed_set', mux(take, beatOh.q, Const.zero(OWED)), 'one-hot: the row of the result beat');
    const owedClear = m.let('row_owed_clear', mux(rowFree, lit(1, OWED).shl(rowFreeAddr), Const.zero(OWED)), 'one-hot: the row read out');
    const owedNext = m.let('row_owed_next', rowOwed.q.and(owedClear.not()).or(owedSet));
    m.comment(
      'No clear on a new run (it would load every bit from the start logic): a run ends only when every row\n' +
        'has left (pending_q = 0), so every row was read out and cleared; reset clears them too.',
    );
    m.comb((b) => b.default(rowOwed.d, owedNext));
    const owedSame = m.let('owed_same_row', rowOwed.q.and(beatOh.q).any(), "row_owed of this beat's row");
    // (row_owed >> 1)[beat row] rather than row_owed[beat row + 1]: the one-hot row needs no rotation
    const owedUp = m.let('row_owed_up', rowOwed.q.shr(lit(1, 1)), 'row_owed moved down one row: bit r is row r + 1');
    const owedNextRow = m.let('owed_next_row', owedUp.and(beatOh.q).any(), 'row_owed of the row after it (0 past the last)');
    m.comb((b) => {
      b.default(
        nextOwed.d,
        mux(
          runStart,
          off,
          mux(tileEnd, rowOwed.q.bit(0).or(take.and(beatOh.q.bit(0))), mux(fire, owedNextRow, owedSame)),
        ),
      );
    });

    m.comment('---- Finish: every issued result row has left the accelerator ----');
    const finish = m.let('finish', isRun.and(is.fin.q).and(pending.q.eq(lit(0, pendingBits))), 'every result row has left the accelerator');
    m.comb((b) => {
      b.hold(doneF, errorF);
      b.transitions(st, {
        S_IDLE: (go) =>
          b.when(startFire, () => {
            b.comment('a zero dimension is refused at once');
            b.set(doneF.d, zeroDim);
            b.set(errorF.d, zeroDim);
            b.when(zeroDim.not(), () => go('S_CHECK'));
          }),
        S_CHECK: (go) => b.when(checkLast, () => go('S_DECIDE')),
        S_DECIDE: (go) =>
          b
            .when(badK, () => {
              go('S_IDLE');
              b.set(doneF.d, one);
              b.set(errorF.d, one);
            })
            .otherwise(() => go('S_RUN')),
        S_RUN: (go) =>
          b.when(finish, () => {
            go('S_IDLE');
            b.set(doneF.d, one);
          }),
      });
    });

    m.comment('---- Outputs ----');
    m.assign(busy, isIdle.not());
    m.assign(done, doneF.q);
    m.assign(error, errorF.q);
    m.assign(aReady, fire);
    m.assign(beatFire, fire);
    m.assign(tileSwap, swap);
    m.assign(firstKtile, is.tg.q.eq(lit(0, tgBits)));
    m.assign(lastKtile, is.groupEnd);
    m.assign(firstGroup, isGrp.gFirst.q);
    m.assign(lastGroup, isGrp.lastGroup);
    m.assign(lastBeat, isLastBeat);
    m.assign(beatAddr, beatM.q);
  });
}
