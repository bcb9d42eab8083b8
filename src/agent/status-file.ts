/**
 * The agent's status, written to <runtimeDir>/status.json (RAM) every few
 * seconds and removed on a clean stop, for `trustlink status` to read. A
 * file rather than a query socket: readable with cat and jq, nothing to
 * serve, and a stale one (the agent was killed) shows by its pid and age.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TrustlinkError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import type { Logger } from '../log/log.js';
import type { AgentStatus } from './status.js';

export const STATUS_FILE = 'status.json';
/** How often the file is rewritten; a reader calls a file older than a few of these stale. */
export const STATUS_INTERVAL_MS = 2_000;

export function statusFilePath(runtimeDir: string): string {
  return join(runtimeDir, STATUS_FILE);
}

export interface StatusFile {
  write(): void;
  stop(): void;
}

export function startStatusFile(runtimeDir: string, status: () => AgentStatus, log: Logger): StatusFile {
  const path = statusFilePath(runtimeDir);
  let warned = false;
  const write = (): void => {
    try {
      mkdirSync(runtimeDir, { recursive: true, mode: 0o750 });
      writeFileAtomic(path, `${JSON.stringify(status())}\n`, 0o640);
    } catch (error) {
      if (!warned) log.warn('cannot write the status file', { path, reason: (error as Error).message });
      warned = true;
    }
  };
  write();
  const timer = setInterval(write, STATUS_INTERVAL_MS);
  timer.unref();
  return {
    write,
    stop() {
      clearInterval(timer);
      rmSync(path, { force: true });
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running agent's status; AGENT_NOT_RUNNING when there is no file, or its writer is gone. */
export function readStatusFile(runtimeDir: string): AgentStatus {
  const path = statusFilePath(runtimeDir);
  let status: AgentStatus;
  try {
    status = JSON.parse(readFileSync(path, 'utf8')) as AgentStatus;
  } catch (error) {
    throw new TrustlinkError('AGENT_NOT_RUNNING', `no agent status at ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
      hint: 'is trustlink run running? systemctl status trustlink; with another --runtime-dir, give the same one here',
    });
  }
  if (!alive(status.pid)) {
    throw new TrustlinkError('AGENT_NOT_RUNNING', `the agent that wrote ${path} (pid ${status.pid}) is not running; last status ${status.time}`, {
      hint: 'journalctl -u trustlink shows why it stopped',
    });
  }
  return status;
}
