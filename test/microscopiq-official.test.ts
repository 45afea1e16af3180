import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../quant/npy.ts';
import { quantizeOfficial } from '../quant/microscopiq/official.ts';

const DIR = fileURLToPath(new URL('../../shared/vectors/microscopiq-official/', import.meta.url));

interface Case {
  input: string;
  output: string;
  inlier_format: string;
  outlier_format: string;
  block_size: number;
  axis: number;
  std_dev: number;
  scale_bits: number;
  rounding: 'nearest' | 'even';
}

const cases = JSON.parse(readFileSync(DIR + 'manifest.json', 'utf8')) as Case[];

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('official-compatible MicroScopiQ quantizer (quantize_mx_outlier_v1)', () => {
  it('has the 24 reference cases', () => {
    expect(cases.length).toBe(24);
  });
  for (const c of cases) {
    it(`${c.output} matches bit for bit`, () => {
      expect(c.scale_bits).toBe(8);
      const input = readNpy(DIR + c.input);
      const expected = readNpy(DIR + c.output);
      expect(expected.shape).toEqual(input.shape);
      const { output } = quantizeOfficial(input.data, input.shape, {
        inlierFormat: c.inlier_format,
        outlierFormat: c.outlier_format,
        blockSize: c.block_size,
        stdDev: c.std_dev,
        axis: c.axis,
        rounding: c.rounding,
      });
      const got = bitsOf(output);
      const want = bitsOf(expected.data);
      const bad: string[] = [];
      for (let i = 0; i < got.length; i++) {
        // -0 and +0 are treated as equal (vectors README)
        if (got[i] !== want[i] && !(output[i] === 0 && expected.data[i] === 0)) {
          if (bad.length < 5) bad.push(`#${i}: input ${input.data[i]} want ${expected.data[i]} got ${output[i]}`);
          else if (bad.length === 5) bad.push('...');
        }
      }
      expect(bad).toEqual([]);
    });
  }
});
