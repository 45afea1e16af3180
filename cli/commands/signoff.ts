/**
 * `msq signoff`: post-synthesis timing, area and power of a generated design
 * in a Liberty library (perf/signoff.ts): Yosys with timing-driven ABC, then
 * OpenSTA. Markdown summary on stdout, progress on stderr, --json FILE for the
 * numbers; --check exits 1 when the worst slack is negative.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { checkOutputFile, prepareWorkFolder, writeFileAtomically } from '../../common/output-path.ts';
import { InputError, checkIntRange } from '../../common/errors.ts';
import { accelTopName, resolveAccelConfig } from '../../generator/accel-config.ts';
import { buildTop, BUILD_TOPS, checkTop, type GenerateOptions } from '../../generator/targets.ts';
import { DEFAULT_ACTIVITY, DEFAULT_SIGNOFF_PERIOD_NS, DEFAULT_TOOL_TIMEOUT_MIN, runSignoff } from '../../perf/signoff.ts';
import { signoffMarkdown, checkMessage } from '../../perf/signoff-format.ts';
import { DEFAULT_LIBERTY } from '../../perf/signoff-library.ts';
import { resolveLiberty } from '../../perf/signoff-library.ts';
import { parseIntFlag, refuseFlags } from '../parse.ts';
import { addAccelFlags, accelOptionsFrom, ACCEL_FLAGS, type AccelFlagValues } from '../accel-flags.ts';

/** Generator flags the standalone PE uses (as in msq generate). */
const PE_FLAGS = ['--wbits', '--abits'];

interface SignoffFlags extends AccelFlagValues {
  top: string;
  liberty?: string;
  period: string;
  synthMargin?: string;
  activity: string;
  json?: string;
  check?: boolean;
  work?: string;
  timeout: string;
}

/** A decimal number flag in [min, max]; "4ns", "" or "1e3x" is refused with the allowed range. */
export function parseNumberFlag(flag: string, text: string, min: number, max: number): number {
  const t = text.trim();
  const v = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : NaN;
  if (!Number.isFinite(v) || v < min || v > max) throw new InputError(`${flag} ${JSON.stringify(text)} is out of range: allowed numbers ${min}..${max}`);
  return v;
}

export function registerSignoff(program: Command): void {
  const cmd = program
    .command('signoff')
    .description('sign-off timing of a generated design: Yosys synthesis to a Liberty library (timing-driven ABC: delay mapping, buffering, sizing), then OpenSTA: worst slack, Fmax, the critical path by RTL register, area by block, power; markdown on stdout, progress on stderr')
    .option('--top <name>', `what to build: ${BUILD_TOPS.join(', ')} (pe: the standalone PE; the others: a block of the accelerator alone, from the same flags)`, 'accelerator');
  addAccelFlags(cmd)
    .option('--liberty <file>', `Liberty library (default ${DEFAULT_LIBERTY} when present: SKY130 HD, typical corner)`)
    .option('--period <ns>', 'clock period of synthesis and timing analysis, ns: 0.01..1000', String(DEFAULT_SIGNOFF_PERIOD_NS))
    .option('--synth-margin <ns>', "ABC's delay target is the period minus this margin, ns: 0 up to half the period (default 25 % of the period: ABC does not see the flip-flops' clock-to-Q and setup, nor their buffer trees in full)")
    .option('--activity <a>', 'switching activity of every non-clock net for the power estimate, transitions per clock cycle: 0..2', String(DEFAULT_ACTIVITY))
    .option('--json <file>', 'also write the numbers as JSON')
    .option('--check', 'exit 1 when the worst slack is negative (the period is not met)')
    .option('--work <dir>', 'work folder (RTL, scripts, netlist, logs); an existing one must be empty or an earlier msq work folder (default build/signoff/<top>)')
    .option('--timeout <min>', 'time limit of each tool call, minutes: 1..1440', String(DEFAULT_TOOL_TIMEOUT_MIN))
    .action(async (f: SignoffFlags) => {
      const top = checkTop(f.top);
      if (top === 'pe') refuseFlags(cmd, ACCEL_FLAGS.filter((x) => !PE_FLAGS.includes(x)), `to --top pe: the standalone PE takes ${PE_FLAGS.join(', ')}`);
      const accel = accelOptionsFrom(f);
      const design: GenerateOptions = { top, accel };
      let name: string;
      if (top === 'accelerator') {
        resolveAccelConfig(accel); // every flag checked before anything is written
        name = accelTopName(accel);
      } else {
        // a block or the PE: elaborated here, which checks every flag before anything is written
        name = buildTop(design).design.top.name;
      }
      const periodNs = parseNumberFlag('--period', f.period, 0.01, 1000);
      const synthMarginNs = f.synthMargin === undefined ? undefined : parseNumberFlag('--synth-margin', f.synthMargin, 0, periodNs / 2);
      const activity = parseNumberFlag('--activity', f.activity, 0, 2);
      const timeoutMin = checkIntRange('--timeout', parseIntFlag('--timeout', f.timeout), 1, 1440);
      const json = f.json === undefined ? undefined : checkOutputFile('--json', f.json, ['.json']);
      const liberty = resolveLiberty(f.liberty);
      const work = prepareWorkFolder('--work', f.work ?? `build/signoff/${name}`);
      const t0 = performance.now();
      const progress = (line: string) => process.stderr.write(`msq signoff: [${((performance.now() - t0) / 1000).toFixed(1)} s] ${line}\n`);
      progress(`${name} at ${periodNs} ns in ${resolve(liberty)}; work folder ${work}`);
      const report = await runSignoff({ design, liberty, periodNs, synthMarginNs, activity, work, timeoutMs: timeoutMin * 60_000, progress });
      if (json !== undefined) writeFileAtomically(json, JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(signoffMarkdown(report));
      progress(`done: Fmax ${report.fmax_mhz.toFixed(1)} MHz, worst slack ${report.worst_slack_ns.toFixed(3)} ns${json ? `; JSON ${json}` : ''}`);
      if (f.check && !report.met) {
        process.stderr.write(`msq: error: ${checkMessage(report)}\n`);
        process.exitCode = 1;
      }
    });
}
