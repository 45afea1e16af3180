import type { Command } from 'commander';
import { resolve, join } from 'node:path';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { buildTop, TOPS, type TopName } from '../../generator/targets.ts';
import { writeRtlFiles } from '../../generator/emit.ts';
import { checkOneOf, InputError, checkIntRange } from '../../common/errors.ts';
import { parseIntFlag } from '../parse.ts';
import { writeCycleBench, runBench, type Simulator } from '../../testbench/cycle-harness.ts';
import { peSweepVectors } from '../../testbench/pe-vectors.ts';
import { addAccelFlags, accelOptionsFrom, type AccelFlagValues } from '../accel-flags.ts';
import { addProblemFlags, problemFrom, type ProblemFlagValues } from '../problem-flags.ts';
import { readVectorManifest, writeVectorFiles, type VectorManifest } from '../../testbench/vector-files.ts';
import { runAccelBench, writeAccelTestbench } from '../../testbench/accel-bench.ts';

export const SIMULATORS: readonly Simulator[] = ['verilator', 'icarus'];

interface SimFlags extends AccelFlagValues, ProblemFlagValues {
  top: string;
  simulator: string;
  vectors?: string;
  work?: string;
  waves?: string;
  runs: string;
  resetAt: string;
  stall: string;
}

export function registerSim(program: Command): void {
  const cmd = program
    .command('sim')
    .description('generate the RTL and golden vectors as needed, simulate, compare every output word; prints the first mismatches, cycles, utilization and "N passed, N failed"; exits 1 on any failure')
    .option('--top <name>', `what to simulate: ${TOPS.join(', ')}`, 'accelerator');
  addProblemFlags(addAccelFlags(cmd))
    .option('--vectors <dir>', 'use vectors made by msq vectors (default: make them)')
    .option('--simulator <name>', `simulator: ${SIMULATORS.join(', ')}`, 'verilator')
    .option('--waves <file>', 'dump waveforms (.vcd; .fst on Verilator)')
    .option('--runs <n>', 'back-to-back runs of the problem', '2')
    .option('--reset-at <cycle>', 'assert reset this many cycles into the first run, then rerun (0: no reset)', '0')
    .option('--stall <percent>', 'percent of cycles each stream stalls (valid and ready gaps)', '20')
    .option('--work <dir>', 'build folder (default build/sim/<top>-<simulator>)')
    .action((opts: SimFlags) => {
      const top = checkOneOf('--top', opts.top, TOPS) as TopName;
      const sim = checkOneOf('--simulator', opts.simulator, SIMULATORS) as Simulator;
      const accel = accelOptionsFrom(opts);
      const gen = buildTop({ top, accel });
      const work = resolve(opts.work ?? join('build', 'sim', `${top}-${sim}`));
      if (opts.waves && !/\.(vcd|fst)$/.test(opts.waves)) throw new InputError(`--waves ${opts.waves}: the file must end in .vcd or .fst`);
      if (opts.waves?.endsWith('.fst') && sim === 'icarus') throw new InputError('--waves: Icarus writes .vcd only');
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const started = Date.now();

      if (top === 'pe') {
        const cfg = gen.config as { wbits: number; abits: number; accWidth: number };
        const vectors = peSweepVectors(cfg);
        process.stderr.write(`msq sim: ${gen.design.top.name}, ${vectors.length} cycles of golden vectors on ${sim} (in ${work})\n`);
        const { files } = writeCycleBench(gen.design.top, vectors, work);
        const r = runBench(work, files, sim);
        for (const m of r.mismatches) process.stdout.write(`${m}\n`);
        if (r.passed + r.failed === 0 || (r.failed > 0 && r.mismatches.length === 0)) process.stdout.write(r.log.slice(-4000));
        process.stdout.write(`simulated ${vectors.length} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
        if (r.failed > 0 || r.passed === 0) process.exitCode = 1;
        return;
      }

      const c = gen.accel!;
      const runs = checkIntRange('--runs', parseIntFlag('--runs', opts.runs), 1, 100);
      const resetAt = checkIntRange('--reset-at', parseIntFlag('--reset-at', opts.resetAt), 0, 1e9);
      const stall = checkIntRange('--stall', parseIntFlag('--stall', opts.stall), 0, 95);
      const seed = parseIntFlag('--seed', opts.seed);
      let manifest: VectorManifest;
      if (opts.vectors) {
        manifest = readVectorManifest(opts.vectors, accel);
        for (const f of [manifest.files.weights, manifest.files.activations, ...manifest.expected]) copyFileSync(join(opts.vectors, f), join(work, f));
      } else {
        manifest = writeVectorFiles(work, c, problemFrom(opts, c));
      }
      const rtl = writeRtlFiles(work, gen.design);
      const p = manifest.problem;
      writeAccelTestbench(work, gen.design.top.name, c, manifest, {
        runs,
        resetAt,
        stall: { w: stall, a: stall, y: stall },
        seed,
        waves: opts.waves ? resolve(opts.waves) : undefined,
      });
      process.stderr.write(
        `msq sim: ${gen.design.top.name}: M=${p.M} K=${p.Kpadded} N=${p.N}, ${manifest.counts.resultWords} result words x ${runs} run(s)${resetAt ? `, reset at cycle ${resetAt}` : ''}, stalls ${stall}%, on ${sim} (in ${work})\n`,
      );
      const r = runAccelBench(work, rtl, sim, opts.waves);
      for (const m of r.mismatches.slice(0, 10)) process.stdout.write(`${m}\n`);
      if (r.passed + r.failed === 0 || (r.failed > 0 && r.mismatches.length === 0)) process.stdout.write(r.log.slice(-4000));
      const macs = p.M * p.K * p.N;
      for (const [i, cyc] of r.cycles.entries()) {
        process.stdout.write(`run ${i}: ${cyc} cycles, utilization ${((macs / cyc / (c.rows * c.cols)) * 100).toFixed(1)}% (${macs} useful MACs on ${c.rows}x${c.cols} PEs)\n`);
      }
      process.stdout.write(`simulated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
      const expectedWords = manifest.counts.resultWords * runs;
      if (r.failed > 0 || r.passed !== expectedWords) process.exitCode = 1;
    });
}
