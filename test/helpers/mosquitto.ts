/**
 * A real mosquitto on loopback that requires client certificates, started
 * and stopped by PID. restart() stops and starts it on the same port, as a
 * broker outage would. It logs to a file, not to a pipe: a parent blocked in
 * spawnSync (the start-up benchmark) drains no pipe, and a mosquitto whose
 * full stderr pipe blocks its writes stops answering handshakes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestPki } from './pki.js';
import { freePort } from './ports.js';

export interface Mosquitto {
  port: number;
  host: string;
  /** The log so far, a line per entry, read afresh on every access. */
  readonly log: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGHUP: mosquitto reads its config again, the CRL (crlfile) included. */
  reload(): Promise<void>;
}

/** Whether a TCP connection to host:port is accepted now. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto(dir: string, pki: TestPki, options: { extraConfig?: string[] } = {}): Promise<Mosquitto> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const configFile = join(dir, 'mosquitto.conf');
  const logFile = join(dir, 'mosquitto.log');
  writeFileSync(configFile, [
    `listener ${port} ${host}`,
    `cafile ${pki.caFile}`,
    `certfile ${pki.serverCert}`,
    `keyfile ${pki.serverKey}`,
    'require_certificate true',
    'use_identity_as_username true',
    'allow_anonymous false',
    // mosquitto started as root drops to user "mosquitto" unless told otherwise.
    `user ${userInfo().username}`,
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    `log_dest file ${logFile}`,
    ...(options.extraConfig ?? []),
    '',
  ].join('\n'));

  let child: ChildProcess | undefined;
  const readLog = (): string[] => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);

  async function start(): Promise<void> {
    child = spawn('mosquitto', ['-c', configFile], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(host, port))) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mosquitto did not start:\n${readLog().join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGTERM');
    await exited;
  }

  async function reload(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null) throw new Error('mosquitto is not running');
    const seen = readLog().length;
    running.kill('SIGHUP');
    // mosquitto says so in its log once it has read the config again.
    const deadline = Date.now() + 5_000;
    while (!readLog().slice(seen).some((line) => /Reloading config/.test(line))) {
      if (Date.now() > deadline) throw new Error(`mosquitto did not reload:\n${readLog().join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  await start();
  return { port, host, get log() { return readLog(); }, stop, start, restart: async () => { await stop(); await start(); }, reload };
}
