/** Runs commands and the built trustlink CLI, with bounded waits. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { TRUSTLINK } from './paths.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The signal that ended the process, if one did. */
  signal?: string | null;
}

export function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr, signal: error?.signal ?? null });
    });
  });
}

/** Runs a shell script and fails loudly, with its stderr, when it fails. */
export async function runChecked(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

export function trustlink(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  return run(TRUSTLINK, args, { env, timeoutMs });
}

/** Parses KEY=VALUE lines as printed by the hsm/ scripts. */
export function parseEnvLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** A long-running trustlink (subscribe, run), or with `file` any program, whose output lines can be awaited. */
/** The JSON log lines of a trustlink's stderr (an optional syslog "<N>" prefix dropped); other lines are skipped. */
export function jsonLogs(lines: string[]): Array<Record<string, unknown>> {
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line.replace(/^<\d>/, '')) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

export class RunningCli {
  readonly child: ChildProcess;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv, file = TRUSTLINK) {
    this.child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    this.#collect(this.child.stdout!, this.stdoutLines);
    this.#collect(this.child.stderr!, this.stderrLines);
  }

  #collect(stream: NodeJS.ReadableStream, lines: string[]): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
    });
  }

  /** JSON log lines on stderr. */
  logs(): Array<Record<string, unknown>> {
    return jsonLogs(this.stderrLines);
  }

  /** Waits until `predicate` holds, polling; throws with the output after timeoutMs. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`timed out waiting for ${what}; exit=${this.child.exitCode}\nstdout:\n${this.stdoutLines.join('\n')}\nstderr:\n${this.stderrLines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  countLogs(message: string): number {
    return this.logs().filter((line) => line.message === message).length;
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
