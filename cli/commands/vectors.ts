import type { Command } from 'commander';
import { resolveAccelConfig } from '../../generator/accel-config.ts';
import { checkOutputFolder, writeFolderAtomically } from '../../common/output-path.ts';
import { addAccelFlags, accelOptionsFrom, type AccelFlagValues } from '../accel-flags.ts';
import { addProblemFlags, problemFrom, type ProblemFlagValues } from '../problem-flags.ts';
import { writeVectorFiles } from '../../testbench/vector-files.ts';
import { InputError } from '../../common/errors.ts';

export function registerVectors(program: Command): void {
  const cmd = program
    .command('vectors')
    .description('quantize random LLM-like weights and activations for a configuration and write stimulus and expected results (readmemh hex + manifest.json)');
  addProblemFlags(addAccelFlags(cmd))
    .option('--out <dir>', 'output folder (required), written atomically; an existing one is replaced only when it is empty or an earlier msq output')
    .action(async (opts: AccelFlagValues & ProblemFlagValues & { out?: string }) => {
      if (opts.out === undefined) throw new InputError('--out DIR is required: the folder to write the vectors into');
      const out = checkOutputFolder('--out', opts.out);
      const c = resolveAccelConfig(accelOptionsFrom(opts));
      const p = problemFrom(opts, c);
      let summary = '';
      await writeFolderAtomically(out, (tmp) => {
        const m = writeVectorFiles(tmp, c, p);
        summary = `${m.counts.weightWords} weight words, ${m.counts.activationBeats} activation beats, ${m.counts.resultWords} expected result words (M=${p.M} K=${m.problem.Kpadded} N=${p.N}, ${m.quantizer.outliers} outliers)`;
      });
      process.stdout.write(`msq: wrote vectors to ${opts.out}: ${summary}\n`);
    });
}
