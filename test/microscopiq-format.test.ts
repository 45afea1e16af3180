import { describe, it, expect } from 'vitest';
import { quantizeMicroScopiQ, encodePacked, decodePacked, dequantize, decodeOutlier, ebwReport } from '../quant/microscopiq/index.ts';

/** The worked example of docs/FORMAT.md: if this test changes, the document must change with it. */
function exampleLayer() {
  const N = 8;
  const K = 8;
  const base = [0.11, -0.07, 0.05, -0.12, 0.09, 0.02, -0.1, 0.06];
  const W = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) W[n * K + k] = base[(n * 3 + k * 5) % 8]! * (1 + 0.1 * n);
  W[2 * K + 0] = -0.95;
  W[5 * K + 0] = 0.004;
  return quantizeMicroScopiQ(W, N, K, { inlier: 'mxint2', groupSize: 8, ublockSize: 8, stdDev: 2, outlierExpOffset: 0, xbits: 2 });
}

describe('docs/FORMAT.md worked example', () => {
  it('produces exactly the documented bytes and values', () => {
    const L = exampleLayer();
    const hex = Buffer.from(encodePacked(L)).toString('hex');
    expect(hex).toBe(
      '4d53513101020000080201' + '05ff000800' + '08000000' + '08000000' + '00000000' + '05000000' +
        '7b7c7c7c7c7c7c7c' + 'a5f667a0bf12fd25e84f41bf2b7a5fd1fe8a0000',
    );
    expect(Array.from(L.pairs.outlier)).toEqual([2]);
    expect(Array.from(L.pairs.partner)).toEqual([5]);
    expect(Array.from(L.pairs.code)).toEqual([0b1110]);
    expect(L.ubX[0]).toBe(1);
    expect(decodeOutlier(0b1110, 1, L.config)).toEqual({ sign: 1, e: 3, m: 0, M: 2, hi: 1, lo: 0, shift: 3 });
    expect(Array.from({ length: 8 }, (_, n) => L.codes[n * L.Kp])).toEqual([1, 3, 3, 3, 1, 2, 1, 0]);
    expect(Array.from({ length: 8 }, (_, n) => L.operand[n * L.Kp] + 0)).toEqual([1, -1, -1, -1, 1, 0, 1, 0]);
    expect(dequantize(L)[2 * 8]).toBe(-1);
    expect(ebwReport(L).ebw).toBe(7.5);
    expect(Array.from(dequantize(decodePacked(encodePacked(L))))).toEqual(Array.from(dequantize(L)));
  });
});
