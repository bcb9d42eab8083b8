import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHandler, runHandlerSteps } from '../../../src/jobs/handler.js';

const dir = mkdtempSync(join(tmpdir(), 'trustlink-handlers-'));
const handlers = join(dir, 'jobs.d');
mkdirSync(handlers, { mode: 0o755 });
chmodSync(handlers, 0o755);
const write = (name: string, script: string, mode = 0o755): void => {
  writeFileSync(join(handlers, name), `#!/bin/sh\n${script}\n`);
  chmodSync(join(handlers, name), mode);
};
const uid = process.getuid?.() ?? 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('job handlers', () => {
  it('accepts an executable owned by root or the agent\'s user that no one else may write', () => {
    write('ok', 'exit 0');
    expect(checkHandler(handlers, 'ok', uid)).toEqual({ ok: true, file: join(handlers, 'ok') });
  });

  it('refuses group- or world-writable handlers and directories, non-executables and non-files; unknown is unknown', () => {
    write('world', 'exit 0', 0o757);
    write('group', 'exit 0', 0o775);
    write('plain', 'exit 0', 0o644);
    mkdirSync(join(handlers, 'adir'), { mode: 0o755 });
    expect(checkHandler(handlers, 'world', uid)).toMatchObject({ ok: false, unknown: false, reason: expect.stringContaining('writable by group or others (mode 757)') });
    expect(checkHandler(handlers, 'group', uid)).toMatchObject({ ok: false, reason: expect.stringContaining('mode 775') });
    expect(checkHandler(handlers, 'plain', uid)).toMatchObject({ ok: false, reason: expect.stringContaining('not executable') });
    expect(checkHandler(handlers, 'adir', uid)).toMatchObject({ ok: false, reason: expect.stringContaining('not a regular file') });
    expect(checkHandler(handlers, 'nope', uid)).toMatchObject({ ok: false, unknown: true, reason: expect.stringContaining('unknown operation "nope"') });
    // Owned by another user (this test runs as someone, and root-owned files count for anyone).
    expect(checkHandler(handlers, 'ok', uid === 0 ? 4242 : uid + 1)).toMatchObject(uid === 0 ? { ok: true } : { ok: false, reason: expect.stringContaining('not root or the agent\'s user') });
    chmodSync(handlers, 0o777);
    expect(checkHandler(handlers, 'ok', uid)).toMatchObject({ ok: false, reason: expect.stringContaining('handler directory') });
    chmodSync(handlers, 0o755);
  });

  it('follows a symlink to check what would run', () => {
    write('target', 'exit 0', 0o777);
    symlinkSync(join(handlers, 'target'), join(handlers, 'link'));
    expect(checkHandler(handlers, 'link', uid)).toMatchObject({ ok: false, reason: expect.stringContaining('writable by group or others') });
  });

  it('runs steps in order, stops at the first failure unless it is ignored, and kills a handler past its timeout', async () => {
    write('say', 'echo "$2" >&2; exit "$3"');
    write('hang', 'sleep 30');
    const step = (name: string, args: string[], ignoreFailure = false) => ({ name, handler: name === 'hang' ? 'hang' : 'say', args, runAsUser: '', ignoreFailure });
    const options = { dir: handlers, timeoutMs: 5_000, includeStdout: false, env: { PATH: process.env.PATH } };
    expect(await runHandlerSteps([step('a', ['first', '0']), step('b', ['second', '4']), step('c', ['third', '0'])], options))
      .toEqual({ status: 'FAILED', statusDetails: { reason: 'Job exited with status: 4', step: 'b', stderr: 'second' } });
    expect(await runHandlerSteps([step('a', ['first', '1'], true), step('b', ['second', '0'])], options)).toMatchObject({ status: 'SUCCEEDED' });
    expect(await runHandlerSteps([step('hang', [])], { ...options, timeoutMs: 200 })).toMatchObject({ status: 'FAILED', statusDetails: { reason: 'timed out after 0 s and was killed' } });
  });

  it('runs nothing when any step is refused', async () => {
    write('marker', `touch ${join(dir, 'ran')}`);
    const verdict = await runHandlerSteps([{ name: 'm', handler: 'marker', args: [], runAsUser: '', ignoreFailure: false }, { name: 'w', handler: 'world', args: [], runAsUser: '', ignoreFailure: false }],
      { dir: handlers, timeoutMs: 5_000, includeStdout: false, env: {} });
    expect(verdict).toMatchObject({ status: 'REJECTED', statusDetails: { step: 'w' } });
  });
});
