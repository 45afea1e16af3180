/**
 * Honest numerics output (issue 11): NaN/Inf blocks under the OCP MX rule, SQNR
 * over what was really measured, formats skipped for their shape, float64 input,
 * and help texts that state the real defaults.
 *
 * Golden values come from the references: microxcaling's own NaN test
 * (mx/tests/test_corners_mx.py, test_mx_nans), its output vectors in
 * ../shared/vectors/mx (blocks are independent, so a block without NaN/Inf must
 * come out exactly as in the vector), and the official MicroScopiQ vectors.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpDir, runMsq, npyBytes } from './helpers.ts';
import { VECTORS_DIR, mxArray, bitMismatches } from './quant-vectors.ts';
import { mxEncode, mxDecode, quantizeMx } from '../quant/mx.ts';
import { nxfpEncode, nxfpNanBlockCount } from '../quant/nxfp.ts';
import { packMx, packNxfp, unpack } from '../quant/pack.ts';
import { quantizeElement } from '../quant/element.ts';
import { elementFormat } from '../quant/formats.ts';
import { sharedExponent, blockMaxAbs } from '../quant/shared-exponent.ts';
import { parseNpy, readNpy, writeNpy } from '../quant/npy.ts';
import { loadTensor } from '../quant/tensor-input.ts';

const dir = tmpDir('msq-honest-');


function bitsOf(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0]!;
}

/** The payload (block records) of a packed MSQPACK1 file. */
function payload(bin: Uint8Array): Uint8Array {
  const h = new DataView(bin.buffer, bin.byteOffset).getUint32(8, true);
  return bin.subarray(Math.ceil((12 + h) / 8) * 8);
}

/** SQNR over the elements of `blocks` (block size along the last axis) not listed in `affected`, from reference data. */
function goldenSqnr(input: Float32Array, expected: Float32Array, cols: number, blockSize: number, affected: Set<string>): { db: number; used: number } {
  let signal = 0;
  let noise = 0;
  let used = 0;
  for (let i = 0; i < input.length; i++) {
    const key = `${Math.floor(i / cols)}:${Math.floor((i % cols) / blockSize)}`;
    if (affected.has(key)) continue;
    signal += input[i]! * input[i]!;
    noise += (expected[i]! - input[i]!) ** 2;
    used++;
  }
  return { db: 10 * Math.log10(signal / noise), used };
}

describe('NaN and ±Inf follow the OCP MX rule, as microxcaling implements it', () => {
  // microxcaling test_mx_nans: x = [v, 0, 2^127, 0] in one block of 4, v = NaN, Inf, -Inf,
  // formats fp8_e4m3, fp4_e2m1, int4; the expected output is [NaN, NaN, NaN, NaN].
  const cases = [NaN, Infinity, -Infinity].flatMap((v) => ['fp8_e4m3', 'fp4_e2m1', 'int4'].map((f) => [v, f] as const));

  it.each(cases)('microxcaling test_mx_nans: [%s, 0, 2^127, 0] in %s is all NaN, scale 0xFF, through kernel, element API and packing', (v, format) => {
    const x = new Float32Array([v, 0, 2 ** 127, 0]);
    const enc = mxEncode(x, [4], { format, blockSize: 4 });
    expect(Array.from(enc.values).every(Number.isNaN)).toBe(true);
    expect(Array.from(quantizeMx(x, [4], { format, blockSize: 4 })).every(Number.isNaN)).toBe(true);
    expect(Array.from(enc.scaleCodes)).toEqual([0xff]);
    expect(Array.from(enc.codes)).toEqual([0, 0, 0, 0]);
    // the element-by-element path: E from the block maximum, x / 2^E rounded, times 2^E
    const fmt = elementFormat(format);
    const e = sharedExponent(blockMaxAbs(x), fmt.emax);
    expect(Number.isNaN(e)).toBe(true);
    for (const xi of x) expect(Number.isNaN(quantizeElement(Math.fround(xi / 2 ** e), fmt) * 2 ** e)).toBe(true);
    // packed: the record is the scale byte 0xFF, then element codes 0; it unpacks to NaN
    const bin = packMx(enc);
    const rec = payload(bin);
    expect(rec[0]).toBe(0xff);
    expect(Array.from(rec.subarray(1))).toEqual(new Array(rec.length - 1).fill(0));
    expect(Array.from(unpack(bin).values).every(Number.isNaN)).toBe(true);
    expect(Array.from(mxDecode(enc.scaleCodes, enc.codes, enc.geometry, format)).every(Number.isNaN)).toBe(true);
  });

  it('NxFP with every technique takes the same rule: NaN scale (field 255), all elements NaN, packed and unpacked', () => {
    for (const v of [NaN, Infinity, -Infinity]) {
      const x = new Float32Array([v, 0, 2 ** 127, 0, 1, 2, 3, 4]);
      const enc = nxfpEncode(x, [8], { family: 'nxfp4', blockSize: 4, nanoMantissa: 2, adaptiveMicroexponent: true, codeRecycling: true });
      expect(Array.from(enc.values.subarray(0, 4)).every(Number.isNaN)).toBe(true);
      expect(Array.from(enc.values.subarray(4)).every(Number.isFinite)).toBe(true);
      expect(enc.scaleCodes[0]! >> 2).toBe(255);
      expect(nxfpNanBlockCount(enc)).toBe(1);
      expect(bitMismatches(unpack(packNxfp(enc)).values, enc.values)).toEqual([]);
    }
  });

  it('only the blocks holding NaN/Inf change: every other block is microxcaling\'s output bit for bit (MX and NxFP with techniques off)', () => {
    const { input, expected, affected } = injected();
    const got = quantizeMx(input, [8, 96], { format: 'fp4_e2m1', blockSize: 32 });
    const nx = nxfpEncode(input, [8, 96], { family: 'nxfp4' });
    for (const values of [got, nx.values]) {
      for (let i = 0; i < input.length; i++) {
        const inBlock = affected.has(`${Math.floor(i / 96)}:${Math.floor((i % 96) / 32)}`);
        if (inBlock) expect(Number.isNaN(values[i])).toBe(true);
        else expect(bitsOf(values[i]!) === bitsOf(expected[i]!) || (values[i] === 0 && expected[i] === 0)).toBe(true);
      }
    }
    expect(nxfpNanBlockCount(nx)).toBe(3);
  });
});

/** in_normal.npy [8, 96] with NaN, +Inf and -Inf put into three different 32-element blocks, and microxcaling's MXFP4 output of the clean input. */
function injected(): { input: Float32Array; expected: Float32Array; affected: Set<string>; path: string } {
  const input = mxArray('in_normal.npy').data.slice();
  input[0 * 96 + 5] = NaN; // row 0, block 0
  input[3 * 96 + 40] = Infinity; // row 3, block 1
  input[7 * 96 + 95] = -Infinity; // row 7, block 2
  const path = join(dir, 'w-nan.npy');
  if (!existsSync(path)) writeNpy(path, [8, 96], input);
  return { input, expected: mxArray('out_normal_fp4_e2m1_b32_nearest.npy').data, affected: new Set(['0:0', '3:1', '7:2']), path };
}

describe('msq quantize with NaN/Inf blocks', () => {
  it('warns once on stderr with the block count, writes NaN blocks, and gives the SQNR of the finite blocks', () => {
    const { expected, affected, path, input } = injected();
    const r = runMsq(['quantize', '--format', 'mxfp4_e2m1', '--input', path, '--output', join(dir, 'q.npy'), '--packed', join(dir, 'q.bin')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('msq: warning: 3 of 24 blocks hold NaN or Inf: their scale is NaN (OCP MX rule) and all their elements are NaN\n');
    const golden = goldenSqnr(input, expected, 96, 32, affected);
    expect(golden.used).toBe(21 * 32);
    expect(r.stdout).toContain(`SQNR ${golden.db.toFixed(2)} dB over the 672 finite elements of the 21 blocks without NaN/Inf`);
    expect(r.stdout).not.toMatch(/NaN dB|Infinity/);
    const out = readNpy(join(dir, 'q.npy')).data;
    expect(out.filter(Number.isNaN).length).toBe(3 * 32);
    expect(bitMismatches(unpack(readFileSync(join(dir, 'q.bin'))).values, out)).toEqual([]);
  });

  it('nxfp4+nm2: the same warning, and an SQNR over the finite blocks equal to that of the same blocks quantized without the NaNs', () => {
    const { path, input, affected } = injected();
    const r = runMsq(['quantize', '--format', 'nxfp4', '--nano-mantissa', '2', '--input', path, '--output', join(dir, 'n.npy')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^msq: warning: 3 of 24 blocks hold NaN or Inf: their scale is NaN \(OCP MX rule\) and all their elements are NaN\n$/);
    const clean = mxArray('in_normal.npy').data;
    const ref = nxfpEncode(clean, [8, 96], { family: 'nxfp4', nanoMantissa: 2 }).values;
    const golden = goldenSqnr(input, ref, 96, 32, affected);
    expect(r.stdout).toContain(`SQNR ${golden.db.toFixed(2)} dB over the 672 finite elements of the 21 blocks without NaN/Inf`);
  });

  it('a tensor with no finite block says n/a, and an exactly representable one says exact (never NaN or Infinity dB)', () => {
    writeNpy(join(dir, 'all-nan.npy'), [2, 32], new Float32Array(64).fill(NaN));
    const a = runMsq(['quantize', '--format', 'mxint8', '--input', join(dir, 'all-nan.npy'), '--output', join(dir, 'a.npy')]);
    expect(a.status).toBe(0);
    expect(a.stderr).toBe('msq: warning: 2 of 2 blocks hold NaN or Inf: their scale is NaN (OCP MX rule) and all their elements are NaN\n');
    expect(a.stdout).toContain('SQNR n/a (every block holds NaN or Inf)');
    writeNpy(join(dir, 'zeros.npy'), [2, 32], new Float32Array(64));
    const z = runMsq(['quantize', '--format', 'mxint8', '--input', join(dir, 'zeros.npy'), '--output', join(dir, 'z.npy')]);
    expect(z.stderr).toBe('');
    expect(z.stdout).toContain('SQNR exact (no quantization error)');
  });

  it('MicroScopiQ still refuses NaN weights; --compat official lets them through like the official code, with the warning', () => {
    const { path } = injected();
    const hw = runMsq(['quantize', '--format', 'microscopiq', '--input', path, '--output', join(dir, 'm.npy')]);
    expect(hw.status).toBe(2);
    expect(hw.stderr).toBe('msq: error: weight W[0][5] is NaN: MicroScopiQ needs finite weights\n');
    // official vector in_normal [64, 24], blocks of 16 along axis 0: 4 per column, 96 in all
    const inp = readNpy(join(VECTORS_DIR, 'microscopiq-official', 'in_normal.npy'));
    const want = readNpy(join(VECTORS_DIR, 'microscopiq-official', 'out_normal_int2_fp4_b16_sd2.npy')).data;
    const x = inp.data.slice();
    x[0 * 24 + 0] = NaN; // column 0, block 0
    x[20 * 24 + 5] = Infinity; // column 5, block 1
    writeNpy(join(dir, 'off-nan.npy'), inp.shape, x);
    const r = runMsq(['quantize', '--format', 'microscopiq', '--compat', 'official', '--input', join(dir, 'off-nan.npy'), '--output', join(dir, 'off.npy')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('msq: warning: 2 of 96 blocks hold NaN or Inf: their inlier scale is NaN (as in the official code) and all their elements are NaN\n');
    const got = readNpy(join(dir, 'off.npy')).data;
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < got.length; i++) {
      const row = Math.floor(i / 24);
      const col = i % 24;
      const hit = (col === 0 && row < 16) || (col === 5 && row >= 16 && row < 32);
      if (hit) {
        expect(Number.isNaN(got[i])).toBe(true);
        continue;
      }
      expect(got[i] === want[i] || (got[i] === 0 && want[i] === 0)).toBe(true);
      signal += x[i]! ** 2;
      noise += (want[i]! - x[i]!) ** 2;
    }
    expect(r.stdout).toContain(`SQNR ${(10 * Math.log10(signal / noise)).toFixed(2)} dB over the 1504 finite elements of the 94 blocks without NaN/Inf`);
  });
});

describe('msq compare never calls NaN exact', () => {
  it('markdown: SQNR of the finite blocks marked †, one note for the rows it concerns, MicroScopiQ skipped with its reason', () => {
    const { path, input, expected, affected } = injected();
    const r = runMsq(['compare', '--input', path, '--formats', 'mxfp4_e2m1,nxfp4,microscopiq+w4', '--no-plot']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/\| NaN|NaN \||exact/);
    const golden = goldenSqnr(input, expected, 96, 32, affected).db.toFixed(2);
    expect(r.stdout).toMatch(new RegExp(`^\\| mxfp4_e2m1 \\| 4\\.2500 \\| \\d\\.\\d{3}e-\\d+† \\| ${golden}† \\|$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^\\| nxfp4 \\| 4\\.2500 \\| \\d\\.\\d{3}e-\\d+† \\| ${golden}† \\|$`, 'm'));
    expect(r.stdout).toContain(
      '† mxfp4_e2m1, nxfp4: 3 of 24 blocks hold NaN or Inf: their scale is NaN (OCP MX rule) and all their elements are NaN; ' +
        'MSE and SQNR are over the 672 finite elements of the 21 blocks without NaN/Inf\n',
    );
    expect(r.stdout).toContain('skipped microscopiq+w4: MicroScopiQ needs finite weights, and W[0][5] is NaN\n');
  });

  it('JSON: numbers of the finite blocks, nonFinite counts, the note, n/a as null, and no NaN anywhere', () => {
    const { path, input, expected, affected } = injected();
    const x = mxArray('in_heavy_t3.npy').data.subarray(0, 4 * 96);
    writeNpy(join(dir, 'x.npy'), [4, 96], x);
    const r = runMsq(['compare', '--input', path, '--activations', join(dir, 'x.npy'), '--formats', 'mxfp4_e2m1,microscopiq+w2', '--json', '--no-plot']);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/:\s*NaN/);
    const doc = JSON.parse(r.stdout) as {
      rows: Array<{ label: string; mse: number; sqnrDb: number; outputSqnrDb: number; nonFinite: Record<string, unknown>; note: string }>;
      skipped: Array<{ spec: string; reason: string }>;
    };
    expect(doc.rows).toHaveLength(1);
    const row = doc.rows[0]!;
    expect(row.sqnrDb).toBeCloseTo(goldenSqnr(input, expected, 96, 32, affected).db, 9);
    expect(row.nonFinite).toEqual({ blocks: 3, blockCount: 24, rule: 'their scale is NaN (OCP MX rule) and all their elements are NaN', elementsUsed: 672, elements: 768 });
    expect(row.note).toMatch(/X·Wᵀ SQNR with the weights of those blocks left out/);
    // X·Wᵀ SQNR with the affected blocks of W (and of its error) set to 0, from the reference output
    const wm = new Float64Array(768);
    const dm = new Float64Array(768);
    for (let i = 0; i < 768; i++) {
      if (affected.has(`${Math.floor(i / 96)}:${Math.floor((i % 96) / 32)}`)) continue;
      wm[i] = input[i]!;
      dm[i] = expected[i]! - input[i]!;
    }
    const power = (d: Float64Array) => {
      let t = 0;
      for (let m = 0; m < 4; m++) {
        for (let n = 0; n < 8; n++) {
          let acc = 0;
          for (let k = 0; k < 96; k++) acc += x[m * 96 + k]! * d[n * 96 + k]!;
          t += acc * acc;
        }
      }
      return t;
    };
    expect(row.outputSqnrDb).toBeCloseTo(10 * Math.log10(power(wm) / power(dm)), 9);
    expect(doc.skipped).toEqual([{ spec: 'microscopiq+w2', reason: 'MicroScopiQ needs finite weights, and W[0][5] is NaN' }]);
  });

  it('a tensor with no finite block: n/a with the reason (markdown and JSON null), and no plot point', () => {
    writeNpy(join(dir, 'nan2.npy'), [2, 32], new Float32Array(64).fill(NaN));
    const r = runMsq(['compare', '--input', join(dir, 'nan2.npy'), '--formats', 'mxint8', '--plot', join(dir, 'nan.svg')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\| mxint8 \| 8\.2500 \| n\/a† \| n\/a† \|$/m);
    expect(r.stdout).toContain('† mxint8: 2 of 2 blocks hold NaN or Inf: their scale is NaN (OCP MX rule) and all their elements are NaN; no finite element is left to measure, so MSE and SQNR are n/a');
    expect(readFileSync(join(dir, 'nan.svg'), 'utf8')).not.toMatch(/exact|mxint8/);
    const j = runMsq(['compare', '--input', join(dir, 'nan2.npy'), '--formats', 'mxint8', '--json', '--no-plot']);
    const row = (JSON.parse(j.stdout) as { rows: Array<Record<string, unknown>> }).rows[0]!;
    expect(row.sqnrDb).toBeNull();
    expect(row.mse).toBeNull();
    expect(row.note).toMatch(/n\/a$/);
  });

  it('activations holding NaN are refused with the position', () => {
    const x = new Float32Array(2 * 96);
    x[96 + 7] = NaN;
    writeNpy(join(dir, 'x-nan.npy'), [2, 96], x);
    const r = runMsq(['compare', '--input', join(VECTORS_DIR, 'mx', 'in_normal.npy'), '--activations', join(dir, 'x-nan.npy'), '--formats', 'mxint8', '--no-plot']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('msq: error: --activations: X[1][7] is NaN: the X·Wᵀ SQNR needs finite activations\n');
  });
});

describe('msq compare skips formats that cannot take the tensor', () => {
  // in_normal [8, 96] stacked as [2, 4, 96]: blocks along the last axis are the same, so MX matches the vector.
  const w3 = mxArray('in_normal.npy');
  const p3 = join(dir, 'w3d.npy');
  writeNpy(p3, [2, 4, 96], w3.data);

  it('a 3-d tensor: MX rows as microxcaling gives them, MicroScopiQ skipped with a note, a sensible header', () => {
    const r = runMsq(['compare', '--input', p3, '--formats', 'mxfp4_e2m1,microscopiq+w4,microscopiq+w2+official', '--no-plot']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`W ${p3} [2, 4, 96]; each format's default block size and axis, rounding nearest`);
    const golden = goldenSqnr(w3.data, mxArray('out_normal_fp4_e2m1_b32_nearest.npy').data, 96, 32, new Set()).db.toFixed(2);
    expect(r.stdout).toMatch(new RegExp(`^\\| mxfp4_e2m1 \\| 4\\.2500 \\| \\d\\.\\d{3}e-\\d+ \\| ${golden} \\|$`, 'm'));
    expect(r.stdout).toMatch(/^\| microscopiq-official-w2 \| /m);
    expect(r.stdout).toContain(
      'skipped microscopiq+w4: the MicroScopiQ hardware layout takes only a 2-d weight matrix [out, in], and W is [2, 4, 96] (microscopiq+official takes any shape)\n',
    );
    expect(r.stdout).not.toMatch(/--compat|quantize/);
  });

  it('JSON lists the skipped formats; the header names given flags', () => {
    const j = runMsq(['compare', '--input', p3, '--formats', 'mxint8,microscopiq+w2', '--json', '--no-plot']);
    expect(j.status).toBe(0);
    const doc = JSON.parse(j.stdout) as { rows: Array<{ label: string }>; skipped: Array<{ spec: string; reason: string }> };
    expect(doc.rows.map((x) => x.label)).toEqual(['mxint8']);
    expect(doc.skipped.map((s) => s.spec)).toEqual(['microscopiq+w2']);
    const h = runMsq(['compare', '--input', p3, '--formats', 'mxint8', '--block-size', '16', '--no-plot']);
    expect(h.stdout.split('\n')[0]).toBe(`W ${p3} [2, 4, 96]; blocks of 16 along each format's default axis, rounding nearest`);
    const a = runMsq(['compare', '--input', p3, '--formats', 'mxint8', '--axis', '2', '--no-plot']);
    expect(a.stdout.split('\n')[0]).toBe(`W ${p3} [2, 4, 96]; each format's default block size along axis 2, rounding nearest`);
  });

  it('an axis shorter than the default block size skips MX with the block size to give; all skipped is an error', () => {
    writeNpy(join(dir, 'narrow.npy'), [8, 10], mxArray('in_normal.npy').data.subarray(0, 80));
    const r = runMsq(['compare', '--input', join(dir, 'narrow.npy'), '--formats', 'mxint4,microscopiq+w4', '--no-plot']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('skipped mxint4: its default block size 32 does not fit axis 1 of [8, 10] (10 elements); give --block-size 10 or less\n');
    expect(r.stdout).toMatch(/^\| microscopiq-w4 \| /m);
    const all = runMsq(['compare', '--input', p3, '--formats', 'microscopiq+w4,microscopiq+w2', '--no-plot']);
    expect(all.status).toBe(2);
    expect(all.stdout).toBe('');
    expect(all.stderr).toBe(
      'msq: error: no format can take W [2, 4, 96]: microscopiq+w4: the MicroScopiQ hardware layout takes only a 2-d weight matrix [out, in], and W is [2, 4, 96] (microscopiq+official takes any shape); ' +
        'microscopiq+w2: the MicroScopiQ hardware layout takes only a 2-d weight matrix [out, in], and W is [2, 4, 96] (microscopiq+official takes any shape)\n',
    );
  });
});

describe('float64 .npy input', () => {
  // float64 -> float32 bit patterns as IEEE 754 round-to-nearest-even gives them
  // (numpy: np.array([...]).astype(np.float32).view(np.uint32)).
  const f64 = [0.1, 1 / 3, -2.5, 1 + 2 ** -24, 1 + 3 * 2 ** -24, 2 ** -149, 1e-50, 1e39, -Infinity, NaN];
  const f32Bits = [0x3dcccccd, 0x3eaaaaab, 0xc0200000, 0x3f800000, 0x3f800002, 0x00000001, 0x00000000, 0x7f800000, 0xff800000];

  it('is rounded to float32 (ties to even, overflow to Inf) and says it was converted', () => {
    const a = parseNpy(npyBytes('<f8', '(2, 5)', new Uint8Array(new Float64Array(f64).buffer)), 'w.npy');
    expect(a.shape).toEqual([2, 5]);
    expect(a.dtype).toBe('<f8');
    expect(Array.from(new Uint32Array(a.data.buffer)).slice(0, 9)).toEqual(f32Bits);
    expect(Number.isNaN(a.data[9])).toBe(true);
    expect(a.converted).toEqual({ from: 'float64', overflowed: 1 });
    const notes: string[] = [];
    writeFileSync(join(dir, 'h64.npy'), npyBytes('<f8', '(2, 5)', new Uint8Array(new Float64Array(f64).buffer)));
    loadTensor(join(dir, 'h64.npy'), (m) => notes.push(m));
    expect(notes).toEqual([`${join(dir, 'h64.npy')} is float64; converted to float32 (1 value beyond float32's range became ±Inf)`]);
  });

  it('msq quantize reads it like the float32 file (microxcaling\'s output bit for bit), with one note on stderr', () => {
    const w = mxArray('in_normal.npy');
    writeFileSync(join(dir, 'W.npy'), npyBytes('<f8', '(8, 96)', new Uint8Array(Float64Array.from(w.data).buffer)));
    const r = runMsq(['quantize', '--format', 'mxfp4_e2m1', '--input', 'W.npy', '--output', 'o64.npy'], dir);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('msq: note: W.npy is float64; converted to float32\n');
    expect(bitMismatches(readNpy(join(dir, 'o64.npy')).data, mxArray('out_normal_fp4_e2m1_b32_nearest.npy').data)).toEqual([]);
    const c = runMsq(['compare', '--input', 'W.npy', '--formats', 'mxint8', '--no-plot'], dir);
    expect(c.status).toBe(0);
    expect(c.stderr).toBe('msq: note: W.npy is float64; converted to float32\n');
  });
});

describe('help texts and messages state what really happens', () => {
  it('--damping: the default in the help is the damping a calibrated run uses', () => {
    const help = runMsq(['quantize', '--help']).stdout.replace(/\s+/g, ' ');
    const stated = /--damping <p> [^[]*\(default ([\d.]+)/.exec(help)?.[1];
    expect(stated).toBeDefined();
    const w = mxArray('in_normal.npy');
    writeNpy(join(dir, 'cal-w.npy'), [8, 96], w.data);
    writeNpy(join(dir, 'cal-x.npy'), [8, 96], mxArray('in_heavy_t3.npy').data);
    const r = runMsq(['quantize', '--format', 'microscopiq', '--calibration', join(dir, 'cal-x.npy'), '--input', join(dir, 'cal-w.npy'), '--output', join(dir, 'cal.npy')]);
    expect(r.status).toBe(0);
    const used = /damping ([\d.]+)( \(raised)?/.exec(r.stdout);
    expect(used?.[2]).toBeUndefined(); // not raised: the configured default itself
    expect(used?.[1]).toBe(stated);
  });

  it('--compat official --packed is refused before the input is read, as fake quantization without a packed layout', () => {
    const r = runMsq(['quantize', '--format', 'microscopiq', '--compat', 'official', '--input', join(dir, 'does-not-exist.npy'), '--output', join(dir, 'never.npy'), '--packed', join(dir, 'never.bin')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `msq: error: --packed ${join(dir, 'never.bin')}: --compat official is fake quantization (the official direct-cast returns dequantized values only) and has no packed layout; ` +
        'leave out --compat official for the packed .msq of the hardware layout, or leave out --packed\n',
    );
    expect(existsSync(join(dir, 'never.npy')) || existsSync(join(dir, 'never.bin'))).toBe(false);
  });
});
