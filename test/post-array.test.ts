import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  postArray,
  postArrayModuleName,
  postArrayIntWidth,
  postArrayExpOffset,
  checkPostArrayConfig,
  postArrayTiming,
  type PostArrayConfig,
} from '../generator/blocks/post-array.ts';
import { INT2FP_STAGES } from '../generator/blocks/int-to-fp32.ts';
import { FP32_ADD_STAGES } from '../generator/blocks/fp32-add.ts';
import { PostArrayModel, POST_ARRAY_STAGES, postArrayModelTiming, type PostArrayBeat } from '../quant/hwmodel/post-array.ts';
import { randomPass, passReference, postArrayVectors, type PassShape, type PostArrayPass, type PostArrayRun } from '../testbench/post-array-vectors.ts';
import { writeCycleBench, runBench, parseSimOutput, type CycleVector, type Simulator, type SimResult } from '../testbench/cycle-harness.ts';
import { run } from '../testbench/tools.ts';
import { Rng } from '../testbench/rng.ts';
import { InputError } from '../common/errors.ts';
import { quantizeMicroScopiQ, quantizeActivations, referenceMatmul, laneValues, accumulatorBits, type MsqOptions } from '../quant/microscopiq/index.ts';
import { llmLikeWeights, llmLikeActivations } from '../quant/microscopiq/synthetic.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

const hex = (x: number): string => '0x' + (x >>> 0).toString(16).padStart(8, '0');

// ---------------------------------------------------------------------------
// A real MicroScopiQ layer (W4A8, outliers, G = 32) on an 8x8 array: the column
// sums of each (N-tile, K-tile, row) from the exact lane values, M-chunks of D = 4.
// ---------------------------------------------------------------------------
const LAYER_R = 8;
const LAYER_C = 8;
const LAYER_D = 4;
function layerProblem(): { cfg: PostArrayConfig; passes: PostArrayPass[]; where: { nt: number; m0: number }[]; Y: Float32Array; N: number } {
  const N = 12;
  const K = 96;
  const M = 5;
  const L = quantizeMicroScopiQ(llmLikeWeights(N, K, 3, { outlierRate: 0.04 }), N, K, { stdDev: 2.5, groupSize: 32 } as MsqOptions);
  const A = quantizeActivations(llmLikeActivations(M, K, 1, 2), M, K, { bits: 8, groupSize: L.config.groupSize });
  const G = L.config.groupSize;
  const accWidth = accumulatorBits({ config: { ...L.config, groupSize: LAYER_R } }, 8); // R lanes per column sum
  const cfg: PostArrayConfig = {
    cols: LAYER_C,
    accWidth,
    intWidth: postArrayIntWidth(accWidth, G, LAYER_R),
    depth: LAYER_D,
    expOffset: postArrayExpOffset(4, A.bits, L.config.guardBits),
  };
  const lanes = laneValues(L);
  const passes: PostArrayPass[] = [];
  const where: { nt: number; m0: number }[] = [];
  const ktg = G / LAYER_R;
  for (let nt = 0; nt < Math.ceil(N / LAYER_C); nt++) {
    for (let m0 = 0; m0 < M; m0 += LAYER_D) {
      const rows = Math.min(LAYER_D, M - m0);
      const cols = Array.from({ length: LAYER_C }, (_, c) => nt * LAYER_C + c);
      passes.push({
        rows,
        ktilesPerGroup: ktg,
        groups: L.groups,
        colSums: Array.from({ length: L.groups }, (_, g) =>
          Array.from({ length: ktg }, (_, kt) =>
            Array.from({ length: rows }, (_, m) =>
              cols.map((n) => {
                let s = 0;
                for (let r = 0; r < LAYER_R; r++) {
                  const k = (g * ktg + kt) * LAYER_R + r;
                  s += n < L.Np ? lanes[n * L.Kp + k]! * A.q[(m0 + m) * A.Kp + k]! : 0;
                }
                return BigInt(s);
              }),
            ),
          ),
        ),
        scales: Array.from({ length: L.groups }, (_, g) => cols.map((n) => (n < L.Np ? L.scales[n * L.groups + g]! : 0) + 127)),
        sx: Array.from({ length: rows }, (_, m) => Array.from({ length: L.groups }, (_, g) => A.scales[(m0 + m) * A.groups + g]! + 127)),
      });
      where.push({ nt, m0 });
    }
  }
  return { cfg, passes, where, Y: referenceMatmul(A, L), N };
}

// ---------------------------------------------------------------------------
// Hardware configurations and their streams
// ---------------------------------------------------------------------------
interface Case {
  label: string;
  cfg: PostArrayConfig;
  run: PostArrayRun;
  passes: PostArrayPass[];
}

const ALL: ScaleRegimeList = ['normal', 'subnormal', 'overflow', 'any'];
type ScaleRegimeList = PassShape['regimes'];

function makeCase(label: string, cfg: PostArrayConfig, shapes: PassShape[], rates: number[], seed: number, extra: PostArrayPass[] = [], bubble = 0.2, rowStall = 0.3): Case {
  const rng = new Rng(seed);
  const passes = [...extra, ...shapes.map((s) => randomPass(cfg, s, rng))];
  return { label, cfg, passes, run: postArrayVectors(cfg, passes, { bubble, rowStall, scaleRate: passes.map((_, i) => rates[i % rates.length]!) }, seed + 1) };
}

const layer = layerProblem();
const cases: Case[] = [
  makeCase(
    'C=4 ACCW=12 INTW=14 D=8 EOFF=256',
    { cols: 4, accWidth: 12, intWidth: 14, depth: 8, expOffset: 256 },
    [
      { rows: 1, ktilesPerGroup: 4, groups: 3, regimes: ['normal'] }, // one row: the same address back to back
      { rows: 8, ktilesPerGroup: 4, groups: 2, regimes: ['subnormal'] },
      { rows: 3, ktilesPerGroup: 1, groups: 4, regimes: ['overflow'], resetBefore: true },
      { rows: 5, ktilesPerGroup: 2, groups: 3, regimes: ALL, abortAfter: 27 }, // reset with the last K-tile's beats in flight
      { rows: 5, ktilesPerGroup: 2, groups: 3, regimes: ALL },
      { rows: 1, ktilesPerGroup: 3, groups: 5, regimes: ['overflow', 'subnormal'] },
      { rows: 2, ktilesPerGroup: 1, groups: 1, regimes: ['any'] },
      { rows: 6, ktilesPerGroup: 2, groups: 2, regimes: ['underflow'] }, // all terms ±0: the results are +0
      { rows: 8, ktilesPerGroup: 3, groups: 4, regimes: ALL, resetBefore: true },
      { rows: 7, ktilesPerGroup: 4, groups: 2, regimes: ['subnormal', 'normal'] },
    ],
    [1, 0.05, 0.4], // early (FIFO full), late (beats wait), in between
    101,
  ),
  makeCase(
    `real W4A8 layer, C=${LAYER_C} ACCW=${layer.cfg.accWidth} INTW=${layer.cfg.intWidth} D=${LAYER_D} EOFF=${layer.cfg.expOffset}`,
    layer.cfg,
    [
      { rows: 4, ktilesPerGroup: 4, groups: 2, regimes: ALL },
      { rows: 1, ktilesPerGroup: 2, groups: 3, regimes: ['overflow', 'subnormal'], abortAfter: 5 },
      { rows: 1, ktilesPerGroup: 2, groups: 3, regimes: ['overflow', 'subnormal'] },
    ],
    [0.3, 1, 0.03],
    202,
    layer.passes,
  ),
  makeCase(
    'C=1 ACCW=8 INTW=11 D=1 EOFF=262',
    { cols: 1, accWidth: 8, intWidth: 11, depth: 1, expOffset: 262 },
    [
      { rows: 1, ktilesPerGroup: 8, groups: 2, regimes: ALL },
      { rows: 1, ktilesPerGroup: 1, groups: 6, regimes: ['overflow', 'subnormal', 'normal'] },
      { rows: 1, ktilesPerGroup: 5, groups: 3, regimes: ['subnormal'], resetBefore: true },
      { rows: 1, ktilesPerGroup: 2, groups: 3, regimes: ['any'], abortAfter: 4 },
      { rows: 1, ktilesPerGroup: 2, groups: 1, regimes: ['any'] },
      { rows: 1, ktilesPerGroup: 1, groups: 1, regimes: ['underflow'] },
    ],
    [0.5, 0.08, 1],
    303,
    [],
    0.35,
    0.6,
  ),
  // The FPGA adder style (plain + for carry chains) changes how the adds are built, never a bit.
  makeCase(
    'C=4 ACCW=12 INTW=14 D=8 EOFF=256, carry adders',
    { cols: 4, accWidth: 12, intWidth: 14, depth: 8, expOffset: 256, adders: 'carry' },
    [
      { rows: 1, ktilesPerGroup: 4, groups: 3, regimes: ['normal'] },
      { rows: 5, ktilesPerGroup: 2, groups: 3, regimes: ALL, abortAfter: 27 },
      { rows: 5, ktilesPerGroup: 2, groups: 3, regimes: ALL },
      { rows: 3, ktilesPerGroup: 1, groups: 4, regimes: ['overflow', 'subnormal'], resetBefore: true },
      { rows: 8, ktilesPerGroup: 3, groups: 2, regimes: ['subnormal', 'normal'] },
    ],
    [1, 0.05, 0.4],
    606,
  ),
];

describe('post-array configuration', () => {
  it('derives INTW and EOFF as documented and names every structural choice', () => {
    expect(postArrayIntWidth(20, 32, 8)).toBe(22);
    expect(postArrayIntWidth(20, 8, 8)).toBe(20);
    expect(postArrayIntWidth(20, 24, 8)).toBe(22); // ceil(log2 3)
    expect(postArrayExpOffset(2, 8, 0)).toBe(260);
    expect(postArrayExpOffset(4, 8, 2)).toBe(264);
    expect(postArrayModuleName({ cols: 8, accWidth: 20, intWidth: 22, depth: 256, expOffset: 264 })).toBe('msq_post_array_c8_a20_i22_d256_eo264');
  });

  it('refuses bad configurations with the value and the allowed range', () => {
    const ok: PostArrayConfig = { cols: 4, accWidth: 12, intWidth: 14, depth: 8, expOffset: 256 };
    expect(() => checkPostArrayConfig(ok)).not.toThrow();
    expect(() => checkPostArrayConfig({ ...ok, depth: 6 })).toThrow(/post-array depth 6 is not a power of two/);
    expect(() => checkPostArrayConfig({ ...ok, intWidth: 11 })).toThrow(/accumulator width 11 is out of range: allowed integers 12\.\.53/);
    expect(() => checkPostArrayConfig({ ...ok, accWidth: 54, intWidth: 54 })).toThrow(InputError);
    expect(() => checkPostArrayConfig({ ...ok, expOffset: 513 })).toThrow(/exponent offset 513 is out of range: allowed integers 0\.\.512/);
    expect(() => checkPostArrayConfig({ ...ok, cols: 0 })).toThrow(/columns 0/);
    expect(() => postArrayIntWidth(20, 12, 8)).toThrow(/group size 12 is not a multiple of rows 8/);
  });
});

describe('post-array model', () => {
  it('rows = the contract arithmetic computed independently (Math.fround on the per-group integers), every pass of every stream', () => {
    let rows = 0;
    for (const c of cases) {
      for (const [i, pass] of c.passes.entries()) {
        const ref = passReference(pass, c.cfg.expOffset);
        const got = c.run.rowsPerPass[i]!;
        // an aborted pass output the rows finished before its reset: the first ones
        const want = pass.abortAfter === undefined ? ref : ref.slice(0, got.length);
        expect(got.map((r) => r.map(hex)), `${c.label} pass ${i}`).toEqual(want.map((r) => r.map(hex)));
        rows += got.length;
      }
    }
    expect(rows).toBeGreaterThan(50);
  });

  it('= referenceMatmul bit for bit on a real MicroScopiQ layer (N-tiles, M-chunks, padded columns dropped)', () => {
    const c = cases[1]!;
    let checked = 0;
    for (const [i, { nt, m0 }] of layer.where.entries()) {
      const rows = c.run.rowsPerPass[i]!;
      expect(rows.length).toBe(layer.passes[i]!.rows);
      for (const [m, row] of rows.entries()) {
        for (const [cc, bits] of row.entries()) {
          const n = nt * LAYER_C + cc;
          if (n >= layer.N) continue;
          const f = new Float32Array([layer.Y[(m0 + m) * layer.N + n]!]);
          expect(hex(bits), `Y[${m0 + m}][${n}]`).toBe(hex(new Uint32Array(f.buffer)[0]!));
          checked++;
        }
      }
    }
    expect(checked).toBe(5 * 12);
  });

  it('the streams reach the corner cases: subnormal, +0, ±Inf and NaN results, -0 terms; backpressure; late scales; results held back; bubbles; resets', () => {
    const all = cases.flatMap((c) => c.passes.map((p) => passReference(p, c.cfg.expOffset)).flat(2));
    const exp = (b: number): number => (b >>> 23) & 0xff;
    expect(all.filter((b) => exp(b) === 0 && (b & 0x7fffff) !== 0).length).toBeGreaterThan(5); // subnormals
    // A result is never -0 (y starts at +0 and RNE cancellation gives +0), but group terms are:
    // negative integers that underflow to -0 reach the adder.
    expect(all.filter((b) => b === 0x80000000)).toEqual([]);
    let negZeroTerms = 0;
    for (const c of cases) {
      for (const p of c.passes) {
        for (let g = 0; g < p.groups; g++) {
          for (let m = 0; m < p.rows; m++) {
            for (let col = 0; col < c.cfg.cols; col++) {
              const acc = p.colSums[g]!.reduce((s, kt) => s + Number(kt[m]![col]!), 0);
              if (acc < 0 && Math.fround(acc * 2 ** (p.scales[g]![col]! + p.sx[m]![g]! - c.cfg.expOffset)) === 0) negZeroTerms++;
            }
          }
        }
      }
    }
    expect(negZeroTerms).toBeGreaterThan(10);
    expect(all.filter((b) => b === 0).length).toBeGreaterThan(0);
    expect(all.filter((b) => b === 0x7f800000).length).toBeGreaterThan(0);
    expect(all.filter((b) => b === 0xff800000).length).toBeGreaterThan(0);
    expect(all.filter((b) => b === 0x7fc00000).length).toBeGreaterThan(0); // Inf - Inf across groups
    for (const c of cases) {
      const s = c.run.stats;
      expect(s.gapStalls, c.label).toBeGreaterThan(0);
      expect(s.exactGap, c.label).toBeGreaterThan(0); // beats of one row exactly revisitGap apart
      expect(s.dropped, c.label).toBeGreaterThan(0); // resets with beats in flight
      expect(s.backpressured, c.label).toBeGreaterThan(0);
      expect(s.lateScaleStalls, c.label).toBeGreaterThan(0);
      expect(s.bubbles, c.label).toBeGreaterThan(0);
      expect(s.rowHeld, c.label).toBeGreaterThan(0); // row_ready low with a row waiting
      expect(c.run.vectors.some((v) => v.expect!.scale_ready === 0n), c.label).toBe(true);
    }
    // a new pass's first beats waited for the previous pass's results to leave fbuf
    expect(cases[0]!.run.stats.readOutStalls).toBeGreaterThan(0);
    expect(cases[2]!.run.stats.readOutStalls).toBeGreaterThan(0);
    expect(cases[0]!.run.stats.resets).toBeGreaterThanOrEqual(3);
  });

  it('bubbles, their garbage inputs, scale timing and a held-back output change nothing: the same rows without any', () => {
    const c = cases[0]!;
    const smooth = postArrayVectors(c.cfg, c.passes, { bubble: 0, scaleRate: 1, rowStall: 0 }, 7);
    expect(smooth.stats.bubbles).toBeLessThan(c.run.stats.bubbles);
    expect(smooth.stats.rowHeld).toBe(0);
    expect(smooth.rowsPerPass).toEqual(c.run.rowsPerPass);
  });

  it('has the RTL\'s pipeline: latency 4 + 5 + 6 = 15 cycles, rows revisited every 7 cycles', () => {
    expect(POST_ARRAY_STAGES).toEqual({ convert: INT2FP_STAGES, add: FP32_ADD_STAGES });
    for (const c of cases) {
      expect(postArrayTiming(c.cfg)).toEqual(postArrayModelTiming());
      expect(c.run.model.latency).toBe(postArrayTiming(c.cfg).latency);
      expect(c.run.model.revisitGap).toBe(postArrayTiming(c.cfg).revisitGap);
    }
    expect(postArrayTiming(cases[0]!.cfg)).toEqual({ latency: 4 + INT2FP_STAGES + FP32_ADD_STAGES, revisitGap: FP32_ADD_STAGES + 1 });
    expect(postArrayTiming(cases[0]!.cfg)).toEqual({ latency: 15, revisitGap: 7 });
  });

  it('keeps rows in flight apart: one row every revisitGap cycles, rows interleaved, results after the latency', () => {
    const p = { cols: 1, accWidth: 8, intWidth: 10, depth: 2, expOffset: 254 };
    const model = new PostArrayModel(p);
    const V = model.revisitGap;
    const beat = (addr: number, kt: number, s: bigint, first: boolean, last: boolean, lastBeat = true): PostArrayBeat => ({
      addr, firstKtile: kt === 0, lastKtile: kt === 2, firstGroup: first, lastGroup: last, lastBeat, sx: 127, colSum: [s],
    });
    const idle = (n: number): void => {
      for (let k = 0; k < n; k++) model.step({ rstN: true, beat: null, scale: null });
    };
    model.step({ rstN: false, beat: null, scale: null });
    model.step({ rstN: true, beat: null, scale: [127] }); // E = 127 + 127 - 254 = 0
    model.step({ rstN: true, beat: null, scale: [128] }); // next group: E = 1
    expect(model.outputs.scaleReady).toBe(false);
    // group 0: rows 0 and 1 interleaved, each row every V cycles; row 1 = -(row 0)
    for (let kt = 0; kt < 3; kt++) {
      model.step({ rstN: true, beat: beat(0, kt, BigInt(10 + kt), true, false, false), scale: null });
      model.step({ rstN: true, beat: beat(1, kt, BigInt(-10 - kt), true, false), scale: [129] }); // refused until the pop
      idle(V - 2);
    }
    expect(model.scaleCount).toBe(1);
    // group 1: one row only, exactly V cycles apart; a beat closer than that is a protocol error
    const t0 = model.rows.length;
    for (let kt = 0; kt < 3; kt++) {
      model.step({ rstN: true, beat: beat(0, kt, 100n, false, true), scale: null });
      if (kt === 0) expect(() => model.step({ rstN: true, beat: beat(0, 1, 100n, false, true), scale: null })).toThrow(new RegExp(`row 0 1 cycle\\(s\\) after the previous one; the revisit gap is ${V}`));
      idle(V - 1);
    }
    expect(model.rows.length).toBe(t0);
    let waited = 0;
    while (!model.outputs.rowValid) {
      idle(1);
      waited++;
    }
    expect(waited + V - 1 + 1).toBe(model.latency); // the beat's edge, then latency - 1 more edges
    expect(model.rows.map((r) => [r.addr, r.data.map(hex)])).toEqual([[0, [hex(0x441e4000)]]]); // 33 + 300·2 = 633
  });

  it('a reset drops the beats in flight; the rows history and the FIFO start over, the buffers keep their words', () => {
    const p = { cols: 1, accWidth: 8, intWidth: 10, depth: 2, expOffset: 254 };
    const model = new PostArrayModel(p);
    const b: PostArrayBeat = { addr: 0, firstKtile: true, lastKtile: true, firstGroup: true, lastGroup: true, lastBeat: true, sx: 127, colSum: [3n] };
    model.step({ rstN: false, beat: null, scale: null });
    model.step({ rstN: true, beat: null, scale: [127] });
    model.step({ rstN: true, beat: b, scale: null });
    expect(model.inFlight).toBe(1);
    model.step({ rstN: false, beat: null, scale: null });
    expect(model.inFlight).toBe(0);
    expect(model.scaleCount).toBe(0);
    model.step({ rstN: true, beat: null, scale: [128] });
    model.step({ rstN: true, beat: b, scale: null }); // 2 cycles after the dropped beat of row 0: allowed
    for (let k = 0; k < model.latency - 1; k++) model.step({ rstN: true, beat: null, scale: null });
    expect(model.rows.map((r) => r.data.map(hex))).toEqual([[hex(0x40c00000)]]); // 3 * 2^1, the dropped beat wrote nothing
  });

  it('refuses what the hardware leaves undefined', () => {
    const p = { cols: 2, accWidth: 6, intWidth: 8, depth: 4, expOffset: 256 };
    const b: PostArrayBeat = { addr: 0, firstKtile: false, lastKtile: false, firstGroup: true, lastGroup: true, lastBeat: true, sx: 128, colSum: [1n, 2n] };
    const fresh = (): PostArrayModel => new PostArrayModel(p);
    const drain = (x: PostArrayModel): void => {
      for (let k = 0; k < x.latency; k++) x.step({ rstN: true, beat: null, scale: null });
    };
    expect(() => fresh().step({ rstN: true, beat: b, scale: null })).toThrow(/row 0 continues a group but its integer accumulators were never written/);
    expect(() => fresh().step({ rstN: true, beat: { ...b, firstKtile: true, lastKtile: true }, scale: null })).toThrow(/empty scale FIFO/);
    expect(() => fresh().step({ rstN: true, beat: { ...b, firstKtile: true, colSum: [32n, 0n] }, scale: null })).toThrow(/column sum 32 does not fit 6 signed bits/);
    expect(() => fresh().step({ rstN: true, beat: { ...b, firstKtile: true, addr: 4 }, scale: null })).toThrow(/beat_addr 4 outside 0\.\.3/);
    const m = fresh();
    m.step({ rstN: true, beat: null, scale: [1, 2] });
    m.step({ rstN: true, beat: { ...b, firstKtile: true, lastKtile: true, firstGroup: false }, scale: null });
    expect(() => drain(m)).toThrow(/binary32 accumulators were never written/); // found as the beat reads fbuf (edge 4)
    expect(() => fresh().step({ rstN: true, beat: null, scale: [1, 256] })).toThrow(/not 2 codes 0\.\.255/);
    // a new pass may not start row 0's fbuf word before row 0's last result was read out
    const held = fresh();
    const one: PostArrayBeat = { ...b, firstKtile: true, lastKtile: true };
    held.step({ rstN: true, beat: null, scale: [1, 2] });
    held.step({ rstN: true, beat: null, scale: [3, 4] });
    held.step({ rstN: true, beat: one, scale: null, rowReady: false });
    for (let k = 0; k < held.latency + 3; k++) held.step({ rstN: true, beat: null, scale: null, rowReady: false });
    expect(held.outputs.rowValid).toBe(true); // read out, not taken
    expect(held.owes(0)).toBe(false);
    held.step({ rstN: true, beat: one, scale: null, rowReady: false }); // row 0 left fbuf: allowed
    for (let k = 0; k < held.latency + 3; k++) held.step({ rstN: true, beat: null, scale: null, rowReady: false });
    expect(held.owes(0)).toBe(true); // finished, waiting behind the row on row_data
    expect(() => held.step({ rstN: true, beat: one, scale: null })).toThrow(/a new pass writes row 0 while its previous result is still to be read out/);
  });
});

describe('post-array RTL is clean in all three tools', () => {
  for (const c of cases) {
    it(c.label, () => {
      const { dir, files: names, texts, top: topName } = expectCleanRtl(postArray(c.cfg));
      // both row buffers are inferred as memories with one write port and synchronous (registered)
      // read ports: ibuf one, read-first; fbuf two, the accumulation's write-first and the read-out's
      // read-first (a block RAM's ports); row_last (1 bit per row) is read asynchronously at the register
      // out_addr_q, which Yosys folds into a synchronous, transparent read port
      const mem = run('yosys', ['-p', `read_verilog ${names.join(' ')}; hierarchy -top ${topName}; proc; opt; memory -nomap; select -assert-count 3 ${topName}/t:$mem_v2; dump ${topName}/t:$mem_v2`], dir);
      expect(mem.ok, mem.output).toBe(true);
      const cells = mem.output.split(/\n\s*cell \$mem_v2 /).slice(1);
      const param = (cell: string, p: string): string | undefined => new RegExp(`parameter \\\\${p} (\\S+)`).exec(cell)?.[1];
      const byName = Object.fromEntries(cells.map((cell) => [/^\\(\w+)/.exec(cell)![1]!, cell]));
      expect(Object.keys(byName).sort()).toEqual(['fbuf', 'ibuf', 'row_last']);
      for (const [name, ports, clocked, transparent] of [
        ['ibuf', '1', "1'1", "1'0"],
        ['fbuf', '2', "2'11", "2'10"],
        ['row_last', '1', "1'1", "1'1"],
      ] as const) {
        expect(param(byName[name]!, 'RD_PORTS'), name).toBe(ports);
        expect(param(byName[name]!, 'WR_PORTS'), name).toBe('1');
        expect(param(byName[name]!, 'RD_CLK_ENABLE'), name).toBe(clocked);
        expect(param(byName[name]!, 'RD_TRANSPARENCY_MASK'), name).toBe(transparent);
      }
      const top = texts.at(-1)!;
      expect(top).toContain('for (c = 0; c < COLS; c = c + 1) begin : g_col');
      expect(top).toMatch(/reg {2}\[COLS \* INTW - 1:0\] ibuf \[0:DEPTH - 1\];/);
    });
  }
});

function rerun(dir: string, sim: Simulator): SimResult {
  const r = sim === 'icarus' ? run('vvp', ['-n', 'sim.vvp'], dir) : run(join(dir, 'obj_dir', 'vsim'), [], dir);
  return parseSimOutput(r.output);
}

describe('post-array simulation: every output, every cycle, against the model', () => {
  for (const c of cases) {
    for (const sim of ['verilator', 'icarus'] as Simulator[]) {
      const s = c.run.stats;
      it(`${c.label} on ${sim}: ${s.cycles} cycles, ${s.beats} beats, ${c.run.model.rows.length} rows`, () => {
        const dir = tmpDir();
        const dut = postArray(c.cfg);
        const { files } = writeCycleBench(dut, c.run.vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(c.run.vectors.length);

        // A corrupted expected result word must be reported, at its cycle and port only
        // (rerunning the built simulation on a new expect.hex).
        const rowCycles = c.run.vectors.flatMap((v, i) => (v.expect!.row_valid === 1n ? [i] : []));
        const at = rowCycles[Math.floor(rowCycles.length / 2)]!;
        const bad: CycleVector[] = c.run.vectors.map((v, i) => (i === at ? { ...v, expect: { ...v.expect!, row_data: v.expect!.row_data! ^ (1n << 5n) } } : v));
        const before = readFileSync(join(dir, 'tb.v'), 'utf8');
        writeCycleBench(dut, bad, dir);
        expect(readFileSync(join(dir, 'tb.v'), 'utf8')).toBe(before);
        const rb = rerun(dir, sim);
        expect(rb.failed).toBe(1);
        expect(rb.passed).toBe(c.run.vectors.length - 1);
        expect(rb.mismatches).toHaveLength(1);
        expect(rb.mismatches[0]).toMatch(new RegExp(`^MISMATCH cycle ${at} row_data: `));
      });
    }
  }
});
