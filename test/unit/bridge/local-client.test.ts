import { once } from 'node:events';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import mqtt, { type Packet } from 'mqtt-packet';
import { afterEach, expect, it } from 'vitest';
import { LocalClient, type LocalClientHandler } from '../../../src/bridge/local-client.js';
import type { Logger } from '../../../src/log/log.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A LocalClient behind a loopback server, answering every publish with `reasonCode`. */
async function endpoint(reasonCode: number): Promise<number> {
  const handler: LocalClientHandler = {
    connected() {},
    publish: async () => reasonCode,
    subscribe: async () => 1,
    unsubscribe: async () => 0,
    closed() {},
  };
  const server = createServer((socket) => new LocalClient(socket, handler, quiet));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** Sends `packets` and resolves with the first `count` packets the endpoint answers. */
async function exchange(port: number, packets: Packet[], count: number): Promise<Packet[]> {
  const socket: Socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  const parser = mqtt.parser({ protocolVersion: 5 });
  const received: Packet[] = [];
  const done = new Promise<Packet[]>((resolve) => {
    parser.on('packet', (packet: Packet) => {
      received.push(packet);
      if (received.length === count) resolve(received);
    });
  });
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  for (const packet of packets) socket.write(mqtt.generate(packet, { protocolVersion: 5 }));
  return done;
}

it('acknowledges publishes in order without mqtt-packet building its 65,536-entry number cache', async () => {
  const port = await endpoint(0x00);
  const publishes: Packet[] = [7, 8, 9].map((messageId) => ({ cmd: 'publish', topic: 'dt/thing-1/temp', payload: Buffer.from('21.5'), qos: 1, retain: false, dup: false, messageId }));
  const answers = await exchange(port, [{ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'local-1', clean: true, keepalive: 30 }, ...publishes], 4);

  expect(answers.map((packet) => packet.cmd)).toEqual(['connack', 'puback', 'puback', 'puback']);
  expect(answers.slice(1).map((packet) => (packet as { messageId?: number }).messageId)).toEqual([7, 8, 9]);
  // The cache holds a Buffer per message id once any packet with an id is written: ~7 MiB for the agent's lifetime.
  const numbers = createRequire(import.meta.url)('mqtt-packet/numbers.js') as { cache: Record<number, Buffer> };
  expect(Object.keys(numbers.cache)).toHaveLength(0);
});
