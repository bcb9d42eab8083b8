/**
 * The bridge once with the device key in the TPM 2.0 simulator (swtpm +
 * tpm2-abrmd + tpm2-pkcs11): a local QoS 1 publish over the unix socket
 * reaches a subscriber on mosquitto, and a cloud message comes back down.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridgeAgent, type BridgeAgent } from '../../helpers/bridge-agent.js';
import { fileClientCert, mosquittoPub, mosquittoSub, upstreamFlags, type FileClientCert } from '../../helpers/mqtt-clients.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;
let watcher: FileClientCert;
let bridge: BridgeAgent;

beforeAll(async () => {
  stack = await createStack('bridge-tpm', { token: 'tpm' });
  watcher = await fileClientCert(stack, 'watcher');
  bridge = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: join(stack.dir, 'agent') });
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await stack?.close();
});

it('forwards both ways with the key in the TPM', async () => {
  const up = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher', '-q', '1', '-t', 'dt/thing-1/tpm', '-C', '1', '-d']);
  await up.waitFor('SUBACK', () => up.stdoutLines.some((line) => line.includes('received SUBACK')));
  const pub = await mosquittoPub(['--unix', bridge.socket, '-t', 'dt/thing-1/tpm', '-m', '21.5', '-q', '1']);
  expect(pub.code, pub.stderr).toBe(0);
  expect(await up.exited).toBe(0);
  expect(up.stdoutLines).toContain('dt/thing-1/tpm 21.5');

  const down = mosquittoSub(['--unix', bridge.socket, '-q', '1', '-t', 'cmd/thing-1/tpm', '-C', '1', '-d']);
  await down.waitFor('SUBACK', () => down.stdoutLines.some((line) => line.includes('received SUBACK')));
  const cloud = await mosquittoPub([...upstreamFlags(stack, watcher), '-i', 'cloud', '-t', 'cmd/thing-1/tpm', '-m', 'reboot', '-q', '1']);
  expect(cloud.code, cloud.stderr).toBe(0);
  expect(await down.exited).toBe(0);
  expect(down.stdoutLines).toContain('cmd/thing-1/tpm reboot');
});
