import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMsq, runMsqAsync, tmpDir } from './helpers.ts';
import { DEFAULT_ACCEL, resolveAccelConfig } from '../generator/accel-config.ts';
import { TB_IDLE_TIMEOUT } from '../testbench/accel-bench.ts';

/**
 * The full-system golden-vector flow (`msq vectors` + `msq sim`) on the CI
 * matrix: every result word of the generated accelerator against the
 * TypeScript reference of the arithmetic contract, through the real ports, with
 * random stalls on every stream, back-to-back runs and a reset in the middle.
 */
const matrix: { label: string; flags: string[] }[] = [
  { label: '4x8 W2 crossbar', flags: ['--rows', '4', '--cols', '8', '--wbits', '2', '--recon', 'crossbar', '--group', '16'] },
  { label: '8x8 W4 butterfly', flags: ['--rows', '8', '--cols', '8', '--wbits', '4', '--recon', 'butterfly', '--group', '32'] },
  { label: '16x16 W4 crossbar', flags: ['--rows', '16', '--cols', '16', '--wbits', '4', '--recon', 'crossbar', '--group', '32', '--m', '12'] },
  // G = 2R: with G = 8 no value can lie 3 sigma above the mean (max z = sqrt(G - 1)), hence R = 8
  { label: '8x16 W4 crossbar, B = 4, G = 2R', flags: ['--rows', '8', '--cols', '16', '--wbits', '4', '--ublock', '4', '--group', '16', '--k', '64'] },
  { label: '8x8 W4 --no-outliers', flags: ['--rows', '8', '--cols', '8', '--wbits', '4', '--no-outliers', '--group', '32'] },
  // M-chunks of 2 rows and 1 row, shorter than the post-array unit's read-modify-write
  // pipeline: the controller must space the beats of a row by its revisit gap
  { label: '4x8 W4 crossbar, D = 2, M = 5', flags: ['--rows', '4', '--cols', '8', '--wbits', '4', '--group', '16', '--depth', '2', '--m', '5'] },
  // the FPGA build: carry-chain adders and the decode unit at record rate half
  { label: '4x8 W2 butterfly, --adders carry --decode-rate half', flags: ['--rows', '4', '--cols', '8', '--wbits', '2', '--recon', 'butterfly', '--group', '16', '--adders', 'carry', '--decode-rate', 'half'] },
];

function closing(out: string): { passed: number; failed: number } {
  const m = /^(\d+) passed, (\d+) failed$/m.exec(out);
  if (!m) throw new Error(`no closing line in:\n${out.slice(-3000)}`);
  return { passed: Number(m[1]), failed: Number(m[2]) };
}

describe('msq sim: the CI matrix on both simulators', () => {
  for (const { label, flags } of matrix) {
    for (const sim of ['verilator', 'icarus']) {
      it(`${label} on ${sim}`, () => {
        const work = tmpDir();
        const r = runMsq(['sim', ...flags, '--simulator', sim, '--work', work, '--runs', '2', '--reset-at', '40', '--stall', '25', '--outlier-rate', '0.03']);
        const manifest = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8'));
        const words = manifest.counts.resultWords as number;
        // the outlier path must be exercised, not just present
        if (!flags.includes('--no-outliers')) expect(manifest.quantizer.outliers).toBeGreaterThan(0);
        else expect(manifest.quantizer.outliers).toBe(0);
        expect(r.stdout).not.toMatch(/MISMATCH/);
        expect(closing(r.stdout)).toEqual({ passed: 2 * words, failed: 0 });
        expect(r.stdout).toMatch(/^run 0: \d+ cycles, utilization/m);
        expect(r.status).toBe(0);
      }, 600_000); // the 16x16 build on Verilator: 220 s on the loaded 2-core machine
    }
  }
});

describe('msq sim: a consumer that holds the results back', () => {
  // G = R: every K-tile is a group, so a pass's first fbuf writes come right after the previous
  // pass's results. With y_ready low 85 % of the time those results are still unread; the
  // controller must hold the new pass back (row_owed) or rows would be overwritten (without the
  // check this configuration fails most of its words).
  const flags = ['--rows', '4', '--cols', '8', '--wbits', '4', '--group', '4', '--depth', '4', '--m', '9', '--runs', '2', '--stall', '10', '--stall-results', '85'];
  for (const sim of ['verilator', 'icarus']) {
    it(`stalls the next pass and loses no row (${sim})`, () => {
      const work = tmpDir();
      const r = runMsq(['sim', ...flags, '--simulator', sim, '--work', work]);
      const words = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')).counts.resultWords as number;
      expect(r.stderr).toMatch(/stalls 10% \(results 85%\)/);
      expect(r.stdout).not.toMatch(/MISMATCH/);
      expect(closing(r.stdout)).toEqual({ passed: 2 * words, failed: 0 });
      expect(r.status).toBe(0);
    }, 600_000);
  }
});

describe('msq sim reports corrupted data', () => {
  const config = ['--rows', '4', '--cols', '8', '--wbits', '4', '--group', '16'];
  const fresh = (): string => {
    const dir = join(tmpDir(), 'vec');
    const r = runMsq(['vectors', ...config, '--outlier-rate', '0.05', '--out', dir]);
    expect(r.status, r.stderr).toBe(0);
    return dir;
  };
  const simOn = (dir: string) => runMsq(['sim', ...config, '--simulator', 'icarus', '--runs', '1', '--stall', '10', '--vectors', dir, '--work', tmpDir()]);

  it('a clean vector set passes (the baseline of the corruption tests)', () => {
    const r = simOn(fresh());
    expect(closing(r.stdout).failed).toBe(0);
    expect(r.status).toBe(0);
  });

  it('one corrupted expected word', () => {
    const dir = fresh();
    const lines = readFileSync(join(dir, 'y.hex'), 'utf8').trim().split('\n');
    const last = lines.length - 1;
    lines[last] = (BigInt('0x' + lines[last]!) ^ 1n).toString(16).padStart(lines[last]!.length, '0');
    writeFileSync(join(dir, 'y.hex'), lines.join('\n') + '\n');
    const r = simOn(dir);
    expect(closing(r.stdout).failed).toBe(1);
    expect(r.stdout).toMatch(/MISMATCH run 0 word \d+ \(row \d+, column 0\): expected/);
    expect(r.status).toBe(1);
  });

  it('one flipped weight bit (an inlier code of the first tile)', () => {
    const dir = fresh();
    const lines = readFileSync(join(dir, 'w.hex'), 'utf8').trim().split('\n');
    // word 3 of the first tile holds record bits (the first 2 words are its 8 column scales)
    lines[3] = (BigInt('0x' + lines[3]!) ^ (1n << 20n)).toString(16).padStart(8, '0');
    writeFileSync(join(dir, 'w.hex'), lines.join('\n') + '\n');
    const r = simOn(dir);
    expect(closing(r.stdout).failed).toBeGreaterThan(0);
    expect(r.status).toBe(1);
  });

  it('one corrupted ReCoN setting (the partner of the first outlier pair)', () => {
    const dir = fresh();
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(m.quantizer.outliers).toBeGreaterThan(0);
    const words = readFileSync(join(dir, 'w.hex'), 'utf8').trim().split('\n').map((l) => Number.parseInt(l, 16));
    const c = resolveAccelConfig({ ...DEFAULT_ACCEL, rows: 4, cols: 8, wbits: 4, group: 16 });
    const bit = firstPartnerBit(words, { rows: 4, cols: 8, wbits: 4, ublock: 8, group: 16, xbits: c.msq.xbits });
    words[bit >> 5] = (words[bit >> 5]! ^ (1 << (bit & 31))) >>> 0;
    writeFileSync(join(dir, 'w.hex'), words.map((w) => w.toString(16).padStart(8, '0')).join('\n') + '\n');
    const r = simOn(dir);
    expect(closing(r.stdout).failed).toBeGreaterThan(0);
    expect(r.status).toBe(1);
  });
});

describe('msq sim reuses a Verilator build', () => {
  it('when RTL, testbench and flags are unchanged (the vectors are read at run time, so a corrupted word is still caught); a changed testbench rebuilds', () => {
    const accel = ['--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '4', '--group', '16'];
    const dir = join(tmpDir(), 'vec');
    expect(runMsq(['vectors', ...accel, '--m', '6', '--k', '32', '--n', '8', '--out', dir]).status).toBe(0);
    const work = tmpDir();
    const sim = (extra: string[]) => runMsq(['sim', ...accel, '--simulator', 'verilator', '--runs', '1', '--vectors', dir, '--work', work, ...extra]);
    const first = sim([]);
    expect(first.stderr).not.toMatch(/reused the Verilator build/);
    expect(closing(first.stdout).failed).toBe(0);
    const words = closing(first.stdout).passed;
    expect(words).toBeGreaterThan(0);
    // the same again: the binary is reused and checks every word again
    const again = sim([]);
    expect(again.stderr).toMatch(/reused the Verilator build in .*obj_dir: RTL, testbench, flags and Verilator unchanged/);
    expect(closing(again.stdout)).toEqual({ passed: words, failed: 0 });
    // one corrupted expected word: the same build, and the mismatch is reported
    const lines = readFileSync(join(dir, 'y.hex'), 'utf8').trim().split('\n');
    lines[0] = (BigInt('0x' + lines[0]!) ^ 1n).toString(16).padStart(lines[0]!.length, '0');
    writeFileSync(join(dir, 'y.hex'), lines.join('\n') + '\n');
    const corrupted = sim([]);
    expect(corrupted.stderr).toMatch(/reused the Verilator build/);
    expect(closing(corrupted.stdout)).toEqual({ passed: words - 1, failed: 1 });
    expect(corrupted.status).toBe(1);
    // another stall rate is another testbench: rebuilt
    const other = sim(['--stall', '40']);
    expect(other.stderr).not.toMatch(/reused the Verilator build/);
    expect(closing(other.stdout)).toEqual({ passed: words - 1, failed: 1 });
  }, 600_000);
});

describe('msq sim --build-cache shares Verilator builds between work folders', () => {
  it('two outlier rates of one configuration build once, two processes at once build once, each checks its own words; a user folder is refused', async () => {
    const accel = ['--rows', '2', '--cols', '4', '--ublock', '4', '--wbits', '2', '--depth', '4', '--group', '16', '--m', '6', '--k', '32', '--n', '8', '--runs', '1', '--stall', '0', '--simulator', 'verilator'];
    const cache = tmpDir();
    const sim = (rate: string) => runMsq(['sim', ...accel, '--outlier-rate', rate, '--work', tmpDir(), '--build-cache', cache]);
    const first = sim('0.02');
    expect(first.stderr).not.toMatch(/reused the Verilator build/);
    expect(closing(first.stdout).failed).toBe(0);
    const entries = readdirSync(cache).filter((e) => /^[0-9a-f]{64}$/.test(e));
    expect(entries).toHaveLength(1);
    // another rate: other vector files (read at run time), the same RTL and tb.v
    const second = sim('0.05');
    expect(second.stderr).toMatch(new RegExp(`reused the Verilator build in ${cache.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(closing(second.stdout).failed).toBe(0);
    expect(closing(second.stdout).passed).toBeGreaterThan(0);
    // another stall rate is another testbench: two processes at once, one builds, the other waits for it
    const stalled = ['--stall', '30'];
    const both = await Promise.all([0, 1].map((i) => runMsqAsync(['sim', ...accel, ...stalled, '--outlier-rate', String(0.02 * (i + 1)), '--work', tmpDir(), '--build-cache', cache])));
    for (const r of both) expect(closing(r.stdout).failed).toBe(0);
    expect(both.filter((r) => /reused the Verilator build/.test(r.stderr))).toHaveLength(1);
    expect(readdirSync(cache).filter((e) => /^[0-9a-f]{64}$/.test(e))).toHaveLength(2);
    expect(readdirSync(cache).filter((e) => e.endsWith('.lock'))).toHaveLength(0);
    // a folder msq did not make is not used as a cache
    const user = tmpDir();
    writeFileSync(join(user, 'notes.txt'), 'mine\n');
    const refused = runMsq(['sim', ...accel, '--work', tmpDir(), '--build-cache', user]);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/--build-cache/);
    expect(readdirSync(user)).toEqual(['notes.txt']);
  }, 600_000);
});

describe('msq sim: the testbench timeouts', () => {
  it('a pass over K whose first result comes after more than the idle timeout passes (handshakes count as progress)', () => {
    // 4x8: K = 512 is 128 k-tiles, each used for M = 160 beats before the pass
    // yields its first result: 20480 beats, more than TB_IDLE_TIMEOUT cycles
    expect((512 / 4) * 160).toBeGreaterThan(TB_IDLE_TIMEOUT);
    const work = tmpDir();
    const r = runMsq(['sim', '--rows', '4', '--cols', '8', '--wbits', '2', '--group', '16', '--m', '160', '--k', '512', '--n', '8', '--stall', '0', '--runs', '1', '--simulator', 'verilator', '--work', work]);
    const words = JSON.parse(readFileSync(join(work, 'manifest.json'), 'utf8')).counts.resultWords as number;
    expect(r.stdout).not.toMatch(/MISMATCH/);
    expect(closing(r.stdout)).toEqual({ passed: words, failed: 0 });
    const cycles = Number(/^run 0: (\d+) cycles/m.exec(r.stdout)?.[1]);
    expect(cycles).toBeGreaterThan(TB_IDLE_TIMEOUT);
    expect(r.status).toBe(0);
  });

  it('a weight stream that ends one word early is reported as not done after the idle timeout', () => {
    const config = ['--rows', '4', '--cols', '8', '--wbits', '2', '--group', '16'];
    const dir = join(tmpDir(), 'vec');
    expect(runMsq(['vectors', ...config, '--out', dir]).status).toBe(0);
    const manifestPath = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    m.counts.weightWords -= 1; // the testbench now withholds the last word: the accelerator waits for it forever
    writeFileSync(manifestPath, JSON.stringify(m, null, 2) + '\n');
    const lines = readFileSync(join(dir, 'w.hex'), 'utf8').trim().split('\n');
    writeFileSync(join(dir, 'w.hex'), lines.slice(0, -1).join('\n') + '\n');
    const r = runMsq(['sim', ...config, '--simulator', 'verilator', '--runs', '1', '--stall', '0', '--vectors', dir, '--work', tmpDir()]);
    expect(r.stdout).toMatch(new RegExp(`MISMATCH run 0: not done after \\d+ cycles, the last ${TB_IDLE_TIMEOUT} without a handshake`));
    expect(r.status).toBe(1);
  });
});

/**
 * Stream bit position of the lowest bit of the first pair's partner field
 * (crossbar: log2 B bits after the outlier slot), walking the weight stream
 * tile by tile with the record layout of docs/FORMAT.md.
 */
function firstPartnerBit(words: number[], g: { rows: number; cols: number; wbits: number; ublock: number; group: number; xbits: number }): number {
  const bitAt = (i: number) => (words[i >> 5]! >>> (i & 31)) & 1;
  const slotBits = Math.log2(g.ublock);
  let pos = 0;
  for (let kt = 0; ; kt++) {
    if ((kt * g.rows) % g.group === 0) pos += 32 * Math.ceil(g.cols / 4);
    for (let rec = 0; rec < (g.rows * g.cols) / g.ublock; rec++) {
      let np = 0;
      while (np < g.ublock / 2 && bitAt(pos) === 1) {
        np++;
        pos++;
      }
      if (np < g.ublock / 2) pos++; // the terminating zero
      if (np > 0) return pos + g.xbits + slotBits;
      pos += g.ublock * g.wbits;
    }
    pos = Math.ceil(pos / 32) * 32;
    if (pos >= words.length * 32) throw new Error('no outlier pair in the stream');
  }
}
