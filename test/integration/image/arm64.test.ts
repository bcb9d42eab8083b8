/**
 * The aarch64 artifact, for real, under qemu user-mode emulation: built with
 * `--arch arm64`, copied to a folder of its own, run by an official arm64
 * Node 22 with an empty environment, signing with Debian's arm64 SoftHSM2
 * module on a token made by the host's x86-64 SoftHSM2, publishing to
 * mosquitto on the host, and its self-test without network checks (the
 * selftest command comes from issue 7's branch). bundle/arm64-env.sh sets the machine up (CI runs it
 * from test/setup.sh; here it only checks that all is there).
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO } from '../../helpers/paths.js';
import { parseEnvLines, run, runChecked } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
// Emulated runs are 10-15x slower than native ones.
const EMULATED_TIMEOUT_MS = 60_000;
let stack: TestStack;
let arm64: Record<string, string>;
let copy: string;

beforeAll(async () => {
  arm64 = parseEnvLines(await runChecked('bash', [join(REPO, 'bundle', 'arm64-env.sh')], { timeoutMs: 300_000 }));
  await runChecked(process.execPath, [join(REPO, 'bundle', 'build.mjs'), '--arch', 'arm64'], { timeoutMs: 120_000 });
  stack = await createStack('arm64');
  copy = join(stack.dir, 'copied', 'trustlink');
  cpSync(join(REPO, 'dist-arm64'), copy, { recursive: true });
}, 300_000);

afterAll(async () => {
  await stack?.close();
});

/** Runs the copied arm64 trustlink with the arm64 Node under qemu, with nothing in its environment but PATH and `extraEnv`. */
function runArm64(args: string[], extraEnv: string[] = []) {
  return run('/usr/bin/env', ['-i', 'PATH=/usr/bin:/bin', ...extraEnv, arm64.ARM64_QEMU as string, '-L', '/', arm64.ARM64_NODE as string, join(copy, 'trustlink'), ...args],
    { cwd: stack.dir, timeoutMs: EMULATED_TIMEOUT_MS });
}

it('runs an aarch64 Node 22', async () => {
  const node = await run(arm64.ARM64_QEMU as string, ['-L', '/', arm64.ARM64_NODE as string, '-p', 'process.arch + " " + process.versions.node']);
  expect(node.stdout).toMatch(/^arm64 22\./);
});

it('prints its version', async () => {
  expect(await runArm64(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
}, EMULATED_TIMEOUT_MS);

it('publishes to mosquitto on the host, signing with the arm64 SoftHSM2 module on an x86-64-made token', async () => {
  const args = stack.args.map((arg) => (arg === stack.token.modulePath ? arm64.ARM64_SOFTHSM_MODULE as string : arg));
  expect(args).toContain(arm64.ARM64_SOFTHSM_MODULE);
  const published = await runArm64(['publish', ...args, '--client-id', 'arm64', '--topic', 'test/arm64', '--message', 'from aarch64'], [`SOFTHSM2_CONF=${stack.token.env.SOFTHSM2_CONF}`]);
  expect(published.stderr).not.toMatch(/error|warn/i);
  expect(published).toMatchObject({ code: 0, stdout: 'published 1 message to test/arm64 (QoS 1, all acknowledged)\n' });
}, EMULATED_TIMEOUT_MS);

/** The newest glibc symbol version an addon needs: the oldest target glibc it runs on. */
async function glibcFloor(file: string): Promise<string> {
  const symbols = await runChecked('aarch64-linux-gnu-objdump', ['-T', file]);
  const versions = [...symbols.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
  const [major, minor] = versions.reduce((a, b) => (a[0] * 1000 + a[1] >= b[0] * 1000 + b[1] ? a : b));
  return `${major}.${minor}`;
}

it('needs no newer glibc than documented (2.34 for the cross-built pkcs11js, 2.17 for aws-crt)', async () => {
  expect(await glibcFloor(join(copy, 'native/linux-arm64/pkcs11.node'))).toBe('2.34');
  expect(await glibcFloor(join(copy, 'native/linux-arm64/aws-crt-nodejs.node'))).toBe('2.17');
});

it('passes the self-test without network checks, with the arm64 SoftHSM2 module', async () => {
  const config = join(stack.dir, 'selftest.json');
  writeFileSync(config, JSON.stringify({
    pkcs11Module: arm64.ARM64_SOFTHSM_MODULE, key: stack.token.keyUri, pinFile: stack.token.pinFile, certFile: stack.token.certFile, caFile: stack.pki.caFile,
  }));
  const selftest = await runArm64(['--config', config, 'selftest', '--no-network', '--json'], [`SOFTHSM2_CONF=${stack.token.env.SOFTHSM2_CONF}`]);
  expect(selftest.code, selftest.stdout + selftest.stderr).toBe(0);
}, EMULATED_TIMEOUT_MS);
