import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runMsq, tmpDir } from './helpers.ts';
import { FORMAL_PROOFS, formalProof } from '../testbench/formal/proofs.ts';
import { propertyLabels, runFormalJob } from '../testbench/formal/run.ts';
import { verilatorLint } from '../testbench/tools.ts';

/**
 * The formal proofs (docs/VERIFICATION.md): `msq formal` proves every property
 * of every proof, the covers show the proofs are not vacuous, and a broken
 * block fails its proof with a counterexample trace.
 */
describe('msq formal', () => {
  it('proves every property of every proof and reaches every cover; one line per property, then the count', () => {
    const work = tmpDir();
    const r = runMsq(['formal', '--work', work]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const p of FORMAL_PROOFS) {
      const labels = propertyLabels(p.build().files.map((f) => f.text));
      expect(labels.length, p.name).toBeGreaterThan(0);
      for (const l of labels) expect(r.stdout, `${p.name} ${l.label}`).toMatch(new RegExp(`^${p.name}\\s+${l.label}\\s+(proved|bounded|covered)\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^fifo\s+a_occupancy\s+proved\s+k-induction/m);
    const lines = r.stdout.trim().split('\n');
    const m = /^(\d+) proved, 0 failed$/.exec(lines[lines.length - 1]!);
    expect(m, lines[lines.length - 1]).not.toBeNull();
    expect(Number(m![1])).toBe(lines.length - 1);
  }, 600_000);

  it('refuses an unknown proof with the allowed names', () => {
    const r = runMsq(['formal', '--only', 'fifo,arbiter', '--work', tmpDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--only arbiter is not a proof: allowed values are fifo/);
  });
});

describe('a broken block fails its proof', () => {
  it('a FIFO that takes a beat when full (overwriting the oldest) fails with a counterexample VCD', () => {
    const job = formalProof('fifo').build();
    const rtl = job.files.find((f) => /^msq_fifo_/.test(f.path))!;
    const broken = rtl.text.replace(/assign push = in_valid & \(~full\);/, 'assign push = in_valid;');
    expect(broken).not.toBe(rtl.text);
    // still clean RTL: the bug is in the behaviour, not in the syntax
    const dir = tmpDir();
    const r = runFormalJob({ ...job, files: job.files.map((f) => (f === rtl ? { ...f, text: broken } : f)) }, dir, 300);
    const failed = r.filter((x) => x.status === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map((x) => x.label)).toContain('a_occupancy');
    for (const f of failed) {
      expect(f.vcd && existsSync(f.vcd), f.label).toBe(true);
      expect(readFileSync(f.vcd!, 'utf8')).toMatch(/\$var\b[\s\S]*\$enddefinitions/);
    }
    expect(verilatorLint([rtl.path], rtl.path.replace(/\.v$/, ''), dir).output).toBe('');
  }, 600_000);
});
