import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy, parseNpy, formatNpy } from '../quant/npy.ts';
import { VECTORS_DIR } from './quant-vectors.ts';
import { InputError } from '../common/errors.ts';
import { npyBytes } from './helpers.ts';


describe('.npy', () => {
  it('reads the reference vectors (float32, C order)', () => {
    const a = readNpy(join(VECTORS_DIR, 'mx', 'in_special.npy'));
    expect(a.shape).toEqual([8, 96]);
    expect(a.dtype).toBe('<f4');
    expect(a.data[96 * 2 + 1]).toBe(8); // row "exact powers of two"
  });

  it('write then read gives the same shape and bits, for 1-d and 3-d', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    const data = new Float32Array([1.5, -0, NaN, 3.4028234663852886e38, 1e-45, -2]);
    for (const shape of [[6], [1, 2, 3]]) {
      writeNpy(join(dir, 'a.npy'), shape, data);
      const b = readNpy(join(dir, 'a.npy'));
      expect(b.shape).toEqual(shape);
      expect(new Uint32Array(b.data.buffer)).toEqual(new Uint32Array(data.buffer));
    }
    expect(readdirSync(dir)).toEqual(['a.npy']); // no temporary files left behind
    // Header length keeps the data 64-byte aligned, as numpy writes it.
    expect((formatNpy([6], data).length - 24) % 64).toBe(0);
  });

  it('reads float16 exactly (normal, subnormal, inf)', () => {
    const halves = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7c00, 0x3555]);
    const a = parseNpy(npyBytes('<f2', '(5,)', new Uint8Array(halves.buffer)));
    expect(Array.from(a.data)).toEqual([1, -2, 2 ** -24, Infinity, Math.fround(0.333251953125)]);
  });

  it('refuses other dtypes, Fortran order, and non-npy data with a clear InputError', () => {
    const i8 = npyBytes('<i8', '(1,)', new Uint8Array(8));
    expect(() => parseNpy(i8, 'x.npy')).toThrow(InputError);
    expect(() => parseNpy(i8, 'x.npy')).toThrow(/dtype '<i8' is not supported: accepted dtypes are float32 \('<f4'\), float64 \('<f8', converted to float32\) and float16/);
    expect(() => parseNpy(npyBytes('>f8', '(1,)', new Uint8Array(8)))).toThrow(/'>f8'/);
    expect(() => parseNpy(npyBytes('>f4', '(1,)', new Uint8Array(4)))).toThrow(/'>f4'/);
    expect(() => parseNpy(npyBytes('<f4', '(1, 1)', new Uint8Array(4), 'True'))).toThrow(/Fortran-order/);
    expect(() => parseNpy(new TextEncoder().encode('hello world'))).toThrow(/not a .npy file/);
    expect(() => parseNpy(npyBytes('<f4', '(4,)', new Uint8Array(8)))).toThrow(/announces 16/);
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    writeFileSync(join(dir, 'bad.npy'), 'nope');
    expect(() => readNpy(join(dir, 'missing.npy'))).toThrow(InputError);
  });
});
