/**
 * The bridge in every connection mode, MQTT 5 and 3.1.1 upstream, through
 * the AWS IoT stand-in: messages a local client published while the agent
 * could not reach AWS IoT wait in the spool and are sent once an agent in
 * that mode connects; then a live message goes straight up, and a cloud
 * message comes down to a local subscriber.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridgeAgent } from '../../helpers/bridge-agent.js';
import { fileClientCert, mosquittoPub, mosquittoSub, upstreamFlags, type FileClientCert } from '../../helpers/mqtt-clients.js';
import { makeTempDir } from '../../helpers/paths.js';
import { freePort } from '../../helpers/ports.js';
import { connectionModes, createStandinStack, type ConnectionMode, type StandinStack } from '../../helpers/standin-stack.js';

let s: StandinStack;
let watcher: FileClientCert;
let modes: ConnectionMode[];
/** mtls straight to mosquitto is covered by bridge.test.ts; here the modes only the stand-in speaks. */
const MODES = ['sigv4, env credentials', 'custom, direct, token signed in the token', 'custom, websocket, token signed in the token'];
let sequence = 0;

beforeAll(async () => {
  s = await createStandinStack('bridge-modes');
  watcher = await fileClientCert(s.stack, 'watcher');
  modes = connectionModes(s).modes;
});

afterAll(async () => {
  await s?.close();
});

const withPort = (args: string[], port: number): string[] => args.map((arg, index) => (args[index - 1] === '--port' ? String(port) : arg));

describe.each(['5', '3.1.1'])('MQTT %s upstream', (version) => {
  it.each(MODES)('%s: spools while offline, drains once connected, forwards both ways', async (name) => {
    const mode = modes.find((candidate) => candidate.name === name) as ConnectionMode;
    const topic = `dt/thing-1/modes-${++sequence}`;
    const dir = makeTempDir('bridge-mode');
    const sub = mosquittoSub([...upstreamFlags(s.stack, watcher), '-i', `watcher-${sequence}`, '-q', '1', '-t', topic, '-d']);
    try {
      await sub.waitFor('SUBACK', () => sub.stdoutLines.some((line) => line.includes('received SUBACK')));
      const offline = await startBridgeAgent({ args: [...withPort(mode.args, await freePort()), '--mqtt', version, '--client-id', 'thing-1'], env: mode.env, dir: dir.path, waitConnected: false });
      for (const value of ['1', '2', '3']) {
        const pub = await mosquittoPub(['--unix', offline.socket, '-t', topic, '-m', `spooled-${value}`, '-q', '1']);
        expect(pub.code, pub.stderr).toBe(0);
      }
      expect((await offline.waitForStatus('three spooled', (status) => status.services.bridge.spool.messages === 3)).connection.connected).toBe(false);
      expect(await offline.stop()).toBe(0);

      const online = await startBridgeAgent({ args: [...mode.args, '--mqtt', version, '--client-id', 'thing-1'], env: mode.env, dir: dir.path });
      try {
        await sub.waitFor('the spooled messages', () => sub.stdoutLines.filter((line) => line.startsWith(topic)).length >= 3, 30_000);
        const live = await mosquittoPub(['--unix', online.socket, '-V', version === '5' ? '5' : '311', '-t', topic, '-m', 'live', '-q', '1']);
        expect(live.code, live.stderr).toBe(0);
        await sub.waitFor('the live message', () => sub.stdoutLines.filter((line) => line.startsWith(topic)).length >= 4);
        expect([...new Set(sub.stdoutLines.filter((line) => line.startsWith(topic)))]).toEqual([`${topic} spooled-1`, `${topic} spooled-2`, `${topic} spooled-3`, `${topic} live`]);

        const local = mosquittoSub(['--unix', online.socket, '-q', '1', '-t', `cmd/thing-1/${sequence}`, '-d']);
        try {
          await local.waitFor('SUBACK', () => local.stdoutLines.some((line) => line.includes('received SUBACK')));
          const down = await mosquittoPub([...upstreamFlags(s.stack, watcher), '-i', 'cloud', '-t', `cmd/thing-1/${sequence}`, '-m', 'down', '-q', '1']);
          expect(down.code, down.stderr).toBe(0);
          await local.waitFor('the cloud message', () => local.stdoutLines.some((line) => line === `cmd/thing-1/${sequence} down`));
        } finally {
          await local.stop();
        }
        const status = await online.waitForStatus('the spool drained', (current) => current.services.bridge.spool.messages === 0);
        expect(status.services.bridge.counters.replayed).toBe(3);
      } finally {
        await online.stop();
      }
    } finally {
      await sub.stop();
      dir.remove();
    }
  });
});

