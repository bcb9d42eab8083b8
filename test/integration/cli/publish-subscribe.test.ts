/**
 * publish and subscribe through a real mosquitto, with the device key in a
 * real SoftHSM2 token and in a TPM 2.0 simulator, over MQTT 5 and 3.1.1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLogs, RunningCli, trustlink } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

describe.each(['softhsm', 'tpm'] as const)('with a %s key', (kind) => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await createStack(`pubsub-${kind}`, { token: kind });
  });

  afterAll(async () => {
    await stack?.close();
  });

  describe.each(['5', '3.1.1'])('MQTT %s', (version) => {
    it('delivers every QoS 1 message from publish to subscribe', async () => {
      const topic = `test/${version}/hello`;
      const subscriber = new RunningCli(['--json', 'subscribe', ...stack.args, '--mqtt', version, '--client-id', `sub-${version}`, '--topic', topic, '--count', '5'], stack.env);
      await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);

      const published = await trustlink(['publish', ...stack.args, '--mqtt', version, '--client-id', `pub-${version}`, '--topic', topic, '--message', 'msg {n}', '--count', '5'], stack.env);
      expect(published.stderr).not.toMatch(/error/i);
      expect(published.code).toBe(0);
      expect(published.stdout).toBe(`published 5 messages to ${topic} (QoS 1, all acknowledged)\n`);

      expect(await subscriber.exited).toBe(0);
      const messages = subscriber.stdoutLines.map((line) => JSON.parse(line));
      expect(messages).toEqual([1, 2, 3, 4, 5].map((n) => ({ topic, payload: `msg ${n}`, qos: 1 })));
    });
  });

  it('sends a single message without aws-crt\'s pacing to AWS IoT Core limits, and several with it', async () => {
    const flowControlOf = async (count: string): Promise<unknown> => {
      const published = await trustlink(['--json', 'publish', ...stack.args, '--log-level', 'debug', '--client-id', `pace-${count}`, '--topic', 'test/pace', '--message', 'm', '--count', count], stack.env);
      expect(published.code).toBe(0);
      const connecting = jsonLogs(published.stderr.split('\n')).find((entry) => entry.message === 'connecting');
      return connecting?.flowControl;
    };
    expect(await flowControlOf('1')).toBe('none');
    expect(await flowControlOf('2')).toBe('aws-iot');
  });

  it('connects and publishes without loading node:crypto (the token signs, aws-crt does the TLS)', async () => {
    // A preload writes the built-in modules the process loaded, as it exits.
    const preload = join(stack.dir, 'module-list.cjs');
    const listFile = join(stack.dir, 'modules.txt');
    writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(listFile)}, process.moduleLoadList.join('\\n')));\n`);
    const env = { ...stack.env, NODE_OPTIONS: `--require ${preload}` };
    const runs: Array<[string, string[]]> = [['connect', ['--client-id', 'no-crypto-connect']], ['publish', ['--client-id', 'no-crypto-publish', '--topic', 'test/no-crypto', '--message', 'm', '--qos', '1']]];
    for (const [command, extra] of runs) {
      const result = await trustlink([command, ...stack.args, ...extra], env);
      expect(result.code, result.stderr).toBe(0);
      const modules = readFileSync(listFile, 'utf8').split('\n');
      expect(modules).toContain('NativeModule fs');
      expect(modules.filter((name) => /^NativeModule (crypto|internal\/crypto\/)/.test(name))).toEqual([]);
    }
  });

  it('prints bare payloads, one per line, without --json', async () => {
    const subscriber = new RunningCli(['subscribe', ...stack.args, '--client-id', 'sub-plain', '--topic', 'test/plain', '--count', '2'], stack.env);
    await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
    const published = await trustlink(['publish', ...stack.args, '--client-id', 'pub-plain', '--topic', 'test/plain', '--message', 'line {n}', '--count', '2', '--qos', '0'], stack.env);
    expect(published.code).toBe(0);
    expect(await subscriber.exited).toBe(0);
    expect(subscriber.stdoutLines).toEqual(['line 1', 'line 2']);
  });

  describe.each(['5', '3.1.1'])('a broker restart under MQTT %s', (version) => {
    it('reconnects, subscribes again, and loses no QoS 1 message published after the reconnect', async () => {
      const topic = `test/restart/${version}`;
      const subscriber = new RunningCli(['--json', 'subscribe', ...stack.args, '--mqtt', version, '--client-id', `restart-${version}`, '--topic', topic, '--count', '20'], stack.env);
      await subscriber.waitFor('first subscription', () => subscriber.countLogs('subscribed') === 1);

      await stack.broker.restart();
      await subscriber.waitFor('disconnect to be noticed', () => subscriber.countLogs('disconnected; reconnecting with backoff') >= 1);
      await subscriber.waitFor('re-subscription', () => subscriber.countLogs('subscribed') === 2, 30_000);

      const published = await trustlink(['publish', ...stack.args, '--mqtt', version, '--client-id', `restart-pub-${version}`, '--topic', topic, '--message', '{n}', '--count', '20'], stack.env);
      expect(published.code).toBe(0);
      expect(await subscriber.exited).toBe(0);
      const payloads = subscriber.stdoutLines.map((line) => JSON.parse(line).payload);
      expect(payloads).toEqual(Array.from({ length: 20 }, (_, index) => String(index + 1)));
    });
  });
});
