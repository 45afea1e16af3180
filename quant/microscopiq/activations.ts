/**
 * Activation quantizer of the arithmetic contract: MX-INT-a (a = 4..8 bits)
 * along the same K groups of G inputs as the weights, an E8M0 exponent S_x[m][g]
 * per (row, group). Value of x[m][k] = q·2^(S_x - (a-2)), |q| <= 2^(a-1) - 1.
 *
 * The quantization itself is quant/mx.ts (bit-exact microxcaling MX with an
 * intN element); X is zero-padded to Kp = ceil(K/G)·G first (zeros change no
 * block maximum), so every group is whole, as in the weight layout.
 */
import { InputError, checkIntRange } from '../../common/errors.ts';
import { elementFormat, ELEMENT_FORMAT_NAMES, type IntElementFormat, type Rounding } from '../formats.ts';
import { mxEncode } from '../mx.ts';
import { E8M0_NAN_CODE } from '../shared-exponent.ts';

/**
 * microxcaling's intN element of width `bits`: the registry's int2/int4/int8
 * when it has one; widths the registry lacks (5, 6, 7) are built by the same
 * rule (sign-magnitude 1.(bits-2) fixed point). If quant/formats.ts gains
 * these widths, this falls through to them automatically.
 */
export function intElementOfWidth(bits: number): IntElementFormat {
  const name = `int${bits}`;
  if (ELEMENT_FORMAT_NAMES.includes(name)) return elementFormat(name) as IntElementFormat;
  const fracBits = bits - 2;
  const maxInt = 2 ** (bits - 1) - 1;
  return Object.freeze({
    kind: 'int' as const,
    name,
    bits,
    emax: 0,
    fracBits,
    maxInt,
    maxNormal: maxInt / 2 ** fracBits,
    description: `microxcaling-style int${bits}: sign-magnitude 1.${fracBits} fixed point`,
  });
}

export interface MsqActivations {
  M: number;
  K: number;
  Kp: number;
  groupSize: number;
  groups: number;
  /** a: activation bits. */
  bits: number;
  /** a - 2: LSB of group (m, g) is 2^(S_x - fracBits). */
  fracBits: number;
  /** Integer q per element, row-major [m][k] with stride Kp (padding zeros included). */
  q: Int16Array;
  /** S_x[m][g], index m·groups + g. */
  scales: Int16Array;
}

/** Quantizes activations X[M][K] to MX-INT-a with groups of G along K. */
export function quantizeActivations(
  X: ArrayLike<number>,
  M: number,
  K: number,
  opts: { bits?: number; groupSize: number; rounding?: Rounding },
): MsqActivations {
  const bits = checkIntRange('--abits', opts.bits ?? 8, 4, 8);
  const G = checkIntRange('--group-size', opts.groupSize, 1, 4096);
  if (!Number.isInteger(M) || M < 1 || !Number.isInteger(K) || K < 1) throw new InputError(`activation shape [${M}, ${K}] is empty`);
  if (X.length !== M * K) throw new InputError(`activation data holds ${X.length} values, shape [${M}, ${K}] needs ${M * K}`);
  const fmt = intElementOfWidth(bits);
  const Kp = Math.ceil(K / G) * G;
  const groups = Kp / G;
  const padded = new Float32Array(M * Kp);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) padded[m * Kp + k] = X[m * K + k]!;
  const enc = mxEncode(padded, [M, Kp], { format: fmt, blockSize: G, axis: -1, rounding: opts.rounding ?? 'nearest' });
  const q = new Int16Array(M * Kp);
  const signBit = 1 << (bits - 1);
  for (let i = 0; i < q.length; i++) {
    const c = enc.codes[i]!;
    q[i] = c & signBit ? c - (1 << bits) : c;
  }
  const scales = new Int16Array(M * groups);
  for (let i = 0; i < scales.length; i++) {
    const c = enc.scaleCodes[i]!;
    if (c === E8M0_NAN_CODE) {
      const m = Math.floor(i / groups);
      const g = i % groups;
      throw new InputError(`activations of row ${m}, inputs ${g * G}..${Math.min(K, (g + 1) * G) - 1} hold NaN or Inf`);
    }
    scales[i] = c - 127;
  }
  return { M, K, Kp, groupSize: G, groups, bits, fracBits: fmt.fracBits, q, scales };
}

/** Dequantized activations, float32 [M][K]. */
export function dequantizeActivations(a: MsqActivations): Float32Array {
  const out = new Float32Array(a.M * a.K);
  for (let m = 0; m < a.M; m++) {
    for (let k = 0; k < a.K; k++) {
      const S = a.scales[m * a.groups + Math.floor(k / a.groupSize)]!;
      out[m * a.K + k] = a.q[m * a.Kp + k]! * 2 ** (S - a.fracBits);
    }
  }
  return out;
}
