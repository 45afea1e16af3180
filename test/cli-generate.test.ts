import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runMsq, tmpDir } from './helpers.ts';
import { verilatorLint } from '../testbench/tools.ts';
import { OUTPUT_MARKER } from '../common/output-path.ts';

describe('msq CLI basics', () => {
  it('prints its version and help for every subcommand', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const v = runMsq(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const help = runMsq(['--help']);
    expect(help.status).toBe(0);
    const commands = [...help.stdout.matchAll(/^ {2}(\w[\w-]*) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands).toContain('generate');
    for (const c of commands) {
      const h = runMsq([c, '--help']);
      expect(h.status, c).toBe(0);
      expect(h.stdout, c).toMatch(new RegExp(`^Usage: msq ${c}`));
    }
  });
});

describe('msq generate --top pe', () => {
  it('writes one file per module, filelist.f and manifest.json; output is byte-identical across runs', () => {
    const dir = tmpDir();
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const out of [a, b]) {
      const r = runMsq(['generate', '--top', 'pe', '--wbits', '2', '--abits', '6', '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
    const files = readdirSync(a).filter((f) => f !== OUTPUT_MARKER).sort();
    expect(files).toEqual(['filelist.f', 'manifest.json', 'msq_pe_w2a6_acc16.v']);
    expect(existsSync(join(a, OUTPUT_MARKER))).toBe(true);
    for (const f of files) expect(readFileSync(join(b, f), 'utf8'), f).toBe(readFileSync(join(a, f), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as { top: string; files: string[]; config: Record<string, unknown> };
    expect(manifest.top).toBe('msq_pe_w2a6_acc16');
    expect(manifest.files).toEqual(['msq_pe_w2a6_acc16.v']);
    expect(manifest.config).toMatchObject({ top: 'pe', wbits: 2, abits: 6, accWidth: 16 });
    expect(readFileSync(join(a, 'filelist.f'), 'utf8')).toBe('msq_pe_w2a6_acc16.v\n');
    expect(verilatorLint(manifest.files, manifest.top, a).output).toBe('');
  });

  it('regenerates over its own earlier output', () => {
    const out = join(tmpDir(), 'pe');
    expect(runMsq(['generate', '--top', 'pe', '--out', out]).status).toBe(0);
    expect(runMsq(['generate', '--top', 'pe', '--wbits', '2', '--out', out]).status).toBe(0);
    expect(readdirSync(out).filter((f) => f.endsWith('.v'))).toEqual(['msq_pe_w2a8_acc18.v']);
  });

  const bad: [string[], RegExp][] = [
    [['--wbits', '3'], /--wbits 3 is not supported: allowed values are 2, 4/],
    [['--abits', '9'], /--abits 9 is out of range: allowed integers 4\.\.8/],
    [['--abits', '3'], /--abits 3 is out of range: allowed integers 4\.\.8/],
    [['--abits', 'eight'], /--abits "eight" is not an integer/],
    [['--acc-width', '5'], /accumulator width 5 is out of range: allowed integers 12\.\.64/],
    [['--top', 'cpu'], /--top cpu is not supported: allowed values are accelerator, pe/],
    [['--top', 'result-fifo'], /--top result-fifo: the accelerator has no result FIFO any more: result rows wait in the post-array unit's fbuf/],
  ];
  for (const [args, msg] of bad) {
    it(`refuses ${args.join(' ')} with the allowed range and writes nothing`, () => {
      const parent = tmpDir();
      const out = join(parent, 'out');
      const r = runMsq(['generate', ...(args.includes('--top') ? [] : ['--top', 'pe']), ...args, '--out', out]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(parent)).toEqual([]);
    });
  }

  it('refuses to replace a folder that is not an msq generation', () => {
    const out = tmpDir();
    mkdirSync(join(out, 'mine'));
    writeFileSync(join(out, 'mine', 'notes.txt'), 'keep me');
    const r = runMsq(['generate', '--top', 'pe', '--out', join(out, 'mine')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/does not hold an msq generation/);
    expect(readFileSync(join(out, 'mine', 'notes.txt'), 'utf8')).toBe('keep me');
  });
});

describe('msq generate --adders', () => {
  it('carry builds the wide adders as plain + (modules named _carry, no prefix network), lint clean; an unknown style is refused with the allowed values', () => {
    const out = join(tmpDir(), 'acc');
    const r = runMsq(['generate', '--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '2', '--adders', 'carry', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { top: string; files: string[]; config: Record<string, unknown> };
    expect(manifest.top).toMatch(/_carry$/);
    expect(manifest.config).toMatchObject({ adders: 'carry' });
    const styled = manifest.files.filter((f) => /^msq_(post_array|fp32_add).*_carry\.v$/.test(f));
    expect(styled).toHaveLength(2);
    for (const f of styled) expect(readFileSync(join(out, f), 'utf8'), f).not.toMatch(/_g1\b/); // a Kogge-Stone level's wires
    expect(verilatorLint(manifest.files, manifest.top, out).output).toBe('');
    const parent = tmpDir();
    const bad = runMsq(['generate', '--adders', 'ripple', '--out', join(parent, 'x')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--adders ripple is not supported: allowed values are prefix, carry/);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('msq generate --decode-rate', () => {
  it('half builds the decode unit with its record test registered (modules named _h2), lint clean; an unknown rate is refused with the allowed values', () => {
    const out = join(tmpDir(), 'acc');
    const r = runMsq(['generate', '--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '2', '--decode-rate', 'half', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { top: string; files: string[]; config: Record<string, unknown> };
    expect(manifest.top).toMatch(/_h2$/);
    expect(manifest.config).toMatchObject({ decodeRate: 'half' });
    const decode = manifest.files.filter((f) => /^msq_decode_.*_h2_/.test(f));
    expect(decode).toHaveLength(1);
    const rtl = readFileSync(join(out, decode[0]!), 'utf8');
    for (const reg of ['rec_fits_q', 'np_is_q', 'room_q', 'word_in_q']) expect(rtl, reg).toMatch(new RegExp(`reg\\s.*\\b${reg}\\b`));
    expect(rtl).toMatch(/assign rec_go = .*rec_fits_q/s);
    expect(verilatorLint(manifest.files, manifest.top, out).output).toBe('');
    const parent = tmpDir();
    const bad = runMsq(['generate', '--decode-rate', 'quarter', '--out', join(parent, 'x')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--decode-rate quarter is not supported: allowed values are full, half/);
    expect(readdirSync(parent)).toEqual([]);
  });
});
