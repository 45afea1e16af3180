/**
 * Whole-model evaluation behind `msq eval` (issue 17): how much a weight format
 * costs a real language model, not just one tensor's SQNR.
 *
 * 1. Text: `seqs` evaluation sequences of `len` tokens (BOS = 1, then len - 1
 *    tokens) sampled from the float32 model at temperature 1 with
 *    seededRng(seed), one sequence after another from that one stream; and
 *    `calibrationSeqs` calibration sequences of the same length from the
 *    stream seededRng(seed + 2^31). Seeds are 0..2^31 - 1, so the two streams
 *    never coincide, in one run or across runs: no seed's calibration text is
 *    another seed's evaluation text, and `+cal` is always calibrated out of
 *    sample.
 * 2. Calibration: the input vector of every linear layer at every position the
 *    calibration sequences were run at (0..len-2), through the float32 model,
 *    gives X [calibrationSeqs·(len-1), K] per layer.
 * 3. Per format spec (as `msq compare` takes it): every linear layer
 *    (wq wk wv wo w1 w2 w3 of every block) is quantized as W [N, K] = [out, in],
 *    with each family's default blocking, as `msq compare` does (MX/NxFP blocks
 *    along K; MicroScopiQ groups along K and μBs along N), and its captured X as
 *    `activations`, so `+cal` specs run MicroScopiQ's Hessian mode. The token
 *    embedding (which is also the classifier when shared), a separate
 *    classifier and the RMSNorm weights stay float32.
 * 4. Scoring, on positions 1..len-1 of every evaluation sequence (each token
 *    given the ones before it): perplexity exp(mean NLL); mean KL(p_fp32 ‖ p_q)
 *    in nats; top-1 agreement, the fraction of positions whose argmax is
 *    float32's. EBW is the parameter-weighted mean of the layers' EBW, as each
 *    family reports it (MicroScopiQ: every bit of its packed file, padding
 *    included, per real weight).
 *
 * The quantized models run in lockstep with the float32 one, a position at a
 * time, so the float32 distributions are never stored: memory does not grow
 * with seqs·len. Everything is deterministic for a seed.
 */
import { InputError, checkIntRange } from '../../common/errors.ts';
import { parseFormatSpec, type FormatSpec, type QuantizeRequest } from '../schemes.ts';
import { DEFAULTS as MICROSCOPIQ_DEFAULTS } from '../microscopiq/config.ts';
import { LINEAR_WEIGHT_KINDS, linearLayerNames, type Llama2cModel, type LinearWeightKind } from './llama2c.ts';
import { LlamaRunner, LlamaWeights, argmax, logSoftmax, seededRng } from './llama-forward.ts';

/** Rows of `msq eval` when --formats is not given (float32 is always the first row). */
export const DEFAULT_EVAL_SPECS: readonly string[] = [
  'mxint4',
  'mxfp4_e2m1',
  'nxfp4+nm2+am+cr',
  'mxint2',
  'microscopiq+w4',
  'microscopiq+w2',
  'microscopiq+w4+cal',
  'microscopiq+w2+cal',
];

/** The first token of every sequence, as llama2.c's models were trained. */
export const BOS = 1;
/** Greedy tokens reported for the float32 model: run.c's default of 128 steps at temperature 0 (fewer if seq_len is shorter). */
export const GREEDY_TOKENS = 128;

/** Allowed ranges; the sequence length's upper end is the model's seq_len. */
export const EVAL_LIMITS = {
  seqs: { min: 1, max: 4096 },
  /**
   * The captured inputs stay in memory: 32 sequences of 512 tokens are 16 352
   * rows per layer, about 120 MB for stories260K (wq/wk/wv and w1/w3 share one copy).
   */
  calibrationSeqs: { min: 1, max: 32 },
  seed: { min: 0, max: 2 ** 31 - 1 },
  /** BOS and at least one token to score. */
  minLen: 2,
} as const;

/** The seed of the calibration stream: above every evaluation seed (see the header). */
export function calibrationSeed(seed: number): number {
  return seed + 2 ** 31;
}

export interface EvalOptions {
  model: Llama2cModel;
  /** Format specs "NAME[+token...]"; float32 is implicit and must not be listed. */
  specs: readonly string[];
  seqs: number;
  /** Tokens per sequence, BOS included: 2..seq_len. */
  len: number;
  seed: number;
  calibrationSeqs: number;
  /** One line per step (sampling, each format quantized, each sequence scored). */
  progress?: (line: string) => void;
}

export interface LayerEbw {
  name: string;
  /** [N, K] = [out, in]. */
  shape: [number, number];
  ebw: number;
  /** Set when the format refused K and the layer was quantized zero-padded to this width (see quantizeLinearLayer). */
  paddedK?: number;
}

export interface EvalRow {
  /** The spec as given ('float32' for the reference row). */
  format: string;
  /** The family's name of the configuration, e.g. microscopiq-w2+cal. */
  label: string;
  /** Parameter-weighted mean EBW over the quantized linear layers (32 for float32). */
  ebw: number;
  /** Mean negative log-likelihood per scored position, nats. */
  nll: number;
  /** exp(nll). */
  ppl: number;
  /** 100 · (ppl / ppl_float32 - 1). */
  deltaPplPercent: number;
  /** Mean KL(p_float32 ‖ p_format) per scored position, nats. */
  kl: number;
  /** Fraction of scored positions whose argmax equals float32's. */
  top1: number;
  /** Why a number needs a second look (padding), one line. */
  note?: string;
  /** Per linear layer; absent for float32. */
  layers?: LayerEbw[];
}

export interface EvalConfig {
  seqs: number;
  len: number;
  seed: number;
  calibrationSeqs: number;
  calibrationSeed: number;
  temperature: 1;
  bos: number;
  /** seqs · (len - 1). */
  scoredPositions: number;
  /** Rows of each layer's X: calibrationSeqs · (len - 1). */
  calibrationRows: number;
  quantizedLayers: string[];
  quantizedParameters: number;
  /** Tensors every row keeps in float32. */
  float32Tensors: string[];
}

export interface EvalResult {
  config: EvalConfig;
  /** run.c's temperature-0 tokens after BOS, float32 model. */
  greedyTokensFp32: number[];
  rows: EvalRow[];
  /** Formats no layer arrangement could take, with the reason. */
  skipped: { format: string; reason: string }[];
  /** Lines for below the table: what was quantized, on which text. */
  notes: string[];
}

/** Captured inputs of one linear layer, X [rows, K] row-major. */
export interface LayerActivations {
  data: Float32Array;
  rows: number;
  k: number;
}

/**
 * The layers that read another layer's input vector: the runner feeds wq, wk
 * and wv the same vector, and w1 and w3 (LlamaRunnerOptions), so one copy serves each group.
 */
const SAME_INPUT_AS: Partial<Record<LinearWeightKind, LinearWeightKind>> = { wk: 'wq', wv: 'wq', w3: 'w1' };

/** `count` sequences of `len` tokens, BOS first, sampled at temperature 1 from one seededRng(seed) stream. */
export function sampleSequences(weights: LlamaWeights, count: number, len: number, seed: number, runner = new LlamaRunner(weights)): number[][] {
  const rng = seededRng(seed);
  const out: number[][] = [];
  for (let s = 0; s < count; s++) out.push([BOS, ...runner.sample(len - 1, rng, 1, BOS)]);
  return out;
}

/**
 * The calibration sequences (stream calibrationSeed(seed)) and, captured while
 * they are sampled, every linear layer's input at positions 0..len-2 (the
 * forward passes sampling runs): X per layer name.
 */
export function captureCalibration(weights: LlamaWeights, count: number, len: number, seed: number): Map<string, LayerActivations> {
  const rows = count * (len - 1);
  const own = new Map<string, LayerActivations & { filled: number }>();
  const all = new Map<string, LayerActivations>();
  for (const name of linearLayerNames(weights.config.nLayers)) {
    const [layer, kind] = splitName(name);
    if (SAME_INPUT_AS[kind] !== undefined) continue; // filled in with its source below
    const k = weights.linearShape(name)[1];
    const x = { data: new Float32Array(rows * k), rows, k, filled: 0 };
    own.set(name, x);
    all.set(name, x);
    for (const [alias, src] of Object.entries(SAME_INPUT_AS)) if (src === kind) all.set(`layers.${layer}.${alias}`, x);
  }
  const runner = new LlamaRunner(weights, {
    onLinearInput(name, x) {
      const buf = own.get(name);
      if (buf === undefined) return; // an alias: its source was copied just before
      buf.data.set(x, buf.filled); // the hook's buffer is overwritten by the next step
      buf.filled += x.length;
    },
  });
  sampleSequences(weights, count, len, calibrationSeed(seed), runner);
  for (const [name, buf] of own) {
    if (buf.filled !== buf.data.length) throw new Error(`calibration capture of ${name} holds ${buf.filled} values, expected ${buf.data.length}`);
  }
  return all;
}

function splitName(name: string): [number, LinearWeightKind] {
  const [, layer, kind] = name.split('.');
  return [Number(layer), kind as LinearWeightKind];
}

/** Widths a refused K is tried at, smallest first: K rounded up to a multiple of 2, 4, …, 4096 (those above K). */
function paddedWidths(k: number): number[] {
  const widths = new Set<number>();
  for (let m = 2; m <= 4096; m *= 2) {
    const kp = Math.ceil(k / m) * m;
    if (kp > k) widths.add(kp);
  }
  return [...widths].sort((a, b) => a - b);
}

/** W [n, k] (and X [rows, k]) with zero columns appended up to kp. */
function padColumns(data: Float32Array, n: number, k: number, kp: number): Float32Array {
  const out = new Float32Array(n * kp);
  for (let i = 0; i < n; i++) out.set(data.subarray(i * k, (i + 1) * k), i * kp);
  return out;
}

function dropColumns(data: Float32Array, n: number, kp: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; i++) out.set(data.subarray(i * kp, i * kp + k), i * k);
  return out;
}

export type LinearQuantization =
  | { values: Float32Array; ebw: number; label: string; paddedK?: number; refusal?: string }
  | { skipped: string };

/**
 * One linear layer W [n, k] in format `spec`, with its activations X [rows, k].
 * If the family refuses the shape (SchemeFamily.unsupported, e.g. MX's block
 * of 32 on K = 16), W and X get zero columns up to the smallest width of
 * paddedWidths the family takes; zeros change no block maximum and no product,
 * and the padding is dropped after quantizing. The EBW then counts the stored
 * padding: bits per real weight = EBW(padded) · kp / k. A refusal that no
 * width cures (e.g. non-finite weights) is `skipped` with the family's reason.
 */
export function quantizeLinearLayer(spec: FormatSpec, w: Float32Array, n: number, k: number, x: LayerActivations): LinearQuantization {
  const { family, format, options } = spec;
  const request = (data: Float32Array, xData: Float32Array, width: number): QuantizeRequest => ({
    data,
    shape: [n, width],
    rounding: 'nearest',
    activations: { data: xData, shape: [x.rows, width] },
    options,
  });
  const direct = request(w, x.data, k);
  const refusal = family.unsupported?.(format, direct);
  if (refusal === undefined) {
    const r = family.quantize(format, direct);
    return { values: r.values, ebw: r.ebw, label: r.label };
  }
  for (const kp of paddedWidths(k)) {
    const req = request(padColumns(w, n, k, kp), padColumns(x.data, x.rows, k, kp), kp);
    if (family.unsupported?.(format, req) !== undefined) continue;
    const r = family.quantize(format, req);
    return { values: dropColumns(r.values, n, kp, k), ebw: (r.ebw * kp) / k, label: r.label, paddedK: kp, refusal };
  }
  return { skipped: refusal };
}

/**
 * Where MicroScopiQ's hardware layout pads inside the quantizer (its layer
 * builder rounds N up to μBs of B and K up to groups of G), for the row's note:
 * its EBW counts the stored padding, which is why a layer with K = 172 costs
 * more bits than one with K = 64. Undefined for other families and when every
 * shape fits.
 */
function microscopiqPaddingNote(spec: FormatSpec, weights: LlamaWeights): string | undefined {
  if (spec.family.id !== 'microscopiq' || spec.options.compat === 'official') return undefined;
  const G = (spec.options.groupSize as number | undefined) ?? MICROSCOPIQ_DEFAULTS.groupSize;
  const B = (spec.options.ublockSize as number | undefined) ?? MICROSCOPIQ_DEFAULTS.ublockSize;
  const parts: string[] = [];
  for (const kind of LINEAR_WEIGHT_KINDS) {
    // every block of a llama2.c model has the same shapes
    const [n, k] = weights.linearShape(`layers.0.${kind}`);
    const np = Math.ceil(n / B) * B;
    const kp = Math.ceil(k / G) * G;
    const pads = [...(kp !== k ? [`K ${k}→${kp}`] : []), ...(np !== n ? [`N ${n}→${np}`] : [])];
    if (pads.length) parts.push(`${kind} ${pads.join(', ')}`);
  }
  if (parts.length === 0) return undefined;
  return `the hardware layout zero-pads inside the quantizer (groups of G = ${G} along K, μBs of B = ${B} along N): ${parts.join('; ')}; EBW counts the stored padding`;
}

interface QuantizedModel {
  spec: string;
  label: string;
  weights: LlamaWeights;
  ebw: number;
  layers: LayerEbw[];
  note?: string;
}

/** Every linear layer of the model in one format; a refusal no padding cures skips the format. */
function quantizeModel(spec: string, parsed: FormatSpec, weights: LlamaWeights, calibration: Map<string, LayerActivations>): QuantizedModel | { skipped: string } {
  let quantized = weights;
  const layers: LayerEbw[] = [];
  const padded = new Map<string, { kind: string; k: number; kp: number; refusal: string }>();
  let label = spec;
  let bits = 0;
  let params = 0;
  for (const name of linearLayerNames(weights.config.nLayers)) {
    const [n, k] = weights.linearShape(name);
    let r: LinearQuantization;
    try {
      r = quantizeLinearLayer(parsed, weights.linear(name), n, k, calibration.get(name)!);
    } catch (e) {
      // A refused option combination: say which spec and layer it came from.
      if (e instanceof InputError) throw new InputError(`${spec} on ${name} [${n}, ${k}]: ${e.message}`);
      throw e;
    }
    if ('skipped' in r) return { skipped: `${name} [${n}, ${k}]: ${r.skipped}` };
    label = r.label;
    quantized = quantized.withLinear(name, r.values);
    layers.push({ name, shape: [n, k], ebw: r.ebw, ...(r.paddedK !== undefined ? { paddedK: r.paddedK } : {}) });
    if (r.paddedK !== undefined) {
      const kind = splitName(name)[1];
      padded.set(kind, { kind, k, kp: r.paddedK, refusal: r.refusal! });
    }
    bits += r.ebw * n * k;
    params += n * k;
  }
  const notes: string[] = [];
  if (padded.size > 0) {
    const what = [...padded.values()].map((p) => `${p.kind} K ${p.k}→${p.kp}`).join(', ');
    notes.push(`the format refuses K as it is (${[...padded.values()][0]!.refusal}), so ${what} were quantized zero-padded and the padding dropped; EBW counts the padding`);
  }
  const internal = microscopiqPaddingNote(parsed, weights);
  if (internal !== undefined) notes.push(internal);
  return { spec, label, weights: quantized, ebw: bits / params, layers, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

/** The specs, parsed and checked before any slow step: known names and options, no duplicates, no explicit float32. */
function parseSpecs(specs: readonly string[]): { spec: string; parsed: FormatSpec }[] {
  if (specs.length === 0) throw new InputError('--formats is empty: give at least one format, e.g. --formats mxint4,microscopiq+w2+cal');
  const seen = new Set<string>();
  return specs.map((spec) => {
    if (spec === 'float32') throw new InputError('--formats float32: the float32 model is always the first row; list only the formats to compare with it');
    if (seen.has(spec)) throw new InputError(`--formats lists ${spec} twice: give each format once`);
    seen.add(spec);
    return { spec, parsed: parseFormatSpec(spec) };
  });
}

/** Evaluates the float32 model and every format on the same sampled text (see the header). */
export function evaluateModel(opts: EvalOptions): EvalResult {
  const c = opts.model.config;
  const seqs = checkIntRange('--seqs', opts.seqs, EVAL_LIMITS.seqs.min, EVAL_LIMITS.seqs.max);
  // len tokens run at positions 0..len-2 (the last is only scored), so len = seq_len still fits the cache.
  const len = checkIntRange('--len', opts.len, EVAL_LIMITS.minLen, c.seqLen);
  const seed = checkIntRange('--seed', opts.seed, EVAL_LIMITS.seed.min, EVAL_LIMITS.seed.max);
  const calibrationSeqs = checkIntRange('--calibration-seqs', opts.calibrationSeqs, EVAL_LIMITS.calibrationSeqs.min, EVAL_LIMITS.calibrationSeqs.max);
  const specs = parseSpecs(opts.specs);
  const progress = opts.progress ?? (() => {});

  const weights = LlamaWeights.fromModel(opts.model);
  const greedyTokensFp32 = new LlamaRunner(weights).greedy(Math.min(GREEDY_TOKENS, c.seqLen), BOS);
  const sequences = sampleSequences(weights, seqs, len, seed);
  progress(`sampled ${seqs} evaluation sequences of ${len} tokens (seed ${seed})`);
  const calibration = captureCalibration(weights, calibrationSeqs, len, seed);
  progress(`captured the linear-layer inputs of ${calibrationSeqs} calibration sequences (seed ${calibrationSeed(seed)}): ${calibrationSeqs * (len - 1)} rows per layer`);

  const models: QuantizedModel[] = [];
  const skipped: EvalResult['skipped'] = [];
  for (const [i, { spec, parsed }] of specs.entries()) {
    const t0 = performance.now();
    const q = quantizeModel(spec, parsed, weights, calibration);
    const took = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    if ('skipped' in q) {
      skipped.push({ format: spec, reason: q.skipped });
      progress(`format ${i + 1}/${specs.length} ${spec}: skipped (${q.skipped})`);
    } else {
      models.push(q);
      progress(`format ${i + 1}/${specs.length} ${spec}: quantized ${linearLayerNames(c.nLayers).length} linear layers, EBW ${q.ebw.toFixed(4)} (${took})`);
    }
  }

  // Scoring in lockstep: one float32 pass per position, every format beside it.
  const fp = new LlamaRunner(weights);
  const runners = models.map((m) => new LlamaRunner(m.weights));
  const nll = new Float64Array(models.length);
  const kl = new Float64Array(models.length);
  const agree = new Float64Array(models.length);
  let fpNll = 0;
  const pFp = new Float64Array(c.vocabSize);
  for (const [s, tokens] of sequences.entries()) {
    fp.reset();
    for (const r of runners) r.reset();
    for (let pos = 0; pos + 1 < tokens.length; pos++) {
      const token = tokens[pos]!;
      const next = tokens[pos + 1]!;
      const logits = fp.forward(token, pos);
      const top = argmax(logits);
      const lpFp = logSoftmax(logits);
      fpNll -= lpFp[next]!;
      for (let v = 0; v < pFp.length; v++) pFp[v] = Math.exp(lpFp[v]!);
      for (let f = 0; f < runners.length; f++) {
        const lq = runners[f]!.forward(token, pos);
        if (argmax(lq) === top) agree[f]++;
        const lpQ = logSoftmax(lq);
        nll[f] -= lpQ[next]!;
        let d = 0;
        for (let v = 0; v < pFp.length; v++) d += pFp[v]! * (lpFp[v]! - lpQ[v]!);
        kl[f] += d;
      }
    }
    progress(`scored sequence ${s + 1}/${seqs} on float32 and ${runners.length} format(s)`);
  }

  const positions = seqs * (len - 1);
  const fpMean = fpNll / positions;
  const fpPpl = Math.exp(fpMean);
  const rows: EvalRow[] = [{ format: 'float32', label: 'float32', ebw: 32, nll: fpMean, ppl: fpPpl, deltaPplPercent: 0, kl: 0, top1: 1 }];
  models.forEach((m, f) => {
    const mean = nll[f]! / positions;
    const ppl = Math.exp(mean);
    rows.push({
      format: m.spec,
      label: m.label,
      ebw: m.ebw,
      nll: mean,
      ppl,
      deltaPplPercent: 100 * (ppl / fpPpl - 1),
      kl: kl[f]! / positions,
      top1: agree[f]! / positions,
      ...(m.note !== undefined ? { note: m.note } : {}),
      layers: m.layers,
    });
  });

  const quantizedLayers = linearLayerNames(c.nLayers);
  const quantizedParameters = quantizedLayers.reduce((sum, name) => sum + weights.linearShape(name).reduce((a, b) => a * b, 1), 0);
  const float32Tensors = opts.model.tensorNames().filter((name) => !quantizedLayers.includes(name));
  const config: EvalConfig = {
    seqs,
    len,
    seed,
    calibrationSeqs,
    calibrationSeed: calibrationSeed(seed),
    temperature: 1,
    bos: BOS,
    scoredPositions: positions,
    calibrationRows: calibrationSeqs * (len - 1),
    quantizedLayers,
    quantizedParameters,
    float32Tensors,
  };
  const kept = c.sharedClassifier ? 'the token embedding (also the classifier: it is shared)' : 'the token embedding, the classifier';
  const notes = [
    `quantized: the ${quantizedLayers.length} linear layers (${LINEAR_WEIGHT_KINDS.join(' ')} of ${c.nLayers} blocks, ${quantizedParameters} parameters), W [out, in] with each format's default blocking as in msq compare; ` +
      `${kept} and the RMSNorm weights stay float32`,
    `text: ${seqs} sequences of ${len} tokens (BOS first) sampled from the float32 model at temperature 1, seed ${seed}; ` +
      `${positions} scored positions; the float32 perplexity is thus the model's on its own samples`,
    `+cal: Hessian calibration on ${calibrationSeqs} other sampled sequences (seed ${calibrationSeed(seed)}), X = each layer's float32 inputs, ${calibrationSeqs * (len - 1)} rows`,
    'EBW: parameter-weighted mean over the quantized layers, as each format reports it; KL(p_float32 ‖ p_format) in nats; top-1: argmax equal to float32\'s',
  ];
  return { config, greedyTokensFp32, rows, skipped, notes };
}

/** The rows as a markdown table; notes, per-row notes and skipped formats below it. */
export function evalMarkdown(result: EvalResult): string {
  const head = ['format', 'EBW (bits)', 'perplexity', 'Δppl', 'KL (nats)', 'top-1'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of result.rows) {
    const mark = r.note !== undefined ? ' †' : '';
    const delta = r.format === 'float32' ? '—' : `${r.deltaPplPercent >= 0 ? '+' : ''}${r.deltaPplPercent.toFixed(2)} %`;
    const kl = r.format === 'float32' ? '0' : r.kl.toPrecision(3);
    lines.push(`| ${r.label}${mark} | ${r.ebw.toFixed(4)} | ${r.ppl.toFixed(4)} | ${delta} | ${kl} | ${(100 * r.top1).toFixed(2)} % |`);
  }
  // Rows with the same note (all MicroScopiQ rows, typically) share one line.
  const byNote = new Map<string, string[]>();
  for (const r of result.rows) if (r.note !== undefined) byNote.set(r.note, [...(byNote.get(r.note) ?? []), r.label]);
  const tail = [
    ...result.notes,
    ...[...byNote].map(([note, labels]) => `† ${labels.join(', ')}: ${note}`),
    ...result.skipped.map((s) => `skipped ${s.format}: ${s.reason}`),
  ];
  return `${lines.join('\n')}\n\n${tail.join('\n')}\n`;
}
