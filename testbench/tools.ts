import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ToolResult {
  ok: boolean;
  status: number | null;
  output: string;
  /** why the tool did not run to its own end: not installed, killed at its time limit, … (undefined when it exited by itself) */
  startError?: string;
}

/** Time limit of one EDA tool call unless the caller sets one (10 minutes). */
export const DEFAULT_TOOL_TIMEOUT_MS = 600_000;

/**
 * Runs an EDA tool with a time limit and returns its combined output. A tool
 * that is missing, cannot start or hits the limit comes back with `startError`
 * saying so in words (the caller decides whether that is an error of the run).
 */
export function run(cmd: string, args: string[], cwd: string, timeoutMs = DEFAULT_TOOL_TIMEOUT_MS): ToolResult {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGKILL' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const startError =
      code === 'ENOENT'
        ? `${cmd} is not installed or not on PATH (bash scripts/setup.sh installs the tools)`
        : code === 'ETIMEDOUT'
          ? `${cmd} did not finish within its time limit of ${Math.round(timeoutMs / 1000)} s and was stopped`
          : `${cmd} could not run: ${r.error.message}`;
    return { ok: false, status: null, output: `${output}${startError}\n`, startError };
  }
  if (r.signal !== null) {
    const startError = `${cmd} was ended by signal ${r.signal}`;
    return { ok: false, status: null, output: `${output}${startError}\n`, startError };
  }
  return { ok: r.status === 0, status: r.status, output };
}

/** `verilator --lint-only -Wall` on a file list; ok only when it prints no warning at all. */
export function verilatorLint(files: string[], top: string, cwd: string): ToolResult {
  const r = run('verilator', ['--lint-only', '-Wall', '--top-module', top, ...files], cwd);
  return { ...r, ok: r.ok && !/%(Warning|Error)/.test(r.output) };
}

/** Compiles with Icarus in SystemVerilog-2012 mode (parse and elaborate). */
export function icarusCompile(files: string[], top: string, cwd: string, out = 'a.vvp'): ToolResult {
  return run('iverilog', ['-g2012', '-Wall', '-o', out, '-s', top, ...files], cwd);
}

/**
 * Yosys generic synthesis with `check -assert` (fails on multiple or missing
 * drivers and combinational loops) and a latch count that must be zero.
 */
export function yosysSynth(files: string[], top: string, cwd: string): ToolResult & { latches: number; cells: number } {
  const script = [
    `read_verilog ${files.join(' ')}`,
    `synth -top ${top}`,
    'check -assert',
    'select -assert-none t:$dlatch t:$_DLATCH_* t:$_DLATCHSR_* t:$sr t:$_SR_*',
    'stat',
  ].join('; ');
  const r = run('yosys', ['-q', '-p', script, '-l', 'yosys.log'], cwd);
  const log = existsSync(join(cwd, 'yosys.log')) ? readFileSync(join(cwd, 'yosys.log'), 'utf8') : r.output;
  const statSection = log.slice(log.lastIndexOf('Printing statistics'));
  let latches = 0;
  for (const m of statSection.matchAll(/^\s+\$_?(?:DLATCH|dlatch)\S*\s+(\d+)\s*$/gm)) latches += Number(m[1]);
  const cellsMatch = /Number of cells:\s+(\d+)/g;
  let cells = 0;
  for (const m of log.matchAll(cellsMatch)) cells = Number(m[1]);
  return { ...r, output: log + r.output, ok: r.ok && /Warning/.test(r.output) === false, latches, cells };
}
