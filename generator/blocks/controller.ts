import { defineModule, type ModuleDef } from '../dsl/module.ts';
import { ParamConst, lit, mux, type Expr, type Signal } from '../dsl/expr.ts';
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
}

/** First match wins: `sel([[c1, v1], [c2, v2]], v0)` = c1 ? v1 : c2 ? v2 : v0. */
function sel(cases: [Expr, Expr][], otherwise: Expr): Expr {
  return cases.reduceRight((acc, [c, v]) => mux(c, v, acc), otherwise);
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
 * A start is checked first: M, K, N non-zero and K a multiple of GROUP (a
 * 16-step restoring remainder, since GROUP need not be a power of two).
 */
export function controller(c: ControllerConfig): ModuleDef {
  checkControllerConfig(c);
  const tilesPerGroup = c.group / c.rows;
  const tgBits = bitsFor(tilesPerGroup - 1);
  const addrBits = Math.max(1, Math.log2(c.depth));
  const creditBits = bitsFor(c.credits);
  const name = `msq_controller_r${c.rows}c${c.cols}_g${c.group}_d${c.depth}_q${c.credits}`;
  return defineModule(name, 'GEMM sequencer: tile loads, activation beats, tile swaps, result credits, status', { block: 'controller', ...c }, (m) => {
    const ROWS = m.param('ROWS', c.rows, 'PE rows: K per tile');
    const COLS = m.param('COLS', c.cols, 'PE columns: N per tile');
    const GROUP = m.param('GROUP', c.group, 'group size along K');
    const DEPTH = m.param('DEPTH', c.depth, 'M rows per pass');
    const CREDITS = m.param('CREDITS', c.credits, 'result FIFO entries');
    const TPG = m.param('TPG', tilesPerGroup, 'K-tiles per group: GROUP / ROWS');
    const TPG_LAST = m.localparam('TPG_LAST', TPG.minus(1), 'index of the last K-tile of a group');
    const DEPTH_LAST = m.localparam('DEPTH_LAST', DEPTH.minus(1), 'index of the last row of a full M-chunk');
    const DW = DIM_BITS;
    const W = DW + 1; // one more bit for base + step comparisons
    const K17 = (v: Expr) => v.zext(W);
    const c17 = (d: Dim) => new ParamConst(d, lit(0, W).width);
    const pc = (d: Dim) => new ParamConst(d, lit(0, DW).width);

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
    const beatAddr = m.output('beat_addr', addrBits, { doc: 'row of the beat within its M-chunk' });

    // --- state ---------------------------------------------------------------
    const IDLE = lit(0, 2);
    const CHECK = lit(1, 2);
    const RUN = lit(2, 2);
    const state = m.reg('state', 2, { doc: '0 idle, 1 checking K, 2 running' });
    const mQ = m.reg('m_q', DW, { doc: 'latched M' });
    const kQ = m.reg('k_q', DW, { doc: 'latched K' });
    const nQ = m.reg('n_q', DW, { doc: 'latched N' });
    const doneQ = m.reg('done_q', 1);
    const errorQ = m.reg('error_q', 1);
    const isIdle = m.let('is_idle', state.eq(IDLE));
    const isCheck = m.let('is_check', state.eq(CHECK));
    const isRun = m.let('is_run', state.eq(RUN));

    // --- start and the K mod GROUP check ----------------------------------------
    const startFire = m.let('start_fire', isIdle.and(start));
    const zeroDim = m.let('zero_dim', dimM.eq(lit(0, DW)).or(dimK.eq(lit(0, DW))).or(dimN.eq(lit(0, DW))));
    const REMW = DW + bitsFor(c.group);
    const rem = m.reg('rem', REMW, { doc: 'K reduced modulo GROUP, one quotient bit per cycle' });
    const chkBit = m.reg('chk_bit', 4, { doc: 'quotient bit under test, 15 down to 0' });
    const gShift = m.let('g_shift', new ParamConst(GROUP, lit(0, REMW).width).shl(chkBit), 'GROUP << chk_bit');
    const remNext = m.let('rem_next', mux(rem.ge(gShift), rem.minus(gShift), rem));
    const checkLast = m.let('check_last', isCheck.and(chkBit.eq(lit(0, 4))));
    const badK = m.let('bad_k', checkLast.and(remNext.any()));
    const runStart = m.let('run_start', checkLast.and(badK.not()), 'K is a multiple of GROUP: go');
    m.update(rem, mux(startFire, dimK.zext(REMW), remNext));
    m.update(chkBit, mux(startFire, lit(15, 4), chkBit.minus(lit(1, 4))));

    // --- credits: result FIFO slots not yet promised --------------------------------
    const credit = m.reg('credit', creditBits, { doc: 'result FIFO entries free and not promised' });

    // --- the two walkers over (N-tile, M-chunk, K-tile) -------------------------
    interface Walker {
      n: Signal;
      m0: Signal;
      k: Signal;
      g: Signal;
      tg: Signal;
      fin: Signal;
      lastK: Signal;
      lastChunk: Signal;
      lastN: Signal;
      finalTile: Signal;
      groupEnd: Signal;
    }
    const walker = (p: string, what: string): Walker => {
      const n = m.reg(`${p}_n`, DW, { doc: `${what}: first output of the N-tile` });
      const m0 = m.reg(`${p}_m0`, DW, { doc: `${what}: first row of the M-chunk` });
      const k = m.reg(`${p}_k`, DW, { doc: `${what}: first input of the K-tile` });
      const g = m.reg(`${p}_g`, DW, { doc: `${what}: first input of the group` });
      const tg = m.reg(`${p}_tg`, tgBits, { doc: `${what}: K-tile within the group` });
      const fin = m.reg(`${p}_fin`, 1, { doc: `${what}: every tile done` });
      const lastK = m.let(`${p}_last_k`, K17(k).plus(c17(ROWS)).eq(K17(kQ)));
      const lastChunk = m.let(`${p}_last_chunk`, K17(m0).plus(c17(DEPTH)).ge(K17(mQ)));
      const lastN = m.let(`${p}_last_n`, K17(n).plus(c17(COLS)).ge(K17(nQ)));
      const finalTile = m.let(`${p}_final_tile`, lastK.and(lastChunk).and(lastN));
      const groupEnd = m.let(`${p}_group_end`, tg.eq(new ParamConst(TPG_LAST, lit(0, tgBits).width)));
      return { n, m0, k, g, tg, fin, lastK, lastChunk, lastN, finalTile, groupEnd };
    };
    /** Next values of a walker when it steps to the next tile (`step`), or restarts (`clear`). */
    const advance = (p: string, w: Walker, step: Expr, clear: Expr): void => {
      const zero = lit(0, DW);
      m.update(w.k, sel([[clear, zero], [step, mux(w.lastK, zero, w.k.plus(pc(ROWS)))]], w.k));
      m.update(w.g, sel([[clear, zero], [step, mux(w.lastK, zero, mux(w.groupEnd, w.g.plus(pc(GROUP)), w.g))]], w.g));
      m.update(w.tg, sel([[clear, lit(0, tgBits)], [step, mux(w.lastK.or(w.groupEnd), lit(0, tgBits), w.tg.plus(lit(1, tgBits)))]], w.tg));
      const chunkStep = m.let(`${p}_chunk_step`, step.and(w.lastK));
      m.update(w.m0, sel([[clear, zero], [chunkStep, mux(w.lastChunk, zero, w.m0.plus(pc(DEPTH)))]], w.m0));
      const nStep = m.let(`${p}_n_step`, chunkStep.and(w.lastChunk));
      m.update(w.n, sel([[clear, zero], [nStep, mux(w.lastN, zero, w.n.plus(pc(COLS)))]], w.n));
      m.update(w.fin, sel([[clear, lit(0, 1)], [step.and(w.finalTile), lit(1, 1)]], w.fin));
    };

    const ld = walker('l', 'load walker');
    const is = walker('i', 'issue walker');

    // --- load side ----------------------------------------------------------------
    const shadowFull = m.reg('shadow_full', 1, { doc: "the array's shadow registers hold a loaded tile" });
    const cmdBusy = m.reg('cmd_busy', 1, { doc: 'the decode unit is loading a tile' });
    const cmdV = m.let('cmd_v', isRun.and(ld.fin.not()).and(shadowFull.not()).and(cmdBusy.not()));
    const cmdFire = m.let('cmd_fire', cmdV.and(cmdReady));
    m.assign(cmdValid, cmdV);
    m.assign(cmdScales, ld.tg.eq(lit(0, tgBits)));
    advance('l', ld, cmdFire, runStart);

    // --- issue side -----------------------------------------------------------------
    const active = m.reg('active', 1, { doc: 'the array computes with a tile of the issue walker' });
    const beatM = m.reg('beat_m', addrBits, { doc: 'row within the M-chunk of the next beat' });
    const isLastBeat = m.let(
      'is_last_beat',
      beatM.eq(new ParamConst(DEPTH_LAST, lit(0, addrBits).width)).or(K17(is.m0).plus(beatM.zext(W)).plus(lit(1, W)).eq(K17(mQ))),
      'last row of the M-chunk',
    );
    const resultBeat = m.let('result_beat', is.lastK, 'beats of the last K-tile produce result rows');
    const creditOk = m.let('credit_ok', resultBeat.not().or(credit.any()));
    const swapOk = m.let('swap_ok', isLastBeat.not().or(is.finalTile).or(shadowFull), 'the last beat swaps: the next tile must be loaded');
    const fire = m.let('fire', isRun.and(active).and(is.fin.not()).and(aValid).and(creditOk).and(swapOk));
    const bubbleSwap = m.let('bubble_swap', isRun.and(active.not()).and(is.fin.not()).and(shadowFull), 'the first tile is swapped in with an empty beat');
    const tileEnd = m.let('tile_end', fire.and(isLastBeat));
    const swap = m.let('swap', bubbleSwap.or(tileEnd.and(is.finalTile.not())));
    m.update(beatM, sel([[runStart, lit(0, addrBits)], [tileEnd, lit(0, addrBits)], [fire, beatM.plus(lit(1, addrBits))]], beatM));
    advance('i', is, tileEnd, runStart);
    m.update(active, sel([[runStart, lit(0, 1)], [bubbleSwap, lit(1, 1)], [tileEnd.and(is.finalTile), lit(0, 1)]], active));
    m.update(shadowFull, sel([[runStart, lit(0, 1)], [tileLoaded, lit(1, 1)], [swap, lit(0, 1)]], shadowFull));
    m.update(cmdBusy, sel([[runStart, lit(0, 1)], [cmdFire, lit(1, 1)], [tileLoaded, lit(0, 1)]], cmdBusy));

    const take = m.let('take', fire.and(resultBeat), 'a result row is promised a FIFO slot');
    m.update(
      credit,
      sel([[runStart, new ParamConst(CREDITS, lit(0, creditBits).width)], [take.and(resultPop.not()), credit.minus(lit(1, creditBits))], [resultPop.and(take.not()), credit.plus(lit(1, creditBits))]], credit),
    );

    // --- finish ---------------------------------------------------------------------
    const finish = m.let('finish', isRun.and(is.fin).and(credit.eq(new ParamConst(CREDITS, lit(0, creditBits).width))), 'every result row has left the FIFO');
    m.update(state, sel([[startFire.and(zeroDim.not()), CHECK], [startFire, IDLE], [badK, IDLE], [runStart, RUN], [finish, IDLE]], state));
    m.update(mQ, dimM, { enable: startFire });
    m.update(kQ, dimK, { enable: startFire });
    m.update(nQ, dimN, { enable: startFire });
    m.update(doneQ, sel([[startFire, zeroDim], [badK.or(finish), lit(1, 1)]], doneQ));
    m.update(errorQ, sel([[startFire, zeroDim], [badK, lit(1, 1)]], errorQ));

    m.assign(busy, isIdle.not());
    m.assign(done, doneQ);
    m.assign(error, errorQ);
    m.assign(aReady, fire);
    m.assign(beatFire, fire);
    m.assign(tileSwap, swap);
    m.assign(firstKtile, is.tg.eq(lit(0, tgBits)));
    m.assign(lastKtile, is.groupEnd);
    m.assign(firstGroup, is.g.eq(lit(0, DW)));
    m.assign(lastGroup, K17(is.g).plus(c17(GROUP)).eq(K17(kQ)));
    m.assign(lastBeat, isLastBeat);
    m.assign(beatAddr, beatM);
  });
}
