import type { Command } from 'commander';
import { join } from 'node:path';
import { copyFileSync } from 'node:fs';
import { buildTop, TOPS, type TopName } from '../../generator/targets.ts';
import { writeRtlFiles } from '../../generator/emit.ts';
import { checkOneOf, InputError, checkIntRange, ToolError } from '../../common/errors.ts';
import { checkOutputFile, copyFileAtomically, prepareWorkFolder } from '../../common/output-path.ts';
import { parseIntFlag, refuseFlags } from '../parse.ts';
import { writeCycleBench, runBench, type Simulator } from '../../testbench/cycle-harness.ts';
import { peSweepVectors } from '../../testbench/pe-vectors.ts';
import { addAccelFlags, accelOptionsFrom, ACCEL_FLAGS, type AccelFlagValues } from '../accel-flags.ts';
import { addProblemFlags, problemFrom, type ProblemFlagValues } from '../problem-flags.ts';
import { readVectorManifest, writeVectorFiles, type VectorManifest } from '../../testbench/vector-files.ts';
import { runAccelBench, writeAccelTestbench, VERILATOR_BUILD_DIR } from '../../testbench/accel-bench.ts';

export const SIMULATORS: readonly Simulator[] = ['verilator', 'icarus'];

/** Flags that shape the problem; with --vectors the problem comes from the vector folder. */
const PROBLEM_FLAGS = ['--m', '--k', '--n', '--outlier-rate'];
/** Flags of the accelerator's testbench that the standalone PE's sweep does not have. */
const ACCEL_BENCH_FLAGS = ['--vectors', '--waves', '--runs', '--reset-at', '--stall', '--stall-results', '--seed', ...PROBLEM_FLAGS];

interface SimFlags extends AccelFlagValues, ProblemFlagValues {
  top: string;
  simulator: string;
  vectors?: string;
  work?: string;
  buildCache?: string;
  waves?: string;
  runs: string;
  resetAt: string;
  stall: string;
  stallResults?: string;
}

export function registerSim(program: Command): void {
  const cmd = program
    .command('sim')
    .description('generate the RTL and golden vectors as needed, simulate, compare every output word; prints the first mismatches, cycles, utilization and "N passed, N failed"; exits 1 on any failure')
    .option('--top <name>', `what to simulate: ${TOPS.join(', ')}`, 'accelerator');
  addProblemFlags(addAccelFlags(cmd))
    .option('--vectors <dir>', 'use vectors made by msq vectors (default: make them); the problem flags then come from its manifest')
    .option('--simulator <name>', `simulator: ${SIMULATORS.join(', ')}`, 'verilator')
    .option('--waves <file>', 'dump waveforms (.vcd; .fst on Verilator), written when the simulation ends')
    .option('--runs <n>', 'back-to-back runs of the problem: 1..100', '2')
    .option('--reset-at <cycle>', 'assert reset this many cycles into the first run, then rerun (0: no reset; must be before the run ends)', '0')
    .option('--stall <percent>', 'percent of cycles each stream stalls (valid and ready gaps): 0..95', '20')
    .option('--stall-results <percent>', 'percent of cycles the result consumer holds y_ready low: 0..95 (default: --stall); high values make the next pass wait for unread results')
    .option('--work <dir>', 'build folder, cleared first; an existing one must be empty or an earlier msq work folder (default build/sim/<top>-<simulator>)')
    .option('--build-cache <dir>', 'Verilator: keep simulator binaries in this folder by content digest and reuse them across work folders (RTL, testbench, flags and Verilator unchanged); an existing one must be empty or an earlier msq folder')
    .action((opts: SimFlags) => {
      const top = checkOneOf('--top', opts.top, TOPS) as TopName;
      const sim = checkOneOf('--simulator', opts.simulator, SIMULATORS) as Simulator;
      if (top === 'pe') {
        refuseFlags(cmd, ACCEL_BENCH_FLAGS, 'to --top pe: its simulation is a fixed sweep of golden vectors');
        refuseFlags(cmd, ACCEL_FLAGS.filter((f) => f !== '--wbits' && f !== '--abits'), 'to --top pe: the standalone PE takes --wbits and --abits');
      }
      if (opts.vectors !== undefined) refuseFlags(cmd, PROBLEM_FLAGS, `with --vectors: the problem comes from ${join(opts.vectors, 'manifest.json')}`);
      const waves = opts.waves === undefined ? undefined : checkOutputFile('--waves', opts.waves, sim === 'icarus' ? ['.vcd'] : ['.vcd', '.fst']);
      const workPath = opts.work ?? join('build', 'sim', `${top}-${sim}`);
      const accel = accelOptionsFrom(opts);
      const gen = buildTop({ top, accel });
      const started = Date.now();

      if (top === 'pe') {
        const work = prepareWorkFolder('--work', workPath);
        const cfg = gen.config as { wbits: number; abits: number; accWidth: number };
        const vectors = peSweepVectors(cfg);
        process.stderr.write(`msq sim: ${gen.design.top.name}, ${vectors.length} cycles of golden vectors on ${sim} (in ${work})\n`);
        const { files } = writeCycleBench(gen.design.top, vectors, work);
        const r = runBench(work, files, sim);
        if (r.passed + r.failed === 0) throw new ToolError(`the ${sim} simulation of the PE did not run:\n${r.log.slice(-4000)}`);
        for (const m of r.mismatches) process.stdout.write(`${m}\n`);
        if (r.failed > 0 && r.mismatches.length === 0) process.stdout.write(r.log.slice(-4000));
        process.stdout.write(`simulated ${vectors.length} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
        process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
        if (r.failed > 0 || r.passed === 0) process.exitCode = 1;
        return;
      }

      const c = gen.accel!;
      const runs = checkIntRange('--runs', parseIntFlag('--runs', opts.runs), 1, 100);
      const resetAt = checkIntRange('--reset-at', parseIntFlag('--reset-at', opts.resetAt), 0, 1e9);
      const stall = checkIntRange('--stall', parseIntFlag('--stall', opts.stall), 0, 95);
      const stallY = opts.stallResults === undefined ? stall : checkIntRange('--stall-results', parseIntFlag('--stall-results', opts.stallResults), 0, 95);
      const seed = parseIntFlag('--seed', opts.seed);
      // read (and check) the vectors before the work folder is touched
      const given = opts.vectors !== undefined ? readVectorManifest(opts.vectors, accel) : undefined;
      const problem = given === undefined ? problemFrom(opts, c) : undefined;
      if (opts.buildCache !== undefined && sim !== 'verilator') throw new InputError(`--build-cache keeps Verilator builds; --simulator ${sim} builds in the work folder`);
      // the cache keeps every entry (builds of other configurations)
      const cache = opts.buildCache === undefined ? undefined : prepareWorkFolder('--build-cache', opts.buildCache, { keep: true });
      // an earlier Verilator build stays: runAccelBench reuses it when nothing it was built from changed
      const work = prepareWorkFolder('--work', workPath, { keepEntries: [VERILATOR_BUILD_DIR] });
      let manifest: VectorManifest;
      if (given !== undefined) {
        manifest = given;
        for (const f of [manifest.files.weights, manifest.files.activations, ...manifest.expected]) copyFileSync(join(opts.vectors!, f), join(work, f));
      } else {
        manifest = writeVectorFiles(work, c, problem!);
      }
      const rtl = writeRtlFiles(work, gen.design);
      const p = manifest.problem;
      const wavesInWork = waves === undefined ? undefined : join(work, `waves${waves.endsWith('.fst') ? '.fst' : '.vcd'}`);
      writeAccelTestbench(work, gen.design.top.name, c, manifest, {
        runs,
        resetAt,
        stall: { w: stall, a: stall, y: stallY },
        seed,
        waves: wavesInWork,
      });
      process.stderr.write(
        `msq sim: ${gen.design.top.name}: M=${p.M} K=${p.Kpadded} N=${p.N}, ${manifest.counts.resultWords} result words x ${runs} run(s)${resetAt ? `, reset at cycle ${resetAt}` : ''}, stalls ${stall}%${stallY !== stall ? ` (results ${stallY}%)` : ''}, on ${sim} (in ${work})\n`,
      );
      const r = runAccelBench(work, rtl, sim, wavesInWork, cache);
      if (r.reusedBuild) process.stderr.write(`msq sim: reused the Verilator build in ${cache ?? join(work, VERILATOR_BUILD_DIR)}: RTL, testbench, flags and Verilator unchanged\n`);
      for (const m of r.mismatches.slice(0, 10)) process.stdout.write(`${m}\n`);
      if (r.failed > 0 && r.mismatches.length === 0) process.stdout.write(r.log.slice(-4000));
      const macs = p.M * p.K * p.N;
      for (const [i, cyc] of r.cycles.entries()) {
        process.stdout.write(`run ${i}: ${cyc} cycles, utilization ${((macs / cyc / (c.rows * c.cols)) * 100).toFixed(1)}% (${macs} useful MACs on ${c.rows}x${c.cols} PEs)\n`);
      }
      process.stdout.write(`simulated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
      if (waves !== undefined && wavesInWork !== undefined) {
        copyFileAtomically(wavesInWork, waves);
        process.stdout.write(`waves: ${waves}\n`);
      }
      const expectedWords = manifest.counts.resultWords * runs;
      if (r.failed > 0 || r.passed !== expectedWords) process.exitCode = 1;
      if (resetAt > 0 && r.resetAfter?.runEnded === true) {
        throw new InputError(`--reset-at ${resetAt} is past the end of run 0, which finished after ${r.resetAfter.cycle} cycles, so no reset was tested: allowed 0..${Math.max(0, r.resetAfter.cycle - 1)}`);
      }
    });
}
