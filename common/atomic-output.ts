import { mkdirSync, mkdtempSync, renameSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';

/**
 * Writes a whole output folder or nothing. `fill` writes into a temporary
 * sibling folder; only when it returns does the temporary folder replace `dir`.
 * On any error the temporary folder is removed and `dir` is left as it was, so a
 * failed command never leaves partial output behind.
 */
export async function writeFolderAtomically(dir: string, fill: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const target = resolve(dir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(join(parent, `.${basename(target)}.tmp-`));
  try {
    await fill(tmp);
    if (existsSync(target)) {
      const old = `${tmp}.old`;
      renameSync(target, old);
      renameSync(tmp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, target);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Writes one file via a temporary name and a rename, so readers never see half a file. */
export function writeFileAtomically(path: string, data: string | Uint8Array): void {
  const target = resolve(path);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
