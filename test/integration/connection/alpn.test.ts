/**
 * AWS IoT serves MQTT over mTLS on port 443 only to clients that offer ALPN
 * "x-amzn-mqtt-ca". A real TLS server on loopback records what trustlink
 * offers: on 443 (on a loopback address of this file's own, so nothing else
 * collides with it; CI runs as root) and on an ordinary port. The ALPN
 * callback runs while the server reads the ClientHello, before the client
 * has checked the server certificate; the certificate names both addresses
 * so the handshake completes either way.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../helpers/ports.js';
import { runChecked, trustlink } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';
import { HSM_DIR } from '../../helpers/paths.js';

const ADDRESS_443 = '127.77.0.1';
let stack: TestStack;
const offered: Array<string[] | undefined> = [];
const servers: Server[] = [];

function listen(address: string, port: number): Promise<void> {
  const server = createServer({
    key: readFileSync(join(stack.pki.dir, 'alpn.key')),
    cert: readFileSync(join(stack.pki.dir, 'alpn.pem')),
    // aws-crt's TLS (s2n) gives up on a server that asks for no client certificate; AWS IoT always asks.
    requestCert: true,
    rejectUnauthorized: false,
    ALPNCallback: ({ protocols }) => {
      offered.push(protocols);
      return protocols[0];
    },
  });
  // No ALPN offered: the callback is not called, so record that on the secure connection.
  server.on('secureConnection', (socket) => {
    if (socket.alpnProtocol === false) offered.push(undefined);
    socket.destroy();
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(port, address, resolve));
}

beforeAll(async () => {
  stack = await createStack('alpn');
  await runChecked(join(HSM_DIR, 'pki.sh'), ['server', stack.pki.dir, 'alpn', `IP:${ADDRESS_443}`]);
});

afterAll(async () => {
  for (const server of servers) server.close();
  await stack?.close();
});

async function offeredOn(endpoint: string, port: number, extra: string[] = []): Promise<string[] | undefined> {
  offered.length = 0;
  const args = stack.args.map((arg) => (arg === 'localhost' ? endpoint : arg));
  const portAt = args.indexOf('--port');
  args[portAt + 1] = String(port);
  const result = await trustlink(['publish', ...args, ...extra, '--client-id', 'alpn', '--topic', 't', '--message', 'm'], stack.env);
  // The server is no MQTT broker: it hangs up after the handshake, so publish fails. A hang-up
  // while the device certificate is offered is read as the broker refusing it (CERT_REFUSED, 77).
  expect(result.stderr).toContain('[CERT_REFUSED]');
  expect(result.code).toBe(77);
  // The first handshake is aws-crt's; a second, when there is one, is the refusal check's probe of the broker's chain.
  expect(offered.length).toBeGreaterThanOrEqual(1);
  return offered[0];
}

it('offers x-amzn-mqtt-ca on port 443', async () => {
  await listen(ADDRESS_443, 443);
  expect(await offeredOn(ADDRESS_443, 443)).toEqual(['x-amzn-mqtt-ca']);
});

it('offers no ALPN on other ports, and what --alpn says when given', async () => {
  const port = await freePort();
  await listen('127.0.0.1', port);
  expect(await offeredOn('localhost', port)).toBeUndefined();
  expect(await offeredOn('localhost', port, ['--alpn', 'x-amzn-mqtt-ca'])).toEqual(['x-amzn-mqtt-ca']);
});
