import { describe, expect, it } from 'vitest';
import { TrustlinkError } from '../../../src/errors.js';
import { runChecks, verdictOf, type Check, type CheckOutcome, type CheckResult } from '../../../src/selftest/runner.js';

type TestCheck = Check<string[]>;

function check(id: string, requires: string[], run: TestCheck['run'], extra: Partial<TestCheck> = {}): TestCheck {
  return { id, name: `check ${id}`, requires, timeoutMs: 1_000, run, ...extra };
}

/** A check body that notes its id in the context, then returns `outcome`. */
const noting = (id: string, outcome: CheckOutcome): TestCheck['run'] => (seen) => {
  seen.push(id);
  return outcome;
};

const byId = (results: CheckResult[]) => Object.fromEntries(results.map((result) => [result.id, result]));

describe('runChecks', () => {
  it('runs every check in order and records status, detail and duration', async () => {
    const order: string[] = [];
    const results = await runChecks([
      check('a', [], noting('a', { status: 'pass', detail: 'A ok' })),
      check('b', ['a'], noting('b', { status: 'warn', detail: 'B meh', hint: 'fix B' })),
    ], order);
    expect(order).toEqual(['a', 'b']);
    expect(results).toEqual([
      { id: 'a', name: 'check a', status: 'pass', durationMs: expect.any(Number), detail: 'A ok' },
      { id: 'b', name: 'check b', status: 'warn', durationMs: expect.any(Number), detail: 'B meh', hint: 'fix B' },
    ]);
  });

  it('turns a thrown TrustlinkError into a failure with its hint, and skips what needs it, transitively', async () => {
    const ran: string[] = [];
    const results = byId(await runChecks([
      check('login', [], () => {
        throw new TrustlinkError('PIN_INCORRECT', 'PIN refused', { hint: 'check the PIN file' });
      }),
      check('key', ['login'], noting('key', { status: 'pass', detail: '' })),
      check('sign', ['key'], noting('sign', { status: 'pass', detail: '' })),
      check('ca', [], noting('ca', { status: 'pass', detail: 'independent' })),
    ], ran));
    expect(ran).toEqual(['ca']);
    expect(results.login).toMatchObject({ status: 'fail', detail: 'PIN refused', hint: 'check the PIN file' });
    expect(results.key).toMatchObject({ status: 'skip', detail: 'skipped: needs "check login", which did not pass' });
    expect(results.sign).toMatchObject({ status: 'skip', detail: 'skipped: needs "check key", which did not pass' });
    expect(results.ca?.status).toBe('pass');
  });

  it('uses the check\'s own hint for foreign errors', async () => {
    const [result] = await runChecks([check('dns', [], () => Promise.reject(new Error('getaddrinfo ENOTFOUND x')), { hint: 'check DNS' })], []);
    expect(result).toMatchObject({ status: 'fail', detail: 'getaddrinfo ENOTFOUND x', hint: 'check DNS' });
  });

  it('does not block dependants of a check that said it does not apply', async () => {
    const results = byId(await runChecks([
      check('module', [], () => ({ status: 'skip', detail: 'not a token key' })),
      check('key', ['module'], () => ({ status: 'pass', detail: 'file key' })),
    ], []));
    expect(results.key?.status).toBe('pass');
  });

  it('fails a check that outlives its time limit and goes on', async () => {
    const results = byId(await runChecks([
      check('slow', [], () => new Promise(() => undefined), { timeoutMs: 50 }),
      check('after', [], () => ({ status: 'pass', detail: '' })),
    ], []));
    expect(results.slow).toMatchObject({ status: 'fail', detail: 'did not finish within 50 ms' });
    expect(results.slow?.durationMs).toBeGreaterThanOrEqual(45);
    expect(results.after?.status).toBe('pass');
  });

  it('takes a per-context time limit', async () => {
    const [result] = await runChecks([check('tcp', [], () => new Promise(() => undefined), { timeoutMs: (context) => context.length * 10 })], ['x', 'y']);
    expect(result?.detail).toBe('did not finish within 20 ms');
  });

  it('skips with the caller\'s reason (--no-network) before looking at prerequisites', async () => {
    const results = byId(await runChecks([
      check('dns', [], () => ({ status: 'pass', detail: '' }), { network: true }),
      check('tcp', ['dns'], () => ({ status: 'pass', detail: '' }), { network: true }),
      check('ca', [], () => ({ status: 'pass', detail: '' })),
    ], [], { skipReason: (c) => (c.network ? 'skipped: --no-network' : undefined) }));
    expect(results.dns?.detail).toBe('skipped: --no-network');
    expect(results.tcp?.detail).toBe('skipped: --no-network');
    expect(results.ca?.status).toBe('pass');
  });
});

describe('verdictOf', () => {
  const result = (status: CheckResult['status']): CheckResult => ({ id: status, name: status, status, durationMs: 0, detail: '' });
  it('is fail over warn over pass; skips do not count', () => {
    expect(verdictOf([result('pass'), result('skip')])).toBe('pass');
    expect(verdictOf([result('pass'), result('warn'), result('skip')])).toBe('warn');
    expect(verdictOf([result('warn'), result('fail')])).toBe('fail');
  });
});
