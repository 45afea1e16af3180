/**
 * Loads the tensor an `--input` flag names: `FILE.npy`, or
 * `FILE.safetensors:TENSOR_NAME` for one tensor of a safetensors checkpoint.
 * A float64 .npy is converted to float32, and `note` (by default one
 * `msq: note: …` line on stderr) says so.
 */
import { InputError } from '../common/errors.ts';
import { readNpy } from './npy.ts';
import { readSafetensorsTensor, readSafetensorsHeader, type LoadedTensor } from './safetensors.ts';

const SAFETENSORS = '.safetensors';

/** Prints a note of the CLI on stderr. */
export function stderrNote(message: string): void {
  process.stderr.write(`msq: note: ${message}\n`);
}

export function loadTensor(spec: string, note: (message: string) => void = stderrNote): LoadedTensor {
  const at = spec.indexOf(`${SAFETENSORS}:`);
  if (at >= 0) {
    const path = spec.slice(0, at + SAFETENSORS.length);
    const name = spec.slice(at + SAFETENSORS.length + 1);
    if (name === '') throw new InputError(`--input ${spec}: give the tensor name after the colon (FILE.safetensors:TENSOR_NAME)`);
    return readSafetensorsTensor(path, name);
  }
  if (spec.endsWith(SAFETENSORS)) {
    const names = Object.keys(readSafetensorsHeader(spec).entries);
    throw new InputError(
      `--input ${spec}: a .safetensors file holds several tensors; name one as ${spec}:TENSOR_NAME (tensors: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''})`,
    );
  }
  if (!spec.endsWith('.npy')) throw new InputError(`--input ${spec}: expected a .npy file or FILE.safetensors:TENSOR_NAME`);
  const t = readNpy(spec);
  if (t.converted) {
    const o = t.converted.overflowed;
    note(`${spec} is float64; converted to float32${o ? ` (${o} value${o === 1 ? '' : 's'} beyond float32's range became ±Inf)` : ''}`);
  }
  return t;
}
