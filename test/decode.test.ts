import { describe, expect, it } from 'vitest';
import { decodeUnit, checkDecodeConfig, decodeModuleName } from '../generator/blocks/decode.ts';
import { reconWidths } from '../generator/blocks/recon-config.ts';
import { DecodeModel, decodeConfigFor, recordBits, resolveDecode, shiftFieldBits, type DecodeConfig, type DecodeParams, type DecodeRate } from '../quant/hwmodel/decode.ts';
import { decodeTileModel, tileRowsFromLayer, weightStream, weightStreamTile, weightStreamTiles, type DecodedTile, type StreamTile } from '../quant/hwmodel/weight-stream.ts';
import { resolveConfig, type MsqOptions } from '../quant/microscopiq/config.ts';
import type { MsqLayer } from '../quant/microscopiq/layer.ts';
import { decodePacked, encodePacked } from '../quant/microscopiq/packed.ts';
import { quantizeMicroScopiQ } from '../quant/microscopiq/quantizer.ts';
import { llmLikeWeights } from '../quant/microscopiq/synthetic.ts';
import { InputError } from '../common/errors.ts';
import { runBench, writeCycleBench, type Simulator } from '../testbench/cycle-harness.ts';
import { adversarialLayer, decodeVectors, idleVectors, packScales, packTileRow, type DecodeRun, type PairPlan } from '../testbench/decode-vectors.ts';
import { mergeVectors, sideBySide } from '../testbench/side-by-side.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

interface Case {
  label: string;
  b: 2 | 4;
  B: 4 | 8 | 16;
  recon: 'crossbar' | 'butterfly';
  R: number;
  C: number;
  quant?: MsqOptions;
  plain?: boolean;
  /** the decode unit's record rate (default full) */
  rate?: DecodeRate;
}

// Every b x B x topology, plus the plain build. Geometry corner cases: one μB
// per row (C = B), three μBs per row, one scale word (C = 4), E4M3 (exponent
// wider than the shift field), X fields of 3 bits (the longest records).
const CASES: Case[] = [
  { label: 'W4 B8 crossbar', b: 4, B: 8, recon: 'crossbar', R: 4, C: 16 },
  { label: 'W4 B8 butterfly', b: 4, B: 8, recon: 'butterfly', R: 3, C: 8 },
  { label: 'W2 B8 crossbar', b: 2, B: 8, recon: 'crossbar', R: 4, C: 8 },
  { label: 'W2 B8 butterfly', b: 2, B: 8, recon: 'butterfly', R: 2, C: 16 },
  { label: 'W4 B4 crossbar, C = B = 4', b: 4, B: 4, recon: 'crossbar', R: 2, C: 4 },
  { label: 'W4 B4 butterfly E4M3, 3 μBs per row', b: 4, B: 4, recon: 'butterfly', R: 4, C: 12, quant: { outlier: 'mxfp8_e4m3' } },
  { label: 'W2 B4 crossbar', b: 2, B: 4, recon: 'crossbar', R: 3, C: 8 },
  { label: 'W2 B4 butterfly', b: 2, B: 4, recon: 'butterfly', R: 2, C: 4 },
  { label: 'W4 B16 crossbar xbits 3 (139-bit records)', b: 4, B: 16, recon: 'crossbar', R: 2, C: 16, quant: { xbits: 3 } },
  { label: 'W4 B16 butterfly', b: 4, B: 16, recon: 'butterfly', R: 2, C: 16 },
  { label: 'W2 B16 crossbar xbits 3', b: 2, B: 16, recon: 'crossbar', R: 2, C: 16, quant: { xbits: 3 } },
  { label: 'W2 B16 butterfly', b: 2, B: 16, recon: 'butterfly', R: 3, C: 16 },
  { label: 'plain W4 B8', b: 4, B: 8, recon: 'crossbar', R: 4, C: 8, plain: true },
  { label: 'plain W2 B4', b: 2, B: 4, recon: 'crossbar', R: 2, C: 12, plain: true },
  // record rate half (the FPGA build's decode unit): short records, the longest records, both topologies, plain
  { label: 'W2 B8 crossbar, rate half', b: 2, B: 8, recon: 'crossbar', R: 4, C: 8, rate: 'half' },
  { label: 'W2 B4 butterfly, rate half, 2 μBs per row', b: 2, B: 4, recon: 'butterfly', R: 3, C: 8, rate: 'half' },
  { label: 'W4 B16 crossbar xbits 3, rate half', b: 4, B: 16, recon: 'crossbar', R: 2, C: 16, quant: { xbits: 3 }, rate: 'half' },
  { label: 'plain W2 B4, rate half', b: 2, B: 4, recon: 'crossbar', R: 2, C: 12, plain: true, rate: 'half' },
];

const G_PER_R = 2; // G = 2R: every other K-tile starts a group (and carries scales)

function quantOptions(c: Case): MsqOptions {
  const base: MsqOptions = { inlier: c.b === 2 ? 'mxint2' : 'mxint4', ublockSize: c.B, recon: c.recon, groupSize: G_PER_R * c.R, ...c.quant };
  return c.plain ? { ...base, topFraction: 0, guardBits: 0 } : { ...base, stdDev: 1 };
}

/**
 * A layer from the MicroScopiQ quantizer on LLM-like weights (5% large
 * outliers, outlier rule at one standard deviation, so that even these small
 * groups have pairs): two N-tiles (the second mostly padding), four K-tiles.
 */
function quantizedLayer(c: Case, seed: number): MsqLayer {
  const N = c.C + c.B; // the second N-tile is mostly beyond Np: zero μBs
  const K = 2 * G_PER_R * c.R - 1; // padded to Kp by the quantizer
  return quantizeMicroScopiQ(llmLikeWeights(N, K, seed, { outlierRate: 0.05 }), N, K, quantOptions(c));
}

function hwConfig(c: Case, layer: MsqLayer): DecodeConfig {
  return { ...decodeConfigFor(layer, c.R, c.C, !c.plain), rate: c.rate };
}

const json = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() : v));

/** Stream tiles with the rows they must produce (from the layer, not from the stream). */
function jobs(layer: MsqLayer, c: Case, mChunks = 1): (StreamTile & { expected: DecodedTile })[] {
  return weightStreamTiles(layer, { rows: c.R, cols: c.C, mChunks, plain: c.plain }).map((t) => ({ ...t, expected: tileRowsFromLayer(layer, t.nt, t.kt, c.R, c.C, t.withScales) }));
}

/** The model's loaded rows and scales equal the layer-derived ones, rows one-hot in increasing order. */
function expectLoadedMatches(p: DecodeParams, run: DecodeRun, tiles: { expected: DecodedTile }[]): void {
  expect(run.loaded.length).toBe(tiles.length);
  tiles.forEach((t, i) => {
    const got = run.loaded[i]!;
    expect(got.rows.length, `tile ${i}: rows loaded`).toBe(p.rows);
    t.expected.rows.forEach((row, r) => {
      const want = packTileRow(p, row);
      const g = got.rows[r]!;
      expect(g.load, `tile ${i} row ${r}: w_row_load`).toBe(1n << BigInt(r));
      expect(g.ops, `tile ${i} row ${r}: operands`).toBe(want.ops);
      expect(g.cfg, `tile ${i} row ${r}: lane settings`).toBe(want.cfg);
    });
    expect(got.scales, `tile ${i}: scales`).toBe(t.expected.scales ? packScales(t.expected.scales) : null);
  });
}

describe('weight stream: the serializer, the spec-level parser and the layer agree', () => {
  for (const c of CASES) {
    it(`${c.label}: quantized layer${c.plain ? '' : ' and adversarial layers'}`, () => {
      const layer = quantizedLayer(c, 11);
      if (!c.plain) expect(layer.pairs.ublock.length, 'the quantized layer has outliers').toBeGreaterThan(0);
      const layers = [layer];
      if (!c.plain) {
        for (const plan of ['none', 'full', 'random'] as PairPlan[]) {
          const adv = adversarialLayer(layer.config, 2 * c.C, 2 * G_PER_R * c.R, plan, 5);
          // legal: the packed-format reader (which refuses illegal pairings and codes) reproduces it
          const back = decodePacked(encodePacked(adv));
          for (const f of ['codes', 'kind', 'operand', 'ubX', 'pairStart'] as const) expect(back[f]).toEqual(adv[f]);
          expect(back.pairs).toEqual(adv.pairs);
          layers.push(adv);
        }
      }
      for (const l of layers) {
        const tiles = jobs(l, c, 2);
        expect(tiles.length).toBe(Math.ceil(l.N / c.C) * 2 * (l.Kp / c.R));
        for (const t of tiles) {
          expect(t.withScales).toBe((t.kt * c.R) % (G_PER_R * c.R) === 0);
          const parsed = decodeTileModel(t.words, { msq: l.config, rows: c.R, cols: c.C, withScales: t.withScales, plain: c.plain });
          expect(json({ scales: parsed.scales, rows: parsed.rows })).toBe(json(t.expected));
          // every tile ends on a word, after its scale words and records
          expect(t.words.length).toBe((t.withScales ? c.C / 4 : 0) + Math.ceil(parsed.recordBits / 32));
        }
        const all = weightStream(l, { rows: c.R, cols: c.C, mChunks: 2, plain: c.plain });
        expect([...all]).toEqual(tiles.flatMap((t) => [...t.words]));
      }
    });
  }

  it('records of B/2 pairs with a 3-bit X span several words (139 and 107 bits)', () => {
    const p1 = resolveDecode({ rows: 2, cols: 16, wbits: 4, ublock: 16, topology: 'crossbar', outliers: true, quant: { xbits: 3 } });
    expect(p1.recordMax).toBe(8 + 3 + 8 * 8 + 64);
    const p2 = resolveDecode({ rows: 2, cols: 32, wbits: 2, ublock: 16, topology: 'crossbar', outliers: true, quant: { xbits: 3 } });
    expect(p2.recordMax).toBe(8 + 3 + 8 * 8 + 32);
    const msq = resolveConfig({ inlier: 'mxint4', ublockSize: 16, recon: 'crossbar', groupSize: 4, xbits: 3 });
    const adv = adversarialLayer(msq, 16, 4, 'full', 9);
    expect(weightStreamTile(adv, 0, 0, 2, 16, false).length).toBe(Math.ceil((2 * 139) / 32));
  });

  it('the plain stream is codes only and refuses a layer with outliers', () => {
    const c = CASES.find((x) => x.label === 'plain W4 B8')!;
    const layer = quantizedLayer(c, 3);
    expect(layer.pairs.ublock.length).toBe(0);
    expect(weightStreamTile(layer, 0, 1, c.R, c.C, false, { plain: true }).length).toBe((c.R * c.C * c.b) / 32);
    const withOutliers = quantizedLayer(CASES[0]!, 3);
    expect(() => weightStreamTile(withOutliers, 0, 0, 4, 16, true, { plain: true })).toThrow(/has outliers/);
  });

  it('a corrupted bit of the first record (its count, pair or code bits) changes the parsed rows', () => {
    const c = CASES[0]!;
    const layer = quantizedLayer(c, 11);
    const t = jobs(layer, c).find((x) => x.withScales && layer.pairs.ublock.length > 0)!;
    const cfg = { msq: layer.config, rows: c.R, cols: c.C, withScales: t.withScales };
    const clean = json({ scales: t.expected.scales, rows: t.expected.rows });
    // bit 0 of the records is the first μB's count; a code bit sits at the end of a 33-bit no-outlier record
    for (const bit of [c.C * 8, c.C * 8 + 20, c.C * 8 + 2]) {
      const words = t.words.slice();
      words[bit >>> 5] = (words[bit >>> 5]! ^ (1 << (bit & 31))) >>> 0;
      let parsed: string;
      try {
        const d = decodeTileModel(words, cfg);
        parsed = json({ scales: d.scales, rows: d.rows });
      } catch {
        parsed = 'refused';
      }
      expect(parsed, `bit ${bit}`).not.toBe(clean);
    }
  });
});

describe('decode configuration', () => {
  it('SHW is the ReCoN shift field width: holds maxShift and F', () => {
    expect(shiftFieldBits(5, 2)).toBe(3);
    expect(shiftFieldBits(7, 0)).toBe(3);
    expect(shiftFieldBits(8, 0)).toBe(4);
    expect(shiftFieldBits(0, 0)).toBe(1);
    expect(shiftFieldBits(1, 6)).toBe(3);
    for (const c of CASES.filter((x) => !x.plain)) {
      const p = resolveDecode({ rows: c.R, cols: c.C, wbits: c.b, ublock: c.B, topology: c.recon, outliers: true, quant: c.quant });
      // the lane setting width the PE array expects for the same shift field
      expect(p.cfgBits).toBe(reconWidths({ lanes: c.B, wbits: c.b, abits: 8, guardBits: p.guardBits, shiftBits: p.shiftBits, topology: c.recon }).CFGW);
      expect(p.shiftBits).toBe(Math.max(1, Math.ceil(Math.log2(p.maxShift + 1)), Math.ceil(Math.log2(p.guardBits + 1))));
    }
  });

  it('refuses bad geometry and an X field wider than the shift field, naming the value', () => {
    const base: DecodeConfig = { rows: 4, cols: 16, wbits: 4, ublock: 8, topology: 'crossbar', outliers: true };
    expect(() => checkDecodeConfig({ ...base, cols: 12 })).toThrow(/--cols 12 is not a multiple of the μB size --ublock 8/);
    expect(() => checkDecodeConfig({ ...base, rows: 1 })).toThrow(InputError);
    expect(() => checkDecodeConfig({ ...base, wbits: 3 })).toThrow(/--wbits 3/);
    // E4M3, c = -10: X up to 7 with shifts up to 3 (SHW = 2)
    expect(() => checkDecodeConfig({ ...base, quant: { outlier: 'mxfp8_e4m3', xbits: 3, maxShift: 3 } })).toThrow(/--xbits 3 is wider than the 2-bit lane shift field/);
  });

  it('module names encode every structural choice', () => {
    const names = new Set(CASES.map((c) => decodeModuleName({ rows: c.R, cols: c.C, wbits: c.b, ublock: c.B, topology: c.recon, outliers: !c.plain, quant: c.quant, rate: c.rate })));
    expect(names.size).toBe(CASES.length);
    expect(decodeModuleName({ rows: 4, cols: 16, wbits: 4, ublock: 8, topology: 'crossbar', outliers: false })).toBe('msq_decode_r4c16_w4_b8_plain');
  });
});

describe('decode cycle model', () => {
  it('loads every row of quantized and adversarial streams under random traffic (model only, many seeds)', () => {
    for (const c of CASES) {
      const layer = quantizedLayer(c, 21);
      const p = resolveDecode(hwConfig(c, layer));
      const tiles = jobs(layer, c);
      if (!c.plain) tiles.push(...jobs(adversarialLayer(layer.config, c.C, G_PER_R * c.R, 'random', 8), c));
      for (let seed = 0; seed < 4; seed++) {
        const run = decodeVectors(p, tiles, { validProb: [1, 0.8, 0.4, 0.1][seed]!, cmdDelayMax: [0, 3, 10, 40][seed]!, scaleReadyProb: [1, 0.5, 0.2, 0.05][seed]!, seed });
        expectLoadedMatches(p, run, tiles);
      }
    }
  });

  it('throughput: one μB per cycle for short records, one word per cycle for long ones, at most one bubble per tile (its padding)', () => {
    for (const c of CASES) {
      const msq = resolveConfig(quantOptions(c));
      for (const plan of (c.plain ? ['none'] : ['none', 'full', 'random']) as PairPlan[]) {
        const layer = adversarialLayer(msq, 2 * c.C, 8 * c.R, plan, 4);
        const p = resolveDecode(hwConfig(c, layer));
        const tiles = weightStreamTiles(layer, { rows: c.R, cols: c.C, plain: c.plain });
        const words = tiles.reduce((a, t) => a + t.words.length, 0);
        // rate half: a record takes two cycles (its test, then the take); scale words still one each
        const steps = (c.rate === 'half' ? 2 : 1) * tiles.length * c.R * (c.C / c.B) + tiles.filter((t) => t.withScales).length * (c.C / 4);
        const run = decodeVectors(p, tiles, { validProb: 1, cmdDelayMax: 0, scaleReadyProb: 1, seed: 1 });
        // a word or a decode step per cycle; +4: the first word's way through the word register into
        // the buffer, stage 2 and the registered row pulse; one cycle per tile that ends inside a word
        // (it drops the padding); mixed record lengths may lose a few cycles where the buffer cannot
        // bank a whole word
        const bound = Math.max(words, steps);
        const pads = tiles.length;
        const slack = plan === 'random' ? Math.ceil(0.05 * bound) : 0;
        expect(run.cycles, `${c.label} ${plan}: ${words} words, ${steps} steps`).toBeLessThanOrEqual(bound + 4 + pads + slack);
        if (plan === 'none' && recordBits(p, 0) <= 32 && c.R * (c.C / c.B) > 1) expect(run.cycles).toBeLessThanOrEqual(steps + 4 + pads);
      }
    }
  });

  it('rate half: the same rows, never two records in consecutive cycles, one record per two cycles on a full buffer', () => {
    for (const c of CASES.filter((x) => x.rate === 'half')) {
      const layer = quantizedLayer(c, 5);
      const tiles = jobs(layer, c, 2);
      const half = resolveDecode(hwConfig(c, layer));
      const full = resolveDecode({ ...hwConfig(c, layer), rate: 'full' });
      const traffic = { validProb: 1, cmdDelayMax: 0, scaleReadyProb: 1, seed: 3 };
      const runHalf = decodeVectors(half, tiles, traffic);
      expectLoadedMatches(half, runHalf, tiles);
      expect(runHalf.cycles, c.label).toBeGreaterThan(decodeVectors(full, tiles, traffic).cycles);
      // the edges, from the model directly: all words offered at once, every command queued
      const m = new DecodeModel(half);
      m.step({ rst_n: 0n, w_data: 0n, w_valid: 0n, cmd_valid: 0n, cmd_scales: 0n, scale_ready: 0n });
      const words = tiles.flatMap((t) => [...t.words]);
      let wi = 0;
      let ti = 0;
      let prev = false;
      let records = 0;
      let firstRecord = -1;
      let lastRecord = -1;
      for (let cyc = 0; cyc < 20 * words.length && records < tiles.length * c.R * (c.C / c.B); cyc++) {
        const ev = m.step({ rst_n: 1n, w_data: BigInt(words[wi] ?? 0), w_valid: wi < words.length ? 1n : 0n, cmd_valid: ti < tiles.length ? 1n : 0n, cmd_scales: tiles[ti]?.withScales ? 1n : 0n, scale_ready: 1n });
        if (ev.wordTaken) wi++;
        if (ev.cmdTaken) ti++;
        expect(ev.recordDecoded && prev, `${c.label}: records in cycles ${cyc - 1} and ${cyc}`).toBe(false);
        if (ev.recordDecoded) {
          records++;
          if (firstRecord < 0) firstRecord = cyc;
          lastRecord = cyc;
        }
        prev = ev.recordDecoded;
      }
      expect(records).toBe(tiles.length * c.R * (c.C / c.B));
      // short records (plain W2 B4: 8 bits) are limited by the rate alone: within 2 cycles per record plus the scale words and paddings
      if (c.plain) expect(lastRecord - firstRecord).toBeLessThanOrEqual(2 * (records - 1) + tiles.length * (1 + c.C / 4));
    }
  });

  it('holds a second scale set until the first is taken, while the records keep flowing', () => {
    const c = CASES[0]!;
    const layer = quantizedLayer(c, 2);
    const p = resolveDecode(hwConfig(c, layer));
    // G = R: every tile carries scales; scale_ready never rises during the first tile
    const tiles = weightStreamTiles(layer, { rows: c.R, cols: c.C }).slice(0, 3).map((t) => ({ words: t.words, withScales: t.withScales }));
    expect(tiles[0]!.withScales && !tiles[1]!.withScales && tiles[2]!.withScales).toBe(true);
    const m = new DecodeModel(p);
    m.step({ rst_n: 0n, w_data: 0n, w_valid: 0n, cmd_valid: 0n, cmd_scales: 0n, scale_ready: 0n });
    const words = tiles.flatMap((t) => [...t.words]);
    let wi = 0;
    let cmds = 0;
    let rowsLoaded = 0;
    let validCycles = 0;
    for (let cyc = 0; cyc < 400; cyc++) {
      const ev = m.step({ rst_n: 1n, w_data: BigInt(words[wi] ?? 0), w_valid: wi < words.length ? 1n : 0n, cmd_valid: cmds < 3 ? 1n : 0n, cmd_scales: cmds === 1 ? 0n : 1n, scale_ready: 0n });
      if (ev.wordTaken) wi++;
      if (ev.cmdTaken) cmds++;
      if (m.outputs().w_row_load !== 0n) rowsLoaded++;
      if (m.scaleValid) validCycles++;
    }
    // tiles 0 and 1 load completely; tile 2 waits in its scale phase
    expect(rowsLoaded).toBe(2 * c.R);
    expect(validCycles).toBeGreaterThan(300);
  });
});

describe('decode RTL is clean in all three tools', () => {
  // Yosys takes seconds per run: a butterfly, E4M3, plain and a rate-half build
  const picks = [CASES[1]!, CASES[5]!, CASES[12]!, CASES.find((c) => c.rate === 'half')!];
  for (const c of CASES) {
    const cfg: DecodeConfig = { rows: c.R, cols: c.C, wbits: c.b, ublock: c.B, topology: c.recon, outliers: !c.plain, quant: c.quant, rate: c.rate };
    it(`${c.label}: Verilator -Wall, Icarus${picks.includes(c) ? ', Yosys' : ''}`, () => {
      expectCleanRtl(decodeUnit(cfg), { synth: picks.includes(c) });
    });
  }
});

/**
 * Per case: the quantized layer's whole problem (two M-chunks) and adversarial
 * layers (no outliers, every slot paired, random pairs) in one stream, under
 * random valid gaps, command timing and scale stalls. The model's rows are
 * checked against the layer before the vectors are written.
 */
function caseVectors(c: Case, seed: number) {
  const layer = quantizedLayer(c, 31 + seed);
  const cfg = hwConfig(c, layer);
  const p = checkDecodeConfig(cfg);
  const tiles = jobs(layer, c, 2);
  if (!c.plain) {
    for (const plan of ['full', 'none', 'random'] as PairPlan[]) tiles.push(...jobs(adversarialLayer(layer.config, c.C + c.B, G_PER_R * c.R, plan, seed + 7), c));
  }
  const traffic = { validProb: 0.5 + 0.1 * (seed % 5), cmdDelayMax: 2 + (seed % 7), scaleReadyProb: 0.3 + 0.1 * (seed % 5), seed: 1000 + seed };
  const run = decodeVectors(p, tiles, traffic);
  expectLoadedMatches(p, run, tiles);
  return { cfg, p, run };
}

describe('decode RTL simulated: cycle by cycle against the model, several units per build', () => {
  const groups = [CASES]; // one build: Verilator's fixed cost (its runtime library) is paid once
  const sims: Simulator[] = ['verilator', 'icarus'];
  groups.forEach((group, gi) => {
    const built = group.map((c, k) => caseVectors(c, 10 * gi + k));
    const n = Math.max(...built.map((b) => b.run.vectors.length));
    const lists = built.map((b) => [...b.run.vectors, ...idleVectors(b.run, n - b.run.vectors.length)]);
    const vectors = mergeVectors(lists);
    const top = sideBySide(`tb_decode_units_${gi}`, built.map((b) => decodeUnit(b.cfg)));
    for (const sim of sims) {
      it(`${group.length} units (every case above) side by side on ${sim}: ${vectors.length} cycles`, () => {
        const dir = tmpDir();
        const { files } = writeCycleBench(top, vectors, dir);
        const r = runBench(dir, files, sim);
        expect(r.mismatches).toEqual([]);
        expect(r.failed).toBe(0);
        expect(r.passed).toBe(vectors.length);
      });
    }
  });

  it('a flipped code bit in the stream is caught by the comparison (Icarus)', () => {
    const c = CASES[0]!;
    const layer = quantizedLayer(c, 31);
    const cfg = hwConfig(c, layer);
    const p = checkDecodeConfig(cfg);
    const tiles = jobs(layer, c);
    // the last bit of a tile's records: the MSB of its last slot code, so record
    // lengths (and therefore the whole cycle timing) are unchanged
    const t = tiles.findIndex((x) => !x.withScales);
    const recBits = decodeTileModel(tiles[t]!.words, { msq: layer.config, rows: c.R, cols: c.C, withScales: false }).recordBits;
    const bad = tiles.map((x) => ({ words: x.words.slice(), withScales: x.withScales }));
    const bit = recBits - 1;
    bad[t]!.words[bit >>> 5] = (bad[t]!.words[bit >>> 5]! ^ (1 << (bit & 31))) >>> 0;
    const parsed = decodeTileModel(bad[t]!.words, { msq: layer.config, rows: c.R, cols: c.C, withScales: false });
    expect(json(parsed.rows)).not.toBe(json(tiles[t]!.expected.rows));
    const traffic = { validProb: 0.7, cmdDelayMax: 4, scaleReadyProb: 0.6, seed: 77 };
    const clean = decodeVectors(p, tiles, traffic);
    const corrupt = decodeVectors(p, bad, traffic);
    expect(corrupt.vectors.length).toBe(clean.vectors.length);
    const vectors = corrupt.vectors.map((v, i) => ({ inputs: v.inputs, expect: clean.vectors[i]!.expect }));
    const dir = tmpDir();
    const { files } = writeCycleBench(decodeUnit(cfg), vectors, dir);
    const r = runBench(dir, files, 'icarus');
    expect(r.failed).toBeGreaterThan(0);
    expect(r.mismatches.length).toBeGreaterThan(0);
    expect(r.mismatches.every((l) => / w_row_data: /.test(l))).toBe(true);
  });
});
