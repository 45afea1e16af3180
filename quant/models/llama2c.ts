/**
 * Reads a llama2.c checkpoint (Karpathy's llama2.c, `run.c` / `export.py`) so a
 * small real language model can be evaluated before and after quantizing its
 * linear layers.
 *
 * Two layouts exist, both little-endian float32 after the header:
 *  - legacy (what run.c reads): 7 int32 `dim, hidden_dim, n_layers, n_heads,
 *    n_kv_heads, vocab_size, seq_len`; a negative vocab_size means a separate
 *    classifier follows. Weights: tok_embeddings, attention norms, wq, wk, wv,
 *    wo, ffn norms, w1, w2, w3, final norm, seq_len·head_size floats of RoPE
 *    tables run.c ignores, then the classifier if not shared.
 *  - export.py's versioned one: uint32 magic "ak42", int32 version, the 7 int32
 *    parameters, uint8 shared_classifier, zero padding to 256 bytes. Version 1
 *    is float32 with the weights ordered attention norms, ffn norms, final norm,
 *    tok_embeddings, wq, wk, wv, wo, w1, w2, w3, then the classifier if not
 *    shared; version 2 is int8 (Q8_0), which this float reference does not read.
 *
 * Every matrix is [out][in], row-major, as run.c's matmul reads it.
 */
import { readInputFile } from '../../common/input-file.ts';
import { InputError } from '../../common/errors.ts';
import type { LoadedTensor } from '../safetensors.ts';

export interface Llama2cConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  /** True when the classifier is the token embedding matrix (no `output` tensor). */
  sharedClassifier: boolean;
  /** dim / nHeads. */
  headSize: number;
  /** Width of a key or value vector: dim · nKvHeads / nHeads. */
  kvDim: number;
}

export interface Llama2cModel {
  config: Llama2cConfig;
  /** 'legacy' (no magic) or 'v1' (export.py version 1, float32). */
  format: 'legacy' | 'v1';
  /** All tensor names: tok_embeddings, layers.L.* in layer order, norm, and output when not shared. */
  tensorNames(): string[];
  /**
   * Tensor `name` ('F32'); an unknown name is an InputError listing the names.
   * The data views the model's one buffer, so tensors cost no copy: copy it
   * before modifying it.
   */
  tensor(name: string): LoadedTensor;
}

/** The linear layers of a Llama block, in llama2.c's file order (the pass runs w3 before w2). */
export const LINEAR_WEIGHT_KINDS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const;
export type LinearWeightKind = (typeof LINEAR_WEIGHT_KINDS)[number];

/** The names of all linear layers, `layers.0.wq` … `layers.{nLayers-1}.w3`: what a weight quantizer replaces. */
export function linearLayerNames(nLayers: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < nLayers; l++) for (const kind of LINEAR_WEIGHT_KINDS) names.push(`layers.${l}.${kind}`);
  return names;
}

const MAGIC = 0x616b3432; // "ak42" read as a little-endian uint32
const LEGACY_HEADER_BYTES = 7 * 4;
const V1_HEADER_BYTES = 256;
const PARAM_NAMES = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;

/** One run of floats in the file: a tensor (a perLayer one repeats n_layers times, back to back) or skipped floats. */
type Segment = { name: string; shape: number[]; perLayer: boolean } | { skip: number };

export function readLlama2c(path: string): Llama2cModel {
  const bytes = readInputFile(path);
  if (bytes.length < 4) {
    throw new InputError(`${path} is too short for a llama2.c checkpoint: ${bytes.length} bytes, the header alone needs ${LEGACY_HEADER_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const versioned = view.getUint32(0, true) === MAGIC;
  const headerBytes = versioned ? V1_HEADER_BYTES : LEGACY_HEADER_BYTES;
  if (bytes.length < headerBytes) {
    throw new InputError(`${path} is too short for a llama2.c checkpoint: ${bytes.length} bytes, its ${versioned ? 'versioned' : 'legacy'} header needs ${headerBytes}`);
  }
  if (versioned) {
    const version = view.getInt32(4, true);
    if (version === 2) {
      throw new InputError(`${path} is a llama2.c version 2 checkpoint (int8 Q8_0): only float32 versions are supported (legacy, or version 1)`);
    }
    if (version !== 1) {
      throw new InputError(`${path}: llama2.c checkpoint version ${version} is not supported: allowed versions are 1 (float32) or the legacy header without magic`);
    }
  }
  const p0 = versioned ? 8 : 0;
  const params = PARAM_NAMES.map((_, i) => view.getInt32(p0 + 4 * i, true));
  let sharedClassifier: boolean;
  if (versioned) {
    const flag = view.getUint8(p0 + 28);
    if (flag > 1) throw new InputError(`${path}: shared_classifier byte ${flag} is not allowed: allowed values are 0, 1`);
    sharedClassifier = flag === 1;
    if (params[5] <= 0) throw new InputError(`${path}: vocab_size ${params[5]} is out of range: a version 1 header needs a positive vocab_size (sharing is its own flag)`);
  } else {
    // The legacy format encodes "separate classifier" as the sign of vocab_size.
    sharedClassifier = params[5] > 0;
    params[5] = Math.abs(params[5]);
  }
  const config = checkConfig(path, params, sharedClassifier);

  const segments = versioned ? v1Segments(config) : legacySegments(config);
  const floats = segments.reduce((n, s) => n + ('skip' in s ? s.skip : count(s.shape) * (s.perLayer ? config.nLayers : 1)), 0);
  const expected = headerBytes + 4 * floats;
  if (bytes.length !== expected) {
    const described = `dim=${config.dim}, hidden_dim=${config.hiddenDim}, n_layers=${config.nLayers}, n_heads=${config.nHeads}, n_kv_heads=${config.nKvHeads}, vocab_size=${config.vocabSize}, seq_len=${config.seqLen}, ${sharedClassifier ? 'shared' : 'separate'} classifier`;
    throw new InputError(`${path} is too ${bytes.length < expected ? 'short' : 'long'}: ${bytes.length} bytes, but its header (${described}) needs exactly ${expected}`);
  }

  // One aligned copy of all the weights (a Buffer may sit at any byte offset of
  // Node's pool); tensors are views into it. Float32Array reads in the
  // platform's byte order, which is the file's little-endian on x86-64 and arm64.
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes.subarray(headerBytes));
  const tensors = new Map<string, LoadedTensor>();
  let at = 0;
  for (const s of segments) {
    if ('skip' in s) {
      at += s.skip;
      continue;
    }
    const size = count(s.shape);
    for (let l = 0; l < (s.perLayer ? config.nLayers : 1); l++) {
      tensors.set(s.perLayer ? `layers.${l}.${s.name}` : s.name, { shape: [...s.shape], dtype: 'F32', data: all.subarray(at, at + size) });
      at += size;
    }
  }
  const names = canonicalNames(config);
  return {
    config,
    format: versioned ? 'v1' : 'legacy',
    tensorNames: () => [...names],
    tensor(name: string): LoadedTensor {
      const t = tensors.get(name);
      if (!t) {
        const shown = names.slice(0, 20).join(', ') + (names.length > 20 ? `, ... (${names.length} in all)` : '');
        throw new InputError(`${path} has no tensor '${name}': tensors are ${shown}`);
      }
      return { shape: [...t.shape], dtype: t.dtype, data: t.data };
    },
  };
}

function count(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkConfig(path: string, params: number[], sharedClassifier: boolean): Llama2cConfig {
  PARAM_NAMES.forEach((name, i) => {
    if (params[i] <= 0) throw new InputError(`${path}: header field ${name} ${params[i]} is out of range: allowed are positive integers`);
  });
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen] = params;
  if (dim % nHeads !== 0) throw new InputError(`${path}: n_heads ${nHeads} does not divide dim ${dim}`);
  if (nHeads % nKvHeads !== 0) throw new InputError(`${path}: n_kv_heads ${nKvHeads} does not divide n_heads ${nHeads}`);
  const headSize = dim / nHeads;
  // RoPE rotates adjacent pairs within a head.
  if (headSize % 2 !== 0) throw new InputError(`${path}: head size dim/n_heads = ${headSize} is odd: RoPE needs an even head size`);
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier, headSize, kvDim: (dim * nKvHeads) / nHeads };
}

function blockSegments(c: Llama2cConfig): Record<LinearWeightKind | 'attention_norm' | 'ffn_norm', Segment> {
  const layer = (name: string, shape: number[]): Segment => ({ name, shape, perLayer: true });
  return {
    attention_norm: layer('attention_norm', [c.dim]),
    ffn_norm: layer('ffn_norm', [c.dim]),
    wq: layer('wq', [c.dim, c.dim]),
    wk: layer('wk', [c.kvDim, c.dim]),
    wv: layer('wv', [c.kvDim, c.dim]),
    wo: layer('wo', [c.dim, c.dim]),
    w1: layer('w1', [c.hiddenDim, c.dim]),
    w2: layer('w2', [c.dim, c.hiddenDim]),
    w3: layer('w3', [c.hiddenDim, c.dim]),
  };
}

function globalSegments(c: Llama2cConfig): { tok: Segment; norm: Segment; output: Segment[] } {
  return {
    tok: { name: 'tok_embeddings', shape: [c.vocabSize, c.dim], perLayer: false },
    norm: { name: 'norm', shape: [c.dim], perLayer: false },
    output: c.sharedClassifier ? [] : [{ name: 'output', shape: [c.vocabSize, c.dim], perLayer: false }],
  };
}

function legacySegments(c: Llama2cConfig): Segment[] {
  const b = blockSegments(c);
  const g = globalSegments(c);
  return [g.tok, b.attention_norm, b.wq, b.wk, b.wv, b.wo, b.ffn_norm, b.w1, b.w2, b.w3, g.norm, { skip: c.seqLen * c.headSize }, ...g.output];
}

function v1Segments(c: Llama2cConfig): Segment[] {
  const b = blockSegments(c);
  const g = globalSegments(c);
  return [b.attention_norm, b.ffn_norm, g.norm, g.tok, b.wq, b.wk, b.wv, b.wo, b.w1, b.w2, b.w3, ...g.output];
}

/** Names in model order, whatever the file's order: embedding, each block, final norm, classifier. */
function canonicalNames(c: Llama2cConfig): string[] {
  const names = ['tok_embeddings'];
  for (let l = 0; l < c.nLayers; l++) {
    for (const kind of ['attention_norm', 'wq', 'wk', 'wv', 'wo', 'ffn_norm', 'w1', 'w2', 'w3']) names.push(`layers.${l}.${kind}`);
  }
  names.push('norm');
  if (!c.sharedClassifier) names.push('output');
  return names;
}
