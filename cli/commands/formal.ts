/**
 * `msq formal`: the formal proofs of testbench/formal/proofs.ts (Yosys -formal,
 * yosys-smtbmc with z3; docs/VERIFICATION.md). One line per property, then
 * `N proved, N failed`; exit 1 when a property fails, a cover is not reached or
 * a tool cannot run. A failed check leaves its counterexample as a VCD in the
 * work folder.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { checkOutputFolder, prepareWorkFolder } from '../../common/output-path.ts';
import { InputError, checkIntRange } from '../../common/errors.ts';
import { FORMAL_PROOFS } from '../../testbench/formal/proofs.ts';
import { formatResult, runFormalJob, summarize, type PropertyResult } from '../../testbench/formal/run.ts';
import { parseIntFlag } from '../parse.ts';

/** Time limit of one tool call of a proof (seconds), unless --timeout says otherwise. */
export const DEFAULT_FORMAL_TIMEOUT_S = 300;

interface FormalFlags {
  only?: string;
  timeout: string;
  work: string;
  list?: boolean;
}

export function registerFormal(program: Command): void {
  program
    .command('formal')
    .description('prove the blocks\' protocol properties (Yosys -formal, yosys-smtbmc with z3): bounded model checking to a stated depth, k-induction where it closes, covers; one line per property and "N proved, N failed"; exit 1 on any failure, with a counterexample VCD in the work folder')
    .option('--only <names>', `proofs to run, comma-separated (default all: ${FORMAL_PROOFS.map((p) => p.name).join(', ')})`)
    .option('--timeout <s>', 'time limit of each solver call, seconds: 1..3600', String(DEFAULT_FORMAL_TIMEOUT_S))
    .option('--work <dir>', 'work folder, cleared first; an existing one must be empty or an earlier msq work folder', 'build/formal')
    .option('--list', 'list the proofs and what each proves, and exit')
    .action((f: FormalFlags) => {
      if (f.list) {
        for (const p of FORMAL_PROOFS) process.stdout.write(`${p.name}: ${p.what}\n`);
        return;
      }
      const names = f.only === undefined ? FORMAL_PROOFS.map((p) => p.name) : f.only.split(',').map((s) => s.trim());
      for (const n of names) {
        if (!FORMAL_PROOFS.some((p) => p.name === n)) throw new InputError(`--only ${n} is not a proof: allowed values are ${FORMAL_PROOFS.map((p) => p.name).join(', ')}`);
      }
      const timeout = checkIntRange('--timeout', parseIntFlag('--timeout', f.timeout), 1, 3600);
      checkOutputFolder('--work', f.work);
      const work = prepareWorkFolder('--work', f.work);
      const all: PropertyResult[] = [];
      for (const p of FORMAL_PROOFS.filter((x) => names.includes(x.name))) {
        const t0 = performance.now();
        process.stderr.write(`msq formal: ${p.name}: ${p.what}\n`);
        const results = runFormalJob(p.build(), join(work, p.name), timeout);
        for (const r of results) process.stdout.write(`${formatResult(r)}\n`);
        process.stderr.write(`msq formal: ${p.name} took ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
        all.push(...results);
      }
      const s = summarize(all);
      process.stdout.write(`${s.proved} proved, ${s.failed} failed\n`);
      if (s.failed > 0) process.exitCode = 1;
    });
}
