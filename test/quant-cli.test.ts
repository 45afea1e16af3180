import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VECTORS_DIR, mxArray, mxManifest, bitMismatches } from './quant-vectors.ts';
import { readNpy, writeNpy } from '../quant/npy.ts';
import { unpack } from '../quant/pack.ts';
import { readSafetensorsTensor } from '../quant/safetensors.ts';
import { InputError } from '../common/errors.ts';

const MSQ = fileURLToPath(new URL('../bin/msq.mjs', import.meta.url));
let dir = '';

function msq(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MSQ, ...args], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A .safetensors file written by hand: header JSON then the tensors' bytes. */
function writeSafetensors(path: string, tensors: Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  writeFileSync(path, out);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'msq-quant-cli-'));
});

describe('msq quantize', () => {
  it('writes microxcaling\'s output bit for bit, and a packed file that unpacks to it', () => {
    const cases = mxManifest().filter((c) => c.input === 'in_wide_range.npy' && ['fp4_e2m1', 'int8', 'fp6_e3m2'].includes(c.format));
    expect(cases.length).toBeGreaterThanOrEqual(6);
    for (const c of cases.slice(0, 6)) {
      const format = `mx${c.format}`;
      const r = msq('quantize', '--format', format, '--input', join(VECTORS_DIR, 'mx', c.input), '--output', 'out.npy',
        '--block-size', String(c.block_size), '--rounding', c.rounding, '--packed', 'out.bin');
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/EBW \d/);
      const got = readNpy(join(dir, 'out.npy'));
      expect(got.shape).toEqual([8, 96]);
      expect(bitMismatches(got.data, mxArray(c.output).data)).toEqual([]);
      const u = unpack(readFileSync(join(dir, 'out.bin')));
      expect(new Uint32Array(u.values.buffer)).toEqual(new Uint32Array(got.data.buffer));
    }
  });

  it('NxFP flags are accepted for nxfp formats and change the result', () => {
    const input = join(VECTORS_DIR, 'mx', 'in_heavy_t3.npy');
    expect(msq('quantize', '--format', 'nxfp4', '--input', input, '--output', 'a.npy').status).toBe(0);
    const r = msq('quantize', '--format', 'nxfp4', '--nano-mantissa', '2', '--adaptive-microexponent', '--code-recycling', '--input', input, '--output', 'b.npy', '--packed', 'b.bin');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('nxfp4+nm2+am+cr');
    expect(r.stdout).toContain('EBW 4.3750');
    expect(bitMismatches(readNpy(join(dir, 'a.npy')).data, readNpy(join(dir, 'b.npy')).data).length).toBeGreaterThan(0);
    expect(bitMismatches(unpack(readFileSync(join(dir, 'b.bin'))).values, readNpy(join(dir, 'b.npy')).data)).toEqual([]);
  });

  it('refuses bad requests with exit status 2, a one-line reason, and no output file', () => {
    const input = join(VECTORS_DIR, 'mx', 'in_normal.npy');
    const bad: Array<[string[], RegExp]> = [
      [['--format', 'mxfp5'], /unknown format 'mxfp5': valid formats are mxfp8_e5m2, .*mxint2, .*nxfp4, nxfp6, nxfp8/],
      [['--format', 'mxint4', '--block-size', '128'], /--block-size 128 does not fit: axis 1 of shape \[8, 96\] has only 96 elements/],
      [['--format', 'mxint4', '--block-size', '0'], /--block-size 0 is not supported/],
      [['--format', 'mxint4', '--block-size', '3x'], /--block-size "3x" is not an integer/],
      [['--format', 'mxint4', '--axis', '2'], /--axis 2 is out of range for a 2-d array/],
      [['--format', 'mxfp4_e2m1', '--nano-mantissa', '2'], /--nano-mantissa does not apply to --format mxfp4_e2m1/],
      [['--format', 'nxfp4', '--nano-mantissa', '4'], /--nano-mantissa 4 is out of range: allowed integers 0..3/],
      [['--format', 'mxint4', '--rounding', 'up'], /--rounding up is not supported: allowed values are nearest, even/],
    ];
    for (const [args, why] of bad) {
      const r = msq('quantize', ...args, '--input', input, '--output', 'refused.npy');
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(dir, 'refused.npy'))).toBe(false);
    }
  });

  it('reads FILE.safetensors:TENSOR (F32, F16, BF16) like the same data from .npy', () => {
    const x = mxArray('in_normal.npy');
    const f16 = new Uint16Array([0x3c00, 0xbc00, 0x3800, 0x0001]); // 1, -1, 0.5, 2^-24
    const bf16 = new Uint16Array([0x3f80, 0xc040, 0x0000, 0x7f80]); // 1, -3, 0, inf
    const st = join(dir, 'model.safetensors');
    writeSafetensors(st, {
      'layers.0.weight': { dtype: 'F32', shape: x.shape, bytes: new Uint8Array(x.data.buffer.slice(0)) },
      half: { dtype: 'F16', shape: [2, 2], bytes: new Uint8Array(f16.buffer) },
      brain: { dtype: 'BF16', shape: [4], bytes: new Uint8Array(bf16.buffer) },
      ints: { dtype: 'I32', shape: [1], bytes: new Uint8Array(4) },
    });
    expect(Array.from(readSafetensorsTensor(st, 'half').data)).toEqual([1, -1, 0.5, 2 ** -24]);
    expect(readSafetensorsTensor(st, 'half').shape).toEqual([2, 2]);
    expect(Array.from(readSafetensorsTensor(st, 'brain').data)).toEqual([1, -3, 0, Infinity]);
    expect(() => readSafetensorsTensor(st, 'ints')).toThrow(/dtype I32, which is not supported: allowed dtypes are F32, F16, BF16/);
    expect(() => readSafetensorsTensor(st, 'nope')).toThrow(InputError);
    expect(() => readSafetensorsTensor(st, 'nope')).toThrow(/no tensor 'nope': tensors in the file are layers.0.weight, half, brain, ints/);

    const a = msq('quantize', '--format', 'mxfp6_e2m3', '--input', `${st}:layers.0.weight`, '--output', 'st.npy');
    expect(a.status).toBe(0);
    writeNpy(join(dir, 'same.npy'), x.shape, x.data);
    expect(msq('quantize', '--format', 'mxfp6_e2m3', '--input', 'same.npy', '--output', 'npy.npy').status).toBe(0);
    expect(bitMismatches(readNpy(join(dir, 'st.npy')).data, readNpy(join(dir, 'npy.npy')).data)).toEqual([]);
    const missing = msq('quantize', '--format', 'mxint8', '--input', st, '--output', 'x.npy');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/name one as .*model.safetensors:TENSOR_NAME \(tensors: layers.0.weight, half, brain, ints\)/);
  });

  it('help text describes every flag', () => {
    const r = msq('quantize', '--help');
    for (const flag of ['--format', '--input', '--output', '--block-size', '--axis', '--rounding', '--packed', '--nano-mantissa', '--adaptive-microexponent', '--code-recycling']) {
      expect(r.stdout).toMatch(new RegExp(`${flag}( <[a-z]+>)?\\s+\\S`));
    }
  });
});

describe('msq compare', () => {
  it('prints a markdown table with EBW, MSE and SQNR, the X·Wᵀ SQNR with activations, and writes the SVG plot', () => {
    const w = join(VECTORS_DIR, 'mx', 'in_heavy_t3.npy');
    const x = mxArray('in_normal.npy');
    writeNpy(join(dir, 'x.npy'), [4, 96], x.data.subarray(0, 4 * 96));
    const r = msq('compare', '--input', w, '--activations', 'x.npy', '--formats', 'mxfp4_e2m1,nxfp4+nm2+am+cr,mxint8', '--plot', 'plot.svg');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('|'));
    expect(lines[0]).toBe('| format | EBW (bits) | weight MSE | SQNR (dB) | X·Wᵀ SQNR (dB) |');
    expect(lines).toHaveLength(2 + 3);
    expect(lines[2]).toMatch(/^\| mxfp4_e2m1 \| 4\.2500 \| \d\.\d{3}e-\d+ \| \d+\.\d\d \| \d+\.\d\d \|$/);
    expect(lines[3]).toMatch(/^\| nxfp4\+nm2\+am\+cr \| 4\.3750 \|/);
    const svg = readFileSync(join(dir, 'plot.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<circle /g)!.length).toBe(3 + 1); // one per row, one in the legend
    expect(svg).toContain('nxfp4+nm2+am+cr');
  });

  it('--json gives the same rows as data, with SQNR consistent with MSE', () => {
    const r = msq('compare', '--input', join(VECTORS_DIR, 'mx', 'in_normal.npy'), '--formats', 'mxint4,nxfp6+am', '--json', '--no-plot');
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { rows: Array<{ label: string; ebw: number; mse: number; sqnrDb: number }>; shape: number[] };
    expect(doc.shape).toEqual([8, 96]);
    expect(doc.rows.map((x) => x.label)).toEqual(['mxint4', 'nxfp6+am']);
    expect(doc.rows[1]!.ebw).toBe(6 + 10 / 32);
    const data = mxArray('in_normal.npy').data;
    let power = 0;
    for (const v of data) power += v * v;
    for (const row of doc.rows) expect(row.sqnrDb).toBeCloseTo(10 * Math.log10(power / data.length / row.mse), 9);
    expect(readdirSync(dir).includes('msq-compare.svg')).toBe(false);
  });

  it('refuses unknown formats and mismatched activations', () => {
    const w = join(VECTORS_DIR, 'mx', 'in_normal.npy');
    const a = msq('compare', '--input', w, '--formats', 'mxfp4_e2m1,fp9', '--no-plot');
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/unknown format 'fp9': valid formats are/);
    writeNpy(join(dir, 'bad-x.npy'), [2, 5], new Float32Array(10));
    const b = msq('compare', '--input', w, '--activations', 'bad-x.npy', '--no-plot');
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/does not match W \[8, 96\]/);
  });
});
