/**
 * The local endpoint's sockets. A unix socket is made mode 0660, so the
 * owner and the group (trustlink, under the unit) may connect and nobody
 * else; a stale socket left by a killed agent is replaced, a live one is not.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { TrustlinkError } from '../errors.js';
import { formatListenAddress, type ListenAddress } from '../config/listen-address.js';

export interface Listener {
  address: string;
  close(): Promise<void>;
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function clearStaleSocket(path: string, shown: string): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing === undefined) return;
  if (!existing.isSocket()) throw new TrustlinkError('LISTEN_FAILED', `cannot listen on ${shown}: ${path} exists and is not a socket`, { hint: 'remove it, or choose another --local-listen path' });
  if (await answers(path)) throw new TrustlinkError('LISTEN_FAILED', `cannot listen on ${shown}: another process is serving it (is a second agent running?)`, { hint: 'stop the other agent, or give this one another --local-listen / --runtime-dir' });
  await unlink(path);
}

export async function listen(address: ListenAddress, onSocket: (socket: Socket) => void): Promise<Listener> {
  const shown = formatListenAddress(address);
  const server: Server = createServer(onSocket);
  try {
    if (address.kind === 'unix') {
      await mkdir(dirname(address.path), { recursive: true, mode: 0o750 });
      await clearStaleSocket(address.path, shown);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (address.kind === 'unix') server.listen(address.path, resolve);
      else server.listen(address.port, address.host, resolve);
    });
    if (address.kind === 'unix') await chmod(address.path, 0o660);
  } catch (error) {
    server.close();
    if (error instanceof TrustlinkError) throw error;
    throw new TrustlinkError('LISTEN_FAILED', `cannot listen on ${shown}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      hint: (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'another program uses this port: choose another --local-listen' : 'check that the folder exists and the agent may write to it',
      cause: error,
    });
  }
  return {
    address: shown,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      if (address.kind === 'unix') void unlink(address.path).catch(() => undefined);
    }),
  };
}
