/**
 * trustlink run under a harness: systemd's notifications on a real unix
 * datagram socket, a health message through a real mosquitto, reconnects
 * after a broker restart, and a clean exit 0 on SIGTERM.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNotifySocket, type NotifySocket } from '../../helpers/notify-socket.js';
import { freePort } from '../../helpers/ports.js';
import { RunningCli } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;
let notify: NotifySocket;
const EXPIRY_WARNING = 'the device certificate expires soon: run trustlink rotate, or set rotateBeforeDays';

beforeAll(async () => {
  stack = await createStack('agent');
  notify = await createNotifySocket(stack.dir);
});

afterAll(async () => {
  await notify?.close();
  await stack?.close();
});

it('tells systemd it is ready and alive, publishes health, reconnects after a broker restart, and exits 0 on SIGTERM', async () => {
  const topic = 'health/thing-1';
  const subscriber = new RunningCli(['--json', 'subscribe', ...stack.args, '--client-id', 'health-watcher', '--topic', topic, '--count', '2'], stack.env);
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);

  const env = { ...stack.env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '1000000', TRUSTLINK_HEALTH_TOPIC: topic, TRUSTLINK_HEALTH_INTERVAL_SECONDS: '5' };
  const agent = new RunningCli(['run', ...stack.args, '--thing-name', 'thing-1'], env);
  try {
    await notify.waitFor('READY=1', (sent) => sent.includes('READY=1'));
    await notify.waitFor('connected status', (sent) => sent.some((line) => line.startsWith('STATUS=connected to localhost:')));
    await notify.waitFor('two watchdog pings', (sent) => sent.filter((line) => line === 'WATCHDOG=1').length >= 2);

    // Published on connect: the first health message.
    await subscriber.waitFor('first health message', () => subscriber.stdoutLines.length >= 1);
    const health = JSON.parse(JSON.parse(subscriber.stdoutLines[0] as string).payload);
    expect(health).toMatchObject({ version: expect.any(String), clientId: 'thing-1', uptimeSeconds: expect.any(Number), reconnects: 0 });

    await stack.broker.restart();
    await agent.waitFor('the disconnect', () => agent.countLogs('disconnected; reconnecting with backoff') >= 1);
    await agent.waitFor('the reconnect', () => agent.countLogs('connected') >= 2, 30_000);
    await notify.waitFor('reconnecting status', (sent) => sent.some((line) => line.startsWith('STATUS=reconnecting to localhost:')));
    expect(agent.logs().every((line) => typeof line.level === 'string' && typeof line.message === 'string' && typeof line.time === 'string')).toBe(true);
  } finally {
    subscriber.child.kill('SIGTERM');
    await subscriber.exited;
  }

  const stopping = Date.now();
  expect(await agent.stop()).toBe(0);
  expect(Date.now() - stopping).toBeLessThan(5_000);
  expect(agent.countLogs('agent stopped')).toBe(1);
  await notify.waitFor('STOPPING=1', (sent) => sent.includes('STOPPING=1'));
});

it('is ready while the broker is unreachable, and still exits 0 on SIGTERM', async () => {
  const args = [...stack.args];
  args[args.indexOf('--port') + 1] = String(await freePort());
  const readyBefore = notify.assignments().filter((line) => line === 'READY=1').length;
  const agent = new RunningCli(['run', ...args, '--client-id', 'offline'], { ...stack.env, NOTIFY_SOCKET: notify.path });
  await agent.waitFor('a failed attempt', () => agent.countLogs('connection attempt failed; retrying with backoff') >= 1);
  await notify.waitFor('READY=1 without a broker', (sent) => sent.filter((line) => line === 'READY=1').length === readyBefore + 1);
  // The stack's certificate is valid 30 days: inside the default certWarnDays, said once (then once a day).
  const warnings = agent.logs().filter((line) => line.message === EXPIRY_WARNING);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ level: 'warn', daysToExpiry: 29, certWarnDays: 30 });
  expect(await agent.stop()).toBe(0);
});

it('logs no expiry warning outside certWarnDays', async () => {
  const args = [...stack.args];
  args[args.indexOf('--port') + 1] = String(await freePort());
  const readyBefore = notify.assignments().filter((line) => line === 'READY=1').length;
  const agent = new RunningCli(['run', ...args, '--client-id', 'offline-2'], { ...stack.env, NOTIFY_SOCKET: notify.path, TRUSTLINK_CERT_WARN_DAYS: '7' });
  await notify.waitFor('READY=1', (sent) => sent.filter((line) => line === 'READY=1').length === readyBefore + 1);
  expect(agent.countLogs(EXPIRY_WARNING)).toBe(0);
  expect(await agent.stop()).toBe(0);
});

it('exits with the configuration status, not ready, when the certificate belongs to another key', async () => {
  const args = [...stack.args];
  args[args.indexOf('--cert') + 1] = stack.pki.serverCert;
  const agent = new RunningCli(['run', ...args], stack.env);
  expect(await agent.exited).toBe(78);
  expect(agent.stderrLines.join('\n')).toContain('CERT_KEY_MISMATCH');
});
