import { PostArrayModel, type PostArrayBeat, type PostArrayModelParams } from '../quant/hwmodel/post-array.ts';
import type { CycleVector, PortValues } from './cycle-harness.ts';
import { Rng } from './rng.ts';

/**
 * One pass of the post-array unit: one N-tile over one M-chunk, all K.
 * Beats arrive in problem order: for g, for each K-tile of g, for m in the chunk.
 */
export interface PostArrayPass {
  /** Mc: rows of the M-chunk (1..D) */
  rows: number;
  ktilesPerGroup: number;
  groups: number;
  /** colSums[g][kt][m][c]: signed column sums */
  colSums: bigint[][][][];
  /** weight scale codes S_w + 127, scales[g][c] */
  scales: number[][];
  /** activation scale codes S_x + 127, sx[m][g] */
  sx: number[][];
  /** reset the unit (rst_n low) before this pass, once the previous passes' beats have left the pipeline */
  resetBefore?: boolean;
  /**
   * reset the unit right after this many beats of the pass, with beats in
   * flight: they are dropped, the rest of the pass is not sent (its rows are
   * those finished before the reset)
   */
  abortAfter?: number;
}

/**
 * Where the combined exponent E = S_w + S_x - EOFF lands: moderate values,
 * results near and below the smallest normal (subnormals, underflow to ±0),
 * results near and beyond the largest finite (±Inf, and NaN from Inf - Inf
 * across groups), everything far below the subnormals (every term is ±0, so
 * a result is +0 even when all its terms are -0), or codes anywhere in 0..254.
 */
export type ScaleRegime = 'normal' | 'subnormal' | 'overflow' | 'underflow' | 'any';

export interface PassShape {
  rows: number;
  ktilesPerGroup: number;
  groups: number;
  /** per-group exponent regimes are drawn from this list */
  regimes: ScaleRegime[];
  resetBefore?: boolean;
  abortAfter?: number;
}

function randomColSum(rng: Rng, accWidth: number): bigint {
  const max = 2 ** (accWidth - 1);
  const u = rng.float();
  if (u < 0.55) return BigInt(rng.int(-max, max - 1));
  if (u < 0.7) return BigInt(rng.int(-8, 8));
  if (u < 0.8) return 0n;
  if (u < 0.9) return BigInt(rng.float() < 0.5 ? -max : max - 1); // the extremes of ACCW
  return BigInt(rng.int(-(2 ** Math.max(0, accWidth - 6)), 2 ** Math.max(0, accWidth - 6))); // mid-size: rounding cases
}

/** A pair of codes (S_w, S_x) for the regime: their sum sets E = S_w + S_x - EOFF. */
function codeFor(rng: Rng, regime: ScaleRegime, expOffset: number, intWidth: number): number {
  const half = expOffset / 2;
  const clamp = (x: number): number => Math.max(0, Math.min(254, Math.round(x)));
  switch (regime) {
    case 'normal':
      return clamp(half + rng.int(-12, 12));
    case 'subnormal':
      // E + log2|acc| around -149 .. -126: E about -135 - INTW/2, split over two codes
      return clamp(half + (-137 - intWidth / 2) / 2 + rng.int(-9, 9));
    case 'overflow':
      // E + log2|acc| around 120 .. 135
      return clamp(half + (128 - intWidth / 2) / 2 + rng.int(-7, 7));
    case 'underflow':
      return rng.int(0, 12); // E <= 24 - EOFF, |acc| < 2^53: below 2^-150
    case 'any':
      return rng.int(0, 254);
  }
}

/** A random pass; group sums never exceed INTW (ktilesPerGroup <= 2^(INTW - ACCW)). */
export function randomPass(p: PostArrayModelParams, shape: PassShape, rng: Rng): PostArrayPass {
  if (shape.rows < 1 || shape.rows > p.depth) throw new RangeError(`M-chunk of ${shape.rows} rows with depth ${p.depth}`);
  if (shape.ktilesPerGroup > 2 ** (p.intWidth - p.accWidth)) throw new RangeError(`${shape.ktilesPerGroup} K-tiles per group could overflow ${p.intWidth} bits`);
  const regimes = Array.from({ length: shape.groups }, () => shape.regimes[rng.int(0, shape.regimes.length - 1)]!);
  return {
    rows: shape.rows,
    ktilesPerGroup: shape.ktilesPerGroup,
    groups: shape.groups,
    resetBefore: shape.resetBefore,
    abortAfter: shape.abortAfter,
    colSums: Array.from({ length: shape.groups }, () =>
      Array.from({ length: shape.ktilesPerGroup }, () => Array.from({ length: shape.rows }, () => Array.from({ length: p.cols }, () => randomColSum(rng, p.accWidth)))),
    ),
    scales: regimes.map((r) => Array.from({ length: p.cols }, () => codeFor(rng, r, p.expOffset, p.intWidth))),
    sx: Array.from({ length: shape.rows }, () => regimes.map((r) => codeFor(rng, r, p.expOffset, p.intWidth))),
  };
}

/** The beats of a pass in stream order. */
export function passBeats(pass: PostArrayPass): PostArrayBeat[] {
  const beats: PostArrayBeat[] = [];
  for (let g = 0; g < pass.groups; g++) {
    for (let kt = 0; kt < pass.ktilesPerGroup; kt++) {
      for (let m = 0; m < pass.rows; m++) {
        beats.push({
          addr: m,
          firstKtile: kt === 0,
          lastKtile: kt === pass.ktilesPerGroup - 1,
          firstGroup: g === 0,
          lastGroup: g === pass.groups - 1,
          lastBeat: m === pass.rows - 1,
          sx: pass.sx[m]![g]!,
          colSum: pass.colSums[g]![kt]![m]!,
        });
      }
    }
  }
  return beats;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The contract's result rows of a pass, computed independently of the model
 * and of quant/hwmodel/fp32.ts, as referenceMatmul does: per row m and column c,
 * y = +0; for each group y = fround(y + fround(acc_g · 2^E_g)), with the group
 * integer acc_g summed exactly as a double. NaN is reported as 0x7FC00000.
 */
export function passReference(pass: PostArrayPass, expOffset: number): number[][] {
  const cols = pass.scales[0]!.length;
  return Array.from({ length: pass.rows }, (_, m) =>
    Array.from({ length: cols }, (_, c) => {
      let y = 0;
      for (let g = 0; g < pass.groups; g++) {
        let acc = 0;
        for (let kt = 0; kt < pass.ktilesPerGroup; kt++) acc += Number(pass.colSums[g]![kt]![m]![c]!);
        const e = pass.scales[g]![c]! + pass.sx[m]![g]! - expOffset;
        y = Math.fround(y + Math.fround(acc * 2 ** e));
      }
      if (Number.isNaN(y)) return 0x7fc00000;
      f32[0] = y;
      return u32[0]!;
    }),
  );
}

export interface DriveOptions {
  /** probability of a bubble in a cycle with a beat to send */
  bubble: number;
  /**
   * probability that a pending scale word is offered (scale_valid) in a cycle:
   * near 1 the FIFO runs full (backpressure), near 0 the scales come late and
   * beats wait; one value, or one per pass (by the pass of the pending word)
   */
  scaleRate: number | number[];
  /** probability that row_ready is low in a cycle (the consumer holds the results back); default 0 */
  rowStall?: number;
  /** idle cycles after the last row was taken */
  tail?: number;
}

export interface PostArrayRun {
  vectors: CycleVector[];
  model: PostArrayModel;
  /** the rows the model produced, per pass, in beat order (of an aborted pass: those finished before the reset) */
  rowsPerPass: number[][][];
  stats: {
    cycles: number;
    beats: number;
    bubbles: number;
    lateScaleStalls: number;
    /** cycles a beat waited for the revisit gap of its row */
    gapStalls: number;
    /** beats sent exactly revisitGap cycles after the previous beat of their row */
    exactGap: number;
    backpressured: number;
    /** cycles row_ready was low with a row on row_data */
    rowHeld: number;
    /** cycles a new pass's beat waited for its row's previous result to be read out */
    readOutStalls: number;
    resets: number;
    /** beats in flight dropped by a reset */
    dropped: number;
  };
}

function pack(values: readonly (bigint | number)[], width: number): bigint {
  const mask = (1n << BigInt(width)) - 1n;
  return values.reduce<bigint>((acc, v, i) => acc | ((BigInt(v) & mask) << BigInt(i * width)), 0n);
}

/**
 * Drives passes through the model cycle by cycle, as the accelerator would
 * (with random timing), and records the port values for the cycle harness.
 *
 * - Beats follow each other in stream order; with probability `bubble` a cycle
 *   is a bubble whose beat fields are random garbage (they must change nothing).
 * - A beat waits (bubble) until its row's revisit gap has passed since the
 *   previous beat of that row (the controller's spacing), so one-row passes
 *   and passes shorter than the gap send beats exactly revisitGap apart.
 * - Scale words (one per group, in order) are offered with probability
 *   `scaleRate` per cycle; an offer while the FIFO is full is refused
 *   (scale_ready = 0) and repeated later. A beat of a group's last K-tile
 *   waits (bubble) while the FIFO is empty: its scales are late.
 * - row_ready is low with probability `rowStall` per cycle; a beat that
 *   starts a new pass's fbuf word (first group, last K-tile) waits (bubble)
 *   while its row's previous result is still to be read out, as the
 *   controller waits for row_free.
 * - A pass with `resetBefore` starts, once the pipeline and the output have drained, with one
 *   or two reset cycles (garbage on every input); its scale words are offered
 *   only after the reset. A pass with `abortAfter` is cut by a reset right
 *   after that many of its beats, with beats in flight (dropped); its
 *   remaining beats and scale words are skipped.
 * After the last beat the run goes on until every row was taken, then `tail`
 * idle cycles. The first cycle is a reset. Expected outputs: the model's,
 * every cycle.
 */
export function postArrayVectors(p: PostArrayModelParams, passes: PostArrayPass[], opts: DriveOptions, seed: number): PostArrayRun {
  const rng = new Rng(seed);
  const model = new PostArrayModel(p);
  const aw = Math.log2(Math.max(2, p.depth));
  const beats = passes.flatMap((pass, i) => passBeats(pass).map((b, k) => ({ b, pass: i, k })));
  const scales = passes.flatMap((pass, i) => pass.scales.map((s) => ({ s, pass: i })));
  const resetDone = passes.map((pass) => !pass.resetBefore);
  const rowsPerPass: number[][][] = passes.map(() => []);
  const vectors: CycleVector[] = [];
  const stats = { cycles: 0, beats: 0, bubbles: 0, lateScaleStalls: 0, gapStalls: 0, exactGap: 0, backpressured: 0, rowHeld: 0, readOutStalls: 0, resets: 0, dropped: 0 };
  /** the pass of each promised row (its last group's last K-tile entered) not yet read out, oldest first: rows are read out in that order */
  const promised: number[] = [];
  const rowStall = opts.rowStall ?? 0;

  const garbageBeat = (): PortValues => ({
    col_sum: pack(Array.from({ length: p.cols }, () => BigInt(rng.next())), p.accWidth),
    beat_addr: BigInt(rng.int(0, 2 ** aw - 1)),
    first_ktile: BigInt(rng.int(0, 1)),
    last_ktile: BigInt(rng.int(0, 1)),
    first_group: BigInt(rng.int(0, 1)),
    last_group: BigInt(rng.int(0, 1)),
    last_beat: BigInt(rng.int(0, 1)),
    sx: BigInt(rng.int(0, 255)),
  });
  const garbageScale = (): bigint => pack(Array.from({ length: p.cols }, () => rng.int(0, 255)), 8);
  /** row_ready of this cycle: low with probability rowStall */
  const drawReady = (): boolean => rowStall === 0 || rng.float() >= rowStall;
  /** rows of model.rows already given to their pass */
  let attributed = 0;
  const record = (inputs: PortValues): void => {
    const out = model.outputs;
    for (; attributed < model.rows.length; attributed++) rowsPerPass[promised.shift()!]!.push(model.rows[attributed]!.data);
    vectors.push({
      inputs,
      expect: {
        scale_ready: out.scaleReady ? 1n : 0n,
        row_data: pack(out.rowData, 32),
        row_valid: out.rowValid ? 1n : 0n,
        row_free: out.rowFree ? 1n : 0n,
        row_free_addr: BigInt(out.rowFreeAddr),
      },
    });
    stats.cycles++;
  };
  const resetCycle = (): void => {
    stats.dropped += model.inFlight;
    model.step({ rstN: false, beat: null, scale: null, rowReady: rng.float() < 0.5 });
    record({ rst_n: 0n, beat_valid: BigInt(rng.int(0, 1)), ...garbageBeat(), scale_valid: BigInt(rng.int(0, 1)), scale_data: garbageScale(), row_ready: BigInt(rng.int(0, 1)) });
    // a reset drops every promised row not yet read out
    promised.length = 0;
    stats.resets++;
  };
  const idleCycle = (): void => {
    const rowReady = drawReady();
    if (!rowReady && model.outputs.rowValid) stats.rowHeld++;
    model.step({ rstN: true, beat: null, scale: null, rowReady });
    record({ rst_n: 1n, beat_valid: 0n, ...garbageBeat(), scale_valid: 0n, scale_data: garbageScale(), row_ready: rowReady ? 1n : 0n });
    stats.bubbles++;
  };

  resetCycle();
  let bi = 0;
  let si = 0;
  let tail = opts.tail ?? 2;
  const lastSent = new Map<number, number>();
  /** every promised row was read out and taken */
  const drained = (): boolean => promised.length === 0 && !model.outputs.rowValid;
  while (bi < beats.length || !drained() || tail-- > 0) {
    const next = beats[bi];
    if (next && !resetDone[next.pass] && next.k === 0) {
      while (model.inFlight > 0 || !drained()) idleCycle();
      for (let r = rng.int(1, 2); r > 0; r--) resetCycle();
      resetDone[next.pass] = true;
      lastSent.clear();
      continue;
    }
    const cut = next ? passes[next.pass]!.abortAfter : undefined;
    if (next && cut !== undefined && next.k === cut) {
      // abort: a reset with beats in flight; skip the rest of the pass and its scale words
      for (let r = rng.int(1, 2); r > 0; r--) resetCycle();
      while (beats[bi]?.pass === next.pass) bi++;
      // the reset empties the FIFO: the next pass's words are offered again from its first
      si = scales.findIndex((x) => x.pass > next.pass);
      if (si < 0) si = scales.length;
      if (beats[bi]) resetDone[beats[bi]!.pass] = true;
      lastSent.clear();
      continue;
    }
    // scale offer
    let scaleIn: number[] | null = null;
    const pendingScale = scales[si];
    const rate = typeof opts.scaleRate === 'number' ? opts.scaleRate : opts.scaleRate[pendingScale?.pass ?? 0]!;
    if (pendingScale && resetDone[pendingScale.pass] && rng.float() < rate) {
      scaleIn = pendingScale.s;
      if (model.outputs.scaleReady) si++;
      else stats.backpressured++;
    }
    // beat or bubble
    let beat: PostArrayBeat | null = null;
    if (next && rng.float() >= opts.bubble) {
      if (model.waitFor(next.b.addr) > 0) stats.gapStalls++;
      else if (next.b.lastKtile && model.scaleCount === 0) stats.lateScaleStalls++;
      else if (next.b.firstGroup && next.b.lastKtile && model.owes(next.b.addr)) stats.readOutStalls++;
      else beat = next.b;
    }
    const rowReady = drawReady();
    if (!rowReady && model.outputs.rowValid) stats.rowHeld++;
    const inputs: PortValues = {
      rst_n: 1n,
      beat_valid: beat ? 1n : 0n,
      ...garbageBeat(),
      scale_valid: scaleIn ? 1n : 0n,
      scale_data: scaleIn ? pack(scaleIn, 8) : garbageScale(),
      row_ready: rowReady ? 1n : 0n,
    };
    if (beat) {
      Object.assign(inputs, {
        col_sum: pack(beat.colSum, p.accWidth),
        beat_addr: BigInt(beat.addr),
        first_ktile: beat.firstKtile ? 1n : 0n,
        last_ktile: beat.lastKtile ? 1n : 0n,
        first_group: beat.firstGroup ? 1n : 0n,
        last_group: beat.lastGroup ? 1n : 0n,
        last_beat: beat.lastBeat ? 1n : 0n,
        sx: BigInt(beat.sx),
      });
      const prev = lastSent.get(beat.addr);
      if (prev !== undefined && stats.cycles - prev === model.revisitGap) stats.exactGap++;
      lastSent.set(beat.addr, stats.cycles);
      stats.beats++;
    } else {
      stats.bubbles++;
    }
    if (beat?.lastKtile && beat.lastGroup) promised.push(next!.pass);
    model.step({ rstN: true, beat, scale: scaleIn, rowReady });
    record(inputs);
    if (beat) bi++;
  }
  return { vectors, model, rowsPerPass, stats };
}
