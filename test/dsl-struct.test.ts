import { describe, expect, it } from 'vitest';
import { Dim } from '../generator/dsl/dim.ts';
import { defineModule, type ModuleDef } from '../generator/dsl/module.ts';
import { Layout } from '../generator/dsl/struct.ts';
import { renderModule } from '../generator/dsl/render.ts';
import { writeCycleBench, runBench, type CycleVector } from '../testbench/cycle-harness.ts';
import { Rng } from '../testbench/rng.ts';
import { expectCleanRtl, tmpDir } from './helpers.ts';

/** A lane-setting-like layout: a 2-bit mode in the LSBs, then partner (PB) and shift (SHW). */
function settingLayout(PB: Dim | number, SHW: Dim | number) {
  return new Layout('setting', [
    { name: 'mode', width: 2, doc: 'lane mode' },
    { name: 'partner', width: PB },
    { name: 'shift', width: SHW },
  ]);
}

/**
 * Packs three field inputs into one setting (one assignment per field), and
 * unpacks element 1 of a two-element bus of settings.
 */
function structDemo(pb: number, shw: number): ModuleDef {
  return defineModule(`struct_demo_p${pb}s${shw}`, 'pack and unpack a packed layout', { pb, shw }, (m) => {
    const PB = m.param('PB', pb, 'partner width');
    const SHW = m.param('SHW', shw, 'shift width');
    const CFGW = m.param('CFGW', 2 + pb + shw, 'bits of one setting');
    const LS = m.struct('LS', settingLayout(PB, SHW), { width: CFGW });
    const mode = m.input('mode', 2);
    const partner = m.input('partner', PB);
    const shift = m.input('shift', SHW);
    const bus = m.input('bus', CFGW.times(2), { doc: 'two settings, element 0 in the LSBs' });
    const word = m.output('word', CFGW);
    const packedConcat = m.output('word_concat', CFGW, { doc: 'the same value as one concatenation' });
    const modes = m.output('modes', 4, { doc: 'mode of each element' });
    const partners = m.output('partners', PB.times(2), { doc: 'partner of each element' });
    const shifts = m.output('shifts', SHW.times(2), { doc: 'shift of each element' });
    LS.assign(m, word, { mode, partner, shift });
    m.assign(packedConcat, LS.pack({ mode, partner, shift }));
    m.assign(modes.slice(2, 2), LS.field(bus, 'mode', 1));
    m.assign(modes.slice(0, 2), LS.field(bus, 'mode', 0));
    m.generate('g_elem', 'i', 2, (i, s) => {
      s.assign(partners.lane(i, PB), LS.field(bus, 'partner', i));
      s.assign(shifts.lane(i, SHW), LS.field(bus, 'shift', i));
    });
  });
}

describe('DSL structs: named fields of a packed bus', () => {
  it('lays the fields out from the LSB, with offsets in terms of the parameters', () => {
    const l = settingLayout(Dim.param('PB', 3), Dim.param('SHW', 4));
    expect(l.fields.map((f) => [f.name, f.lsb.text, f.width.text])).toEqual([
      ['mode', '0', '2'],
      ['partner', '2', 'PB'],
      ['shift', 'PB + 2', 'SHW'],
    ]);
    expect(l.width.text).toBe('PB + SHW + 2');
    expect(l.width.value).toBe(9);
  });

  it('names every offset (and literal widths) with a localparam; both sides slice by name', () => {
    const text = renderModule(structDemo(3, 3));
    expect(text).toContain('localparam integer LS_MODE_LSB = 0;');
    expect(text).toContain('localparam integer LS_MODE_W = 2;');
    expect(text).toContain('localparam integer LS_PARTNER_LSB = 2;');
    expect(text).toContain('localparam integer LS_SHIFT_LSB = PB + 2;');
    expect(text).toContain('assign word[LS_SHIFT_LSB +: SHW] = shift;');
    expect(text).toContain('assign modes[3:2] = bus[CFGW + LS_MODE_LSB +: LS_MODE_W];');
    expect(text).toContain('assign partners[i * PB +: PB] = bus[i * CFGW + LS_PARTNER_LSB +: PB];');
    expect(text).toContain('assign word_concat = {shift, partner, mode};');
    expect(text).not.toMatch(/bus\[\d+:\d+\]/);
  });

  it('is clean in all three tools, and packs and unpacks bit for bit (Icarus)', () => {
    const def = structDemo(3, 2);
    expectCleanRtl(def);
    const rng = new Rng(7);
    const vectors: CycleVector[] = Array.from({ length: 64 }, () => {
      const mode = BigInt(rng.next() & 3);
      const partner = BigInt(rng.next() & 7);
      const shift = BigInt(rng.next() & 3);
      const bus = BigInt(rng.next() & 0x7f) | (BigInt(rng.next() & 0x7f) << 7n);
      const packed = mode | (partner << 2n) | (shift << 5n);
      const e = [bus & 0x7fn, bus >> 7n];
      const join = (f: (x: bigint) => bigint, w: bigint) => f(e[0]!) | (f(e[1]!) << w);
      return {
        inputs: { mode, partner, shift, bus },
        expect: { word: packed, word_concat: packed, modes: join((x) => x & 3n, 2n), partners: join((x) => (x >> 2n) & 7n, 3n), shifts: join((x) => (x >> 5n) & 3n, 2n) },
      };
    });
    const dir = tmpDir();
    const { files } = writeCycleBench(def, vectors, dir);
    const r = runBench(dir, files, 'icarus');
    expect(r.mismatches).toEqual([]);
    expect(r.passed).toBe(vectors.length);
  });

  it('refuses missing, unknown and mis-sized fields and a width parameter that does not match', () => {
    const build = (f: (m: Parameters<Parameters<typeof defineModule>[3]>[0]) => void) => () => defineModule('bad_struct', '', {}, f);
    expect(
      build((m) => {
        const LS = m.struct('LS', settingLayout(3, 3));
        LS.pack({ mode: m.input('a', 2), partner: m.input('b', 3) } as never);
      }),
    ).toThrow(/setting value lacks field shift/);
    expect(
      build((m) => {
        const LS = m.struct('LS', settingLayout(3, 3));
        LS.pack({ mode: m.input('a', 2), partner: m.input('b', 2), shift: m.input('c', 3) });
      }),
    ).toThrow(/setting\.partner is 3 bits, given bad_struct\.b \[2 bits\]/);
    expect(build((m) => void m.struct('LS', settingLayout(3, 3), { width: m.param('CFGW', 9, '') }))).toThrow(/bound to CFGW = 9 bits but setting has 8/);
    expect(
      build((m) => {
        const LS = m.struct('LS', settingLayout(3, 3));
        LS.field(m.input('bus', 12), 'mode');
      }),
    ).toThrow(/is not one setting/);
    expect(() => new Layout('x', [{ name: 'A', width: 1 }])).toThrow(/must be lower case/);
    expect(() => new Layout('x', [{ name: 'a', width: 1 }, { name: 'a', width: 2 }])).toThrow(/appears twice/);
  });
});
