/**
 * An error caused by what the user asked for (a bad flag value, an unreadable
 * input file, an illegal configuration). The CLI prints its message without a
 * stack trace and exits with status 2; anything else is a bug and keeps its stack.
 *
 * Messages name the offending value and what is allowed, e.g.
 *   "--wbits 3 is not supported: allowed values are 2, 4"
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** Throws an InputError unless `value` is an integer in [min, max]. */
export function checkIntRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`${what} ${value} is out of range: allowed integers ${min}..${max}`);
  }
  return value;
}

/** Throws an InputError unless `value` is one of `allowed`. */
export function checkOneOf<T>(what: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new InputError(`${what} ${String(value)} is not supported: allowed values are ${allowed.join(', ')}`);
  }
  return value;
}
