/**
 * Runs the formal proofs of testbench/formal/proofs.ts (docs/VERIFICATION.md):
 * Yosys reads the RTL with -formal and writes an SMT-LIB model of a top;
 * yosys-smtbmc checks it with z3: bounded model checking to a depth (every
 * assertion on every path of that many cycles from reset), k-induction (every
 * assertion on every path, where it closes), and cover reachability. A failed
 * check writes its counterexample as a VCD.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../tools.ts';
import { HARNESS_PREFIX } from './harness.ts';

/** What one check of a proof does with its top. */
export interface FormalCheck {
  kind: 'bmc' | 'induction' | 'cover';
  /** the top module: a harness, or a block alone (its own properties) */
  top: string;
  /** BMC and cover: cycles from reset; induction: k */
  depth: number;
}

export interface FormalJob {
  /** proof name (FORMAL_PROOFS) */
  name: string;
  files: { path: string; text: string }[];
  checks: FormalCheck[];
}

export type PropertyStatus = 'proved' | 'bounded' | 'covered' | 'failed' | 'not covered' | 'error';

export interface PropertyResult {
  proof: string;
  top: string;
  label: string;
  kind: 'assert' | 'cover';
  status: PropertyStatus;
  /** how: "k-induction, k = 4", "BMC to depth 16", "step 6", the failing step */
  detail: string;
  /** the counterexample or cover trace, when written */
  vcd?: string;
}

export const FORMAL_SOLVER = 'z3';

/** Labels of the properties of the modules a top reads: `label: assert (` / `label: cover (` in their text. */
export function propertyLabels(texts: string[]): { label: string; kind: 'assert' | 'cover' }[] {
  const out: { label: string; kind: 'assert' | 'cover' }[] = [];
  for (const t of texts) for (const m of t.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*): (assert|cover) \(/g)) out.push({ label: m[1]!, kind: m[2] as 'assert' | 'cover' });
  return out;
}

/**
 * The model is gate-level: after `prep`, `techmap` and `abc -g` make it a network
 * of simple gates. z3 4.8 does not answer on the word-level model of the
 * controller even at depth 1 (it expands the model's shared expressions); on the
 * gate-level one it answers in milliseconds, and the FIFO's proof is as fast.
 */
function yosysScript(files: string[], top: string, smt2: string): string {
  return [`read_verilog -formal -sv ${files.join(' ')}`, `prep -top ${top}`, 'flatten', 'memory_map', 'opt -fast', 'async2sync', 'techmap', 'opt -fast', 'abc -g AND,OR,XOR,MUX', 'opt_clean', 'dffunmap', `write_smt2 -wires ${smt2}`, ''].join('\n');
}

/**
 * yosys-smtbmc under coreutils `timeout`, which signals the whole process group
 * at the limit: the solver process goes with it (killing yosys-smtbmc alone
 * would leave z3 running). Exit 124 means the limit was reached.
 */
function smtbmc(args: string[], work: string, timeoutS: number): { ok: boolean; output: string; timedOut: string | undefined } {
  const r = run('timeout', ['-k', '5', String(timeoutS), 'yosys-smtbmc', '--noprogress', '-s', FORMAL_SOLVER, ...args], work, (timeoutS + 30) * 1000);
  const timedOut = r.status === 124 || r.status === 137 ? `yosys-smtbmc did not finish within its time limit of ${timeoutS} s (--timeout) and was stopped` : r.startError;
  return { ok: r.ok, output: r.output, timedOut };
}

/** Harness files are named after their module (harness.ts, harnessName). */
const isHarnessFile = (path: string) => path.startsWith(HARNESS_PREFIX);
/** `Assert failed in TOP: a_label`, or `…: dut.a_label` for a property of a flattened block. */
const FAILED_ASSERT = /Assert failed in [^:]+: (?:[A-Za-z_][A-Za-z0-9_]*\.)*([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Runs every check of a job in `work` (created) with a time limit per tool call
 * and returns one result per property and check kind.
 */
export function runFormalJob(job: FormalJob, work: string, timeoutS: number): PropertyResult[] {
  mkdirSync(work, { recursive: true });
  for (const f of job.files) writeFileSync(join(work, f.path), f.text);
  const results: PropertyResult[] = [];
  const tops = [...new Set(job.checks.map((c) => c.top))];
  for (const top of tops) {
    const smt2 = `${top}.smt2`;
    // the top's harness and the RTL (not the job's other harnesses)
    const files = job.files.filter((f) => !isHarnessFile(f.path) || f.path === `${top}.v`);
    writeFileSync(join(work, `${top}.ys`), yosysScript(files.map((f) => f.path), top, smt2));
    // a harness reports its own properties; a block alone (a harness without any) the block's
    const own = propertyLabels(files.filter((f) => f.path === `${top}.v`).map((f) => f.text));
    const labels = own.length ? own : propertyLabels(files.filter((f) => !isHarnessFile(f.path)).map((f) => f.text));
    const y = run('yosys', ['-q', '-l', `${top}.yosys.log`, `${top}.ys`], work, timeoutS * 1000);
    if (!y.ok) {
      for (const l of labels) results.push({ proof: job.name, top, ...l, status: 'error', detail: `yosys failed: ${(y.startError ?? y.output).trim().split('\n').slice(-3).join(' / ')}` });
      continue;
    }
    const asserts = labels.filter((l) => l.kind === 'assert');
    const covers = labels.filter((l) => l.kind === 'cover');
    const checks = job.checks.filter((c) => c.top === top);
    const bmc = checks.find((c) => c.kind === 'bmc');
    const ind = checks.find((c) => c.kind === 'induction');
    const cov = checks.find((c) => c.kind === 'cover');
    let bmcOk = false;
    if (bmc) {
      const vcd = `${top}.bmc.vcd`;
      const r = smtbmc(['-t', String(bmc.depth), '--dump-vcd', vcd, smt2], work, timeoutS);
      bmcOk = r.ok && /Status: PASSED/.test(r.output);
      if (!bmcOk) {
        const failed = new Set([...r.output.matchAll(FAILED_ASSERT)].map((m) => m[1]!));
        const step = /Checking assertions in step (\d+)\.\.(?![\s\S]*Checking assertions in step)/.exec(r.output)?.[1];
        for (const a of asserts) {
          if (failed.has(a.label)) results.push({ proof: job.name, top, ...a, status: 'failed', detail: `fails at step ${step ?? '?'} (counterexample: ${join(work, vcd)})`, vcd: join(work, vcd) });
          else if (failed.size > 0) results.push({ proof: job.name, top, ...a, status: 'bounded', detail: `holds to step ${Math.max(0, Number(step ?? 1) - 1)} (the search stopped at another property's failure)` });
          else results.push({ proof: job.name, top, ...a, status: 'error', detail: r.timedOut ?? `yosys-smtbmc: ${r.output.trim().split('\n').slice(-2).join(' / ')}` });
        }
      }
    }
    if (bmcOk) {
      let proved = false;
      if (ind) {
        const r = smtbmc(['-i', '-t', String(ind.depth), smt2], work, timeoutS);
        proved = r.ok && /Status: PASSED/.test(r.output);
      }
      for (const a of asserts) {
        results.push({ proof: job.name, top, ...a, status: proved ? 'proved' : 'bounded', detail: proved ? `k-induction, k = ${ind!.depth} (and BMC to depth ${bmc!.depth})` : `BMC to depth ${bmc!.depth}${ind ? `; k-induction at k = ${ind.depth} does not close` : ''}` });
      }
    }
    if (cov && covers.length) {
      const r = smtbmc(['-c', '-t', String(cov.depth), '--dump-vcd', `${top}.cover%d.vcd`, smt2], work, timeoutS);
      const reached = new Map([...r.output.matchAll(/Reached cover statement at (?:[A-Za-z_][A-Za-z0-9_]*\.)*([A-Za-z_][A-Za-z0-9_]*) in step (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
      for (const c of covers) {
        const step = reached.get(c.label);
        results.push({ proof: job.name, top, ...c, status: step !== undefined ? 'covered' : 'not covered', detail: step !== undefined ? `reached at step ${step}` : `not reached within ${cov.depth} steps${r.timedOut ? ` (${r.timedOut})` : ''}` });
      }
    }
  }
  return results;
}

/** One line per property: proof, property, status and how. */
export function formatResult(r: PropertyResult): string {
  return `${r.proof.padEnd(12)} ${r.label.padEnd(26)} ${r.status.padEnd(11)} ${r.detail}`;
}

/** Proved (by induction, or bounded to the stated depth) and covered count as passed. */
export function summarize(results: PropertyResult[]): { proved: number; failed: number } {
  const ok = (s: PropertyStatus) => s === 'proved' || s === 'bounded' || s === 'covered';
  return { proved: results.filter((r) => ok(r.status)).length, failed: results.filter((r) => !ok(r.status)).length };
}
