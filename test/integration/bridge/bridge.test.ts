/**
 * The local MQTT endpoint of `trustlink run` against a real mosquitto as
 * AWS IoT (mTLS, key in SoftHSM2), with independent local clients:
 * mosquitto_pub/mosquitto_sub (unix socket) and paho (loopback TCP), MQTT 5
 * and 3.1.1. An ACL on the broker stands in for the AWS IoT policy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridgeAgent, type BridgeAgent } from '../../helpers/bridge-agent.js';
import { fileClientCert, mosquittoPub, mosquittoSub, paho, pahoSubscriber, pubackReasonCodes, upstreamFlags, type FileClientCert } from '../../helpers/mqtt-clients.js';
import { makeTempDir } from '../../helpers/paths.js';
import { trustlink } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;
let watcher: FileClientCert;
let bridge: BridgeAgent;

beforeAll(async () => {
  stack = await createStack('bridge', {
    // Everyone may use dt/, cmd/ and $aws/; nobody forbidden/ (the AWS IoT policy's stand-in).
    brokerConfig: (dir) => {
      const acl = join(dir, 'acl');
      writeFileSync(acl, ['pattern readwrite dt/#', 'pattern readwrite cmd/#', 'pattern readwrite $aws/#', ''].join('\n'));
      return [`acl_file ${acl}`];
    },
  });
  watcher = await fileClientCert(stack, 'watcher');
  bridge = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: join(stack.dir, 'agent') });
});

afterAll(async () => {
  await bridge?.stop();
  await stack?.close();
});

/** An upstream subscriber (its own client ID and file key), ready once its SUBACK came. */
async function upstreamSubscriber(filter: string, count: number) {
  const sub = mosquittoSub([...upstreamFlags(stack, watcher), '-i', `watcher-${Math.random()}`, '-q', '1', '-t', filter, '-C', String(count), '-d']);
  await sub.waitFor('SUBACK', () => sub.stdoutLines.some((line) => line.includes('received SUBACK')));
  return sub;
}

const messages = (sub: { stdoutLines: string[] }, topicPrefix: string): string[] => sub.stdoutLines.filter((line) => line.startsWith(topicPrefix));

describe('local publish reaches a subscriber on the upstream broker', () => {
  it.each([['5', 'mqttv5'], ['311', 'mqttv311']])('over the unix socket, mosquitto_pub MQTT %s', async (version) => {
    const topic = `dt/thing-1/unix-${version}`;
    const sub = await upstreamSubscriber(topic, 3);
    for (const value of ['21.5', '21.6', '21.7']) {
      const pub = await mosquittoPub(['--unix', bridge.socket, '-V', version, '-t', topic, '-m', value, '-q', '1', '-d']);
      expect(pub.code, pub.stderr + pub.stdout).toBe(0);
      if (version === '5') expect(pubackReasonCodes(pub.stdout)).toEqual([0]);
    }
    expect(await sub.exited).toBe(0);
    expect(messages(sub, topic)).toEqual([`${topic} 21.5`, `${topic} 21.6`, `${topic} 21.7`]);
  });

  it.each([[true], [false]])('over loopback TCP, paho (MQTT 5: %s), 50 QoS 1 messages in order', async (v5) => {
    const topic = `dt/thing-1/tcp-${v5 ? 5 : 311}`;
    const sub = await upstreamSubscriber(topic, 50);
    const pub = await paho(['pub', '--port', String(bridge.tcpPort), ...(v5 ? ['--v5'] : []), '--topic', topic, '--qos', '1', '--count', '50']);
    expect(pub.code, pub.stderr).toBe(0);
    expect(JSON.parse(pub.stdout)).toEqual({ published: 50 });
    expect(await sub.exited).toBe(0);
    expect(messages(sub, topic)).toEqual(Array.from({ length: 50 }, (_, index) => `${topic} m${index}`));
  });

  it('shows the device client ID upstream, never the local one', async () => {
    await mosquittoPub(['--unix', bridge.socket, '-i', 'local-secret-id', '-t', 'dt/thing-1/id', '-m', 'x', '-q', '1']);
    expect(stack.broker.log.join('\n')).not.toContain('local-secret-id');
    expect(stack.broker.log.join('\n')).toContain('as thing-1');
  });
});

it('delivers a cloud publish to two local subscribers of overlapping filters, once each', async () => {
  const wide = mosquittoSub(['--unix', bridge.socket, '-V', '5', '-q', '1', '-t', 'cmd/#', '-d']);
  const narrow = pahoSubscriber(['--port', String(bridge.tcpPort), '--v5', '--filter', 'cmd/thing-1/+', '--filter', 'cmd/thing-1/#', '--count', '3']);
  try {
    await wide.waitFor('SUBACK', () => wide.stdoutLines.some((line) => line.includes('received SUBACK')));
    await narrow.waitFor('SUBACK', () => narrow.stdoutLines.some((line) => line.includes('subscribed')));
    expect(JSON.parse(narrow.stdoutLines[0] as string)).toEqual({ subscribed: [1, 1] });
    // The upstream subscription is the covering filter alone.
    await bridge.waitForStatus('one upstream subscription, the covering filter', (status) => JSON.stringify(status.services.bridge.upstreamSubscriptions) === '["cmd/#"]');

    for (const value of ['a', 'b', 'c']) {
      const pub = await mosquittoPub([...upstreamFlags(stack, watcher), '-i', 'cloud', '-t', 'cmd/thing-1/reboot', '-m', value, '-q', '1']);
      expect(pub.code, pub.stderr).toBe(0);
    }
    expect(await narrow.exited).toBe(0);
    await wide.waitFor('three messages', () => messages(wide, 'cmd/').length >= 3);
    // A little longer for a duplicate, were one to come.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(messages(wide, 'cmd/')).toEqual(['cmd/thing-1/reboot a', 'cmd/thing-1/reboot b', 'cmd/thing-1/reboot c']);
    expect(narrow.stdoutLines.slice(1).map((line) => JSON.parse(line).payload)).toEqual(['a', 'b', 'c']);
  } finally {
    await wide.stop();
    await narrow.stop();
  }
  // The last local subscriber left: the agent unsubscribed upstream.
  await bridge.agent.waitFor('the upstream unsubscribe', () => bridge.agent.logs().some((line) => line.message === 'unsubscribed' && line.filter === 'cmd/#'));
});

it('restores the upstream subscription after a broker restart: a waiting local subscriber still gets messages', async () => {
  const local = mosquittoSub(['--unix', bridge.socket, '-V', '311', '-q', '1', '-t', 'cmd/thing-1/restart', '-d']);
  try {
    await local.waitFor('SUBACK', () => local.stdoutLines.some((line) => line.includes('received SUBACK')));
    const connectsBefore = bridge.agent.countLogs('connected');
    await stack.broker.restart();
    await bridge.agent.waitFor('the reconnect', () => bridge.agent.countLogs('connected') > connectsBefore, 30_000);
    // 'connected' is logged after the subscriptions were restored, so this publish cannot race them.
    const pub = await mosquittoPub([...upstreamFlags(stack, watcher), '-i', 'cloud', '-t', 'cmd/thing-1/restart', '-m', 'after', '-q', '1']);
    expect(pub.code, pub.stderr).toBe(0);
    await local.waitFor('the message after the restart', () => messages(local, 'cmd/').length === 1);
    expect(messages(local, 'cmd/')).toEqual(['cmd/thing-1/restart after']);
  } finally {
    await local.stop();
  }
});

describe('refusals', () => {
  it('refuses a payload over 128 KB with reason 0x95 and never spools it', async () => {
    const big = join(stack.dir, 'big');
    writeFileSync(big, Buffer.alloc(128 * 1024 + 1, 0x61));
    const pub = await mosquittoPub(['--unix', bridge.socket, '-V', '5', '-t', 'dt/thing-1/big', '-f', big, '-q', '1', '-d']);
    expect(pubackReasonCodes(pub.stdout)).toEqual([0x95]);
    const { services } = await bridge.waitForStatus('the refusal counted', (status) => status.services.bridge.counters.refusedTooLarge === 1);
    expect(services.bridge.spool.messages).toBe(0);
  });

  it('hands the upstream refusal (0x87, not authorized) to an MQTT 5 client; a 3.1.1 client is acknowledged and the drop logged', async () => {
    const v5 = await mosquittoPub(['--unix', bridge.socket, '-V', '5', '-t', 'forbidden/x', '-m', 'no', '-q', '1', '-d']);
    expect(pubackReasonCodes(v5.stdout)).toEqual([0x87]);
    const v311 = await mosquittoPub(['--unix', bridge.socket, '-V', '311', '-t', 'forbidden/y', '-m', 'no', '-q', '1']);
    expect(v311.code).toBe(0);
    await bridge.agent.waitFor('the refusal log', () => bridge.agent.countLogs('upstream refused a local publish') >= 1);
    const { services } = await bridge.waitForStatus('both refusals counted', (status) => status.services.bridge.counters.refusedUpstream >= 2);
    expect(services.bridge.spool.messages).toBe(0);
  });
});

it('passes $aws/... topics through like any other', async () => {
  const topic = '$aws/things/thing-1/shadow/update';
  const sub = await upstreamSubscriber(topic, 1);
  const pub = await mosquittoPub(['--unix', bridge.socket, '-t', topic, '-m', '{"state":{"reported":{"t":21.5}}}', '-q', '1']);
  expect(pub.code, pub.stderr).toBe(0);
  expect(await sub.exited).toBe(0);
  expect(messages(sub, topic)).toEqual([`${topic} {"state":{"reported":{"t":21.5}}}`]);
});

it('reports through trustlink status: connection, local clients, upstream subscriptions, spool, counters', async () => {
  const local = mosquittoSub(['--unix', bridge.socket, '-t', 'dt/thing-1/status', '-d']);
  try {
    await local.waitFor('SUBACK', () => local.stdoutLines.some((line) => line.includes('received SUBACK')));
    const status = await bridge.waitForStatus('the local client', (current) => current.services.bridge.localClients === 1);
    expect(status.connection).toMatchObject({ connected: true, clientId: 'thing-1', since: expect.any(String) });
    expect(status.services.bridge).toMatchObject({ localClients: 1, upstreamSubscriptions: ['dt/thing-1/status'], spool: { messages: 0, bytes: expect.any(Number) } });
    expect(status.services.bridge.counters.forwarded).toBeGreaterThan(0);
    const text = await trustlink(['status', '--runtime-dir', bridge.runtimeDir], stack.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/connection connected to localhost:\d+ as thing-1/);
    expect(text.stdout).toMatch(/spool {6}0 messages/);
  } finally {
    await local.stop();
  }
});

describe('allowlists and addresses', () => {
  it('refuses what --forward-publish and --forward-subscribe do not allow (MQTT 5: 0x87)', async () => {
    const dir = makeTempDir('bridge-allow');
    const limited = await startBridgeAgent({
      args: [...stack.args, '--client-id', 'thing-2'], env: stack.env, dir: dir.path,
      extra: ['--forward-publish', 'dt/thing-2/#', '--forward-subscribe', 'cmd/thing-2/#'],
    });
    try {
      const denied = await mosquittoPub(['--unix', limited.socket, '-V', '5', '-t', 'dt/thing-1/temp', '-m', '1', '-q', '1', '-d']);
      expect(pubackReasonCodes(denied.stdout)).toEqual([0x87]);
      const allowed = await mosquittoPub(['--unix', limited.socket, '-V', '5', '-t', 'dt/thing-2/temp', '-m', '1', '-q', '1', '-d']);
      expect(pubackReasonCodes(allowed.stdout)).toEqual([0]);
      const sub = await paho(['sub', '--port', String(limited.tcpPort), '--v5', '--filter', 'cmd/#', '--filter', 'cmd/thing-2/+', '--count', '0', '--timeout', '5']);
      expect(JSON.parse(sub.stdout.split('\n')[0] as string)).toEqual({ subscribed: [0x87, 1] });
    } finally {
      await limited.stop();
      dir.remove();
    }
  });

  it('refuses a non-loopback --local-listen as a usage error', async () => {
    const result = await trustlink(['run', ...stack.args, '--local-listen', 'tcp://0.0.0.0:1883'], stack.env);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('only loopback addresses');
    expect(result.stderr).toContain('runs its own broker');
  });

  it('refuses a second agent on the same socket, and leaves the first serving', async () => {
    const second = await trustlink(['run', ...stack.args, '--client-id', 'thing-3', '--local-listen', `unix:${bridge.socket}`, '--state-dir', join(stack.dir, 'second')], stack.env);
    expect(second.code).toBe(69);
    expect(second.stderr).toContain('LISTEN_FAILED');
    const pub = await mosquittoPub(['--unix', bridge.socket, '-t', 'dt/thing-1/still', '-m', '1', '-q', '1']);
    expect(pub.code).toBe(0);
  });
});
