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
  /** result FIFO entries the controller may fill (credits) */
  credits: number;
  /**
   * least distance in cycles between two beats of the same row (the post-array
   * unit's read-modify-write pipeline, postArrayTiming); 1 = no constraint
   */
  revisitGap?: number;
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
  checkIntRange('result credits', c.credits, 1, 1024);
  checkIntRange('row revisit gap', c.revisitGap ?? 1, 1, 64);
}

/**
 * The controller sequences one GEMM through the array in the order of
 * docs/ARCHITECTURE.md (N-tiles, M-chunks of DEPTH rows, K-tiles), with two
 * independent walkers over the same loop nest:
 *  - the load walker asks the decode unit for the next tile as soon as the
 *    array's shadow registers are free (the cycle after a tile_swap), so loading
 *    overlaps computing;
 *  - the issue walker streams activation beats; the last beat of a tile carries
 *    tile_swap (so it waits until the next tile is loaded), and beats that
 *    produce results wait for a free slot in the result FIFO (credits), so the
 *    fixed-latency pipeline never has to stall.
 * With a revisit gap V > 1 (a pipelined post-array unit), a beat also waits
 * until no beat of the same row fired in the last V - 1 cycles: an M-chunk
 * shorter than V rows then takes V cycles per K-tile instead of its row count.
 * A start is checked first: M, K, N non-zero and K a multiple of GROUP (a
 * 16-step restoring remainder, since GROUP need not be a power of two). The
 * run state is a state machine (S_IDLE, S_CHECK, S_RUN); every other
 * register is a flop (`_q`) whose next value (`_d`) one always block gives.
 */
export function controller(c: ControllerConfig): ModuleDef {
  checkControllerConfig(c);
  const tilesPerGroup = c.group / c.rows;
  const tgBits = bitsFor(tilesPerGroup - 1);
  const addrBits = Math.max(1, Math.log2(c.depth));
  const creditBits = bitsFor(c.credits);
  const gap = c.revisitGap ?? 1;
  const name = `msq_controller_r${c.rows}c${c.cols}_g${c.group}_d${c.depth}_q${c.credits}${gap > 1 ? `_v${gap}` : ''}`;
  return defineModule(name, 'GEMM sequencer: tile loads, activation beats, tile swaps, result credits, status', { block: 'controller', ...c }, (m) => {
    const ROWS = m.param('ROWS', c.rows, 'PE rows: K per tile');
    const COLS = m.param('COLS', c.cols, 'PE columns: N per tile');
    const GROUP = m.param('GROUP', c.group, 'group size along K');
    const DEPTH = m.param('DEPTH', c.depth, 'M rows per pass');
    const CREDITS = m.param('CREDITS', c.credits, 'result FIFO entries');
    const TPG = m.param('TPG', tilesPerGroup, 'K-tiles per group: GROUP / ROWS');
    const DW = m.param('DW', DIM_BITS, 'width of the problem dimensions M, K, N');
    const AW = m.param('AW', addrBits, 'row address width: log2(DEPTH), at least 1');
    const TPG_LAST = m.localparam('TPG_LAST', TPG.minus(1), 'index of the last K-tile of a group');
    const DEPTH_LAST = m.localparam('DEPTH_LAST', DEPTH.minus(1), 'index of the last row of a full M-chunk');
    const CHK_FIRST = m.localparam('CHK_FIRST', DW.minus(1), 'the K check tests quotient bits CHK_FIRST down to 0');
    const W = DW.plus(1); // one more bit for base + step comparisons
    const K17 = (v: Expr) => v.zext(W);
    const c17 = (d: Dim) => new ParamConst(d, W);
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
    const resultPop = m.input('result_pop', 1, { doc: 'a result row left the result FIFO' });
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
      { S_IDLE: 'waiting for start', S_CHECK: 'checking K mod GROUP, one quotient bit per cycle', S_RUN: 'loading tiles and issuing beats' },
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
    const CHKW = bitsFor(DIM_BITS - 1);
    const rem = m.reg('rem', REMW, { doc: 'K reduced modulo GROUP, one quotient bit per cycle' });
    const chkBit = m.reg('chk_bit', CHKW, { doc: 'quotient bit under test, CHK_FIRST down to 0' });
    const gShift = m.let('g_shift', new ParamConst(GROUP, REMW).shl(chkBit), 'GROUP << chk_bit');
    const remNext = m.let('rem_next', mux(rem.ge(gShift), rem.minus(gShift), rem));
    const checkLast = m.let('check_last', isCheck.and(chkBit.eq(lit(0, CHKW))));
    const badK = m.let('bad_k', checkLast.and(remNext.any()));
    const runStart = m.let('run_start', checkLast.and(badK.not()), 'K is a multiple of GROUP: go');
    m.update(rem, mux(startFire, dimK.zext(REMW), remNext));
    m.update(chkBit, mux(startFire, new ParamConst(CHK_FIRST, CHKW), chkBit.minus(lit(1, CHKW))));
    m.update(mQ, dimM, { enable: startFire });
    m.update(kQ, dimK, { enable: startFire });
    m.update(nQ, dimN, { enable: startFire });

    m.comment('---- The two walkers over (N-tile, M-chunk, K-tile) ----');
    interface Walker {
      n: Flop;
      m0: Flop;
      k: Flop;
      g: Flop;
      tg: Flop;
      fin: Flop;
      lastK: Signal;
      lastChunk: Signal;
      lastN: Signal;
      finalTile: Signal;
      groupEnd: Signal;
    }
    const walker = (p: string, what: string): Walker => {
      const n = m.flop(`${p}_n`, DW, { doc: `${what}: first output of the N-tile` });
      const m0 = m.flop(`${p}_m0`, DW, { doc: `${what}: first row of the M-chunk` });
      const k = m.flop(`${p}_k`, DW, { doc: `${what}: first input of the K-tile` });
      const g = m.flop(`${p}_g`, DW, { doc: `${what}: first input of the group` });
      const tg = m.flop(`${p}_tg`, tgBits, { doc: `${what}: K-tile within the group` });
      const fin = m.flop(`${p}_fin`, 1, { doc: `${what}: every tile done` });
      const lastK = m.let(`${p}_last_k`, K17(k.q).plus(c17(ROWS)).eq(K17(kQ)));
      const lastChunk = m.let(`${p}_last_chunk`, K17(m0.q).plus(c17(DEPTH)).ge(K17(mQ)));
      const lastN = m.let(`${p}_last_n`, K17(n.q).plus(c17(COLS)).ge(K17(nQ)));
      const finalTile = m.let(`${p}_final_tile`, lastK.and(lastChunk).and(lastN));
      const groupEnd = m.let(`${p}_group_end`, tg.q.eq(new ParamConst(TPG_LAST, tgBits)));
      return { n, m0, k, g, tg, fin, lastK, lastChunk, lastN, finalTile, groupEnd };
    };
    /** A walker's next position: back to the start on `clear`; on `step`, the next K-tile, M-chunk or N-tile. */
    const advance = (b: CombBuilder, w: Walker, step: Expr, clear: Expr): void => {
      b.hold(w.n, w.m0, w.k, w.g, w.tg, w.fin);
      const tgZero = lit(0, tgBits);
      b.when(clear, () => {
        for (const f of [w.n, w.m0, w.k, w.g]) b.set(f.d, zero);
        b.set(w.tg.d, tgZero);
        b.set(w.fin.d, off);
      }).elsewhen(step, () => {
        b.when(w.lastK, () => {
          b.comment('the last K-tile: the next M-chunk, or the next N-tile after the last chunk');
          b.set(w.k.d, zero);
          b.set(w.g.d, zero);
          b.set(w.tg.d, tgZero);
          b.when(w.lastChunk, () => {
            b.set(w.m0.d, zero);
            b.when(w.lastN, () => b.set(w.n.d, zero)).otherwise(() => b.set(w.n.d, w.n.q.plus(pc(COLS))));
          }).otherwise(() => b.set(w.m0.d, w.m0.q.plus(pc(DEPTH))));
        }).otherwise(() => {
          b.set(w.k.d, w.k.q.plus(pc(ROWS)));
          b.when(w.groupEnd, () => {
            b.set(w.g.d, w.g.q.plus(pc(GROUP)));
            b.set(w.tg.d, tgZero);
          }).otherwise(() => b.set(w.tg.d, w.tg.q.plus(lit(1, tgBits))));
        });
        b.when(w.finalTile, () => b.set(w.fin.d, one));
      });
    };

    const ld = walker('l', 'load walker');
    const is = walker('i', 'issue walker');
    const shadowFull = m.flop('shadow_full', 1, { doc: "the array's shadow registers hold a loaded tile" });
    const cmdBusy = m.flop('cmd_busy', 1, { doc: 'the decode unit is loading a tile' });
    const active = m.flop('active', 1, { doc: 'the array computes with a tile of the issue walker' });
    const beatM = m.flop('beat_m', AW, { doc: 'row within the M-chunk of the next beat' });
    const credit = m.flop('credit', creditBits, { doc: 'result FIFO entries free and not promised' });

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

    m.comment('---- Issue side: beats, the tile swap on the last beat of a tile, result credits ----');
    const chunkEnd = m.let('chunk_end', beatM.q.eq(new ParamConst(DEPTH_LAST, AW)), 'the last row of a full M-chunk');
    const mEnd = m.let('m_end', K17(is.m0.q).plus(beatM.q.zext(W)).plus(lit(1, W)).eq(K17(mQ)), 'the last row of M');
    const isLastBeat = m.let('is_last_beat', chunkEnd.or(mEnd), 'last row of the M-chunk');
    const resultBeat = m.let('result_beat', is.lastK, 'beats of the last K-tile produce result rows');
    const creditOk = m.let('credit_ok', resultBeat.not().or(credit.q.any()));
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
    m.assign(fire, isRun.and(active.q).and(is.fin.q.not()).and(aValid).and(creditOk).and(swapOk).and(spacingOk));
    const bubbleSwap = m.let('bubble_swap', isRun.and(active.q.not()).and(is.fin.q.not()).and(shadowFull.q), 'the first tile is swapped in with an empty beat');
    const tileEnd = m.let('tile_end', fire.and(isLastBeat));
    const swap = m.let('swap', bubbleSwap.or(tileEnd.and(is.finalTile.not())));
    const take = m.let('take', fire.and(resultBeat), 'a result row is promised a FIFO slot');
    m.comb((b) => {
      advance(b, is, tileEnd, runStart);
      b.hold(beatM, active);
      b.when(runStart.or(tileEnd), () => b.set(beatM.d, lit(0, AW))).elsewhen(fire, () => b.set(beatM.d, beatM.q.plus(lit(1, AW))));
      b.when(runStart, () => b.set(active.d, off))
        .elsewhen(bubbleSwap, () => b.set(active.d, one))
        .elsewhen(tileEnd.and(is.finalTile), () => b.set(active.d, off));
    });
    m.comb((b) => {
      b.hold(shadowFull, credit);
      b.comment('the shadow registers fill when a tile is loaded and empty when it is swapped in');
      b.when(runStart, () => b.set(shadowFull.d, off))
        .elsewhen(tileLoaded, () => b.set(shadowFull.d, one))
        .elsewhen(swap, () => b.set(shadowFull.d, off));
      b.comment('a result beat takes a credit, a row leaving the FIFO returns one');
      b.when(runStart, () => b.set(credit.d, new ParamConst(CREDITS, creditBits)))
        .elsewhen(take.and(resultPop.not()), () => b.set(credit.d, credit.q.minus(lit(1, creditBits))))
        .elsewhen(resultPop.and(take.not()), () => b.set(credit.d, credit.q.plus(lit(1, creditBits))));
    });

    m.comment('---- Finish: every promised result row has left the FIFO ----');
    const finish = m.let('finish', isRun.and(is.fin.q).and(credit.q.eq(new ParamConst(CREDITS, creditBits))), 'every result row has left the FIFO');
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
        S_CHECK: (go) =>
          b
            .when(badK, () => {
              go('S_IDLE');
              b.set(doneF.d, one);
              b.set(errorF.d, one);
            })
            .elsewhen(runStart, () => go('S_RUN')),
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
    m.assign(firstGroup, is.g.q.eq(zero));
    m.assign(lastGroup, K17(is.g.q).plus(c17(GROUP)).eq(K17(kQ)));
    m.assign(lastBeat, isLastBeat);
    m.assign(beatAddr, beatM.q);
  });
}
