/**
 * The `msq` command line. Each subcommand lives in cli/commands/<name>.ts and
 * exports `register(program)`; this file only wires them together and turns
 * InputErrors into a one-line message and exit status 2.
 */
import { Command, CommanderError } from 'commander';
import { GENERATOR_VERSION } from '../common/version.ts';
import { InputError } from '../common/errors.ts';
import { registerGenerate } from './commands/generate.ts';
import { registerSim } from './commands/sim.ts';
import { registerVectors } from './commands/vectors.ts';
import { registerQuantize } from './commands/quantize.ts';
import { registerCompare } from './commands/compare.ts';
import { registerBench } from './commands/bench.ts';

const program = new Command();
program
  .name('msq')
  .description('Generator and reference numerics for outlier-aware microscaling (MicroScopiQ, MX, NxFP) accelerators')
  .version(GENERATOR_VERSION, '-V, --version', 'print the generator version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerGenerate(program);
registerVectors(program);
registerSim(program);
registerQuantize(program);
registerCompare(program);
registerBench(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode;
  } else if (e instanceof InputError) {
    process.stderr.write(`msq: error: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    throw e;
  }
}
