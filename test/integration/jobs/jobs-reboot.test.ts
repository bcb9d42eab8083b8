/**
 * The built-in jobs that outlive the agent: `reboot`, and `update` with a
 * fake updater whose next boot's self-test passes (SUCCEEDED, slot marked
 * good) or fails (FAILED naming the check, rolled back). A reboot is
 * simulated: the reboot command leaves a marker, the test stops the agent,
 * runs the boot self-test as the unit would, and starts the agent again with
 * the same state directory.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJobsStack, recorded, THING, type JobsStack } from '../../helpers/jobs-stack.js';
import { trustlink, type RunningCli } from '../../helpers/run.js';

let js: JobsStack;
let updater: string;
const SIGNATURE = 'X-Amz-Signature=0123456789abcdef';
const URL = `https://bucket.s3.eu-west-1.amazonaws.com/image.raucb?X-Amz-Credential=AKIA&${SIGNATURE}`;

beforeAll(async () => {
  js = await createJobsStack('jobs-reboot');
  updater = join(js.stack.dir, 'fake-updater');
  // install: remember the URL and stage the other slot; mark-good / mark-bad: what RAUC's status commands do.
  writeFileSync(updater, `#!/bin/sh
case "$1" in
  install) printf '%s' "$TRUSTLINK_UPDATE_URL" > ${js.stack.dir}/installed-url; echo staged > ${js.stack.dir}/slot;;
  mark-good) echo good > ${js.stack.dir}/slot;;
  mark-bad) echo rolled-back > ${js.stack.dir}/slot;;
  *) exit 64;;
esac
`);
  chmodSync(updater, 0o755);
});

afterAll(async () => {
  await js?.close();
});

const rebooted = (): string => join(js.stack.dir, 'rebooted');
function startAgent(): RunningCli {
  return js.agent({ env: { TRUSTLINK_JOBS_UPDATE_COMMAND: `${updater} install`, TRUSTLINK_JOBS_REBOOT_COMMAND: `touch ${rebooted()}` } });
}

/** Runs the job up to its reboot, then "reboots": agent stopped, boot self-test run with `selftestArgs`, agent started again. */
async function throughReboot(jobId: string, document: object, selftestArgs: string[]): Promise<{ before: RunningCli; after: RunningCli; selftestCode: number | null }> {
  rmSync(rebooted(), { force: true });
  const before = startAgent();
  await before.waitFor('the agent up', () => before.countLogs('subscribed') >= 5);
  await js.jobs.queue(THING, jobId, document);
  await before.waitFor('the reboot command', () => existsSync(rebooted()));
  expect(await before.stop()).toBe(0);
  expect(js.jobs.logic.find(THING, jobId)?.status).toBe('IN_PROGRESS');
  const selftest = await trustlink(['--json', 'selftest', ...js.stack.args, '--thing-name', THING, '--report', join(js.runtimeDir, 'selftest.json'),
    '--on-pass', `${updater} mark-good`, '--on-fail', `${updater} mark-bad`, ...selftestArgs], js.stack.env);
  return { before, after: startAgent(), selftestCode: selftest.code };
}

it('reboot: reported SUCCEEDED only once the device came back', async () => {
  const { after } = await throughReboot('job-reboot', { operation: 'reboot' }, []);
  try {
    const execution = await js.jobs.waitFor(THING, 'job-reboot', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    await recorded(after, 'job-reboot');
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statusDetails.reason).toBe('the device rebooted and the agent is back');
  } finally {
    expect(await after.stop()).toBe(0);
  }
});

it('update: SUCCEEDED when the next boot\'s self-test passed and marked the slot good; the URL stays secret', async () => {
  const { before, after, selftestCode } = await throughReboot('job-update-ok', { operation: 'update', args: [URL] }, []);
  try {
    expect(selftestCode).toBe(0);
    expect(readFileSync(join(js.stack.dir, 'installed-url'), 'utf8')).toBe(URL);
    const execution = await js.jobs.waitFor(THING, 'job-update-ok', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    await recorded(after, 'job-update-ok');
    expect(execution.statusDetails.reason).toBe('the boot self-test passed and the new slot was marked good');
    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.statusDetails).toMatchObject({ reason: 'the boot self-test passed and the new slot was marked good' });
    expect(readFileSync(join(js.stack.dir, 'slot'), 'utf8').trim()).toBe('good');
  } finally {
    expect(await after.stop()).toBe(0);
  }
  // A presigned URL is a credential: not in the logs, not in the state kept on flash.
  expect([...before.stderrLines, ...after.stderrLines].join('\n')).not.toContain(SIGNATURE);
  for (const file of readdirSync(join(js.stateDir, 'jobs'))) expect(readFileSync(join(js.stateDir, 'jobs', file), 'utf8')).not.toContain(SIGNATURE);
});

it('update: FAILED naming the check when the next boot\'s self-test failed (and the updater rolled back)', async () => {
  const { after, selftestCode } = await throughReboot('job-update-bad', { operation: 'update', args: [URL] }, ['--pkcs11-module', join(js.stack.dir, 'missing-module.so')]);
  try {
    expect(selftestCode).not.toBe(0);
    const execution = await js.jobs.waitFor(THING, 'job-update-bad', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    await recorded(after, 'job-update-bad');
    expect(execution.status).toBe('FAILED');
    expect(execution.statusDetails.failedChecks).toBe('pkcs11-module');
    expect(execution.statusDetails.reason).toContain('the boot self-test after the update failed: pkcs11-module');
    expect(readFileSync(join(js.stack.dir, 'slot'), 'utf8').trim()).toBe('rolled-back');
  } finally {
    expect(await after.stop()).toBe(0);
  }
});

it('update: FAILED with the updater\'s output when it fails, the URL cut out of it, and no reboot', async () => {
  rmSync(rebooted(), { force: true });
  const agent = js.agent({ env: { TRUSTLINK_JOBS_UPDATE_COMMAND: 'echo "cannot fetch $TRUSTLINK_UPDATE_URL" >&2; exit 2', TRUSTLINK_JOBS_REBOOT_COMMAND: `touch ${rebooted()}` } });
  try {
    await js.jobs.queue(THING, 'job-update-fetch', { operation: 'update', args: [URL] });
    const execution = await js.jobs.waitFor(THING, 'job-update-fetch', ['SUCCEEDED', 'FAILED', 'REJECTED']);
    await recorded(agent, 'job-update-fetch');
    expect(execution.status).toBe('FAILED');
    expect(execution.statusDetails).toEqual({ reason: 'the updater failed: Job exited with status: 2', stderr: 'cannot fetch <image URL>' });
    expect(existsSync(rebooted())).toBe(false);
  } finally {
    expect(await agent.stop()).toBe(0);
  }
  expect(readFileSync(join(js.stateDir, 'jobs', 'history.json'), 'utf8')).not.toContain(SIGNATURE);
});
