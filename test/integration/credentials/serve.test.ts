/**
 * trustlink creds serve, read by the AWS SDK's own HTTP (ECS) and
 * instance-metadata credential readers, against the credentials-provider
 * stand-in: auth, refresh ahead of expiry, last good credentials while the
 * provider fails, backoff by failure class, and clean shutdown.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { fromInstanceMetadata } from '@smithy/credential-provider-imds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialsProviderStandIn } from '../../standin/credentials-provider.js';
import { createCredentialsStack, ROLE_ALIAS, startProvider, type CredentialsStack, type TestDevice } from '../../helpers/credentials.js';
import { freePort } from '../../helpers/ports.js';
import { RunningCli, trustlink } from '../../helpers/run.js';

const ECS_PATH = '/2016-11-01/credentialprovider/';
let stack: CredentialsStack;
const everyServer: RunningCli[] = [];
const extraProviders: CredentialsProviderStandIn[] = [];

beforeAll(async () => {
  stack = await createCredentialsStack('serve');
});

afterAll(async () => {
  await Promise.all(everyServer.map((server) => server.stop()));
  await Promise.all(extraProviders.map((provider) => provider.stop()));
  await stack?.close();
});

interface Serving {
  cli: RunningCli;
  /** The KEY=VALUE lines it printed. */
  env: Record<string, string>;
  tokenFile: string;
}

type Device = Pick<TestDevice, 'args' | 'env'>;

function startServe(name: string, device: Device, port: number): RunningCli {
  const tokenFile = join(stack.ramDir, `${name}.token`);
  const cli = new RunningCli(['creds', ...device.args, 'serve', '--port', String(port), '--token-file', tokenFile], device.env);
  everyServer.push(cli);
  return cli;
}

/** Port 0 lets the kernel pick, so concurrent tests never race for one; the printed lines carry it. */
async function serve(name: string, device: Device, port = 0): Promise<Serving> {
  const cli = startServe(name, device, port);
  await cli.waitFor('the environment lines', () => cli.stdoutLines.some((line) => line.startsWith('AWS_EC2_METADATA_SERVICE_ENDPOINT=')));
  const env = Object.fromEntries(cli.stdoutLines.filter((line) => !line.startsWith('#') && line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  return { cli, env, tokenFile: join(stack.ramDir, `${name}.token`) };
}

/** A stand-in, and a device (token) of its own asking it: for tests that run at the same time. */
async function provider(name: string, options: { lifetimeSeconds?: number } = {}): Promise<{ upstream: CredentialsProviderStandIn; device: TestDevice }> {
  const upstream = await startProvider(stack.pki, options);
  extraProviders.push(upstream);
  return { upstream, device: await stack.newDevice(name, upstream) };
}

function ecsGet(serving: Serving, headers: Record<string, string> = { authorization: readFileSync(serving.tokenFile, 'utf8') }, method = 'GET'): Promise<Response> {
  return fetch(serving.env.AWS_CONTAINER_CREDENTIALS_FULL_URI!, { method, headers });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('one server, one credential lifetime', () => {
  let serving: Serving;
  beforeAll(async () => {
    serving = await serve('main', stack, await freePort());
  });

  it('prints the environment lines for both protocols, and makes a private token file', () => {
    const url = new URL(serving.env.AWS_CONTAINER_CREDENTIALS_FULL_URI!);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.pathname).toBe(ECS_PATH);
    expect(serving.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE).toBe(serving.tokenFile);
    expect(serving.env.AWS_EC2_METADATA_SERVICE_ENDPOINT).toBe(`http://127.0.0.1:${url.port}`);
    expect(readFileSync(serving.tokenFile, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(serving.tokenFile).mode & 0o777).toBe(0o600);
  });

  it('serves the ECS protocol to the AWS SDK HTTP credential reader', async () => {
    const credentials = await fromHttp({
      awsContainerCredentialsFullUri: serving.env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
      awsContainerAuthorizationTokenFile: serving.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
    })();
    const issued = stack.provider.issued[0]!;
    expect(credentials).toMatchObject({ accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken, expiration: new Date(issued.expiration) });
  });

  it('serves IMDSv2 to the AWS SDK instance-metadata reader', async () => {
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = serving.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
    process.env.AWS_CONFIG_FILE = join(stack.dir, 'no-aws-config');
    try {
      const credentials = await fromInstanceMetadata({ timeout: 2000 })();
      expect(credentials).toMatchObject({ accessKeyId: stack.provider.issued[0]!.accessKeyId, sessionToken: stack.provider.issued[0]!.sessionToken });
    } finally {
      delete process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT;
      delete process.env.AWS_CONFIG_FILE;
    }
  });

  it('refuses ECS requests without the token (401), with a wrong one (403), other methods and paths', async () => {
    const missing = await ecsGet(serving, {});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ Code: 'Unauthorized' });
    const wrong = await ecsGet(serving, { authorization: 'f'.repeat(64) });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ Code: 'Forbidden' });
    expect((await ecsGet(serving, undefined, 'POST')).status).toBe(405);
    expect((await fetch(new URL('/2016-11-01/other', serving.env.AWS_EC2_METADATA_SERVICE_ENDPOINT))).status).toBe(404);
  });

  it('holds IMDSv2 to its rules: token TTL 1-21600, no forwarded requests, token on every GET', async () => {
    const base = serving.env.AWS_EC2_METADATA_SERVICE_ENDPOINT!;
    const put = (headers: Record<string, string>) => fetch(`${base}/latest/api/token`, { method: 'PUT', headers });
    for (const ttl of ['0', '21601', 'abc']) expect((await put({ 'x-aws-ec2-metadata-token-ttl-seconds': ttl })).status).toBe(400);
    expect((await put({})).status).toBe(400);
    expect((await put({ 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.9' })).status).toBe(400);
    const granted = await put({ 'x-aws-ec2-metadata-token-ttl-seconds': '60' });
    expect(granted.status).toBe(200);
    expect(granted.headers.get('x-aws-ec2-metadata-token-ttl-seconds')).toBe('60');
    const token = await granted.text();

    const roles = `${base}/latest/meta-data/iam/security-credentials/`;
    expect((await fetch(roles)).status).toBe(401);
    expect((await fetch(roles, { headers: { 'x-aws-ec2-metadata-token': 'nope' } })).status).toBe(401);
    const listed = await fetch(roles, { headers: { 'x-aws-ec2-metadata-token': token } });
    expect(await listed.text()).toBe(ROLE_ALIAS);
    expect((await fetch(`${roles}other-role`, { headers: { 'x-aws-ec2-metadata-token': token } })).status).toBe(404);
    const answer = await (await fetch(`${roles}${ROLE_ALIAS}`, { headers: { 'x-aws-ec2-metadata-token': token } })).json();
    const issued = stack.provider.issued[0]!;
    expect(answer).toEqual({
      Code: 'Success', Type: 'AWS-HMAC', LastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      AccessKeyId: issued.accessKeyId, SecretAccessKey: issued.secretAccessKey, Token: issued.sessionToken, Expiration: issued.expiration,
    });
  });

  it('answers 1,000 requests with one upstream fetch', async () => {
    const authorization = readFileSync(serving.tokenFile, 'utf8');
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 100 }, () => ecsGet(serving, { authorization }).then((response) => response.json() as Promise<{ AccessKeyId: string }>)));
      expect(new Set(answers.map((answer) => answer.AccessKeyId))).toEqual(new Set([stack.provider.issued[0]!.accessKeyId]));
    }
    expect(stack.provider.requestCount).toBe(1);
  });

  it('stops on SIGTERM with exit 0, having logged no secret', async () => {
    expect(await serving.cli.stop()).toBe(0);
    expect(serving.cli.logs().find((line) => line.message === 'stopped')).toMatchObject({ upstreamFetches: 1 });
    const stderr = serving.cli.stderrLines.join('\n');
    const issued = stack.provider.issued[0]!;
    for (const secret of [issued.secretAccessKey, issued.sessionToken, readFileSync(serving.tokenFile, 'utf8')]) expect(stderr).not.toContain(secret);
  });
});

describe('refresh and failure', () => {
  it.concurrent('refreshes ahead of expiry, and serves the new credentials', async () => {
    const { upstream, device } = await provider('refresh', { lifetimeSeconds: 4 });
    const serving = await serve('refresh', device);
    await until('a refresh', () => upstream.requestCount >= 2, 8_000);
    const [first, second] = upstream.issued;
    // Halfway through a 4 s life, well before the first ones expire.
    expect(upstream.requests[1]!.at).toBeLessThan(Date.parse(first!.expiration));
    expect(((await (await ecsGet(serving)).json()) as { AccessKeyId: string }).AccessKeyId).toBe(second!.accessKeyId);
  });

  it.concurrent('keeps serving the last good credentials while refreshes fail (5xx, retried soon but never in a loop), until they expire', async () => {
    const { upstream, device } = await provider('last-good', { lifetimeSeconds: 5 });
    const serving = await serve('last-good', device);
    const good = upstream.issued[0]!;
    upstream.mode = 'server-error';
    await until('a failed refresh', () => upstream.requests.some((request) => request.status === 500), 6_000);
    const firstFailure = Date.now();
    expect(((await (await ecsGet(serving)).json()) as { AccessKeyId: string }).AccessKeyId).toBe(good.accessKeyId);
    expect(serving.cli.countLogs('refreshing credentials failed; serving the last good ones until they expire')).toBeGreaterThanOrEqual(1);

    await until('the last good credentials to expire', () => Date.now() > Date.parse(good.expiration) + 200, 6_000);
    const expired = await ecsGet(serving);
    expect(expired.status).toBe(503);
    expect(await expired.json()).toMatchObject({ Code: 'CredentialsUnavailable' });
    const failures = upstream.requests.filter((request) => request.status === 500).length;
    // Retried (more than once), with at least a second between attempts.
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(failures).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - firstFailure) / 1_000));

    upstream.mode = 'ok';
    await until('recovery', async () => (await ecsGet(serving)).status === 200, 15_000);
    expect(upstream.issued).toHaveLength(2);
  });

  it.concurrent('waits far longer after a refusal (4xx) than after a 5xx', async () => {
    const { upstream, device } = await provider('refused', { lifetimeSeconds: 4 });
    const serving = await serve('refused', device);
    upstream.mode = 'forbidden';
    await until('a refused refresh', () => upstream.requests.some((request) => request.status === 403), 5_000);
    await sleep(3_000);
    expect(upstream.requests.filter((request) => request.status === 403)).toHaveLength(1);
    const warning = serving.cli.logs().find((line) => line.code === 'CREDENTIALS_REFUSED');
    expect(warning?.retryInMs).toBeGreaterThanOrEqual(60_000);
    expect(warning?.reason).toMatch(/answered 403/);
  });

  it.concurrent('waits at start while the provider fails with 5xx, then serves', async () => {
    const { upstream, device } = await provider('late');
    upstream.mode = 'server-error';
    const cli = startServe('late', device, 0);
    await cli.waitFor('a failed first fetch', () => upstream.requestCount >= 1, 10_000);
    upstream.mode = 'ok';
    await cli.waitFor('the environment lines', () => cli.stdoutLines.some((line) => line.startsWith('AWS_CONTAINER_CREDENTIALS_FULL_URI=')), 10_000);
    expect(cli.countLogs('cannot fetch credentials yet; retrying with backoff')).toBeGreaterThanOrEqual(1);
  });

  it.concurrent('exits 77 at start when the provider refuses, printing nothing on stdout', async () => {
    const { upstream, device } = await provider('refused-at-start');
    upstream.mode = 'forbidden';
    const cli = startServe('refused-at-start', device, 0);
    expect(await cli.exited).toBe(77);
    expect(cli.stdoutLines.join('')).toBe('');
    expect(cli.stderrLines.join('\n')).toMatch(/CREDENTIALS_REFUSED/);
    expect(upstream.requestCount).toBe(1);
  });

  it.concurrent('refuses a token file any user may read, before asking AWS', async () => {
    const tokenFile = join(stack.ramDir, 'open.token');
    writeFileSync(tokenFile, 'a'.repeat(64), { mode: 0o644 });
    const { upstream, device } = await provider('open-token');
    const result = await trustlink(['creds', ...device.args, 'serve', '--port', '0', '--token-file', tokenFile], device.env);
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/the token file .*open\.token may be read or written by any user \(mode 644\)/);
    expect(result.stderr).toMatch(/hint: chmod 600/);
    expect(upstream.requestCount).toBe(0);
  });
});
