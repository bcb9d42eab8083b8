import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, expect, it } from 'vitest';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { spoolCheck } from '../../../src/selftest/checks.js';
import type { SelftestContext } from '../../../src/selftest/context.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('spool-check');
afterAll(() => temp.remove());

function run(config: Partial<Config>) {
  const context = { config: v.parse(configSchema, { stateDir: temp.path, ...config }) } as unknown as SelftestContext;
  return spoolCheck.run(context);
}

it('passes for a writable spool folder with room', async () => {
  mkdirSync(join(temp.path, 'spool'));
  expect(await run({})).toMatchObject({ status: 'pass' });
});

it('warns when the folder was not made yet, and fails for a file where the folder should be', async () => {
  expect(await run({ spoolDir: join(temp.path, 'nowhere') })).toMatchObject({ status: 'warn', detail: expect.stringContaining('does not exist') });
  writeFileSync(join(temp.path, 'file'), '');
  expect(await run({ spoolDir: join(temp.path, 'file') })).toMatchObject({ status: 'fail', detail: expect.stringContaining('not a folder') });
});

it('fails when the filesystem has no room for spoolMaxBytes', async () => {
  expect(await run({ spoolMaxBytes: Number.MAX_SAFE_INTEGER })).toMatchObject({ status: 'fail' });
});

it('is skipped when the local endpoint is off', async () => {
  expect(await run({ localListen: [] })).toMatchObject({ status: 'skip' });
  chmodSync(temp.path, 0o755);
});
