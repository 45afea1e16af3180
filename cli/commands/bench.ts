/**
 * `msq bench`: area, throughput and tool-speed benchmark of the generator
 * (perf/bench.ts). Prints markdown tables on stdout and progress on stderr;
 * --json FILE writes the numbers (the shape is documented in docs/PERFORMANCE.md).
 */
import type { Command } from 'commander';
import { checkOutputFile, checkOutputFolder, prepareWorkFolder, writeFileAtomically } from '../../common/output-path.ts';
import { InputError, checkIntRange, checkOneOf } from '../../common/errors.ts';
import { benchDefaults, runBench } from '../../perf/bench.ts';
import { benchMarkdown } from '../../perf/bench-format.ts';
import { resolveAccelConfig } from '../../generator/accel-config.ts';
import { sweepOptions } from '../../perf/bench.ts';
import { RECON_TOPOLOGY_BLOCKS, reconTopology } from '../../generator/blocks/recon-topologies.ts';
import { parseIntFlag } from '../parse.ts';

interface BenchFlags {
  quick?: boolean;
  json?: string;
  jobs?: string;
  sizes?: string;
  wbits?: string;
  recon?: string;
  simulator?: string;
  work?: string;
  resume?: boolean;
  signoff?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark: Yosys area by block and outlier-support overhead, simulated utilization at outlier rates 0..10 %, generation, simulation and quantizer speed, sign-off timing in SKY130 HD (Fmax, WNS, area µm²); markdown on stdout, progress on stderr')
    .option('--quick', 'CI-sized run: 4x8 W2 only, M = 64 on Icarus, no Verilator build timing, sign-off of the 4x8 W2 crossbar alone (a few minutes)')
    .option('--json <file>', 'also write the numbers as JSON')
    .option('--jobs <n>', 'syntheses and simulations at a time (default 2)')
    .option('--sizes <list>', 'arrays RxC, comma-separated (default 4x8,8x8,16x16,32x32; --quick 4x8)')
    .option('--wbits <list>', 'weight bits, comma-separated (default 2,4; --quick 2)')
    .option('--recon <list>', `ReCoN topologies (default ${RECON_TOPOLOGY_BLOCKS.map((t) => t.name).join(',')})`)
    .option('--simulator <name>', 'simulator of the throughput runs: verilator or icarus (default verilator; --quick icarus)')
    .option('--work <dir>', 'build folder; an existing one must be empty or an earlier msq work folder (default build/bench or build/bench-quick)')
    .option('--resume', 'reuse syntheses and simulations already in the build folder (syntheses: same RTL, flow and library; simulations: same sources, configuration and problem)')
    .option('--no-signoff', 'skip the sign-off timing section (SKY130 HD Fmax, WNS and area per configuration; --quick: the smallest configuration only)')
    .action(async (f: BenchFlags) => {
      const o = benchDefaults(f.quick === true);
      if (f.jobs !== undefined) o.jobs = checkIntRange('--jobs', parseIntFlag('--jobs', f.jobs), 1, 64);
      if (f.sizes !== undefined) {
        o.sizes = f.sizes.split(',').map((s) => {
          const m = /^\s*(\d+)x(\d+)\s*$/.exec(s);
          if (!m) throw new InputError(`--sizes ${JSON.stringify(s)}: write each array as RxC, e.g. 8x8`);
          return [Number(m[1]), Number(m[2])] as [number, number];
        });
      }
      if (f.wbits !== undefined) o.wbits = f.wbits.split(',').map((s) => parseIntFlag('--wbits', s));
      if (f.recon !== undefined) o.recons = f.recon.split(',').map((s) => reconTopology(s.trim()).name);
      if (f.simulator !== undefined) o.simulator = checkOneOf('--simulator', f.simulator, ['verilator', 'icarus'] as const) as 'verilator' | 'icarus';
      if (f.work !== undefined) o.work = f.work;
      o.resume = f.resume === true;
      if (f.signoff === false) {
        o.signoff = null;
        o.signoffSkipped = '--no-signoff';
      }
      const json = f.json === undefined ? undefined : checkOutputFile('--json', f.json, ['.json']);
      checkOutputFolder('--work', o.work);
      // every sweep point must be a legal configuration before anything runs
      for (const [r, c] of o.sizes) for (const w of o.wbits) for (const t of o.recons) for (const outl of [true, false]) resolveAccelConfig(sweepOptions(r, c, w, t, outl, o.areaDepth));
      // job folders inside it are the bench's own; --resume reuses them
      o.work = prepareWorkFolder('--work', o.work, { keep: true });
      const report = await runBench(o);
      if (json !== undefined) writeFileAtomically(json, JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(benchMarkdown(report));
      if (report.failures.length > 0) {
        process.stderr.write(`msq bench: ${report.failures.length} job(s) failed:\n${report.failures.map((x) => `  ${x.job}: ${x.error.split('\n').slice(0, 6).join('\n    ')}`).join('\n')}\n`);
        process.exitCode = 1;
      }
    });
}
