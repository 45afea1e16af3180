import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import type { ModuleDef } from '../generator/dsl/module.ts';
import { elaborate } from '../generator/dsl/elaborate.ts';
import { writeRtlFiles } from '../generator/emit.ts';
import { verilatorLint, icarusCompile, yosysSynth } from '../testbench/tools.ts';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A fresh temporary folder, removed after the test file finishes. */
export function tmpDir(prefix = 'msq-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Runs the installed `msq` entry point (bin/msq.mjs) as a user would. */
export function runMsq(args: string[], cwd = repoRoot, timeoutMs = 600_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/msq.mjs'), ...args], { cwd, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runMsq without blocking, so a test can run several msq processes at once. */
export function runMsqAsync(args: string[], cwd = repoRoot): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [join(repoRoot, 'bin/msq.mjs'), ...args], { cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', fail);
    p.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/**
 * Elaborates `top`, writes its files into a fresh folder and checks the three
 * RTL gates: Verilator -Wall prints nothing, Icarus compiles, and (unless
 * `synth` is false) Yosys synthesizes with `check -assert` and no latch.
 * Returns the folder, file names and top name for further checks.
 */
export function expectCleanRtl(top: ModuleDef, opts: { synth?: boolean } = {}): { dir: string; files: string[]; texts: string[]; top: string } {
  const dir = tmpDir();
  const d = elaborate(top);
  const files = writeRtlFiles(dir, d);
  expect(verilatorLint(files, d.top.name, dir).output).toBe('');
  expect(icarusCompile(files, d.top.name, dir).ok).toBe(true);
  if (opts.synth !== false) {
    const ys = yosysSynth(files, d.top.name, dir);
    expect(ys.ok, ys.output.slice(-2000)).toBe(true);
    expect(ys.latches).toBe(0);
  }
  return { dir, files, texts: files.map((f) => readFileSync(join(dir, f), 'utf8')), top: d.top.name };
}

/** A .npy file's bytes, written by hand (version 1.0, header padded to 64 bytes as numpy does): inputs the reader must accept or refuse. */
export function npyBytes(descr: string, shape: string, body: Uint8Array, fortran = 'False'): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}
