import { describe, it, expect } from 'vitest';
import {
  quantizeMicroScopiQ, dequantize, encodePacked, decodePacked, encodeRecordStream, BitReader, effectiveBits, ebwReport,
  isButterflyRoutable, isRoutable, butterflySettings, resolveConfig, decodeOutlier, quantizeActivations, dequantizeActivations,
  referenceMatmul, floatReference, SLOT_INLIER, SLOT_OUTLIER, SLOT_PRUNED, type MsqLayer, type SlotPair, type MsqOptions,
} from '../quant/microscopiq/index.ts';
import { intRounder, roundInt } from '../quant/microscopiq/int-rounder.ts';
import { hessianFromCalibration, gptqInverseFactor } from '../quant/microscopiq/hessian.ts';
import { llmLikeWeights, llmLikeActivations, gaussian, matmulXWt } from '../quant/microscopiq/synthetic.ts';
import { quantizeMx } from '../quant/mx.ts';
import { quantizeElement } from '../quant/element.ts';
import { elementFormat, type IntElementFormat } from '../quant/formats.ts';
import { float32Bits, float32FromBits } from '../quant/float32.ts';
import { InputError } from '../common/errors.ts';

/** Everything of a layer except run statistics, for exact comparisons. */
function structure(L: MsqLayer): unknown {
  const c = L.config;
  return {
    cfg: [c.inlier, c.outlier, c.groupSize, c.ublockSize, c.recon, c.xbits, c.guardBits, c.maxShift, c.shiftConst, c.outlierExpOffset],
    dims: [L.N, L.K, L.Np, L.Kp, L.groups, L.ublocksPerColumn, L.ublocks],
    arrays: [L.scales, L.codes, L.kind, L.operand, L.ubX, L.pairStart, ...Object.values(L.pairs)].map((a) => Array.from(a as ArrayLike<number>)),
  };
}

function roundTrip(L: MsqLayer): void {
  const bytes = encodePacked(L);
  expect(bytes.length * 8).toBe(ebwReport(L).totalBits);
  const D = decodePacked(bytes);
  expect(structure(D)).toEqual(structure(L));
  expect(Array.from(dequantize(D))).toEqual(Array.from(dequantize(L)));
}

/** Independent model of a butterfly ReCoN: lanes carry sets of slot ids; stage s merges lanes i, i^2^s iff they form a pair. */
function simulateButterfly(pairs: readonly SlotPair[], B: number): { ok: boolean; lanes: Set<number>[] } {
  const lanes = Array.from({ length: B }, (_, i) => new Set([i]));
  const merged = new Set<number>();
  for (let d = 1; d < B; d <<= 1) {
    for (let i = 0; i < B; i++) {
      const j = i ^ d;
      for (let a = 0; a < pairs.length; a++) {
        const { outlier: o, partner: p } = pairs[a]!;
        if (o === i && p === j) {
          for (const v of lanes[j]!) lanes[i]!.add(v);
          lanes[j]!.clear();
          merged.add(a);
        }
      }
    }
  }
  let ok = merged.size === pairs.length;
  const partners = new Set(pairs.map((p) => p.partner));
  for (let i = 0; i < B; i++) {
    const pr = pairs.find((p) => p.outlier === i);
    const want = pr ? [i, pr.partner].sort() : partners.has(i) ? [] : [i];
    if (JSON.stringify([...lanes[i]!].sort()) !== JSON.stringify(want)) ok = false;
  }
  return { ok, lanes };
}

function layerPairs(L: MsqLayer, u: number): SlotPair[] {
  const out: SlotPair[] = [];
  for (let p = L.pairStart[u]!; p < L.pairStart[u + 1]!; p++) out.push({ outlier: L.pairs.outlier[p]!, partner: L.pairs.partner[p]! });
  return out;
}

describe('configuration', () => {
  it('resolves defaults and derived fields', () => {
    const c = resolveConfig({});
    expect(c.inlier).toBe('mxint4');
    expect(c.outlier).toBe('mxfp8_e3m4');
    expect(c.b).toBe(4);
    expect(c.splitL).toBe(3);
    const c2 = resolveConfig({ inlier: 'mxint2' });
    expect(c2.outlier).toBe('mxfp4_e2m1');
    expect(c2.guardBits).toBe(0);
    // W4: D0 = 3, so E3M4's smallest subnormal step 2^(-6)·2^(S+3) = 2^(S-3) is one bit below the inlier LSB 2^(S-2)
    expect(c.outlierExpOffset).toBe(3);
    expect(c.guardBits).toBe(1);
    // smallest shift is 0 and the largest reaches maxShift
    expect(1 + c2.shiftConst).toBe(0);
    expect(3 + (1 << c2.xbits) - 1 + c2.shiftConst).toBe(c2.maxShift);
  });
  it('refuses bad values with the value and the allowed range', () => {
    expect(() => resolveConfig({ inlier: 'mxint3' as never })).toThrow(/--inlier mxint3 .*mxint2, mxint4/);
    expect(() => resolveConfig({ inlier: 'mxint2', outlier: 'mxfp8_e4m3' })).toThrow(/--outlier mxfp8_e4m3 does not fit --inlier mxint2.*mxfp4_e2m1/);
    expect(() => resolveConfig({ ublockSize: 6 })).toThrow(/--block-size 6 .*4, 8, 16/);
    expect(() => resolveConfig({ groupSize: 0 })).toThrow(/--group-size 0 .*1\.\.4096/);
    expect(() => resolveConfig({ stdDev: -1 })).toThrow(/--std-dev -1/);
    expect(() => resolveConfig({ inlier: 'mxint2', guardBits: 0, outlierExpOffset: -5, maxShift: 3, xbits: 0 })).toThrow(InputError);
  });
});

describe('outlier saturation at the defaults', () => {
  it('heavy-tailed weights: the W4 default saturates no outlier and beats mxint4 and mxfp4; the old D0 = 1 saturates and the count says so', () => {
    // Student-t(3)-like weights with 0.1 % of them 30x larger (the case of issue 17)
    const N = 128;
    const K = 1024;
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 0.5) / 2 ** 32;
    const gauss = () => Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
    const W = new Float32Array(N * K);
    for (let i = 0; i < W.length; i++) {
      const t = (gauss() / Math.sqrt((gauss() ** 2 + gauss() ** 2 + gauss() ** 2) / 3)) * 0.02;
      W[i] = rnd() < 0.001 ? 30 * t : t;
    }
    const sqnr = (q: Float32Array) => {
      let sig = 0;
      let err = 0;
      for (let i = 0; i < W.length; i++) {
        sig += W[i]! ** 2;
        err += (W[i]! - q[i]!) ** 2;
      }
      return 10 * Math.log10(sig / err);
    };
    const dflt = quantizeMicroScopiQ(W, N, K, {});
    const old = quantizeMicroScopiQ(W, N, K, { outlierExpOffset: 1 });
    expect(dflt.stats.outliersSaturated).toBe(0);
    expect(old.stats.outliersSaturated).toBeGreaterThan(0);
    const mxint4 = quantizeMx(W, [N, K], { format: 'int4', blockSize: 32, axis: -1 });
    const mxfp4 = quantizeMx(W, [N, K], { format: 'fp4_e2m1', blockSize: 32, axis: -1 });
    const d = sqnr(dequantize(dflt));
    expect(d).toBeGreaterThan(sqnr(mxint4));
    expect(d).toBeGreaterThan(sqnr(mxfp4));
    expect(d).toBeGreaterThan(sqnr(dequantize(old)));
  });
});

describe('inlier rounding tables', () => {
  it('agree with quantizeElement around every threshold and on random values', () => {
    const g = gaussian(3);
    for (const name of ['int2', 'int4', 'int8']) {
      for (const rd of ['nearest', 'even'] as const) {
        const f = elementFormat(name) as IntElementFormat;
        const r = intRounder(f, rd);
        const check = (v: number) => {
          const want = quantizeElement(v, f, rd) * 2 ** f.fracBits;
          const got = roundInt(r, v, 1);
          if (want !== got && !(want === 0 && got === 0)) throw new Error(`${name}/${rd}: ${v}: want ${want}, got ${got}`);
        };
        for (let i = 1; i <= f.maxInt; i++) {
          const b = float32Bits(r.thr[i]!);
          for (let d = -64; d <= 64; d++) {
            check(float32FromBits(b + d));
            check(-float32FromBits(b + d));
          }
        }
        for (let i = 0; i < 20000; i++) check(Math.fround(g() * 1.2));
      }
    }
  });
});

describe('quantizer: layout and values', () => {
  const N = 64;
  const K = 192;
  const W = llmLikeWeights(N, K, 11);

  it('slots decode to the dequantized values and every pair is legal', () => {
    for (const opts of [{}, { inlier: 'mxint2' }, { recon: 'butterfly' }, { ublockSize: 16, groupSize: 32 }] as MsqOptions[]) {
      const L = quantizeMicroScopiQ(W, N, K, opts);
      const cfg = L.config;
      const Wq = dequantize(L);
      let outliers = 0;
      for (let u = 0; u < L.ublocks; u++) {
        const pairs = layerPairs(L, u);
        expect(isRoutable(pairs, cfg.ublockSize, cfg.recon)).toBe(true);
        outliers += pairs.length;
      }
      expect(outliers).toBe(L.stats.outliers);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const i = n * L.Kp + k;
          const S = L.scales[n * L.groups + Math.floor(k / cfg.groupSize)]!;
          if (L.kind[i] === SLOT_INLIER) {
            expect(Math.abs(L.operand[i]!)).toBeLessThanOrEqual(cfg.maxInt);
            expect(Wq[n * K + k]).toBe(L.operand[i]! * 2 ** (S - cfg.fracBits));
          } else if (L.kind[i] === SLOT_PRUNED) {
            expect(Wq[n * K + k]).toBe(0);
          }
        }
      }
      const P = L.pairs;
      for (let p = 0; p < P.ublock.length; p++) {
        const u = P.ublock[p]!;
        const k = Math.floor(u / L.ublocksPerColumn);
        const j = u % L.ublocksPerColumn;
        const n = j * cfg.ublockSize + P.outlier[p]!;
        const d = decodeOutlier(P.code[p]!, L.ubX[u]!, cfg);
        expect(d.M).toBe(d.hi * 2 ** cfg.splitL + d.lo);
        expect(Math.max(d.hi, d.lo)).toBeLessThanOrEqual(cfg.maxInt);
        expect(d.shift).toBeGreaterThanOrEqual(0);
        expect(d.shift).toBeLessThanOrEqual(cfg.maxShift);
        expect(d.M).toBeGreaterThan(0);
        const io = n * L.Kp + k;
        const ip = (j * cfg.ublockSize + P.partner[p]!) * L.Kp + k;
        expect(L.kind[io]).toBe(SLOT_OUTLIER);
        expect(L.kind[ip]).toBe(SLOT_PRUNED);
        expect((L.codes[io]! << cfg.b) | L.codes[ip]!).toBe(P.code[p]);
        expect(L.operand[io]).toBe((d.sign ? -d.hi : d.hi) + 0);
        expect(L.operand[ip]).toBe((d.sign ? -d.lo : d.lo) + 0);
        const S = L.scales[n * L.groups + Math.floor(k / cfg.groupSize)]!;
        expect(Wq[n * K + k]).toBe((d.sign ? -d.M : d.M) * 2 ** (d.shift - cfg.guardBits + S - cfg.fracBits));
        // the value is the FP element value times 2^(S + D0 + X)
        const elem = Wq[n * K + k]! / 2 ** (S + cfg.outlierExpOffset + L.ubX[u]!);
        expect(quantizeElement(elem, cfg.outFmt)).toBe(elem);
      }
    }
  });

  it('without outliers equals MXINT-b of quant/mx.ts bit for bit', () => {
    for (const [inlier, fmt] of [['mxint4', 'int4'], ['mxint2', 'int2']] as const) {
      const L = quantizeMicroScopiQ(W, N, K, { inlier, stdDev: 1000, groupSize: 32, scaleSearch: false });
      expect(L.stats.candidates).toBe(0);
      expect(Array.from(dequantize(L))).toEqual(Array.from(quantizeMx(W, [N, K], { format: fmt, blockSize: 32 })));
    }
  });

  it('scale search only ever picks S or S - 1 of the MX rule and lowers the error', () => {
    const plain = quantizeMicroScopiQ(W, N, K, { scaleSearch: false });
    const searched = quantizeMicroScopiQ(W, N, K, {});
    let lowered = 0;
    for (let i = 0; i < plain.scales.length; i++) {
      const d = plain.scales[i]! - searched.scales[i]!;
      expect(d === 0 || d === 1).toBe(true);
      lowered += d;
    }
    expect(lowered).toBeGreaterThan(0);
    const err = (L: MsqLayer) => dequantize(L).reduce((e, v, i) => e + (v - W[i]!) ** 2, 0);
    expect(err(searched)).toBeLessThan(err(plain));
  });

  it('beats MXINT4 and MXFP4 on LLM-like weights', () => {
    const sq = (a: Float32Array) => {
      let s = 0, e = 0;
      for (let i = 0; i < W.length; i++) {
        s += W[i]! ** 2;
        e += (W[i]! - a[i]!) ** 2;
      }
      return 10 * Math.log10(s / e);
    };
    const msq = sq(dequantize(quantizeMicroScopiQ(W, N, K, {})));
    expect(msq).toBeGreaterThan(sq(quantizeMx(W, [N, K], { format: 'int4', blockSize: 32 })) + 2);
    expect(msq).toBeGreaterThan(sq(quantizeMx(W, [N, K], { format: 'fp4_e2m1', blockSize: 32 })) + 2);
  });

  it('pads shapes that do not divide into groups and μBs', () => {
    const W2 = llmLikeWeights(13, 70, 5);
    const L = quantizeMicroScopiQ(W2, 13, 70, { groupSize: 32, ublockSize: 8 });
    expect([L.Np, L.Kp]).toEqual([16, 96]);
    expect(dequantize(L).length).toBe(13 * 70);
    for (let n = 13; n < 16; n++) for (let k = 0; k < 96; k++) expect(L.kind[n * L.Kp + k] === SLOT_OUTLIER).toBe(false);
    roundTrip(L);
  });

  it('refuses non-finite weights and wrong shapes, naming the value', () => {
    const W2 = new Float32Array(16 * 32);
    W2[5 * 32 + 7] = NaN;
    expect(() => quantizeMicroScopiQ(W2, 16, 32, {})).toThrow(/W\[5\]\[7\] is NaN/);
    expect(() => quantizeMicroScopiQ(new Float32Array(10), 4, 4, {})).toThrow(/holds 10 values.*\[4, 4\] needs 16/);
  });

  it('honours a narrow shift window and counts the clamps', () => {
    const L = quantizeMicroScopiQ(W, N, K, { inlier: 'mxint2', xbits: 0, maxShift: 1 });
    expect(L.stats.windowClamped).toBeGreaterThan(0);
    for (let p = 0; p < L.pairs.shift.length; p++) expect(L.pairs.shift[p]).toBeLessThanOrEqual(1);
    roundTrip(L);
  });

  it('top-fraction rule flags about the requested fraction', () => {
    const L = quantizeMicroScopiQ(W, N, K, { topFraction: 0.02 });
    expect(L.stats.candidates).toBeGreaterThanOrEqual(Math.floor(0.02 * N * K) - 2);
    expect(L.stats.candidates).toBeLessThanOrEqual(Math.floor(0.02 * N * K) + 2);
  });
});

describe('packed format', () => {
  it('round-trips exactly on random layers of every configuration', () => {
    let seed = 100;
    for (const inlier of ['mxint2', 'mxint4'] as const) {
      for (const recon of ['crossbar', 'butterfly'] as const) {
        for (const B of [4, 8, 16]) {
          for (const [N, K, G] of [[48, 96, 32], [40, 100, 64]] as const) {
            const W = llmLikeWeights(N, K, seed++, { outlierRate: 0.03 });
            const L = quantizeMicroScopiQ(W, N, K, { inlier, recon, ublockSize: B, groupSize: G, stdDev: 2.5 });
            expect(L.stats.outliers).toBeGreaterThan(0);
            roundTrip(L);
          }
        }
      }
    }
    const L = quantizeMicroScopiQ(llmLikeWeights(32, 64, 9), 32, 64, { outlier: 'mxfp8_e4m3', xbits: 2 });
    roundTrip(L);
  });

  it('round-trips adversarial μBs: none, all slots outliers, no legal partner', () => {
    const B = 8;
    const N = 16;
    const K = 64;
    const g = gaussian(7);
    const W = new Float32Array(N * K).map(() => 0.01 * g());
    // column 3, μB 0: every slot is an outlier of its own row group
    for (let n = 0; n < 8; n++) W[n * K + 3] = (n % 2 ? -1 : 1) * (0.5 + 0.05 * n);
    // column 5, μB 1 (rows 8..15): slots 0,1,2,4 outliers -> slot 0 has no butterfly neighbour left (1, 2, 4 are outliers)
    for (const s of [0, 1, 2, 4]) W[(8 + s) * K + 5] = 0.4 + 0.01 * s;
    for (const recon of ['crossbar', 'butterfly'] as const) {
      const L = quantizeMicroScopiQ(W, N, K, { recon, ublockSize: B, groupSize: 64 });
      const uAll = 3 * L.ublocksPerColumn + 0;
      expect(L.pairStart[uAll + 1]! - L.pairStart[uAll]!).toBe(0); // no non-outlier partner anywhere
      const uNo = 5 * L.ublocksPerColumn + 1;
      const pairs = layerPairs(L, uNo);
      if (recon === 'butterfly') {
        expect(pairs.some((p) => p.outlier === 0)).toBe(false);
        expect(isButterflyRoutable(pairs, B)).toBe(true);
      } else {
        expect(pairs.length).toBe(4);
      }
      expect(L.stats.clippedNoLegalPartner).toBeGreaterThanOrEqual(8 + (recon === 'butterfly' ? 1 : 0));
      // the μBs without outliers: count field only
      expect(L.pairStart[1]! - L.pairStart[0]!).toBe(0);
      roundTrip(L);
    }
  });

  it('a record stream in any μB order parses back to the same records', () => {
    const L = quantizeMicroScopiQ(llmLikeWeights(32, 64, 3, { outlierRate: 0.05 }), 32, 64, { recon: 'butterfly', stdDev: 2 });
    const order = Array.from({ length: L.ublocks }, (_, u) => u).reverse();
    const { words, bits } = encodeRecordStream(L, order);
    const r = new BitReader(words, bits);
    const cfg = L.config;
    for (const u of order) {
      let np = 0;
      while (np < cfg.ublockSize / 2 && r.read(1) === 1) np++;
      expect(np).toBe(L.pairStart[u + 1]! - L.pairStart[u]!);
      if (np > 0) {
        expect(r.read(cfg.xbits)).toBe(L.ubX[u]);
        for (const p of layerPairs(L, u)) {
          expect(r.read(cfg.slotBits)).toBe(p.outlier);
          expect(p.outlier ^ (1 << r.read(cfg.fields.partner))).toBe(p.partner);
        }
      }
      const k = Math.floor(u / L.ublocksPerColumn);
      const j = u % L.ublocksPerColumn;
      for (let i = 0; i < cfg.ublockSize; i++) expect(r.read(cfg.b)).toBe(L.codes[(j * cfg.ublockSize + i) * L.Kp + k]);
    }
    expect(r.pos).toBe(bits);
  });

  it('refuses corrupt data', () => {
    const L = quantizeMicroScopiQ(llmLikeWeights(16, 64, 4, { outlierRate: 0.05 }), 16, 64, { recon: 'butterfly', stdDev: 2 });
    const bytes = encodePacked(L);
    const bad = bytes.slice();
    bad[0] = 0x41;
    expect(() => decodePacked(bad)).toThrow(/magic/);
    expect(() => decodePacked(bytes.slice(0, bytes.length - 4))).toThrow(/corrupt/);
    const hdr = bytes.slice();
    hdr[8] = 6; // μB size 6
    expect(() => decodePacked(hdr)).toThrow(/corrupt.*--block-size 6/);
  });

  it('refuses a record whose pairing is not legal (partner = outlier)', () => {
    const L = quantizeMicroScopiQ(llmLikeWeights(16, 64, 4, { outlierRate: 0.05 }), 16, 64, { stdDev: 2 });
    const cfg = L.config;
    const B = cfg.ublockSize;
    // bit offset of the first record with a pair
    let pos = 0;
    let u = 0;
    for (; L.pairStart[u + 1] === L.pairStart[u]; u++) pos += 1 + B * cfg.b;
    const np = L.pairStart[u + 1]! - L.pairStart[u]!;
    const partnerAt = pos + np + (np < B / 2 ? 1 : 0) + cfg.xbits + cfg.slotBits;
    const o = L.pairs.outlier[L.pairStart[u]!]!;
    const bytes = encodePacked(L);
    const recStart = 32 + Math.ceil((L.groups * L.Np) / 4) * 4;
    for (let t = 0; t < cfg.slotBits; t++) {
      const bit = partnerAt + t;
      const byte = recStart + (bit >> 3);
      bytes[byte] = (bytes[byte]! & ~(1 << (bit & 7))) | (((o >> t) & 1) << (bit & 7));
    }
    expect(() => decodePacked(bytes)).toThrow(/corrupt: μB \d+: pairing is not crossbar-routable/);
  });

  it('EBW counts every bit of the file and meets b + 0.45 at the defaults on LLM-like weights', () => {
    const W = llmLikeWeights(256, 512, 21);
    for (const inlier of ['mxint4', 'mxint2'] as const) {
      const L = quantizeMicroScopiQ(W, 256, 512, { inlier });
      const r = ebwReport(L);
      expect(r.totalBits).toBe(encodePacked(L).length * 8);
      expect(effectiveBits(L)).toBeLessThanOrEqual(L.config.b + 0.45);
      expect(effectiveBits(L)).toBeGreaterThan(L.config.b);
    }
  });
});

describe('ReCoN routability', () => {
  it('isButterflyRoutable matches an independent butterfly simulation on every pairing of 4 and 8 lanes', () => {
    for (const B of [4, 8]) {
      // every set of disjoint ordered pairs
      const all: SlotPair[][] = [];
      const rec = (used: number, cur: SlotPair[], from: number) => {
        all.push([...cur]);
        for (let o = from; o < B; o++) {
          if ((used >> o) & 1) continue;
          for (let p = 0; p < B; p++) {
            if (p === o || (used >> p) & 1) continue;
            cur.push({ outlier: o, partner: p });
            rec(used | (1 << o) | (1 << p), cur, o + 1);
            cur.pop();
          }
        }
      };
      rec(0, [], 0);
      let routable = 0;
      for (const pairs of all) {
        const r = isButterflyRoutable(pairs, B);
        expect(r).toBe(simulateButterfly(pairs, B).ok);
        if (r) {
          routable++;
          const st = butterflySettings(pairs, B);
          expect(st.flat().filter((s) => s !== 'pass').length).toBe(pairs.length);
        }
      }
      expect(routable).toBeGreaterThan(B);
    }
    expect(isButterflyRoutable([{ outlier: 0, partner: 3 }], 4)).toBe(false);
    expect(isButterflyRoutable([{ outlier: 0, partner: 1 }, { outlier: 2, partner: 1 }], 4)).toBe(false);
    expect(isButterflyRoutable([{ outlier: 0, partner: 1 }, { outlier: 3, partner: 2 }], 4)).toBe(true);
  });

  it('the quantizer produces only routable butterfly pairings (checked by simulation) on dense outliers', () => {
    for (const B of [4, 8, 16]) {
      const N = 64;
      const K = 64;
      const L = quantizeMicroScopiQ(llmLikeWeights(N, K, B, { outlierRate: 0.15 }), N, K, { recon: 'butterfly', ublockSize: B, stdDev: 1.5 });
      let multi = 0;
      for (let u = 0; u < L.ublocks; u++) {
        const pairs = layerPairs(L, u);
        if (pairs.length > 1) multi++;
        expect(simulateButterfly(pairs, B).ok).toBe(true);
      }
      expect(multi).toBeGreaterThan(0);
    }
  });
});

describe('Hessian (GPTQ/OBS) mode', () => {
  it('U from gptqInverseFactor is upper triangular with UᵀU = (H + λI)⁻¹', () => {
    for (const [M, K] of [[50, 37], [10, 40], [200, 96]] as const) {
      const g = gaussian(M * K);
      const X = new Float64Array(M * K).map(() => g());
      const H0 = hessianFromCalibration(X, M, K);
      const { U, damping } = gptqInverseFactor(H0.slice(), K, 0.01);
      for (let i = 0; i < K; i++) H0[i * K + i]! += damping.damping;
      let worst = 0;
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < i; j++) expect(U[i * K + j]).toBe(0);
        expect(U[i * K + i]).toBeGreaterThan(0);
      }
      // (H + λI) · UᵀU = I
      const Hinv = new Float64Array(K * K);
      for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) {
        let s = 0;
        for (let t = 0; t <= Math.min(i, j); t++) s += U[t * K + i]! * U[t * K + j]!;
        Hinv[i * K + j] = s;
      }
      for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) {
        let s = 0;
        for (let t = 0; t < K; t++) s += H0[i * K + t]! * Hinv[t * K + j]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
      expect(worst).toBeLessThan(1e-9);
    }
  });

  it('refuses calibration data whose width does not match K, with both numbers', () => {
    const W = llmLikeWeights(16, 64, 1);
    expect(() => quantizeMicroScopiQ(W, 16, 64, { calibration: { X: new Float32Array(8 * 48), M: 8, K: 48 } })).toThrow(/48 columns .* K = 64/);
  });

  it('damps a singular Hessian instead of failing', () => {
    const N = 16;
    const K = 64;
    const W = llmLikeWeights(N, K, 2);
    // 3 rows (rank 3), a dead input and two identical inputs
    const X = new Float32Array(3 * K).map((_, i) => Math.sin(i));
    for (let m = 0; m < 3; m++) {
      X[m * K + 10] = 0;
      X[m * K + 20] = X[m * K + 21]!;
    }
    const L = quantizeMicroScopiQ(W, N, K, { calibration: { X, M: 3, K }, damping: 0 });
    expect(L.stats.hessian!.deadInputs).toBe(1);
    expect(L.stats.hessian!.retries).toBeGreaterThan(0);
    expect(dequantize(L).every(Number.isFinite)).toBe(true);
    const Z = quantizeMicroScopiQ(W, N, K, { calibration: { X: new Float32Array(2 * K), M: 2, K } });
    expect(Z.stats.hessian!.deadInputs).toBe(K);
    roundTrip(Z);
  });

  it('with a diagonal Hessian (no compensation) makes the direct-cast decisions exactly', () => {
    const N = 32;
    const K = 64;
    const W = llmLikeWeights(N, K, 8);
    const X = new Float32Array(K * K);
    for (let k = 0; k < K; k++) X[k * K + k] = 1;
    for (const opts of [{}, { inlier: 'mxint2', recon: 'butterfly' }] as MsqOptions[]) {
      const H = quantizeMicroScopiQ(W, N, K, { ...opts, calibration: { X, M: K, K } });
      const D = quantizeMicroScopiQ(W, N, K, opts);
      expect(structure(H)).toEqual(structure(D));
    }
  });

  it('lowers the output error against direct-cast (magnitude) pruning on correlated activations', () => {
    const N = 64;
    const K = 256;
    const W = llmLikeWeights(N, K, 31);
    const opts = { rank: 8, correlated: 0.9 };
    const Xc = llmLikeActivations(256, K, 5, 1, opts);
    const Xt = llmLikeActivations(256, K, 5, 2, opts);
    const Y = matmulXWt(Xt, W, 256, K, N);
    const err = (Wq: Float32Array) => {
      const Yq = matmulXWt(Xt, Wq, 256, K, N);
      let e = 0;
      for (let i = 0; i < Y.length; i++) e += (Y[i]! - Yq[i]!) ** 2;
      return e;
    };
    for (const inlier of ['mxint4', 'mxint2'] as const) {
      const direct = err(dequantize(quantizeMicroScopiQ(W, N, K, { inlier })));
      const hess = err(dequantize(quantizeMicroScopiQ(W, N, K, { inlier, calibration: { X: Xc, M: 256, K } })));
      expect(hess).toBeLessThan(0.8 * direct);
    }
  });
});

describe('arithmetic contract reference', () => {
  it('is bit-exact with an independent evaluation from dequantized operands, and within the float bound', () => {
    const N = 24;
    const K = 96;
    const M = 5;
    for (const opts of [{}, { inlier: 'mxint2', groupSize: 32 }, { recon: 'butterfly', xbits: 2 }] as MsqOptions[]) {
      const L = quantizeMicroScopiQ(llmLikeWeights(N, K, 3, { outlierRate: 0.04 }), N, K, { stdDev: 2.5, ...opts });
      expect(L.stats.outliers).toBeGreaterThan(0);
      for (const abits of [8, 6, 4]) {
        const A = quantizeActivations(llmLikeActivations(M, K, 1, 2), M, K, { bits: abits, groupSize: L.config.groupSize });
        const Y = referenceMatmul(A, L);
        const Wd = dequantize(L);
        const Xd = dequantizeActivations(A);
        const { Y: Yf, bound } = floatReference(A, L);
        const G = L.config.groupSize;
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            let y = 0;
            let yf = 0;
            for (let g = 0; g < L.groups; g++) {
              let t = 0; // exact in float64: few terms of small integers times powers of two
              for (let k = g * G; k < Math.min(K, (g + 1) * G); k++) t += Xd[m * K + k]! * Wd[n * K + k]!;
              y = Math.fround(y + Math.fround(t));
              yf += t;
            }
            expect(Y[m * N + n]).toBe(y);
            expect(Yf[m * N + n]).toBeCloseTo(yf, 12);
            expect(Math.abs(Y[m * N + n]! - Yf[m * N + n]!)).toBeLessThanOrEqual(bound[m * N + n]!);
          }
        }
      }
    }
  });

  it('activations: a = 8 equals MXINT8 of quant/mx.ts; other widths stay on their grid', () => {
    const M = 4;
    const K = 64;
    const X = llmLikeActivations(M, K, 2, 3);
    const A = quantizeActivations(X, M, K, { bits: 8, groupSize: 32 });
    expect(Array.from(dequantizeActivations(A))).toEqual(Array.from(quantizeMx(X, [M, K], { format: 'int8', blockSize: 32 })));
    const A6 = quantizeActivations(X, M, K, { bits: 6, groupSize: 32 });
    for (const q of A6.q) expect(Math.abs(q)).toBeLessThanOrEqual(31);
    expect(() => quantizeActivations(X, M, K, { bits: 9, groupSize: 32 })).toThrow(/--abits 9 .*4\.\.8/);
  });
});
