/**
 * The one output-path policy of every msq command that writes (`--out`,
 * `--work`, `--output`, `--packed`, `--plot`, `--waves`, `--json`).
 *
 * msq never deletes or replaces anything it did not make. A path is refused,
 * before any work starts and with nothing changed on disk, when it is
 *   - empty, `.` or `..`, the current folder or one of its ancestors;
 *   - the msq project itself or one of its ancestors, or a git work tree root;
 *   - under a kernel file system (/proc, /sys, /dev);
 *   - for a folder: an existing file, or an existing non-empty folder that msq
 *     did not create (proved by the marker file `.msq-output` or by an msq
 *     `manifest.json`);
 *   - for a file: an existing folder or non-regular file, or a file of another
 *     kind than the output (an existing `x.npy` may be replaced by `--output
 *     x.npy`, as numpy.save would; `notes.txt` never);
 *   - below an existing file (`/etc/hostname/x`) or in a folder the user cannot write.
 *
 * Refusals are InputErrors (`msq: error: …`, exit 2) naming the flag, the path
 * and the reason. The writers below are atomic: a file is written beside its
 * target and renamed over it; a folder is filled as a temporary sibling and
 * renamed into place. Folders and files get the user's umask (0755 / 0644
 * under 022), not the 0700 of mkdtemp.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from './errors.ts';
import { GENERATOR_NAME } from './version.ts';

/** The file that marks a folder as made by msq (work folders, generations, vectors). */
export const OUTPUT_MARKER = '.msq-output';

/** The msq project's own folder (never an output). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** File systems of the kernel: writing there is never what a user means (and recursive mkdir can spin on /proc). */
const KERNEL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];

function isSameOrAncestor(ancestor: string, path: string): boolean {
  if (ancestor === path) return true;
  const a = ancestor.endsWith(sep) ? ancestor : ancestor + sep;
  return path.startsWith(a);
}

function refuse(flag: string, path: string, why: string): never {
  throw new InputError(`${flag} ${JSON.stringify(path)}: ${why}`);
}

/** The nearest folder of `target` that exists (target itself when it does). */
function nearestExisting(target: string): string {
  let p = target;
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return p;
}

/** Checks shared by files and folders: where the path is and whether its parent can be made and written. */
function checkCommon(flag: string, path: string): string {
  if (path.trim() === '') refuse(flag, path, 'the path is empty; name a file or folder');
  const target = resolve(path);
  const cwd = resolve(process.cwd());
  if (path === '.' || path === '..' || isSameOrAncestor(target, cwd)) {
    refuse(flag, path, `is the current folder or one of its ancestors (${target}); msq writes only into a path of its own`);
  }
  if (isSameOrAncestor(target, PROJECT_ROOT)) refuse(flag, path, `is the msq project folder or one of its ancestors (${target})`);
  for (const fs of KERNEL_FILE_SYSTEMS) {
    if (isSameOrAncestor(fs, target)) refuse(flag, path, `is under ${fs}, a kernel file system; choose a path on a disk`);
  }
  // the first existing ancestor must be a folder the user can write into
  const parent = nearestExisting(dirname(target));
  if (!statSync(parent).isDirectory()) refuse(flag, path, `${parent} is a file, so no folder can be made below it`);
  try {
    accessSync(parent, constants.W_OK | constants.X_OK);
  } catch {
    refuse(flag, path, `the folder ${parent} is not writable by this user`);
  }
  return target;
}

/** True when `dir` holds the msq marker or an msq manifest.json (a generation or a vector set). */
export function isMsqFolder(dir: string): boolean {
  if (existsSync(join(dir, OUTPUT_MARKER))) return true;
  const manifest = join(dir, 'manifest.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { generator?: unknown }).generator === GENERATOR_NAME;
  } catch {
    return false;
  }
}

/**
 * Checks a folder msq is about to create or replace; returns its absolute path.
 * Existing folders are accepted when empty or made by msq, never when they are
 * a git work tree.
 */
export function checkOutputFolder(flag: string, path: string): string {
  const target = checkCommon(flag, path);
  if (!existsSync(target)) return target;
  const st = lstatSync(target);
  if (st.isSymbolicLink()) refuse(flag, path, 'is a symbolic link; name the folder itself');
  if (!st.isDirectory()) refuse(flag, path, 'is an existing file, not a folder; msq does not replace files by folders');
  if (existsSync(join(target, '.git'))) refuse(flag, path, 'is the root of a git work tree; msq writes only into a folder of its own');
  if (readdirSync(target).length > 0 && !isMsqFolder(target)) {
    refuse(flag, path, `exists and does not hold an msq generation or other msq output (no ${OUTPUT_MARKER} marker or msq manifest.json); refusing to replace it`);
  }
  try {
    accessSync(target, constants.W_OK | constants.X_OK);
  } catch {
    refuse(flag, path, 'is not writable by this user');
  }
  return target;
}

/**
 * Checks a file msq is about to write; returns its absolute path. `extensions`
 * (e.g. ['.npy']) are the kinds of file this output is; an existing file is
 * only replaced when it is a regular file of one of them.
 */
export function checkOutputFile(flag: string, path: string, extensions: readonly string[]): string {
  if (path.endsWith('/') || path.endsWith(`${sep}.`)) refuse(flag, path, 'names a folder; name a file');
  const target = checkCommon(flag, path);
  const ext = extensions.find((e) => target.endsWith(e));
  if (ext === undefined) refuse(flag, path, `name the file FILE${extensions.join(' or FILE')}`);
  if (!existsSync(target)) return target;
  const st = lstatSync(target);
  if (st.isDirectory()) refuse(flag, path, 'is an existing folder, not a file');
  if (!st.isFile()) refuse(flag, path, 'exists and is not a regular file (a link, device or socket); msq does not replace it');
  try {
    accessSync(target, constants.W_OK);
  } catch {
    refuse(flag, path, 'exists and is not writable by this user');
  }
  return target;
}

/** A fresh, unused sibling name for temporary output next to `target`. */
function siblingTemp(target: string, tag: string): string {
  return join(dirname(target), `.${basename(target)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Creates the missing parents of `target`; returns the topmost folder it made
 * (to remove on failure) or undefined when they all existed.
 */
function makeParents(target: string): string | undefined {
  return mkdirSync(dirname(target), { recursive: true }) ?? undefined;
}

/**
 * Writes a whole output folder or nothing. `fill` writes into a temporary
 * sibling folder (mode 0777 minus the umask, with the msq marker); only when it
 * returns does the temporary folder replace `dir`. On any error the temporary
 * folder and any parent folders made for it are removed and `dir` is left as
 * it was. Call checkOutputFolder first: this function trusts its verdict.
 */
export async function writeFolderAtomically(dir: string, fill: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const target = resolve(dir);
  const madeParent = makeParents(target);
  const tmp = siblingTemp(target, 'tmp');
  try {
    mkdirSync(tmp, { mode: 0o777 });
    writeFileSync(join(tmp, OUTPUT_MARKER), `made by ${GENERATOR_NAME}; msq may replace this folder\n`);
    await fill(tmp);
    if (existsSync(target)) {
      const old = siblingTemp(target, 'old');
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (madeParent !== undefined) rmSync(madeParent, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Puts a file in place via a temporary name beside it and a rename, so readers
 * never see half a file and a failure leaves the old file (or nothing).
 * `write` fills the temporary file.
 */
function replaceFileAtomically(path: string, write: (tmp: string) => void): void {
  const target = resolve(path);
  const madeParent = makeParents(target);
  const tmp = siblingTemp(target, 'tmp');
  try {
    write(tmp);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (madeParent !== undefined) rmSync(madeParent, { recursive: true, force: true });
    throw e;
  }
}

/** Writes one file atomically (see replaceFileAtomically). */
export function writeFileAtomically(path: string, data: string | Uint8Array): void {
  replaceFileAtomically(path, (tmp) => writeFileSync(tmp, data));
}

/** Copies a finished file (e.g. a waveform written in a work folder) to its target atomically. */
export function copyFileAtomically(from: string, path: string): void {
  replaceFileAtomically(path, (tmp) => copyFileSync(from, tmp));
}

/**
 * Makes a scratch work folder (simulation builds, benchmark jobs) empty and
 * ready: it is checked by the folder policy, an earlier msq work folder is
 * cleared, and the marker is written so the next run may clear it again.
 * With `keep`, an earlier msq work folder's contents are kept (bench --resume).
 */
export function prepareWorkFolder(flag: string, path: string, opts: { keep?: boolean; /** entries kept when the folder is cleared */ keepEntries?: readonly string[] } = {}): string {
  const target = checkOutputFolder(flag, path);
  if (existsSync(target) && !opts.keep) {
    for (const entry of readdirSync(target)) if (!opts.keepEntries?.includes(entry)) rmSync(join(target, entry), { recursive: true, force: true });
  }
  mkdirSync(target, { recursive: true, mode: 0o777 });
  writeFileSync(join(target, OUTPUT_MARKER), `made by ${GENERATOR_NAME}; msq may clear this folder\n`);
  return target;
}
