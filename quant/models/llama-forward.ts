/**
 * The float32 forward pass of a Llama model as llama2.c's run.c computes it,
 * one token at a time with a KV cache, so a quantized model can be evaluated
 * against the float one on the same token sequences (issue 17).
 *
 * Per token: x = embedding row; for each layer, RMSNorm (eps 1e-5) -> q, k, v;
 * RoPE on adjacent pairs of every head of q and k; k, v into the cache;
 * grouped-query causal attention (scores / sqrt(head_size), softmax); wo and a
 * residual add; RMSNorm -> SwiGLU FFN w2(silu(w1 x) * w3 x) and a residual add;
 * then a final RMSNorm and logits = classifier · x.
 *
 * Activations live in Float32Array buffers, so every stored value is rounded to
 * float32 as in run.c; the dot products and norms sum in double before that
 * rounding, which differs from run.c's float accumulators by float32 rounding
 * noise only (the logits after BOS stay within 5e-6 of run.c's).
 *
 * Two seams serve quantization experiments: `LlamaWeights.withLinear` swaps
 * one linear layer's weights for a (quantized) copy, and the runner's
 * `onLinearInput` hook sees the vector fed to every linear layer (calibration
 * capture).
 */
import { InputError } from '../../common/errors.ts';
import { LINEAR_WEIGHT_KINDS, linearLayerNames, type Llama2cConfig, type Llama2cModel, type LinearWeightKind } from './llama2c.ts';

const RMS_EPS = 1e-5;
const ROPE_THETA = 10000;

export interface LlamaLayerWeights {
  attentionNorm: Float32Array;
  ffnNorm: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
}

/** The weights one forward pass uses; immutable, so a quantized variant and the float original can run side by side. */
export class LlamaWeights {
  private constructor(
    readonly config: Llama2cConfig,
    readonly tokEmbeddings: Float32Array,
    readonly layers: readonly LlamaLayerWeights[],
    readonly norm: Float32Array,
    /** The token embedding itself when the model shares its classifier. */
    readonly classifier: Float32Array,
  ) {}

  static fromModel(model: Llama2cModel): LlamaWeights {
    const c = model.config;
    const t = (name: string) => model.tensor(name).data;
    const layers: LlamaLayerWeights[] = [];
    for (let l = 0; l < c.nLayers; l++) {
      const p = `layers.${l}.`;
      layers.push({
        attentionNorm: t(p + 'attention_norm'),
        ffnNorm: t(p + 'ffn_norm'),
        wq: t(p + 'wq'),
        wk: t(p + 'wk'),
        wv: t(p + 'wv'),
        wo: t(p + 'wo'),
        w1: t(p + 'w1'),
        w2: t(p + 'w2'),
        w3: t(p + 'w3'),
      });
    }
    const tok = t('tok_embeddings');
    return new LlamaWeights(c, tok, layers, t('norm'), c.sharedClassifier ? tok : t('output'));
  }

  /** `layers.L.wq` … : the names `linear`, `linearShape` and `withLinear` accept. */
  linearNames(): string[] {
    return linearLayerNames(this.config.nLayers);
  }

  /** [out, in] of a linear layer: its weights are out rows of in floats. */
  linearShape(name: string): [number, number] {
    const c = this.config;
    const { kind } = this.parse(name);
    switch (kind) {
      case 'wq':
      case 'wo':
        return [c.dim, c.dim];
      case 'wk':
      case 'wv':
        return [c.kvDim, c.dim];
      case 'w1':
      case 'w3':
        return [c.hiddenDim, c.dim];
      case 'w2':
        return [c.dim, c.hiddenDim];
    }
  }

  linear(name: string): Float32Array {
    const { layer, kind } = this.parse(name);
    return this.layers[layer][kind];
  }

  /** A copy of these weights with linear layer `name` replaced by `data` ([out][in], row-major); other arrays are shared. */
  withLinear(name: string, data: Float32Array): LlamaWeights {
    const { layer, kind } = this.parse(name);
    const [out, inp] = this.linearShape(name);
    if (data.length !== out * inp) {
      throw new InputError(`weights for ${name} have ${data.length} values: expected ${out}x${inp} = ${out * inp}`);
    }
    const layers = this.layers.map((w, l) => (l === layer ? { ...w, [kind]: data } : w));
    return new LlamaWeights(this.config, this.tokEmbeddings, layers, this.norm, this.classifier);
  }

  private parse(name: string): { layer: number; kind: LinearWeightKind } {
    const m = /^layers\.(\d+)\.(\w+)$/.exec(name);
    const layer = m ? Number(m[1]) : -1;
    const kind = m?.[2] as LinearWeightKind | undefined;
    if (!m || layer >= this.config.nLayers || !LINEAR_WEIGHT_KINDS.includes(kind!)) {
      throw new InputError(
        `'${name}' is not a linear layer of this model: allowed are layers.L.{${LINEAR_WEIGHT_KINDS.join(',')}} with L in 0..${this.config.nLayers - 1}`,
      );
    }
    return { layer, kind: kind! };
  }
}

export interface LlamaRunnerOptions {
  /**
   * Called with the input vector of every linear layer (`layers.L.wq` …), just
   * before its matmul; wq, wk and wv see the same vector, as do w1 and w3. The
   * array is the runner's buffer, overwritten by the next step: copy it to keep it.
   */
  onLinearInput?(name: string, x: Float32Array): void;
}

/** A random number generator: each call returns a number in [0, 1). */
export type Rng = () => number;

/**
 * Marsaglia's xorshift32 (shifts 13, 17, 5): deterministic for a seed, and
 * plenty for drawing tokens. The seed is mixed with a constant first because
 * the all-zero state would never leave zero.
 */
export function seededRng(seed: number): Rng {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s >>> 8) / 0x1000000; // the top 24 bits: exactly representable, below 1
  };
}

/** log softmax in double precision: log-likelihoods are summed over many positions. */
export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  return Float64Array.from(logits, (v) => v - logZ);
}

/** The first index of the largest value (run.c's argmax, which keeps the first of ties). */
export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * out[i] = Σ_j w[i·n + j] · x[j] for i < out.length, with w [out.length][n]
 * row-major (run.c's matmul). Four rows at a time share each load of x[j] and
 * keep four independent sums in flight, about twice as fast in V8 as one row at
 * a time; every row still sums in run.c's order, j = 0, 1, ….
 */
function matmul(out: Float32Array, x: Float32Array, w: Float32Array, n: number): void {
  const d = out.length;
  let i = 0;
  for (; i + 3 < d; i += 4) {
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < n; j++) {
      const xj = x[j];
      s0 += w[r0 + j] * xj;
      s1 += w[r1 + j] * xj;
      s2 += w[r2 + j] * xj;
      s3 += w[r3 + j] * xj;
    }
    out[i] = s0;
    out[i + 1] = s1;
    out[i + 2] = s2;
    out[i + 3] = s3;
  }
  for (; i < d; i++) {
    const r = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += w[r + j] * x[j];
    out[i] = s;
  }
}

function rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array): void {
  let ss = 0;
  for (let j = 0; j < x.length; j++) ss += x[j] * x[j];
  const scale = 1 / Math.sqrt(ss / x.length + RMS_EPS);
  for (let j = 0; j < x.length; j++) out[j] = weight[j] * (scale * x[j]);
}

/** In-place softmax of v[0..n). */
function softmax(v: Float32Array, n: number): void {
  let max = v[0];
  for (let i = 1; i < n; i++) if (v[i] > max) max = v[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    v[i] = Math.exp(v[i] - max);
    sum += v[i];
  }
  for (let i = 0; i < n; i++) v[i] /= sum;
}

/**
 * Causal grouped-query attention of one layer at position pos: for each query
 * head h (of q), softmax over t <= pos of q_h · k_t / sqrt(head_size), then
 * out_h = Σ_t weight_t · v_t, with the keys and values of kv head
 * h / (n_heads / n_kv_heads) taken from the layer's cache rows at layerOff.
 */
function attention(
  out: Float32Array,
  q: Float32Array,
  keys: Float32Array,
  values: Float32Array,
  att: Float32Array,
  layerOff: number,
  pos: number,
  c: Llama2cConfig,
): void {
  const { headSize, kvDim } = c;
  const kvMul = c.nHeads / c.nKvHeads;
  const scale = 1 / Math.sqrt(headSize);
  for (let h = 0; h < c.nHeads; h++) {
    const qOff = h * headSize;
    const kvOff = layerOff + Math.floor(h / kvMul) * headSize;
    for (let t = 0, kt = kvOff; t <= pos; t++, kt += kvDim) {
      let score = 0;
      for (let i = 0; i < headSize; i++) score += q[qOff + i] * keys[kt + i];
      att[t] = score * scale;
    }
    softmax(att, pos + 1);
    // Accumulated in the float32 output, position by position, as run.c does.
    out.fill(0, qOff, qOff + headSize);
    for (let t = 0, vt = kvOff; t <= pos; t++, vt += kvDim) {
      const a = att[t];
      for (let i = 0; i < headSize; i++) out[qOff + i] += a * values[vt + i];
    }
  }
}

/** Runs one model token by token; holds the activations and the KV cache of one sequence. */
export class LlamaRunner {
  private readonly x: Float32Array; // the residual stream
  private readonly xb: Float32Array; // normed input / attention output
  private readonly xb2: Float32Array;
  private readonly hb: Float32Array; // FFN hidden
  private readonly hb2: Float32Array;
  private readonly q: Float32Array;
  private readonly att: Float32Array; // scores of one head over the positions
  private readonly logits: Float32Array;
  private readonly keyCache: Float32Array; // [layer][pos][kv_dim]
  private readonly valueCache: Float32Array;
  private readonly ropeCos: Float32Array; // [head_size / 2] for the current position
  private readonly ropeSin: Float32Array;
  /** Hook names per layer, built once so the per-token loop makes no strings. */
  private readonly names: Record<LinearWeightKind, string>[];
  /** Positions whose keys and values are in the cache: the next forward must be at pos <= filled. */
  private filled = 0;

  constructor(
    readonly weights: LlamaWeights,
    private readonly options: LlamaRunnerOptions = {},
  ) {
    const c = weights.config;
    this.x = new Float32Array(c.dim);
    this.xb = new Float32Array(c.dim);
    this.xb2 = new Float32Array(c.dim);
    this.hb = new Float32Array(c.hiddenDim);
    this.hb2 = new Float32Array(c.hiddenDim);
    this.q = new Float32Array(c.dim);
    this.att = new Float32Array(c.seqLen);
    this.logits = new Float32Array(c.vocabSize);
    this.keyCache = new Float32Array(c.nLayers * c.seqLen * c.kvDim);
    this.valueCache = new Float32Array(c.nLayers * c.seqLen * c.kvDim);
    this.ropeCos = new Float32Array(c.headSize / 2);
    this.ropeSin = new Float32Array(c.headSize / 2);
    this.names = Array.from({ length: c.nLayers }, (_, l) =>
      Object.fromEntries(LINEAR_WEIGHT_KINDS.map((k) => [k, `layers.${l}.${k}`])) as Record<LinearWeightKind, string>,
    );
  }

  get config(): Llama2cConfig {
    return this.weights.config;
  }

  /** Forgets the sequence: the next forward starts at position 0. */
  reset(): void {
    this.filled = 0;
  }

  /**
   * The logits after `token` at position `pos`, given the positions before it
   * in the cache. Positions run 0, 1, 2, …; repeating an earlier pos rewinds
   * the sequence to it. The result is the runner's buffer, overwritten by the
   * next call.
   */
  forward(token: number, pos: number): Float32Array {
    const c = this.config;
    const w = this.weights;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) {
      throw new InputError(`token ${token} is out of range: allowed token ids 0..${c.vocabSize - 1}`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos >= c.seqLen) {
      throw new InputError(`position ${pos} is out of range: the model's seq_len ${c.seqLen} allows 0..${c.seqLen - 1}`);
    }
    if (pos > this.filled) throw new Error(`forward at position ${pos} before positions ${this.filled}..${pos - 1} were run`);
    const { dim, kvDim, hiddenDim, seqLen } = c;
    const { x, xb, xb2, hb, hb2, q, att } = this;
    const hook = this.options.onLinearInput;
    x.set(w.tokEmbeddings.subarray(token * dim, (token + 1) * dim));
    this.setRope(pos);

    for (let l = 0; l < c.nLayers; l++) {
      const lw = w.layers[l];
      const names = this.names[l];
      const layerOff = l * seqLen * kvDim;
      // k and v of this position go straight into the cache, as in run.c.
      const k = this.keyCache.subarray(layerOff + pos * kvDim, layerOff + (pos + 1) * kvDim);
      const v = this.valueCache.subarray(layerOff + pos * kvDim, layerOff + (pos + 1) * kvDim);

      rmsnorm(xb, x, lw.attentionNorm);
      if (hook) {
        hook(names.wq, xb);
        hook(names.wk, xb);
        hook(names.wv, xb);
      }
      matmul(q, xb, lw.wq, dim);
      matmul(k, xb, lw.wk, dim);
      matmul(v, xb, lw.wv, dim);
      this.rotate(q);
      this.rotate(k);

      attention(xb, q, this.keyCache, this.valueCache, att, layerOff, pos, c);
      if (hook) hook(names.wo, xb);
      matmul(xb2, xb, lw.wo, dim);
      for (let i = 0; i < dim; i++) x[i] += xb2[i];

      rmsnorm(xb, x, lw.ffnNorm);
      if (hook) {
        hook(names.w1, xb);
        hook(names.w3, xb);
      }
      matmul(hb, xb, lw.w1, dim);
      matmul(hb2, xb, lw.w3, dim);
      for (let i = 0; i < hiddenDim; i++) {
        const a = hb[i];
        hb[i] = (a / (1 + Math.exp(-a))) * hb2[i]; // silu(w1 x) * w3 x
      }
      if (hook) hook(names.w2, hb);
      matmul(xb, hb, lw.w2, hiddenDim);
      for (let i = 0; i < dim; i++) x[i] += xb[i];
    }

    rmsnorm(x, x, w.norm);
    matmul(this.logits, x, w.classifier, dim);
    this.filled = pos + 1;
    return this.logits;
  }

  /**
   * The first n greedy tokens after `startToken` (BOS = 1), as run.c at
   * temperature 0 prints them (run.c would also stop early at a BOS; this runs
   * all n, so sequences keep their length).
   */
  greedy(n: number, startToken = 1): number[] {
    return this.generate(n, startToken, argmax);
  }

  /**
   * n tokens drawn from softmax(logits / temperature) with `rng` (see
   * seededRng), after `startToken`; temperature 0 is greedy, as in run.c.
   */
  sample(n: number, rng: Rng, temperature = 1, startToken = 1): number[] {
    if (!(temperature >= 0) || !Number.isFinite(temperature)) {
      throw new InputError(`temperature ${temperature} is out of range: allowed are finite values >= 0`);
    }
    if (temperature === 0) return this.greedy(n, startToken);
    const probs = new Float64Array(this.config.vocabSize);
    return this.generate(n, startToken, (logits) => {
      let max = -Infinity;
      for (const v of logits) if (v > max) max = v;
      let sum = 0;
      for (let i = 0; i < logits.length; i++) {
        probs[i] = Math.exp((logits[i] - max) / temperature);
        sum += probs[i];
      }
      // Inverse CDF; the last token catches a coin that rounding leaves above the total.
      const coin = rng() * sum;
      let cdf = 0;
      for (let i = 0; i < probs.length; i++) {
        cdf += probs[i];
        if (coin < cdf) return i;
      }
      return probs.length - 1;
    });
  }

  /**
   * How well the model predicts `tokens` (BOS first, as it was trained):
   * logProbs[i] = log p(tokens[i+1] | tokens[0..i]) in nats, and meanNll the
   * mean of -logProbs.
   */
  sequenceNll(tokens: readonly number[]): { logProbs: Float64Array; meanNll: number } {
    if (tokens.length < 2 || tokens.length - 1 > this.config.seqLen) {
      throw new InputError(`a sequence of ${tokens.length} tokens cannot be scored: allowed lengths are 2..${this.config.seqLen + 1} (seq_len + 1)`);
    }
    const logProbs = new Float64Array(tokens.length - 1);
    this.reset();
    let sum = 0;
    for (let pos = 0; pos < logProbs.length; pos++) {
      const next = tokens[pos + 1];
      const logits = this.forward(tokens[pos], pos);
      if (!Number.isInteger(next) || next < 0 || next >= logits.length) {
        throw new InputError(`token ${next} is out of range: allowed token ids 0..${logits.length - 1}`);
      }
      logProbs[pos] = logSoftmax(logits)[next];
      sum -= logProbs[pos];
    }
    return { logProbs, meanNll: sum / logProbs.length };
  }

  private generate(n: number, startToken: number, pick: (logits: Float32Array) => number): number[] {
    if (!Number.isInteger(n) || n < 0 || n > this.config.seqLen) {
      throw new InputError(`${n} tokens cannot be generated: allowed are 0..${this.config.seqLen} (the model's seq_len)`);
    }
    this.reset();
    const out: number[] = [];
    let token = startToken;
    for (let pos = 0; pos < n; pos++) {
      token = pick(this.forward(token, pos));
      out.push(token);
    }
    return out;
  }

  /**
   * cos and sin of pos · 10000^(-2i/head_size) for pair i of a head (run.c's
   * head_dim = 2i). The frequency and the angle are rounded to float32 as run.c
   * computes them: at position 100 the angle's rounding alone moves cos by ~1e-5.
   */
  private setRope(pos: number): void {
    const headSize = this.config.headSize;
    for (let i = 0; i < headSize / 2; i++) {
      const freq = Math.fround(1 / Math.fround(ROPE_THETA ** Math.fround((2 * i) / headSize)));
      const angle = Math.fround(pos * freq);
      this.ropeCos[i] = Math.cos(angle);
      this.ropeSin[i] = Math.sin(angle);
    }
  }

  /** Rotates each adjacent pair (2i, 2i+1) of every head of vec by its RoPE angle. */
  private rotate(vec: Float32Array): void {
    const half = this.config.headSize / 2;
    for (let i = 0; i < vec.length; i += 2) {
      const p = (i >> 1) % half;
      const c = this.ropeCos[p];
      const s = this.ropeSin[p];
      const v0 = vec[i];
      const v1 = vec[i + 1];
      vec[i] = v0 * c - v1 * s;
      vec[i + 1] = v0 * s + v1 * c;
    }
  }
}
