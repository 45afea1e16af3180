/**
 * Loads the tensor an `--input` flag names: `FILE.npy`,
 * `FILE.safetensors:TENSOR_NAME` for one tensor of a safetensors checkpoint, or
 * `FILE.json:TENSOR_NAME` for one weight of a TensorFlow.js model (model.json
 * with its shard files beside it), or `FILE.bin:TENSOR_NAME` for one weight of
 * a llama2.c checkpoint (names as quant/models/llama2c.ts gives them, e.g.
 * layers.0.w1).
 * A float64 .npy is converted to float32, and `note` (by default one
 * `msq: note: …` line on stderr) says so.
 */
import { InputError } from '../common/errors.ts';
import { readNpy } from './npy.ts';
import { readSafetensorsTensor, readSafetensorsHeader, type LoadedTensor } from './safetensors.ts';
import { readTfjsManifest, readTfjsTensor, describeFloatTensors } from './tfjs.ts';
import { readLlama2c } from './models/llama2c.ts';

const SAFETENSORS = '.safetensors';
const TFJS = '.json';
const LLAMA2C = '.bin';

/** The `FILE.ext:NAME` form of each multi-tensor file kind, for messages. */
const NAMED_FORM: Record<string, string> = { [SAFETENSORS]: 'FILE.safetensors:TENSOR_NAME', [TFJS]: 'model.json:TENSOR_NAME', [LLAMA2C]: 'model.bin:TENSOR_NAME' };

/** The forms an --input accepts, for error messages. */
const FORMS = 'FILE.npy, FILE.safetensors:TENSOR_NAME, model.json:TENSOR_NAME (TensorFlow.js) or model.bin:TENSOR_NAME (llama2.c)';

/** Prints a note of the CLI on stderr. */
export function stderrNote(message: string): void {
  process.stderr.write(`msq: note: ${message}\n`);
}

/**
 * Splits `FILE.ext:NAME` at the first `.safetensors:`, `.json:` or `.bin:`, whichever
 * comes first: tensor names may contain colons and dots, file names rarely
 * contain these markers.
 */
function splitNamed(spec: string): { path: string; ext: string; name: string } | undefined {
  let best: { path: string; ext: string; name: string } | undefined;
  let bestAt = Infinity;
  for (const ext of [SAFETENSORS, TFJS, LLAMA2C]) {
    const at = spec.indexOf(`${ext}:`);
    if (at >= 0 && at < bestAt) {
      bestAt = at;
      best = { path: spec.slice(0, at + ext.length), ext, name: spec.slice(at + ext.length + 1) };
    }
  }
  return best;
}

export function loadTensor(spec: string, note: (message: string) => void = stderrNote): LoadedTensor {
  const named = splitNamed(spec);
  if (named) {
    if (named.name === '') throw new InputError(`--input ${spec}: give the tensor name after the colon (${NAMED_FORM[named.ext]})`);
    if (named.ext === SAFETENSORS) return readSafetensorsTensor(named.path, named.name);
    if (named.ext === TFJS) return readTfjsTensor(named.path, named.name);
    // a copy: the model's tensors are views into one buffer of the whole file
    const t = readLlama2c(named.path).tensor(named.name);
    return { ...t, data: t.data.slice() };
  }
  if (spec.endsWith(SAFETENSORS)) {
    const names = Object.keys(readSafetensorsHeader(spec).entries);
    throw new InputError(
      `--input ${spec}: a .safetensors file holds several tensors; name one as ${spec}:TENSOR_NAME (tensors: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''})`,
    );
  }
  if (spec.endsWith(TFJS)) {
    const manifest = readTfjsManifest(spec);
    throw new InputError(`--input ${spec}: a TFJS model holds several tensors; name one as ${spec}:TENSOR_NAME (${describeFloatTensors(manifest)})`);
  }
  if (spec.endsWith(LLAMA2C)) {
    const names = readLlama2c(spec).tensorNames();
    throw new InputError(`--input ${spec}: a llama2.c checkpoint holds several tensors; name one as ${spec}:TENSOR_NAME (tensors: ${names.slice(0, 20).join(', ')}${names.length > 20 ? `, ... (${names.length} in all)` : ''})`);
  }
  if (!spec.endsWith('.npy')) throw new InputError(`--input ${spec}: expected ${FORMS}`);
  const t = readNpy(spec);
  if (t.converted) {
    const o = t.converted.overflowed;
    note(`${spec} is float64; converted to float32${o ? ` (${o} value${o === 1 ? '' : 's'} beyond float32's range became ±Inf)` : ''}`);
  }
  return t;
}
