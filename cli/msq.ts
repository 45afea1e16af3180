/**
 * The `msq` command line. Each subcommand lives in cli/commands/<name>.ts and
 * exports `register(program)`; this file only wires them together and turns
 * every error into one line on stderr, never a stack trace (unless --debug):
 *   InputError (a refused flag or path)          -> `msq: error: …`, exit 2
 *   file-system error (EACCES, ENOSPC, …)         -> `msq: error: cannot …`, exit 1
 *   ToolError (a simulator could not run)         -> `msq: error: …`, exit 1
 *   anything else (a bug of msq)                  -> `msq: internal error: …`, exit 70
 */
import { Command, CommanderError } from 'commander';
import { GENERATOR_VERSION } from '../common/version.ts';
import { InputError, ToolError, fileSystemMessage } from '../common/errors.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerSim } from './commands/sim.ts';
import { registerVectors } from './commands/vectors.ts';
import { registerQuantize } from './commands/quantize.ts';
import { registerCompare } from './commands/compare.ts';
import { registerBench } from './commands/bench.ts';
import { registerSignoff } from './commands/signoff.ts';
import { registerFormal } from './commands/formal.ts';
import { registerEval } from './commands/eval.ts';

const program = new Command();
program
  .name('msq')
  .description('Generator and reference numerics for outlier-aware microscaling (MicroScopiQ, MX, NxFP) accelerators')
  .version(GENERATOR_VERSION, '-V, --version', 'print the generator version')
  .option('--debug', 'print the stack trace of an error')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerGenerate(program);
registerVectors(program);
registerSim(program);
registerQuantize(program);
registerCompare(program);
registerBench(program);
registerSignoff(program);
registerFormal(program);
registerEval(program);

const debug = process.argv.includes('--debug');

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else {
    const fsMessage = fileSystemMessage(e);
    if (e instanceof InputError) {
      process.stderr.write(`msq: error: ${e.message}\n`);
      process.exitCode = 2;
    } else if (fsMessage !== undefined || e instanceof ToolError) {
      process.stderr.write(`msq: error: ${fsMessage ?? (e as Error).message}\n`);
      process.exitCode = 1;
    } else {
      const message = e instanceof Error ? e.message : String(e);
      process.stderr.write(`msq: internal error: ${message}\n${debug ? '' : '(this is a bug of msq; run again with --debug for the stack trace)\n'}`);
      process.exitCode = 70;
    }
    if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  }
}
