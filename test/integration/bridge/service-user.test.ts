/**
 * The local bridge as the units run it (User=trustlink, issue 12): the agent
 * as the unprivileged service user, the identity's files owned by it as on
 * the image, its unix socket mode 0660 owned by trustlink:trustlink. A local
 * client in the trustlink group publishes through the socket to the upstream
 * broker; one outside the group is refused by the socket's permissions.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureSystemUser, runAsUser, SERVICE_USER, type SystemUser } from '../../helpers/as-user.js';
import { startBridgeAgent, type BridgeAgent } from '../../helpers/bridge-agent.js';
import { fileClientCert, mosquittoSub, upstreamFlags } from '../../helpers/mqtt-clients.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

const MEMBER = 'trustlink-client';
const OUTSIDER = 'trustlink-other';

let stack: TestStack;
let bridge: BridgeAgent;
let service: SystemUser;

beforeAll(async () => {
  stack = await createStack('bridge-user');
  service = ensureSystemUser();
  ensureSystemUser(MEMBER, [SERVICE_USER]);
  ensureSystemUser(OUTSIDER);
  // The token, its PIN and the broker's CA as the image has them: the service user's. The stack's
  // folder may be passed through (as /run is), not read, by the local clients.
  execFileSync('chown', ['-R', `${service.uid}:${service.gid}`, stack.dir]);
  chmodSync(stack.dir, 0o711);
  bridge = await startBridgeAgent({ args: [...stack.args, '--client-id', 'thing-1'], env: stack.env, dir: join(stack.dir, 'agent'), asServiceUser: true });
});

afterAll(async () => {
  await bridge?.stop();
  await stack?.close();
});

it('runs as the service user, its socket 0660 trustlink:trustlink, its spool its own', async () => {
  const socket = statSync(bridge.socket);
  expect(socket.isSocket()).toBe(true);
  expect(socket.mode & 0o777).toBe(0o660);
  expect([socket.uid, socket.gid]).toEqual([service.uid, service.gid]);
  expect(statSync(bridge.spoolDir).uid).toBe(service.uid);
  const owner = execFileSync('ps', ['-o', 'user=', '-p', String(bridge.agent.child.pid)], { encoding: 'utf8' }).trim();
  expect(owner).toBe(SERVICE_USER);
});

it('a local client in the trustlink group publishes through the socket; one outside it cannot connect', async () => {
  const watcher = await fileClientCert(stack, 'watcher');
  const sub = mosquittoSub([...upstreamFlags(stack, watcher), '-i', 'watcher-user', '-q', '1', '-t', 'dt/thing-1/#', '-C', '1', '-d']);
  try {
    await sub.waitFor('SUBACK', () => sub.stdoutLines.some((line) => line.includes('received SUBACK')));
    const member = await runAsUser('mosquitto_pub', ['--unix', bridge.socket, '-i', 'local-member', '-q', '1', '-t', 'dt/thing-1/temp', '-m', '21.5'], { user: MEMBER });
    expect(member.code, member.stderr).toBe(0);
    await sub.waitFor('the message upstream', () => sub.stdoutLines.includes('dt/thing-1/temp 21.5'));

    const outsider = await runAsUser('mosquitto_pub', ['--unix', bridge.socket, '-i', 'local-outsider', '-q', '1', '-t', 'dt/thing-1/temp', '-m', '99'], { user: OUTSIDER });
    expect(outsider.code).not.toBe(0);
    expect(outsider.stderr).toMatch(/permission denied/i);
  } finally {
    await sub.stop();
  }
});
