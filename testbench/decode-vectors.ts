import { DecodeModel, WORD_BITS, type DecodeInputs, type DecodeParams } from '../quant/hwmodel/decode.ts';
import { encodeLaneSetting, type ReconParams } from '../quant/hwmodel/recon.ts';
import { reconTopologyModel } from '../quant/hwmodel/recon-topologies.ts';
import type { DecodedTile } from '../quant/hwmodel/weight-stream.ts';
import type { MsqConfig } from '../quant/microscopiq/config.ts';
import { SLOT_INLIER, SLOT_OUTLIER, SLOT_PRUNED, type MsqLayer, type MsqStats } from '../quant/microscopiq/layer.ts';
import { decodeOutlier } from '../quant/microscopiq/outlier-code.ts';
import type { CycleVector } from './cycle-harness.ts';
import { Rng } from './rng.ts';

export interface DecodeTileJob {
  words: Uint32Array;
  withScales: boolean;
}

/** How the environment around the unit behaves. */
export interface DecodeTraffic {
  /** probability that the host offers a new word in a cycle (it then holds it until taken) */
  validProb: number;
  /** a command is presented 0..cmdDelayMax cycles after the previous one was taken (then held) */
  cmdDelayMax: number;
  /** probability that scale_ready is high in a cycle */
  scaleReadyProb: number;
  seed: number;
}

/** What the unit did, as seen on its outputs (the model's outputs). */
export interface LoadedTile {
  /** scale_data when it was taken (scale_valid & scale_ready), or null */
  scales: bigint | null;
  /** w_row_data / cfg_row_data of each w_row_load pulse, in order, with the pulse */
  rows: { load: bigint; ops: bigint; cfg: bigint }[];
}

export interface DecodeRun {
  vectors: CycleVector[];
  loaded: LoadedTile[];
  /** cycles from the end of reset to the last tile_loaded */
  cycles: number;
  model: DecodeModel;
  rng: Rng;
}

function randomBits(rng: Rng, w: number): bigint {
  let v = 0n;
  for (let i = 0; i < w; i += 32) v |= BigInt(rng.next()) << BigInt(i);
  return v & ((1n << BigInt(w)) - 1n);
}

/**
 * Cycle vectors for one stream of tiles: two reset cycles, then the host offers
 * the tiles' words with random gaps (garbage on w_data while w_valid is low),
 * presents one command per tile at random times, and raises scale_ready at
 * random. Every output is expected every cycle, from the cycle model. Stops a
 * few cycles after the last tile is loaded and its scales are taken.
 */
export function decodeVectors(p: DecodeParams, tiles: DecodeTileJob[], t: DecodeTraffic): DecodeRun {
  const rng = new Rng(t.seed);
  const model = new DecodeModel(p);
  const vectors: CycleVector[] = [];
  const words = tiles.flatMap((x) => [...x.words]);
  let wi = 0;
  let offering = false;
  let cmdIdx = 0;
  let cmdWait = rng.int(0, t.cmdDelayMax);
  const loaded: LoadedTile[] = tiles.map(() => ({ scales: null, rows: [] }));
  let loadTile = 0;
  const scaleTiles = tiles.map((x, i) => (x.withScales ? i : -1)).filter((i) => i >= 0);
  let scaleIdx = 0;
  let cycles = 0;
  let tail = -1;

  const idle = (rst: boolean): DecodeInputs => ({
    rst_n: rst ? 0n : 1n,
    w_data: randomBits(rng, WORD_BITS),
    w_valid: 0n,
    cmd_valid: 0n,
    cmd_scales: BigInt(rng.int(0, 1)),
    scale_ready: BigInt(rng.int(0, 1)),
  });
  const push = (inp: DecodeInputs) => {
    model.step(inp);
    vectors.push({ inputs: { ...inp }, expect: model.outputs() });
  };
  push(idle(true));
  push(idle(true));

  const limit = 50 * (words.length + tiles.length * p.rows * p.ublocks) + 1000;
  for (let cyc = 0; tail !== 0; cyc++) {
    if (cyc > limit) throw new Error(`decode stream did not finish in ${limit} cycles (tile ${loadTile} of ${tiles.length})`);
    const inp = idle(false);
    if (!offering && wi < words.length && rng.float() < t.validProb) offering = true;
    if (offering) {
      inp.w_valid = 1n;
      inp.w_data = BigInt(words[wi]!);
    }
    if (cmdIdx < tiles.length) {
      if (cmdWait > 0) cmdWait--;
      else {
        inp.cmd_valid = 1n;
        inp.cmd_scales = tiles[cmdIdx]!.withScales ? 1n : 0n;
      }
    }
    inp.scale_ready = rng.float() < t.scaleReadyProb ? 1n : 0n;
    // what the edge will do, from the outputs before it
    const before = model.outputs();
    const ev = model.step(inp);
    vectors.push({ inputs: inp, expect: model.outputs() });
    if (ev.wordTaken) {
      wi++;
      offering = false;
    }
    if (ev.cmdTaken) {
      cmdIdx++;
      cmdWait = rng.int(0, t.cmdDelayMax);
    }
    if (before.scale_valid === 1n && inp.scale_ready === 1n) {
      const ti = scaleTiles[scaleIdx++];
      if (ti === undefined) throw new Error('scales taken for a tile without scales');
      loaded[ti]!.scales = before.scale_data!;
    }
    const after = model.outputs();
    if (after.w_row_load !== 0n) {
      if (loadTile >= tiles.length) throw new Error('a row was loaded after the last tile');
      loaded[loadTile]!.rows.push({ load: after.w_row_load!, ops: after.w_row_data!, cfg: after.cfg_row_data ?? 0n });
      if (after.tile_loaded === 1n) {
        loadTile++;
        cycles = cyc + 1;
      }
    } else if (after.tile_loaded === 1n) throw new Error('tile_loaded without a row load');
    if (tail < 0 && loadTile === tiles.length && scaleIdx === scaleTiles.length) tail = 3;
    else if (tail > 0) tail--;
  }
  return { vectors, loaded, cycles, model, rng };
}

/** `n` idle cycles after a run (to line up several units in one bench). */
export function idleVectors(run: DecodeRun, n: number): CycleVector[] {
  const out: CycleVector[] = [];
  for (let k = 0; k < n; k++) {
    const inp: DecodeInputs = { rst_n: 1n, w_data: randomBits(run.rng, WORD_BITS), w_valid: 0n, cmd_valid: 0n, cmd_scales: 0n, scale_ready: 1n };
    run.model.step(inp);
    out.push({ inputs: inp, expect: run.model.outputs() });
  }
  return out;
}

/** The port values a row should carry: operands (b-bit two's complement) and lane settings, column 0 first. */
export function packTileRow(p: DecodeParams, row: DecodedTile['rows'][number]): { ops: bigint; cfg: bigint } {
  const rp: ReconParams = { lanes: p.lanes, splitBits: p.split, guardBits: p.guardBits, shiftBits: p.shiftBits };
  let ops = 0n;
  let cfg = 0n;
  const m = (1n << BigInt(p.wbits)) - 1n;
  row.operands.forEach((v, i) => (ops |= (v & m) << BigInt(i * p.wbits)));
  if (p.outliers) row.settings.forEach((s, i) => (cfg |= encodeLaneSetting(s, rp) << BigInt(i * p.cfgBits)));
  return { ops, cfg };
}

export function packScales(codes: number[]): bigint {
  return codes.reduce((a, c, i) => a | (BigInt(c) << BigInt(8 * i)), 0n);
}

// ---------------------------------------------------------------------------

export type PairPlan = 'none' | 'full' | 'random';

/** np random legal pairs (the topology record's testbench hook), sorted by outlier slot as a record stores them. */
function randomPairs(B: number, np: number, recon: MsqConfig['recon'], rng: Rng): { o: number; p: number }[] {
  return reconTopologyModel(recon).randomPairs(B, np, rng).sort((a, b) => a.o - b.o);
}

/**
 * A hand-made layer with the given pair plan per μB: 'none' (no outliers),
 * 'full' (B/2 pairs, every slot paired: the longest records), or 'random'
 * (0..B/2 pairs). Codes, X and scales are random but legal: every outlier code
 * has M > 0 and a shift inside 0..maxShift (and is not NaN), inliers avoid the
 * code 10..0. The caller checks it round-trips through the packed format.
 */
export function adversarialLayer(cfg: MsqConfig, N: number, K: number, plan: PairPlan, seed: number): MsqLayer {
  const rng = new Rng(seed);
  const B = cfg.ublockSize;
  const b = cfg.b;
  const G = cfg.groupSize;
  const Np = Math.ceil(N / B) * B;
  const Kp = Math.ceil(K / G) * G;
  const groups = Kp / G;
  const upc = Np / B;
  const nUb = Kp * upc;
  const scales = new Int16Array(Np * groups).map(() => rng.int(-20, 20));
  const codes = new Uint8Array(Np * Kp);
  const kind = new Uint8Array(Np * Kp);
  const operand = new Int8Array(Np * Kp);
  const ubX = new Uint8Array(nUb);
  const pairStart = new Uint32Array(nUb + 1);
  const P = { ublock: [] as number[], outlier: [] as number[], partner: [] as number[], code: [] as number[], sign: [] as number[], M: [] as number[], hi: [] as number[], lo: [] as number[], shift: [] as number[] };
  const Q = cfg.maxInt;
  for (let u = 0; u < nUb; u++) {
    const k = Math.floor(u / upc);
    const j = u % upc;
    pairStart[u] = P.ublock.length;
    const np = plan === 'none' ? 0 : plan === 'full' ? B / 2 : rng.int(0, B / 2);
    const pairs = randomPairs(B, np, cfg.recon, rng);
    const X = pairs.length > 0 ? rng.int(0, (1 << cfg.xbits) - 1) : 0;
    ubX[u] = X;
    for (let i = 0; i < B; i++) {
      const idx = (j * B + i) * Kp + k;
      const q = rng.int(-Q, Q);
      codes[idx] = q & ((1 << b) - 1);
      kind[idx] = SLOT_INLIER;
      operand[idx] = q;
    }
    for (const { o, p } of pairs) {
      let code = 0;
      let d = decodeOutlier(0, X, cfg);
      for (let tries = 0; ; tries++) {
        if (tries > 10000) throw new Error('no legal outlier code');
        code = rng.int(0, (1 << (2 * b)) - 1);
        d = decodeOutlier(code, X, cfg);
        const nan = cfg.outFmt.specials === 'nan-only-all-ones' && (code & ((1 << (2 * b - 1)) - 1)) === (1 << (2 * b - 1)) - 1;
        if (d.M > 0 && d.shift >= 0 && d.shift <= cfg.maxShift && !nan) break;
      }
      const io = (j * B + o) * Kp + k;
      const ip = (j * B + p) * Kp + k;
      codes[io] = code >> b;
      codes[ip] = code & ((1 << b) - 1);
      kind[io] = SLOT_OUTLIER;
      kind[ip] = SLOT_PRUNED;
      operand[io] = d.sign ? -d.hi : d.hi;
      operand[ip] = d.sign ? -d.lo : d.lo;
      P.ublock.push(u);
      P.outlier.push(o);
      P.partner.push(p);
      P.code.push(code);
      P.sign.push(d.sign);
      P.M.push(d.M);
      P.hi.push(d.hi);
      P.lo.push(d.lo);
      P.shift.push(d.shift);
    }
  }
  pairStart[nUb] = P.ublock.length;
  const stats: MsqStats = {
    weights: N * K, candidates: 0, outliers: P.ublock.length, clippedNoLegalPartner: 0, clippedPartnersTaken: 0, clippedNotWorthIt: 0, windowClamped: 0, outliersSaturated: 0,
    ublocksWithOutliers: new Set(P.ublock).size,
  };
  return {
    config: cfg, N, K, Np, Kp, groups, ublocksPerColumn: upc, ublocks: nUb, scales, codes, kind, operand, ubX, pairStart,
    pairs: {
      ublock: Uint32Array.from(P.ublock), outlier: Uint8Array.from(P.outlier), partner: Uint8Array.from(P.partner), code: Uint8Array.from(P.code),
      sign: Uint8Array.from(P.sign), M: Uint8Array.from(P.M), hi: Uint8Array.from(P.hi), lo: Uint8Array.from(P.lo), shift: Uint8Array.from(P.shift),
    },
    stats,
  };
}
