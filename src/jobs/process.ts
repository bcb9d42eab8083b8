/**
 * Runs one job process without a shell (argv as given), with a timeout and
 * a bounded tail of its stdout and stderr. The environment is the small one
 * passed in, never the agent's own: that may hold the token PIN.
 */
import { spawn } from 'node:child_process';

/** The tail kept of each stream: statusDetails keep 1024 characters, and a little more lets the cut fall on a line. */
const TAIL_BYTES = 4096;
/** After the timeout, SIGTERM; this long after, SIGKILL. */
const KILL_GRACE_MS = 5_000;

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  spawnError: string | undefined;
  stdout: string;
  stderr: string;
}

class Tail {
  #chunks: Buffer[] = [];
  #bytes = 0;
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes - (this.#chunks[0]?.length ?? 0) >= TAIL_BYTES) this.#bytes -= this.#chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - TAIL_BYTES)).toString('utf8');
  }
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Called once the process runs (for the log and the measurement). */
  onStart?(pid: number | undefined): void;
  /** Aborting ends the process group (SIGTERM, then SIGKILL). */
  signal?: AbortSignal;
}

export function runProcess(file: string, args: string[], options: RunOptions): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const stdout = new Tail();
    const stderr = new Tail();
    let timedOut = false;
    let spawnError: string | undefined;
    // A process group of its own, so a timeout ends the handler's children too (they hold its output pipes).
    const child = spawn(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false, detached: true });
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('spawn', () => options.onStart?.(child.pid));
    let killer: NodeJS.Timeout | undefined;
    const end = (): void => {
      killGroup('SIGTERM');
      killer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', end, { once: true });
    child.once('error', (error) => {
      spawnError = (error as NodeJS.ErrnoException).code ?? error.message;
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      options.signal?.removeEventListener('abort', end);
      resolve({ exitCode, signal, timedOut, spawnError, stdout: stdout.text(), stderr: stderr.text() });
    });
  });
}

/** Device Client wording where it has one ("Job exited with status: N"). */
export function describeExit(result: ProcessResult, timeoutMs: number): string {
  if (result.spawnError !== undefined) return `could not start: ${result.spawnError}`;
  if (result.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s and was killed`;
  if (result.signal !== null) return `Job killed by signal: ${result.signal}`;
  return `Job exited with status: ${result.exitCode}`;
}
