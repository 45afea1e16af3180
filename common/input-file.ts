/**
 * Opening the files a user names (tensors, checkpoints, model manifests): a
 * file that cannot be read is an InputError naming it, with the system's
 * reason, instead of a stack trace.
 */
import { openSync, readFileSync } from 'node:fs';
import { InputError } from './errors.ts';

function unreadable(path: string, e: unknown): InputError {
  return new InputError(`cannot read ${path}: ${(e as Error).message}`);
}

/** The whole file. */
export function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw unreadable(path, e);
  }
}

/** A read-only descriptor, for readers that take only the bytes they need. */
export function openInputFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
}
