/**
 * `msq eval`: perplexity, KL divergence and top-1 agreement of a llama2.c model
 * with its linear layers in each format, against the float32 model, on text
 * sampled from the float32 model (quant/models/eval.ts). Markdown table on
 * stdout, progress on stderr, --json FILE for the numbers and the float32
 * greedy tokens.
 */
import type { Command } from 'commander';
import { checkOutputFile, writeFileAtomically } from '../../common/output-path.ts';
import { allFormatNames } from '../../quant/schemes.ts';
import { readLlama2c } from '../../quant/models/llama2c.ts';
import { DEFAULT_EVAL_SPECS, EVAL_LIMITS, GREEDY_TOKENS, evalMarkdown, evaluateModel } from '../../quant/models/eval.ts';
import { parseIntFlag } from '../parse.ts';

interface EvalFlags {
  model: string;
  formats?: string;
  seqs: string;
  len: string;
  seed: string;
  calibrationSeqs: string;
  json?: string;
}

export function registerEval(program: Command): void {
  const { seqs, calibrationSeqs, seed, minLen } = EVAL_LIMITS;
  program
    .command('eval')
    .description(
      'evaluate a llama2.c model with its linear layers in each format against float32: perplexity, KL divergence and top-1 agreement on sampled text, and EBW',
    )
    .requiredOption('--model <file>', 'llama2.c checkpoint FILE.bin (float32: the legacy header or export.py version 1), e.g. stories260K.bin')
    .option(
      '--formats <list>',
      `comma-separated format specs NAME[+opt...] as msq compare takes them (float32 is always the first row); NAME one of ${allFormatNames().join(', ')}; ` +
        `+cal calibrates MicroScopiQ on the calibration sequences; default: ${DEFAULT_EVAL_SPECS.join(',')}`,
    )
    .option('--seqs <n>', `evaluation sequences sampled from the float32 model, ${seqs.min}..${seqs.max}`, '8')
    .option('--len <n>', `tokens per sequence, BOS included (len - 1 positions scored each), ${minLen}..seq_len of the model`, '128')
    .option('--seed <n>', `seed of the evaluation text, ${seed.min}..${seed.max}; the calibration text uses seed + 2^31`, '1')
    .option(
      '--calibration-seqs <n>',
      `separate sampled sequences (of --len tokens) whose linear-layer inputs calibrate +cal formats, ${calibrationSeqs.min}..${calibrationSeqs.max}`,
      '8',
    )
    .option('--json <file>', `also write the configuration, the float32 greedy tokens (${GREEDY_TOKENS} after BOS) and the rows to FILE.json`)
    .action((flags: EvalFlags) => {
      const specs = (flags.formats ?? DEFAULT_EVAL_SPECS.join(','))
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const opts = {
        seqs: parseIntFlag('--seqs', flags.seqs),
        len: parseIntFlag('--len', flags.len),
        seed: parseIntFlag('--seed', flags.seed),
        calibrationSeqs: parseIntFlag('--calibration-seqs', flags.calibrationSeqs),
      };
      // Checked before the slow part, so a bad path costs nothing and leaves nothing behind.
      const json = flags.json === undefined ? undefined : checkOutputFile('--json', flags.json, ['.json']);
      const model = readLlama2c(flags.model);
      const t0 = performance.now();
      const progress = (line: string) => process.stderr.write(`msq eval: [${((performance.now() - t0) / 1000).toFixed(1)} s] ${line}\n`);
      const result = evaluateModel({ model, specs, ...opts, progress });
      const c = model.config;
      if (json !== undefined) {
        const doc = {
          model: {
            path: flags.model,
            format: model.format,
            dim: c.dim,
            hiddenDim: c.hiddenDim,
            nLayers: c.nLayers,
            nHeads: c.nHeads,
            nKvHeads: c.nKvHeads,
            vocabSize: c.vocabSize,
            seqLen: c.seqLen,
            sharedClassifier: c.sharedClassifier,
          },
          config: result.config,
          greedy_tokens_fp32: result.greedyTokensFp32,
          rows: result.rows,
          skipped: result.skipped,
          notes: result.notes,
        };
        // JSON has no NaN: a diverged model's numbers are written as null.
        writeFileAtomically(json, `${JSON.stringify(doc, null, 2)}\n`);
      }
      process.stdout.write(
        `${flags.model}: dim ${c.dim}, hidden ${c.hiddenDim}, ${c.nLayers} layers, ${c.nHeads} heads (${c.nKvHeads} kv), vocab ${c.vocabSize}, seq_len ${c.seqLen}; ` +
          `${result.config.seqs} × ${result.config.len} tokens, seed ${result.config.seed}\n\n`,
      );
      process.stdout.write(evalMarkdown(result));
      progress(`done${json !== undefined ? `; JSON ${flags.json}` : ''}`);
    });
}
