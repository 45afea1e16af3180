import type { Command } from 'commander';
import { buildTop, BUILD_TOPS, checkTop } from '../../generator/targets.ts';
import { designFiles, writeGeneration } from '../../generator/emit.ts';
import { checkOutputFolder } from '../../common/output-path.ts';
import { parseIntFlag, refuseFlags } from '../parse.ts';
import { addAccelFlags, accelOptionsFrom, ACCEL_FLAGS, type AccelFlagValues } from '../accel-flags.ts';

/** Generator flags the standalone PE uses; the others shape only the accelerator. */
const PE_FLAGS = ['--wbits', '--abits'];

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('elaborate a design and write its Verilog (one module per file), filelist.f, manifest.json and, for the accelerator, a FuseSoC core, an SDC and a README')
    .option('--top <name>', `what to build: ${BUILD_TOPS.join(', ')} (a block of the accelerator alone, from the same flags)`, 'accelerator');
  addAccelFlags(cmd)
    .option('--acc-width <bits>', 'standalone PE only (--top pe): partial-sum width (default: product width + 8)')
    .option('--out <dir>', 'output folder, written atomically; an existing one is replaced only when it is empty or an earlier msq generation (default rtl-out/<top>)')
    .action(async (opts: AccelFlagValues & { top: string; accWidth?: string; out?: string }) => {
      const top = checkTop(opts.top);
      if (top !== 'pe') refuseFlags(cmd, ['--acc-width'], `to ${top === 'accelerator' ? 'the accelerator' : `--top ${top}`} (it derives its widths from the configuration); it is a flag of --top pe`);
      else refuseFlags(cmd, ACCEL_FLAGS.filter((f) => !PE_FLAGS.includes(f)), `to --top pe: the standalone PE takes ${PE_FLAGS.join(', ')} and --acc-width`);
      const out = opts.out ?? `rtl-out/${top}`;
      checkOutputFolder('--out', out);
      const gen = buildTop({
        top,
        accel: accelOptionsFrom(opts),
        accWidth: opts.accWidth === undefined ? undefined : parseIntFlag('--acc-width', opts.accWidth),
      });
      const files = designFiles(gen.design, gen.config, gen.extra);
      await writeGeneration(out, files);
      process.stdout.write(`msq: wrote ${files.length} files for ${gen.design.top.name} (${gen.design.modules.length} modules) to ${out}\n`);
    });
}
