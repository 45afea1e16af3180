import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';

/** Parses a decimal integer flag value; "4x" or "" is refused with the flag's name. */
export function parseIntFlag(flag: string, text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InputError(`${flag} ${JSON.stringify(text)} is not an integer`);
  return Number.parseInt(text, 10);
}

/** The long names (`--rows`) of the options the user wrote on the command line (not defaults). */
export function givenFlags(cmd: Command): string[] {
  return cmd.options
    .filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli')
    .map((o) => o.long ?? o.short ?? o.name());
}

/**
 * Refuses every flag in `flags` that the user gave although it does not apply
 * in this use (`why` says which use), so no flag is ever silently ignored.
 */
export function refuseFlags(cmd: Command, flags: readonly string[], why: string): void {
  const given = givenFlags(cmd).filter((f) => flags.includes(f));
  if (given.length > 0) {
    throw new InputError(`${given.join(', ')} ${given.length === 1 ? 'does' : 'do'} not apply ${why}`);
  }
}
