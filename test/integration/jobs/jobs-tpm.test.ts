/**
 * Jobs and the shadow with the device key in a TPM 2.0 simulator (swtpm +
 * tpm2-abrmd + tpm2-pkcs11): one job through to SUCCEEDED, and the shadow's
 * reported state, over a real mosquitto.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createJobsStack, THING, type JobsStack } from '../../helpers/jobs-stack.js';

let js: JobsStack;

beforeAll(async () => {
  js = await createJobsStack('jobs-tpm', 'tpm');
});

afterAll(async () => {
  await js?.close();
});

it('runs a job to SUCCEEDED and reports the shadow with the key in the TPM', async () => {
  js.handler('hello', 'echo "hello from $TRUSTLINK_THING_NAME" >&2');
  const agent = js.agent({ shadow: true });
  try {
    await js.jobs.queue(THING, 'job-tpm', { operation: 'hello' });
    const execution = await js.jobs.waitFor(THING, 'job-tpm', ['SUCCEEDED', 'FAILED', 'REJECTED'], 60_000);
    expect(execution).toMatchObject({ status: 'SUCCEEDED', statusDetails: { reason: 'Job exited with status: 0', stderr: `hello from ${THING}` } });
    const shadow = await js.shadow.waitFor(THING, 'trustlink', 'the first report', (stored) => stored.reported.connection !== undefined, 60_000);
    expect(shadow.reported).toMatchObject({ connection: { auth: 'mtls' }, certificateExpiresAt: expect.any(String) });
  } finally {
    expect(await agent.stop()).toBe(0);
  }
});
