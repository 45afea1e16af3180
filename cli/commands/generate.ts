import type { Command } from 'commander';
import { buildTop, TOPS, type TopName } from '../../generator/targets.ts';
import { designFiles, writeGeneration } from '../../generator/emit.ts';
import { checkOneOf } from '../../common/errors.ts';
import { parseIntFlag } from '../parse.ts';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('elaborate a design and write its Verilog, filelist.f and manifest.json')
    .option('--top <name>', `what to build: ${TOPS.join(', ')}`, 'pe')
    .option('--wbits <b>', 'weight operand width: 2 or 4', '4')
    .option('--abits <a>', 'activation operand width: 4..8', '8')
    .option('--acc-width <bits>', 'PE partial-sum width (default: product width + 8)')
    .option('--out <dir>', 'output folder (replaced atomically; default rtl-out/<top>)')
    .action(async (opts: { top: string; wbits: string; abits: string; accWidth?: string; out?: string }) => {
      const top = checkOneOf('--top', opts.top, TOPS) as TopName;
      const gen = buildTop({
        top,
        wbits: parseIntFlag('--wbits', opts.wbits),
        abits: parseIntFlag('--abits', opts.abits),
        accWidth: opts.accWidth === undefined ? undefined : parseIntFlag('--acc-width', opts.accWidth),
      });
      const out = opts.out ?? `rtl-out/${top}`;
      const files = designFiles(gen.design, gen.config);
      await writeGeneration(out, files);
      process.stdout.write(`msq: wrote ${files.length} files for ${gen.design.top.name} to ${out}\n`);
    });
}
