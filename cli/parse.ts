import { InputError } from '../common/errors.ts';

/** Parses a decimal integer flag value; "4x" or "" is refused with the flag's name. */
export function parseIntFlag(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InputError(`${flag} ${JSON.stringify(text)} is not an integer`);
  return Number.parseInt(text, 10);
}
