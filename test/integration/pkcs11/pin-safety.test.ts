/**
 * A wrong PIN is tried once per process, never by a reconnect loop: tokens
 * lock after a few failures (a TPM locks every token on it). C_Login calls
 * are counted with OpenSC's PKCS#11 spy between trustlink and the real
 * module, and on the TPM by the TPM's own dictionary-attack counter.
 *
 * aws-crt refuses the spy (it reports Cryptoki 3.0), so the spy can only
 * watch runs that stop before aws-crt loads the module; what aws-crt does
 * on reconnects is watched through the TPM's counter instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, RunningCli, trustlink } from '../../helpers/run.js';
import { pkcs11Spy } from '../../helpers/spy.js';
import { createStack, type TestStack, type TokenKind } from '../../helpers/stack.js';

const KINDS: TokenKind[] = ['softhsm', 'tpm'];
const stacks = new Map<TokenKind, TestStack>();

beforeAll(async () => {
  const created = await Promise.all(KINDS.map((kind) => createStack(`pin-${kind}`, { token: kind })));
  KINDS.forEach((kind, index) => {
    stacks.set(kind, created[index] as TestStack);
  });
});

afterAll(async () => {
  await Promise.all([...stacks.values()].map((stack) => stack.close()));
});

/** The stack's connection flags with another module and PIN file. */
function argsWith(stack: TestStack, modulePath: string, pinFile: string): string[] {
  const args = [...stack.args];
  args[args.indexOf('--pkcs11-module') + 1] = modulePath;
  args[args.indexOf('--pin-file') + 1] = pinFile;
  return args;
}

describe.each(KINDS)('on %s', (kind) => {
  it('a wrong PIN is tried exactly once, then the subscriber exits 77 while the broker is away', async () => {
    const stack = stacks.get(kind) as TestStack;
    const lockoutBefore = await stack.tpm?.lockoutCounter();
    const wrongPin = join(stack.dir, 'wrong.pin');
    writeFileSync(wrongPin, '000000', { mode: 0o600 });
    const spy = pkcs11Spy(stack.token.modulePath, join(stack.dir, 'spy.log'));
    await stack.broker.stop();
    try {
      const subscriber = new RunningCli(['subscribe', ...argsWith(stack, spy.modulePath, wrongPin), '--client-id', 'pin-wrong', '--topic', 'test/pin'], { ...stack.env, ...spy.env });
      const code = await Promise.race([subscriber.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
      if (code === 'still running') await subscriber.stop();
      expect(code).toBe(77);
      expect(spy.loginCalls()).toBe(1);
      const stderr = subscriber.stderrLines.join('\n');
      expect(stderr).toContain('[PIN_INCORRECT]');
      expect(stderr).toContain('tried once, not retried');
      if (kind === 'tpm') {
        expect(stderr).toContain('tpm2_dictionarylockout --clear-lockout');
        expect(await stack.tpm?.lockoutCounter()).toBe((lockoutBefore ?? 0) + 1);
      }
    } finally {
      await stack.broker.start();
    }
  });
});

it('says so when aws-crt refuses the module (here: the spy, which reports Cryptoki 3.0)', async () => {
  const stack = stacks.get('softhsm') as TestStack;
  const spy = pkcs11Spy(stack.token.modulePath, join(stack.dir, 'spy-crt.log'));
  const published = await trustlink(['publish', ...argsWith(stack, spy.modulePath, stack.token.pinFile), '--topic', 'test/pin', '--message', 'x'], { ...stack.env, ...spy.env });
  expect(published.code).toBe(69);
  expect(published.stderr).toMatch(/aws-crt cannot use the PKCS#11 module .*AWS_ERROR_PKCS11_VERSION_UNSUPPORTED.* \[PKCS11_MODULE_FAILED\]/);
  expect(published.stderr).toContain('aws-crt accepts only Cryptoki 2.x modules');
});

describe('on tpm', () => {
  it('a subscriber whose PIN was changed under it reconnects without a single failed login', async () => {
    const stack = stacks.get('tpm') as TestStack;
    const { token } = stack;
    const subscriber = new RunningCli(['--json', 'subscribe', ...stack.args, '--client-id', 'pin-changed', '--topic', 'test/pin'], stack.env);
    try {
      await subscriber.waitFor('first subscription', () => subscriber.countLogs('subscribed') === 1);
      const lockoutBefore = await (stack.tpm as NonNullable<TestStack['tpm']>).lockoutCounter();

      // The PIN the subscriber logged in with stops being valid; a reconnect that logged in again would fail and count.
      const pins = { OLD_PIN: readFileSync(token.pinFile, 'utf8'), NEW_PIN: 'changed-1234' };
      const changed = await run('pkcs11-tool', ['--module', token.modulePath, '--token-label', token.label, '--login', '--pin', 'env:OLD_PIN', '--change-pin', '--new-pin', 'env:NEW_PIN'],
        { env: { ...stack.env, ...pins } });
      expect(changed.code, changed.stderr).toBe(0);
      writeFileSync(token.pinFile, pins.NEW_PIN, { mode: 0o600 });

      await stack.broker.restart();
      await subscriber.waitFor('re-subscription', () => subscriber.countLogs('subscribed') === 2, 30_000);
      expect(await (stack.tpm as NonNullable<TestStack['tpm']>).lockoutCounter()).toBe(lockoutBefore);
    } finally {
      await subscriber.stop();
    }
  });
});
