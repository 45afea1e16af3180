/**
 * `npm run bench`: runs every scripts/bench-*.ts in turn (each prints its own
 * report). Add a benchmark by adding a bench-<topic>.ts file next to this one.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const scripts = readdirSync(dir).filter((f) => /^bench-.+\.ts$/.test(f)).sort();
let failed = false;
for (const s of scripts) {
  console.log(`# ${s}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, s), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
