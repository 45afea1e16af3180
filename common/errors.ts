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

/**
 * An external tool (simulator, synthesizer) could not start, crashed before
 * reporting, or hit its time limit. It is an error of the run, not a test
 * failure: the CLI prints `msq: error: …` and exits with status 1.
 */
export class ToolError extends Error {
  override name = 'ToolError';
}

/** File-system error codes that are the environment's answer to a path, not a bug of msq. */
const FS_CAUSES: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EBUSY: 'busy',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EXDEV: 'cannot move across file systems',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
};

/** A one-line message for a Node.js file-system error, or undefined when `e` is not one. */
export function fileSystemMessage(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (err.code === undefined || !(err.code in FS_CAUSES)) return undefined;
  const what = err.syscall ? `cannot ${err.syscall}` : 'file-system error';
  const path = err.path !== undefined ? ` ${err.path}${err.dest !== undefined ? ` -> ${err.dest}` : ''}` : '';
  return `${what}${path}: ${FS_CAUSES[err.code]} (${err.code})`;
}
