import type { Command } from 'commander';
import { buildTop, TOPS, type TopName } from '../../generator/targets.ts';
import { designFiles, writeGeneration } from '../../generator/emit.ts';
import { checkOneOf } from '../../common/errors.ts';
import { parseIntFlag } from '../parse.ts';
import { addAccelFlags, accelOptionsFrom, type AccelFlagValues } from '../accel-flags.ts';

export function registerGenerate(program: Command): void {
  const cmd = program
    .command('generate')
    .description('elaborate a design and write its Verilog (one module per file), filelist.f, manifest.json and, for the accelerator, a FuseSoC core, an SDC and a README')
    .option('--top <name>', `what to build: ${TOPS.join(', ')}`, 'accelerator');
  addAccelFlags(cmd)
    .option('--acc-width <bits>', 'standalone PE only: partial-sum width (default: product width + 8)')
    .option('--out <dir>', 'output folder, replaced atomically (default rtl-out/<top>)')
    .action(async (opts: AccelFlagValues & { top: string; accWidth?: string; out?: string }) => {
      const top = checkOneOf('--top', opts.top, TOPS) as TopName;
      const gen = buildTop({
        top,
        accel: accelOptionsFrom(opts),
        accWidth: opts.accWidth === undefined ? undefined : parseIntFlag('--acc-width', opts.accWidth),
      });
      const out = opts.out ?? `rtl-out/${top}`;
      const files = designFiles(gen.design, gen.config, gen.extra);
      await writeGeneration(out, files);
      process.stdout.write(`msq: wrote ${files.length} files for ${gen.design.top.name} (${gen.design.modules.length} modules) to ${out}\n`);
    });
}
