/**
 * Every auth mode end to end through the AWS IoT stand-in: a real message
 * from `trustlink publish` (in the mode under test) reaches a subscriber on
 * the mosquitto behind it, and the stand-in recorded how it authenticated.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningCli, trustlink } from '../../helpers/run.js';
import { AUTHORIZER, REGION, createStandinStack, type StandinStack } from '../../helpers/standin-stack.js';

let s: StandinStack;
let sequence = 0;

beforeAll(async () => {
  s = await createStandinStack('modes');
});

afterAll(async () => {
  await s?.close();
});

/** Publishes one message with `args` and checks that a subscriber on mosquitto itself received it. */
async function deliver(args: string[], env: NodeJS.ProcessEnv, version: string): Promise<void> {
  const topic = `modes/${++sequence}`;
  const subscriber = new RunningCli(['--json', 'subscribe', ...s.stack.args, '--client-id', `sub-${sequence}`, '--topic', topic, '--count', '1'], s.stack.env);
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
  const published = await trustlink(['publish', ...args, '--mqtt', version, '--client-id', `pub-${sequence}`, '--topic', topic, '--message', `via ${args.join(' ').match(/--auth \w+/)?.[0] ?? 'mtls'}`], env);
  expect(published.stderr).not.toMatch(/"level":"(error|warn)"/);
  expect(published.code, published.stderr).toBe(0);
  expect(await subscriber.exited).toBe(0);
  expect(JSON.parse(subscriber.stdoutLines[0] ?? '{}')).toMatchObject({ topic, qos: 1 });
}

// The last CONNECT judged: a connection that sends none (aws-crt reconnecting while a refused
// one-shot command stops, or the refusal check's own probe) may come after it.
const lastSeen = () => s.standin.seen.filter((seen) => seen.reason !== 'no CONNECT').at(-1);

function envCredentials(lifetimeMs?: number): NodeJS.ProcessEnv {
  const credentials = s.standin.issueCredentials(lifetimeMs);
  return { ...s.stack.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken };
}

/** Nothing secret reaches the output: no secret key, session token or signature. */
function expectNoSecrets(output: string, env: NodeJS.ProcessEnv): void {
  for (const secret of [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN]) if (secret) expect(output).not.toContain(secret);
  expect(output).not.toMatch(/X-Amz-Signature|X-Amz-Security-Token|x-amz-customauthorizer-signature/i);
}

const sigv4 = () => ['--auth', 'sigv4', '--region', REGION, ...s.endpoint(s.standin.ports.websocket)];
const cognitoArgs = (identity: string) => [...sigv4(), '--credentials-source', 'cognito', '--cognito-identity', identity, '--cognito-endpoint', `localhost:${s.standin.ports.cognito}`];
const custom = (...extra: string[]) => ['--auth', 'custom', '--authorizer', AUTHORIZER.name, '--token-key-name', AUTHORIZER.tokenKeyName, '--token-value', 'device-42', ...extra];
const signingKey = () => ['--token-signing-key', s.signer.keyUri, '--pkcs11-module', s.signer.modulePath, '--pin-file', s.signer.pinFile];

describe('mtls through the stand-in', () => {
  it('delivers a message and is seen with the device certificate', async () => {
    await deliver([...s.endpoint(s.standin.ports.mtls), ...s.device], s.stack.env, '5');
    expect(lastSeen()).toMatchObject({ mode: 'mtls', accepted: true, certificateCn: 'thing-1' });
  });
});

describe.each(['5', '3.1.1'])('sigv4 over MQTT %s', (version) => {
  it('env credentials: delivers a message; the stand-in verified the signature', async () => {
    const env = envCredentials();
    await deliver(sigv4(), env, version);
    expect(lastSeen()).toMatchObject({ mode: 'sigv4', accepted: true, signatureVerified: true, accessKeyId: env.AWS_ACCESS_KEY_ID });
  });
});

describe('sigv4 with Cognito credentials', () => {
  it('fetches credentials for the identity and delivers a message signed with them', async () => {
    s.standin.cognito.identities.set('eu-west-1:0000aaaa-1111-2222-3333-444455556666', { lifetimeMs: 3_600_000, logins: { 'accounts.example.com': 'id-token-1' } });
    const loginFile = join(s.stack.dir, 'login-token');
    writeFileSync(loginFile, 'id-token-1\n', { mode: 0o600 });
    const before = s.standin.cognito.requests;
    await deliver([...cognitoArgs('eu-west-1:0000aaaa-1111-2222-3333-444455556666'), '--cognito-login', `accounts.example.com=@${loginFile}`], s.stack.env, '5');
    expect(s.standin.cognito.requests).toBe(before + 1);
    expect(lastSeen()).toMatchObject({ mode: 'sigv4', accepted: true, signatureVerified: true });
  });

  it('subscribes through the websocket too (messages flow back through the relay)', async () => {
    s.standin.cognito.identities.set('eu-west-1:0000bbbb-1111-2222-3333-444455556666', { lifetimeMs: 3_600_000 });
    const subscriber = new RunningCli(['--json', 'subscribe', ...cognitoArgs('eu-west-1:0000bbbb-1111-2222-3333-444455556666'), '--client-id', 'ws-sub', '--topic', 'modes/inbound', '--count', '1'], s.stack.env);
    await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);
    const published = await trustlink(['publish', ...s.stack.args, '--client-id', 'ws-pub', '--topic', 'modes/inbound', '--message', 'to the websocket'], s.stack.env);
    expect(published.code).toBe(0);
    expect(await subscriber.exited).toBe(0);
    expect(JSON.parse(subscriber.stdoutLines[0] ?? '{}')).toEqual({ topic: 'modes/inbound', payload: 'to the websocket', qos: 1 });
  });
});

describe.each(['5', '3.1.1'])('custom authorizer over MQTT %s', (version) => {
  it('direct (ALPN mqtt), token signed inside the PKCS#11 token: delivers a message', async () => {
    await deliver([...s.endpoint(s.standin.ports.custom), ...custom(...signingKey())], s.signer.env, version);
    expect(lastSeen()).toMatchObject({ mode: 'custom', accepted: true, authorizer: AUTHORIZER.name, alpn: 'mqtt' });
  });

  it('direct, combined with mTLS and a given signature: delivers a message', async () => {
    const signatureFile = join(s.stack.dir, 'token-signature');
    writeFileSync(signatureFile, await s.signWithSigner('device-42'), { mode: 0o600 });
    await deliver([...s.endpoint(s.standin.ports.custom), ...s.device, ...custom('--token-signature', `@${signatureFile}`)], s.stack.env, version);
    expect(lastSeen()).toMatchObject({ mode: 'custom', accepted: true, authorizer: AUTHORIZER.name, certificateCn: 'thing-1' });
  });

  it('over a websocket: delivers a message', async () => {
    await deliver([...s.endpoint(s.standin.ports.websocket), ...custom(...signingKey()), '--websocket'], s.signer.env, version);
    expect(lastSeen()).toMatchObject({ mode: 'custom-websocket', accepted: true, authorizer: AUTHORIZER.name });
  });
});

describe('connect', () => {
  it('prints the CONNACK outcome and negotiated settings as JSON', async () => {
    const result = await trustlink(['--json', 'connect', ...sigv4()], envCredentials());
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ event: 'connected', auth: 'sigv4', mqtt: '5', sessionPresent: false, negotiated: { maximumQos: 1 } });
  });
});

describe('secrets', () => {
  it('never reach stdout or stderr, even with --debug', async () => {
    const env = envCredentials();
    const runs = [
      await trustlink(['--debug', 'connect', ...sigv4()], env),
      await trustlink(['--debug', 'connect', ...s.endpoint(s.standin.ports.custom), ...custom(...signingKey()), '--auth-password-file', s.signer.pinFile], s.signer.env),
    ];
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expectNoSecrets(run.stdout + run.stderr, env);
      expect(run.stdout + run.stderr).not.toMatch(/device-42/);
    }
  });
});

describe('refusals', () => {
  async function refused(args: string[], env: NodeJS.ProcessEnv, code: string, exit = 69): Promise<string> {
    const result = await trustlink(['connect', ...args], env);
    expect(result.code, result.stderr).toBe(exit);
    expect(result.stderr).toContain(`[${code}]`);
    expect(result.stdout).toBe('');
    expectNoSecrets(result.stdout + result.stderr, env);
    return result.stderr;
  }

  it('wrong region: the stand-in refuses the signature with 403', async () => {
    await refused([...sigv4(), '--region', 'us-east-1'], envCredentials(), 'CONNECT_REFUSED');
    expect(lastSeen()).toMatchObject({ mode: 'sigv4', accepted: false, signatureVerified: false, reason: 'wrong region us-east-1' });
  });

  it('clock skew beyond 5 minutes: refused', async () => {
    s.standin.clockOffsetMs = 10 * 60_000;
    try {
      await refused(sigv4(), envCredentials(), 'CONNECT_REFUSED');
    } finally {
      s.standin.clockOffsetMs = 0;
    }
    expect(lastSeen()).toMatchObject({ accepted: false, reason: 'clock skew: X-Amz-Date too far from now' });
  });

  it('expired credentials from the environment: refused by the stand-in', async () => {
    await refused(sigv4(), envCredentials(-60_000), 'CONNECT_REFUSED');
    expect(lastSeen()).toMatchObject({ accepted: false, reason: 'expired credentials' });
  });

  it('a wrong secret key: the signature does not match', async () => {
    await refused(sigv4(), { ...envCredentials(), AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, 'CONNECT_REFUSED');
    expect(lastSeen()).toMatchObject({ accepted: false, signatureVerified: false, reason: 'signature does not match' });
  });

  it('expired credentials from Cognito: never signed with', async () => {
    s.standin.cognito.identities.set('eu-west-1:0000cccc-1111-2222-3333-444455556666', { lifetimeMs: -60_000 });
    const seenBefore = s.standin.seen.length;
    const stderr = await refused(cognitoArgs('eu-west-1:0000cccc-1111-2222-3333-444455556666'), s.stack.env, 'CREDENTIALS_EXPIRED');
    expect(stderr).toMatch(/expired at/);
    expect(s.standin.seen.length).toBe(seenBefore);
  });

  it('Cognito unknown identity: ResourceNotFoundException', async () => {
    const stderr = await refused(cognitoArgs('eu-west-1:0000dddd-1111-2222-3333-444455556666'), s.stack.env, 'CREDENTIALS_REFUSED', 77);
    expect(stderr).toMatch(/ResourceNotFoundException \(HTTP 400\): Identity 'eu-west-1:0000dddd-1111-2222-3333-444455556666' not found/);
  });

  it('wrong authorizer name: CONNACK not authorized', async () => {
    const args = [...s.endpoint(s.standin.ports.custom), ...custom(...signingKey())];
    args[args.indexOf(AUTHORIZER.name)] = 'other-authorizer';
    await refused(args, s.signer.env, 'CONNECT_REFUSED');
    expect(lastSeen()).toMatchObject({ mode: 'custom', accepted: false, authorizer: 'other-authorizer', reason: 'unknown authorizer other-authorizer' });
  });

  it.each(['5', '3.1.1'])('bad token signature: CONNACK not authorized (MQTT %s)', async (version) => {
    const forged = Buffer.alloc(256, 7).toString('base64');
    const stderr = await refused(['--mqtt', version, ...s.endpoint(s.standin.ports.custom), ...custom('--token-signature', forged)], s.stack.env, 'CONNECT_REFUSED');
    expect(stderr).toMatch(/hint: .*authorizer name/);
    expect(lastSeen()).toMatchObject({ mode: 'custom', accepted: false, reason: 'token signature does not verify' });
  });

  it('sigv4 without --region for a non-AWS endpoint: usage error', async () => {
    await refused(['--auth', 'sigv4', ...s.endpoint(s.standin.ports.websocket)], envCredentials(), 'USAGE', 64);
  });
});
