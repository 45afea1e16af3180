import type { Command } from 'commander';
import { resolve, join } from 'node:path';
import { rmSync } from 'node:fs';
import { buildTop, TOPS, type TopName } from '../../generator/targets.ts';
import { checkOneOf } from '../../common/errors.ts';
import { parseIntFlag } from '../parse.ts';
import { writeCycleBench, runBench, type Simulator } from '../../testbench/cycle-harness.ts';
import { peSweepVectors } from '../../testbench/pe-vectors.ts';

export const SIMULATORS: readonly Simulator[] = ['verilator', 'icarus'];

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('generate a design and its golden vectors, simulate, and compare every output word')
    .option('--top <name>', `what to simulate: ${TOPS.join(', ')}`, 'pe')
    .option('--wbits <b>', 'weight operand width: 2 or 4', '4')
    .option('--abits <a>', 'activation operand width: 4..8', '8')
    .option('--simulator <name>', `simulator: ${SIMULATORS.join(', ')}`, 'verilator')
    .option('--work <dir>', 'build folder for the simulation (default build/sim/<top>)')
    .action((opts: { top: string; wbits: string; abits: string; simulator: string; work?: string }) => {
      const top = checkOneOf('--top', opts.top, TOPS) as TopName;
      const sim = checkOneOf('--simulator', opts.simulator, SIMULATORS) as Simulator;
      const gen = buildTop({ top, wbits: parseIntFlag('--wbits', opts.wbits), abits: parseIntFlag('--abits', opts.abits) });
      const cfg = gen.config as { wbits: number; abits: number; accWidth: number };
      const work = resolve(opts.work ?? join('build', 'sim', top));
      rmSync(work, { recursive: true, force: true });
      const started = Date.now();
      const vectors = peSweepVectors(cfg);
      process.stderr.write(`msq sim: ${gen.design.top.name}, ${vectors.length} cycles of golden vectors, ${sim} (building in ${work})\n`);
      const { files } = writeCycleBench(gen.design.top, vectors, work);
      const r = runBench(work, files, sim);
      for (const m of r.mismatches) process.stdout.write(`${m}\n`);
      if (r.passed + r.failed === 0 || (r.failed > 0 && r.mismatches.length === 0)) process.stdout.write(r.log.slice(-4000));
      process.stdout.write(`simulated ${vectors.length} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
      if (r.failed > 0 || r.passed === 0) process.exitCode = 1;
    });
}
