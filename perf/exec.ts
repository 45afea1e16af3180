/**
 * Small process helpers of the benchmarks: an asynchronous tool runner (so
 * several syntheses or simulations can run side by side) and a bounded pool.
 */
import { spawn } from 'node:child_process';

export interface AsyncToolResult {
  ok: boolean;
  status: number | null;
  /** stdout then stderr */
  output: string;
  stdout: string;
  /** wall time */
  seconds: number;
  /** why the tool did not run to its own end: not installed, could not start, killed at its time limit (undefined when it exited by itself) */
  startError?: string;
}

/** Runs a command without blocking the event loop; never rejects. */
export function runAsync(cmd: string, args: string[], cwd: string, timeoutMs = 3_600_000): Promise<AsyncToolResult> {
  return new Promise((resolvePromise) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let startError: string | undefined;
    const finish = (status: number | null, extra = '') => {
      clearTimeout(timer);
      if (timedOut) startError = `${cmd} did not finish within its time limit of ${Math.round(timeoutMs / 1000)} s and was stopped`;
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8') + extra + (timedOut ? `\n${cmd}: killed after ${timeoutMs / 1000} s\n` : '');
      resolvePromise({ ok: status === 0 && !timedOut, status, output: stdout + stderr, stdout, seconds: (performance.now() - t0) / 1000, ...(startError ? { startError } : {}) });
    };
    child.on('error', (e) => {
      startError = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${cmd} is not installed or not on PATH (bash scripts/setup.sh installs the tools)` : `${cmd} could not run: ${e.message}`;
      finish(null, `${cmd}: ${e.message}\n`);
    });
    child.on('close', (code) => finish(code));
  });
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** Progress lines go to stderr so that stdout stays the report. */
export function progress(text: string): void {
  process.stderr.write(`msq bench: ${text}\n`);
}
