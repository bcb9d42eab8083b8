/**
 * systemd's notification protocol (sd_notify(3)): READY=1, WATCHDOG=1,
 * STATUS=..., STOPPING=1 sent to $NOTIFY_SOCKET.
 *
 * The socket is a unix datagram socket, which Node cannot open without a
 * native addon (the npm packages that can, sd-notify and unix-dgram, are
 * addons). So each notification runs systemd-notify(1), which ships with
 * systemd: the unit needs NotifyAccess=all, since the sender is a child. It
 * waits until systemd has read the message (a barrier, systemd >= 246), so
 * its exit does not race systemd looking up which unit sent it.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log/log.js';

export interface Notifier {
  /** False outside systemd (no $NOTIFY_SOCKET): notify() then does nothing. */
  readonly enabled: boolean;
  /** How often to send WATCHDOG=1 (half of WatchdogSec=), or undefined when no watchdog is set. */
  readonly watchdogIntervalMs: number | undefined;
  notify(state: Record<string, string>): Promise<void>;
}

/** Bounded: a notification must never hold up a shutdown. */
const NOTIFY_TIMEOUT_MS = 10_000;

export function watchdogInterval(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isInteger(usec) || usec <= 0) return undefined;
  // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited it is not.
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2_000));
}

/** STATUS= is one line of text. */
const oneLine = (value: string): string => value.replace(/[\r\n]+/g, ' ');

export function createNotifier(env: NodeJS.ProcessEnv, log: Logger): Notifier {
  const enabled = (env.NOTIFY_SOCKET ?? '') !== '';
  return {
    enabled,
    watchdogIntervalMs: enabled ? watchdogInterval(env) : undefined,
    notify(state) {
      if (!enabled) return Promise.resolve();
      const assignments = Object.entries(state).map(([key, value]) => `${key}=${oneLine(value)}`);
      return new Promise((resolve) => {
        const child = spawn('systemd-notify', assignments, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: NOTIFY_TIMEOUT_MS });
        let stderr = '';
        child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        child.once('error', (error) => {
          log.warn('cannot notify systemd', { state: assignments.join(' '), reason: error.message });
          resolve();
        });
        child.once('exit', (code) => {
          if (code !== 0) log.warn('systemd-notify failed', { state: assignments.join(' '), exitCode: code, reason: stderr.trim() });
          resolve();
        });
      });
    },
  };
}
