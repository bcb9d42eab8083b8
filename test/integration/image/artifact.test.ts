/**
 * The built artifact stands alone: dist/ copied to a folder of its own runs
 * with an empty environment (no node_modules, no repo, no network), publishes
 * with a SoftHSM key, spawns nothing at start-up, and carries its licences.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO } from '../../helpers/paths.js';
import { run } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
// The Node running the suite first, so the copy runs on the Node under test (CI: 20, 22, 24).
const SYSTEM_PATH = `${dirname(process.execPath)}:/usr/bin:/bin`;
let stack: TestStack;
let copy: string;

beforeAll(async () => {
  stack = await createStack('artifact');
  copy = join(stack.dir, 'copied', 'trustlink');
  cpSync(join(REPO, 'dist'), copy, { recursive: true });
});

/** A PATH whose first folder holds an `ldd` that leaves a mark when run. */
function lddTrap(name: string): { path: string; ran: () => boolean } {
  const dir = join(stack.dir, `trap-${name}`);
  const mark = join(dir, 'ran');
  mkdirSync(dir);
  writeFileSync(join(dir, 'ldd'), `#!/bin/sh\ntouch ${mark}\nexec /usr/bin/ldd "$@"\n`);
  chmodSync(join(dir, 'ldd'), 0o755);
  return { path: `${dir}:${SYSTEM_PATH}`, ran: () => existsSync(mark) };
}

afterAll(async () => {
  await stack?.close();
});

/** Runs the copied trustlink under `env -i`: nothing but PATH and what the caller adds. */
function runCopied(args: string[], extraEnv: string[] = [], path = SYSTEM_PATH) {
  return run('/usr/bin/env', ['-i', `PATH=${path}`, ...extraEnv, join(copy, 'trustlink'), ...args], { cwd: stack.dir });
}

it('prints its version and help from a copied folder with an empty environment', async () => {
  const versionRun = await runCopied(['--version']);
  expect(versionRun).toMatchObject({ code: 0, stdout: `${version}\n` });
  const help = await runCopied(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: trustlink/);
});

it('answers --help and --version from the launcher with what the bundle itself prints', async () => {
  for (const flag of ['--help', '-h', '--version', '-V']) {
    const fromBundle = await run('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', process.execPath, join(copy, 'trustlink.cjs'), flag]);
    expect(fromBundle.code, flag).toBe(0);
    expect((await runCopied([flag])).stdout, flag).toBe(fromBundle.stdout);
  }
  expect((await runCopied(['publish', '--help'])).stdout).toMatch(/^Usage: trustlink publish/);
});

it('reads aws-crt\'s JavaScript only in commands that connect', async () => {
  const slim = join(stack.dir, 'slim');
  cpSync(copy, slim, { recursive: true, filter: (source) => !source.endsWith('aws-crt.cjs') });
  const help = await run('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', process.execPath, join(slim, 'trustlink.cjs'), 'publish', '--help']);
  expect(help.code).toBe(0);
});

it('loads the PKCS#11 addon only in commands that use a token', async () => {
  const slim = join(stack.dir, 'no-pkcs11');
  cpSync(copy, slim, { recursive: true, filter: (source) => !source.endsWith('pkcs11.node') });
  const bundle = (args: string[]) => run('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', process.execPath, join(slim, 'trustlink.cjs'), ...args]);
  const help = await bundle(['publish', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: trustlink publish/);
  // The same copy does need the addon once a token is used: the test removed the right file.
  const list = await bundle(['hsm', 'list', '--pkcs11-module', stack.token.modulePath]);
  expect(list.code).not.toBe(0);
  expect(list.stderr).toMatch(/pkcs11\.node/);
});

it('publishes to mosquitto with a SoftHSM key, and never runs ldd', async () => {
  const trap = lddTrap('bundle');
  const published = await runCopied(['publish', ...stack.args, '--client-id', 'artifact', '--topic', 'test/artifact', '--message', 'from a copy'], [`SOFTHSM2_CONF=${stack.token.env.SOFTHSM2_CONF}`], trap.path);
  expect(published.stderr).not.toMatch(/error|warn/i);
  expect(published).toMatchObject({ code: 0, stdout: 'published 1 message to test/artifact (QoS 1, all acknowledged)\n' });
  expect(trap.ran()).toBe(false);
});

it('keeps V8\'s compiled code of the bundles in the user\'s cache folder, and goes on past a damaged cache', async () => {
  const cacheHome = join(stack.dir, 'cache-home');
  const publish = (id: string) => runCopied(['publish', ...stack.args, '--client-id', id, '--topic', 'test/cache', '--message', 'cached'],
    [`SOFTHSM2_CONF=${stack.token.env.SOFTHSM2_CONF}`, `XDG_CACHE_HOME=${cacheHome}`]);
  const published = 'published 1 message to test/cache (QoS 1, all acknowledged)\n';
  expect(await publish('cache-1')).toMatchObject({ code: 0, stdout: published });
  const folder = join(cacheHome, 'trustlink');
  expect(statSync(folder).mode & 0o777).toBe(0o700);
  // Node >= 22.1 keeps its own cache files there; older Node gets the launcher's, one per bundle loaded.
  if ('enableCompileCache' in (await import('node:module'))) {
    expect(readdirSync(folder).length).toBeGreaterThan(0);
    return;
  }
  const caches = (): string[] => readdirSync(folder).filter((name) => name.endsWith('.v8')).sort();
  const ours = caches();
  expect(ours.map((name) => name.replace(/-[0-9a-f]{16}-v[\d.]+\.v8$/, ''))).toEqual(['aws-crt.cjs', 'trustlink.cjs']);
  for (const name of ours) expect(statSync(join(folder, name)).mode & 0o777, name).toBe(0o600);
  // A cache that V8 refuses (here: garbage) is compiled past and written again.
  const damaged = join(folder, ours.find((name) => name.startsWith('trustlink.cjs')) as string);
  writeFileSync(damaged, 'not V8 code');
  // ...and the cache of an earlier build goes when the new one is saved.
  const stale = join(folder, 'trustlink.cjs-0000000000000000-v20.0.0.v8');
  writeFileSync(stale, 'from an earlier build');
  expect(await publish('cache-2')).toMatchObject({ code: 0, stdout: published });
  expect(readFileSync(damaged).length).toBeGreaterThan(1000);
  expect(existsSync(stale)).toBe(false);
  expect(await publish('cache-3')).toMatchObject({ code: 0, stdout: published });
  // Other Node options (the agent's unit runs --jitless) get caches of their own; those without stay as they were.
  const saved = ours.map((name) => statSync(join(folder, name)).mtimeMs);
  const jitless = await runCopied(['publish', ...stack.args, '--client-id', 'cache-4', '--topic', 'test/cache', '--message', 'cached'],
    [`SOFTHSM2_CONF=${stack.token.env.SOFTHSM2_CONF}`, `XDG_CACHE_HOME=${cacheHome}`, 'NODE_OPTIONS=--jitless']);
  expect(jitless).toMatchObject({ code: 0, stdout: published });
  expect(await publish('cache-5')).toMatchObject({ code: 0, stdout: published });
  expect(caches()).toHaveLength(4);
  expect(caches().filter((name) => /-o[0-9a-f]{8}\.v8$/.test(name))).toHaveLength(2);
  expect(ours.map((name) => statSync(join(folder, name)).mtimeMs)).toEqual(saved);
});

it('has a trap that does catch ldd: aws-crt as published on npm runs it', async () => {
  const trap = lddTrap('npm');
  const loaded = await run('/usr/bin/env', ['-i', `PATH=${trap.path}`, process.execPath, '-e', `require(${JSON.stringify(join(REPO, 'node_modules/aws-crt'))})`]);
  expect(loaded.code).toBe(0);
  expect(trap.ran()).toBe(true);
});

it('carries a source map, its own licence and every bundled package licence', () => {
  expect(readFileSync(join(copy, 'trustlink.cjs'), 'utf8')).toMatch(/\/\/# sourceMappingURL=trustlink\.cjs\.map\n$/);
  expect(JSON.parse(readFileSync(join(copy, 'trustlink.cjs.map'), 'utf8')).sources.length).toBeGreaterThan(10);
  expect(readFileSync(join(copy, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  const licences = readFileSync(join(copy, 'LICENSES'), 'utf8');
  for (const name of ['aws-crt', 'pkcs11js', 'commander', 'valibot']) expect(licences).toMatch(new RegExp(`^==> ${name}@[\\d.]+ \\(\\S+\\) <==$`, 'm'));
});
