/**
 * The output-path policy (common/output-path.ts) as a user meets it: every
 * command that writes is run from inside a sandbox (a git work tree holding a
 * user's files) with bad and random paths, and the sandbox must be exactly as
 * it was afterwards, but for folders and files msq made itself. No run may end
 * in a stack trace.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoRoot, tmpDir } from './helpers.ts';
import { formatNpy } from '../quant/npy.ts';
import { OUTPUT_MARKER, checkOutputFile, checkOutputFolder } from '../common/output-path.ts';
import { InputError } from '../common/errors.ts';

const MSQ = join(repoRoot, 'bin/msq.mjs');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function msq(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, shellPrefix?: string): Run {
  const r = shellPrefix
    ? spawnSync('sh', ['-c', `${shellPrefix}; exec "$0" "$@"`, process.execPath, MSQ, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 })
    : spawnSync(process.execPath, [MSQ, ...args], { cwd, encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry below `root`: type, mode and content hash, so any change shows. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (st.isDirectory()) {
        out.set(rel, `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else {
        const hash = st.isFile() ? createHash('sha1').update(readFileSync(p)).digest('hex') : 'special';
        out.set(rel, `file ${(st.mode & 0o7777).toString(8)} ${hash}`);
      }
    }
  };
  walk(root);
  return out;
}

/** What changed between two snapshots: entries removed or modified (added ones are listed apart). */
function changes(before: Map<string, string>, after: Map<string, string>): { lost: string[]; added: string[] } {
  const lost = [...before].filter(([k, v]) => after.get(k) !== v).map(([k]) => k);
  const added = [...after.keys()].filter((k) => !before.has(k));
  return { lost, added };
}

/** A new entry is msq's: a marked folder, an output file, or a parent folder made for such outputs only. */
function madeByMsq(p: string): boolean {
  const st = statSync(p);
  if (!st.isDirectory()) return /\.(npy|svg)$/.test(p);
  if (existsSync(join(p, OUTPUT_MARKER))) return true;
  const entries = readdirSync(p);
  return entries.length > 0 && entries.every((e) => madeByMsq(join(p, e)));
}

function expectNoStack(r: Run, what: string): void {
  expect(r.stderr, what).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(r.stderr, what).not.toMatch(/internal error/);
}

let sandbox: string;
let repo: string;

/**
 * sandbox/
 *   repo/            a git work tree, the current folder of every run
 *     .git/  notes.txt  victim.npy  w.npy (the input tensor)
 *     user/notes.txt              a user's folder
 *     other/.git/                 another (empty) git work tree
 *     out.npy/ out.svg/ out.json/ out.vcd/ out.bin/  folders named like files, each with a user file
 */
beforeAll(() => {
  sandbox = tmpDir('msq-safety-');
  repo = join(sandbox, 'repo');
  mkdirSync(join(repo, '.git'), { recursive: true });
  writeFileSync(join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(repo, 'notes.txt'), 'my notes\n');
  mkdirSync(join(repo, 'user'));
  writeFileSync(join(repo, 'user', 'notes.txt'), 'more notes\n');
  mkdirSync(join(repo, 'other', '.git'), { recursive: true });
  for (const ext of ['npy', 'svg', 'json', 'vcd', 'bin']) {
    mkdirSync(join(repo, `out.${ext}`));
    writeFileSync(join(repo, `out.${ext}`, 'keep.txt'), `${ext}\n`);
  }
  const w = new Float32Array(64 * 32).map((_, i) => Math.sin(i * 0.37) * (i % 97 === 0 ? 9 : 1));
  writeFileSync(join(repo, 'w.npy'), formatNpy([64, 32], w));
  writeFileSync(join(repo, 'victim.npy'), formatNpy([2], new Float32Array([1, 2])));
});

/** Paths no command may write to (relative to the repo, or absolute). */
function badPaths(): string[] {
  return [
    '',
    '.',
    '..',
    './',
    repo,
    sandbox,
    '/',
    repoRoot,
    'user',
    'other',
    'notes.txt',
    'notes.txt/sub',
    'notes.txt/x.npy',
    'out.npy',
    'out.svg',
    'out.json',
    'out.vcd',
    'out.bin',
    '/proc/msq-x',
    '/proc/msq-x.npy',
    '/sys/msq-x.json',
    '/dev/msq-x.svg',
    '/etc/hostname/x.vcd',
  ];
}

/** Every writing flag, as the argument list that puts PATH there (everything else legal and small). */
const WRITERS: Record<string, (path: string) => string[]> = {
  'generate --out': (p) => ['generate', '--rows', '2', '--cols', '4', '--ublock', '4', '--depth', '4', '--out', p],
  'vectors --out': (p) => ['vectors', '--rows', '2', '--cols', '4', '--ublock', '4', '--depth', '4', '--out', p],
  'sim --work': (p) => ['sim', '--top', 'pe', '--simulator', 'icarus', '--work', p],
  'sim --waves': (p) => ['sim', '--rows', '2', '--cols', '4', '--ublock', '4', '--depth', '4', '--simulator', 'icarus', '--work', 'sim-work', '--waves', p],
  'quantize --output': (p) => ['quantize', '--format', 'mxint8', '--input', 'w.npy', '--output', p],
  'quantize --packed': (p) => ['quantize', '--format', 'mxint8', '--input', 'w.npy', '--output', 'q.npy', '--packed', p],
  'compare --plot': (p) => ['compare', '--input', 'w.npy', '--formats', 'mxint8', '--plot', p],
  'bench --json': (p) => ['bench', '--quick', '--work', 'bench-work', '--json', p],
  'bench --work': (p) => ['bench', '--quick', '--work', p],
};

describe('output-path policy (in process): every bad path is refused for folders and files', () => {
  it('checkOutputFolder and checkOutputFile refuse each bad path with the flag, the path and the reason', () => {
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      for (const p of badPaths()) {
        expect(() => checkOutputFolder('--out', p), p).toThrow(InputError);
        expect(() => checkOutputFolder('--out', p), p).toThrow(/^--out ".*": /);
        for (const ext of ['.npy', '.svg', '.json', '.vcd', '.bin']) {
          expect(() => checkOutputFile('--output', p, [ext]), `${p} ${ext}`).toThrow(InputError);
        }
      }
      // and the paths they accept: new ones, an empty folder, msq's own folders, an existing file of the output's kind
      expect(checkOutputFolder('--out', 'fresh/sub')).toBe(join(repo, 'fresh/sub'));
      mkdirSync(join(sandbox, 'empty'));
      expect(checkOutputFolder('--out', join(sandbox, 'empty'))).toBe(join(sandbox, 'empty'));
      expect(checkOutputFile('--output', 'victim.npy', ['.npy'])).toBe(join(repo, 'victim.npy'));
      expect(() => checkOutputFile('--output', 'notes.txt', ['.npy'])).toThrow(/name the file FILE\.npy/);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('output-path policy: every writing command refuses bad paths and changes nothing', () => {
  /** One path of each kind of refusal, per command (the in-process test covers them all). */
  const sample = ['', '.', 'user', 'notes.txt/x.npy', '/proc/msq-x.json', repoRoot];
  for (const [writer, args] of Object.entries(WRITERS)) {
    it(`${writer}`, () => {
      const before = snapshot(sandbox);
      const ext = { 'sim --waves': 'out.vcd', 'quantize --output': 'out.npy', 'quantize --packed': 'out.bin', 'compare --plot': 'out.svg', 'bench --json': 'out.json' }[writer];
      for (const p of [...sample, ...(ext ? [ext] : ['other'])]) {
        const r = msq(args(p), repo);
        const what = `${writer} ${JSON.stringify(p)}`;
        expect(r.status, `${what}: ${r.stderr}${r.stdout}`).toBe(2);
        expect(r.stderr, what).toMatch(/^msq: error: /);
        expectNoStack(r, what);
      }
      const { lost, added } = changes(before, snapshot(sandbox));
      expect(lost).toEqual([]);
      expect(added).toEqual([]);
    }, 300_000);
  }
});

/** A deterministic random path made of the sandbox's names, dots and separators. */
function randomPath(rand: () => number): string {
  const parts = ['.', '..', 'user', 'notes.txt', 'other', 'out.npy', 'new', 'x.npy', 'y.svg', 'z', ''];
  const n = 1 + Math.floor(rand() * 3);
  const segs = Array.from({ length: n }, () => parts[Math.floor(rand() * parts.length)]!);
  return (rand() < 0.2 ? `${repo}/` : '') + segs.join('/');
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('output-path policy: a fuzz over path arguments leaves the sandbox intact', () => {
  it('generate --out, vectors --out, quantize --output and compare --plot with 24 random paths', () => {
    const rand = lcg(7);
    const cases: [string, string[]][] = [];
    for (let i = 0; i < 6; i++) {
      for (const w of ['generate --out', 'vectors --out', 'quantize --output', 'compare --plot'] as const) {
        const p = randomPath(rand);
        cases.push([`${w} ${JSON.stringify(p)}`, WRITERS[w]!(p)]);
      }
    }
    const before = snapshot(sandbox);
    for (const [what, args] of cases) {
      const r = msq(args, repo);
      expect([0, 2], `${what}: ${r.stderr}`).toContain(r.status);
      if (r.status === 2) expect(r.stderr, what).toMatch(/^msq: error: /);
      expectNoStack(r, what);
    }
    const after = snapshot(sandbox);
    const { lost, added } = changes(before, after);
    // nothing that was there changed, except msq's own earlier outputs being replaced
    const ownOutputs = (rel: string) => {
      let d = dirname(rel);
      while (d !== '.' && d !== '') {
        if (!before.has(d)) return true; // inside a folder msq made during the fuzz
        d = dirname(d);
      }
      return /\.(npy|svg)$/.test(rel) && !['victim.npy', 'w.npy'].includes(rel);
    };
    expect(lost.filter((k) => !ownOutputs(k))).toEqual([]);
    // every new entry in a folder that was there before is an msq folder (marked) or an output file
    for (const rel of added.filter((k) => before.has(dirname(k)) || dirname(k) === '.')) {
      const p = join(sandbox, rel);
      expect(madeByMsq(p), rel).toBe(true);
    }
    // no temporary files left behind anywhere
    expect([...after.keys()].filter((k) => /\.tmp-|\.old-/.test(k))).toEqual([]);
  }, 600_000);
});

describe('output folders and files follow the umask', () => {
  it('0755 / 0644 under umask 022, 0700 / 0600 under 077', () => {
    for (const [mask, dirMode, fileMode] of [
      ['022', 0o755, 0o644],
      ['077', 0o700, 0o600],
    ] as const) {
      const out = join(sandbox, `gen-${mask}`);
      const r = msq(['generate', '--top', 'pe', '--out', out], repo, process.env, `umask ${mask}`);
      expect(r.status, r.stderr).toBe(0);
      expect(statSync(out).mode & 0o777).toBe(dirMode);
      expect(statSync(join(out, 'manifest.json')).mode & 0o777).toBe(fileMode);
      const npy = join(sandbox, `q-${mask}.npy`);
      expect(msq(['quantize', '--format', 'mxint8', '--input', 'w.npy', '--output', npy], repo, process.env, `umask ${mask}`).status).toBe(0);
      expect(statSync(npy).mode & 0o777).toBe(fileMode);
    }
  }, 120_000);
});

describe('simulator failures are errors of the run, never test results or hangs', () => {
  it('a missing simulator is reported as msq: error, exit 1, not as "0 passed, 1 failed"', () => {
    // a PATH that has node and nothing else
    const bin = join(sandbox, 'node-only-bin');
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, 'node'))) symlinkSync(process.execPath, join(bin, 'node'));
    const env = { ...process.env, PATH: bin };
    const r = msq(['sim', '--rows', '2', '--cols', '4', '--ublock', '4', '--depth', '4', '--simulator', 'icarus', '--work', join(sandbox, 'nosim')], repo, env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/msq: error: Icarus could not build the testbench in .*: iverilog is not installed or not on PATH/);
    expect(r.stdout).not.toMatch(/passed/);
    expectNoStack(r, 'missing simulator');
  }, 120_000);

  it('--work under /proc is refused at once (it used to spin at 100 % CPU)', () => {
    const t0 = Date.now();
    const r = msq(['sim', '--work', '/proc/ww', '--simulator', 'icarus'], repo);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--work "\/proc\/ww": is under \/proc, a kernel file system/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});

describe('flags that do not apply are refused, not ignored', () => {
  const cases: [string[], RegExp][] = [
    [['generate', '--acc-width', '10', '--out', 'never'], /--acc-width does not apply to the accelerator/],
    [['generate', '--top', 'pe', '--rows', '4', '--out', 'never'], /--rows does not apply to --top pe/],
    [['sim', '--vectors', 'user', '--m', '50'], /--m does not apply with --vectors/],
    [['sim', '--top', 'pe', '--runs', '3'], /--runs does not apply to --top pe/],
  ];
  for (const [args, msg] of cases) {
    it(args.join(' '), () => {
      const r = msq(args, repo);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(join(repo, 'never'))).toBe(false);
    });
  }

  it('--rows 64 --cols 64 takes a group that fits the array when --group is not given', () => {
    const out = join(sandbox, 'g64');
    const r = msq(['generate', '--rows', '64', '--cols', '64', '--depth', '4', '--out', out], repo);
    expect(r.status, r.stderr).toBe(0);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { config: { group: number } };
    expect(m.config.group).toBe(64);
    const bad = msq(['generate', '--rows', '64', '--group', '32', '--out', out], repo);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--group 32 is out of range: allowed integers 64\.\.4096/);
  });

  it('--reset-at past the end of the run is an error after the run, with the allowed range', () => {
    const r = msq(['sim', '--rows', '2', '--cols', '4', '--ublock', '4', '--depth', '4', '--simulator', 'icarus', '--runs', '1', '--stall', '0', '--reset-at', '99999', '--work', join(sandbox, 'reset')], repo);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^288 passed, 0 failed$/m);
    const m = /--reset-at 99999 is past the end of run 0, which finished after (\d+) cycles, so no reset was tested: allowed 0\.\.(\d+)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![2])).toBe(Number(m![1]) - 1);
    // a reset inside the run is taken, and the rerun passes
    const ok = msq(['sim', '--rows', '2', '--cols', '4', '--ublock', '4', '--depth', '4', '--simulator', 'icarus', '--runs', '1', '--stall', '0', '--reset-at', String(Math.floor(Number(m![1]) / 2)), '--work', join(sandbox, 'reset')], repo);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^288 passed, 0 failed$/m);
  }, 180_000);
});
