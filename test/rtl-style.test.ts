import { describe, expect, it } from 'vitest';
import { buildTop, type GenerateOptions } from '../generator/targets.ts';
import { DEFAULT_ACCEL } from '../generator/accel-config.ts';
import { renderDesign, renderModule } from '../generator/dsl/render.ts';
import { defineModule } from '../generator/dsl/module.ts';
import { concat, type Expr } from '../generator/dsl/expr.ts';
import { MAX_LINE } from '../generator/dsl/layout.ts';
import { writeCycleBench, runBench, type CycleVector } from '../testbench/cycle-harness.ts';
import { Rng } from '../testbench/rng.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

/** The configurations the readability rules are checked on. */
const CONFIGS: [string, GenerateOptions][] = [
  ['default 8x8 W4 crossbar', { top: 'accelerator', accel: { ...DEFAULT_ACCEL } }],
  ['4x16 W2 butterfly', { top: 'accelerator', accel: { ...DEFAULT_ACCEL, rows: 4, cols: 16, wbits: 2, recon: 'butterfly' } }],
  ['plain --no-outliers', { top: 'accelerator', accel: { ...DEFAULT_ACCEL, outliers: false } }],
  ['the PE', { top: 'pe', accel: { ...DEFAULT_ACCEL } }],
];

/** The module body: what follows the port list. */
const body = (text: string) => text.slice(text.indexOf('\n);\n'));

describe('generated RTL reads like hand-written RTL', () => {
  for (const [label, opts] of CONFIGS) {
    it(`${label}: no line over ${MAX_LINE} characters, a section comment in every module`, () => {
      const files = renderDesign(buildTop(opts).design);
      for (const f of files) {
        const long = f.text.split('\n').map((l, k) => [k + 1, l] as const).filter(([, l]) => l.length > MAX_LINE);
        expect(long.map(([k, l]) => `${f.path}:${k}: ${l.length} characters`)).toEqual([]);
        expect(body(f.text), `${f.path} has no comment in its body`).toMatch(/^ +\/\/ \S/m);
      }
    });
  }

  for (const [label, opts] of CONFIGS.slice(0, 3)) {
    it(`${label}: the controller and the decode unit are state machines (localparam states, case)`, () => {
      const files = renderDesign(buildTop(opts).design);
      const ctrl = files.find((f) => f.path.startsWith('msq_controller_'))!.text;
      for (const s of ['S_IDLE', 'S_CHECK', 'S_RUN']) expect(ctrl).toMatch(new RegExp(`localparam \\[1:0\\] ${s} = 2'd\\d;`));
      expect(ctrl).toContain('case (state_q)');
      expect(ctrl).not.toMatch(/state_q <= .*\?/); // no ternary chain of state codes
      const dec = files.find((f) => f.path.startsWith('msq_decode_'))!.text;
      for (const s of ['S_IDLE', 'S_SCALES', 'S_RECORDS']) expect(dec).toMatch(new RegExp(`localparam \\[1:0\\] ${s} = 2'd\\d;`));
      expect(dec).toContain('case (phase_q)');
      const top = files.find((f) => f.path.startsWith('msq_accel_'))!.text;
      expect(top).not.toMatch(/meta_out\[\d/); // beat metadata fields by name
      expect(top).toContain('meta_out[META_ADDR_LSB +: AW]');
      const array = files.find((f) => f.path.startsWith('msq_pe_array_'))!.text;
      expect(array).toContain('psum[ROWS][c]');
    });
  }

  it('breaks an expression that does not fit at its outermost operator, one operand per line, meaning the same', () => {
    const n = 24;
    const def = defineModule('wrap_demo', 'a long concatenation and a long OR chain', {}, (m) => {
      const ins = Array.from({ length: n }, (_, k) => m.input(`input_word_${k}`, 8));
      const cat = m.output('cat', 8 * n);
      const any = m.output('any', 8);
      m.assign(cat, concat(...ins));
      m.assign(any, ins.slice(1).reduce((acc: Expr, x) => acc.or(x), ins[0]!));
    });
    const text = renderModule(def);
    expect(text.split('\n').filter((l) => l.length > MAX_LINE)).toEqual([]);
    expect(text).toContain('  assign cat = {\n    input_word_0,\n    input_word_1,\n');
    expect(text).toContain('  assign any = (\n    input_word_0\n    | input_word_1\n');
    expectCleanRtl(def, { synth: false });
    const rng = new Rng(11);
    const vectors: CycleVector[] = Array.from({ length: 32 }, () => {
      const words = Array.from({ length: n }, () => BigInt(rng.next() & 0xff));
      const inputs = Object.fromEntries(words.map((w, k) => [`input_word_${k}`, w]));
      return {
        inputs,
        expect: { cat: words.reduce((acc, w) => (acc << 8n) | w, 0n), any: words.reduce((acc, w) => acc | w, 0n) },
      };
    });
    const dir = tmpDir();
    const { files } = writeCycleBench(def, vectors, dir);
    const r = runBench(dir, files, 'icarus');
    expect(r.mismatches).toEqual([]);
    expect(r.passed).toBe(vectors.length);
  });
});
