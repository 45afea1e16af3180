import type { Command } from 'commander';

// Placeholder wiring; the generate command is implemented in the foundation work.
export function registerGenerate(program: Command): void {
  program.command('generate').description('generate Verilog (in progress)').action(() => {
    throw new Error('not implemented yet');
  });
}
