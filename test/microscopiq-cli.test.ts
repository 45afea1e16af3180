import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir, runMsq } from './helpers.ts';
import { readNpy, writeNpy } from '../quant/npy.ts';
import { decodePacked, dequantize, quantizeMicroScopiQ } from '../quant/microscopiq/index.ts';
import { llmLikeWeights, llmLikeActivations } from '../quant/microscopiq/synthetic.ts';

const OFFICIAL = fileURLToPath(new URL('../../shared/vectors/microscopiq-official/', import.meta.url));

describe('msq quantize --format microscopiq', () => {
  const dir = tmpDir();
  const W = llmLikeWeights(32, 128, 4);
  writeNpy(join(dir, 'W.npy'), [32, 128], W);
  writeNpy(join(dir, 'X.npy'), [16, 128], llmLikeActivations(16, 128, 1, 2));
  writeNpy(join(dir, 'Xbad.npy'), [16, 100], llmLikeActivations(16, 100, 1, 2));

  it('writes the dequantized tensor and the packed .msq, matching the API', () => {
    const r = runMsq(['quantize', '--format', 'microscopiq', '--inlier', 'mxint2', '--recon', 'butterfly', '--input', join(dir, 'W.npy'), '--output', join(dir, 'o.npy'), '--packed', join(dir, 'o.msq')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/microscopiq-w2\+bf: \[32, 128\].*EBW 2\.\d+/);
    expect(r.stdout).toMatch(/kept as FP outliers/);
    const out = readNpy(join(dir, 'o.npy'));
    const L = quantizeMicroScopiQ(W, 32, 128, { inlier: 'mxint2', recon: 'butterfly' });
    expect(Array.from(out.data)).toEqual(Array.from(dequantize(L)));
    const D = decodePacked(new Uint8Array(readFileSync(join(dir, 'o.msq'))));
    expect(Array.from(dequantize(D))).toEqual(Array.from(out.data));
  });

  it('--axis 1 reads the matrix as [in, out]', () => {
    const Wt = new Float32Array(128 * 32);
    for (let n = 0; n < 32; n++) for (let k = 0; k < 128; k++) Wt[k * 32 + n] = W[n * 128 + k]!;
    writeNpy(join(dir, 'Wt.npy'), [128, 32], Wt);
    const r = runMsq(['quantize', '--format', 'microscopiq', '--axis', '1', '--input', join(dir, 'Wt.npy'), '--output', join(dir, 'ot.npy')]);
    expect(r.status).toBe(0);
    const a = readNpy(join(dir, 'ot.npy')).data;
    const b = dequantize(quantizeMicroScopiQ(W, 32, 128, {}));
    for (let n = 0; n < 32; n++) for (let k = 0; k < 128; k++) expect(a[k * 32 + n]).toBe(b[n * 128 + k]);
  });

  it('Hessian mode with --calibration; a width mismatch is refused with both numbers and writes nothing', () => {
    const ok = runMsq(['quantize', '--format', 'microscopiq', '--calibration', join(dir, 'X.npy'), '--input', join(dir, 'W.npy'), '--output', join(dir, 'h.npy')]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/microscopiq-w4\+cal.*Hessian: 16 rows/s);
    const bad = runMsq(['quantize', '--format', 'microscopiq', '--calibration', join(dir, 'Xbad.npy'), '--input', join(dir, 'W.npy'), '--output', join(dir, 'bad.npy'), '--packed', join(dir, 'bad.msq')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/100 columns .*K = 128/);
    expect(existsSync(join(dir, 'bad.npy')) || existsSync(join(dir, 'bad.msq'))).toBe(false);
  });

  it('--compat official reproduces an official vector bit for bit', () => {
    const r = runMsq(['quantize', '--format', 'microscopiq', '--compat', 'official', '--inlier', 'mxint4', '--outlier', 'mxfp8_e4m3', '--block-size', '8', '--std-dev', '3',
      '--input', join(OFFICIAL, 'in_llm_like_outliers.npy'), '--output', join(dir, 'off.npy')]);
    expect(r.status).toBe(0);
    const got = readNpy(join(dir, 'off.npy')).data;
    const want = readNpy(join(OFFICIAL, 'out_llm_like_outliers_int4_fp8_e4m3_b8_sd3.npy')).data;
    for (let i = 0; i < want.length; i++) if (!(got[i] === 0 && want[i] === 0)) expect(got[i]).toBe(want[i]);
    const bad = runMsq(['quantize', '--format', 'microscopiq', '--compat', 'official', '--calibration', join(dir, 'X.npy'), '--input', join(dir, 'W.npy'), '--output', join(dir, 'x.npy')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--calibration does not apply with --compat official/);
  });

  it('msq compare has MicroScopiQ rows with and without calibration', () => {
    const r = runMsq(['compare', '--input', join(dir, 'W.npy'), '--activations', join(dir, 'X.npy'), '--formats', 'mxint4,microscopiq+w4,microscopiq+w4+cal,microscopiq+w2+bf', '--no-plot']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const label of ['microscopiq-w4 ', 'microscopiq-w4+cal', 'microscopiq-w2+bf']) expect(r.stdout).toContain(`| ${label}`);
    const noX = runMsq(['compare', '--input', join(dir, 'W.npy'), '--formats', 'microscopiq+w4+cal', '--no-plot']);
    expect(noX.status).toBe(2);
    expect(noX.stderr).toMatch(/needs activations/);
  });
});
