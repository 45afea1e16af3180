/**
 * `npm run bench`: the accelerator benchmark (`msq bench`: area, throughput,
 * tool speed; cli/commands/bench.ts), then every scripts/bench-*.ts in turn
 * (the quantizer benchmarks; each prints its own report). Add a benchmark by
 * adding a bench-<topic>.ts file next to this one.
 *
 *   npm run bench [-- --quick] [-- --json FILE] [-- other flags]
 *
 * The flags of msq bench (--quick, --resume, --no-signoff, --json FILE, --jobs N, --sizes L,
 * --wbits L, --recon L, --simulator S, --work DIR) go to msq bench; every other flag goes
 * to the bench-*.ts scripts, as before. With --quick those scripts run at
 * 1024x1024 with 3 runs and without the Hessian benchmark (CI-sized).
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const BENCH_FLAGS_WITH_VALUE = new Set(['--json', '--jobs', '--sizes', '--wbits', '--recon', '--simulator', '--work']);
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  // help only: never start the (hours-long) sweep because of a flag the scripts do not know
  console.log(
    [
      'Usage: npm run bench [-- --quick] [-- --json FILE] [-- other flags]',
      '',
      'msq bench (area, throughput, tool speed, sign-off timing), then every scripts/bench-*.ts',
      '(the quantizer benchmarks). The flags of msq bench (below) go to msq bench; every other',
      'flag goes to the bench-*.ts scripts. With --quick: CI-sized runs.',
      '',
    ].join('\n'),
  );
  const help = spawnSync(process.execPath, [join(dir, '..', 'bin', 'msq.mjs'), 'bench', '--help'], { stdio: 'inherit' });
  process.exit(help.status ?? 1);
}
const quick = args.includes('--quick');
const benchArgs: string[] = [];
const scriptArgs: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--quick' || a === '--resume' || a === '--no-signoff') benchArgs.push(a);
  else if (BENCH_FLAGS_WITH_VALUE.has(a)) benchArgs.push(a, args[++i] ?? '');
  else scriptArgs.push(a);
}
// user flags first: the scripts read the first occurrence of a flag
if (quick) scriptArgs.push('--size', '1024', '--runs', '3', '--skip-hessian');

let failed = false;
console.log('# msq bench');
const msq = spawnSync(process.execPath, [join(dir, '..', 'bin', 'msq.mjs'), 'bench', ...benchArgs], { stdio: 'inherit' });
if (msq.status !== 0) failed = true;
const scripts = readdirSync(dir).filter((f) => /^bench-.+\.ts$/.test(f)).sort();
for (const s of scripts) {
  console.log(`\n# ${s}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, s), ...scriptArgs], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
