/**
 * trustlink creds against the credentials-provider stand-in, with the device
 * key in a real SoftHSM2 token: the formats (read back by the AWS SDK's own
 * credential_process reader), every failure class, and the RAM cache.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromProcess } from '@aws-sdk/credential-provider-process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCredentialsStack, ROLE_ALIAS, THING_NAME, type CredentialsStack } from '../../helpers/credentials.js';
import { makeTempDir, REPO, TRUSTLINK } from '../../helpers/paths.js';
import { freePort } from '../../helpers/ports.js';
import { run, trustlink, type RunResult } from '../../helpers/run.js';

let stack: CredentialsStack;

beforeAll(async () => {
  stack = await createCredentialsStack('creds');
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(() => {
  stack.provider.mode = 'ok';
  stack.provider.lifetimeSeconds = 3600;
});

const creds = (extra: string[], env: NodeJS.ProcessEnv = stack.env): Promise<RunResult> => trustlink(['creds', ...stack.args, ...extra], env);
const lastIssued = () => stack.provider.issued.at(-1)!;
const mode = (path: string): number => statSync(path).mode & 0o777;

/** A failure prints nothing on stdout, one error line with a hint on stderr, and no stack trace. */
function expectFailure(result: RunResult, exitCode: number, code: string, message: RegExp, hint: RegExp): void {
  expect(result.stdout).toBe('');
  expect(result.code).toBe(exitCode);
  expect(result.stderr).toMatch(new RegExp(`trustlink: .*\\[${code}\\]`));
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toMatch(new RegExp(`hint: .*${hint.source}`));
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('fetching with the token key', () => {
  it('asks like aws-crt does: the role alias path, Host = endpoint name, the thing name, the device certificate', async () => {
    const result = await creds(['--no-cache']);
    expect(result.code).toBe(0);
    const request = stack.provider.requests.at(-1)!;
    expect(request).toMatchObject({ path: `/role-aliases/${ROLE_ALIAS}/credentials`, host: 'localhost', thingName: THING_NAME, clientCn: THING_NAME, status: 200 });
  });

  it('--format process is what the AWS SDK credential_process reader takes', async () => {
    const home = makeTempDir('creds-process');
    try {
      const configFile = join(home.path, 'config');
      // credential_process runs in a shell with the SDK's environment; env(1) passes the token's.
      const command = ['env', `SOFTHSM2_CONF=${stack.env.SOFTHSM2_CONF}`, TRUSTLINK, 'creds', ...stack.args, '--cache-dir', join(stack.ramDir, 'sdk'), '--format', 'process']
        .map((word) => `'${word}'`).join(' ');
      writeFileSync(configFile, `[profile device]\ncredential_process = ${command}\n`);
      const before = stack.provider.requestCount;
      const read = fromProcess({ profile: 'device', configFilepath: configFile, filepath: join(home.path, 'credentials') });
      const first = await read();
      const issued = lastIssued();
      expect(first).toMatchObject({ accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken, expiration: new Date(issued.expiration) });
      // The SDK runs the command again on each refresh: the cache answers.
      const second = await fromProcess({ profile: 'device', configFilepath: configFile, filepath: join(home.path, 'credentials') })();
      expect(second.accessKeyId).toBe(issued.accessKeyId);
      expect(stack.provider.requestCount).toBe(before + 1);
    } finally {
      home.remove();
    }
  });

  it('--format env prints export lines a shell evaluates', async () => {
    const result = await run('sh', ['-c', `eval "$("$0" "$@")" && printf '%s %s %s' "$AWS_ACCESS_KEY_ID" "$AWS_SESSION_TOKEN" "$AWS_CREDENTIAL_EXPIRATION"`, TRUSTLINK, 'creds', ...stack.args, '--no-cache', '--format', 'env'], { env: stack.env });
    expect(result.code).toBe(0);
    const issued = lastIssued();
    expect(result.stdout).toBe(`${issued.accessKeyId} ${issued.sessionToken} ${issued.expiration}`);
  });

  it('--format json prints the provider answer as it came', async () => {
    const result = await creds(['--no-cache', '--format', 'json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ credentials: lastIssued() });
  });

  it('takes endpoint, alias and thing from the config file; a flag overrides one key', async () => {
    const config = join(stack.dir, 'creds-config.json');
    writeFileSync(config, JSON.stringify({
      thingName: THING_NAME,
      certFile: stack.token.certFile, key: stack.token.keyUri, pkcs11Module: stack.token.modulePath, pinFile: stack.token.pinFile, caFile: stack.pki.caFile,
      credentials: { endpoint: stack.provider.endpoint, roleAlias: 'not-this-one' },
    }));
    const result = await trustlink(['--config', config, 'creds', '--role-alias', ROLE_ALIAS, '--no-cache'], stack.env);
    expect(result.stderr).toMatch(/credentials fetched/);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).AccessKeyId).toBe(lastIssued().accessKeyId);
  });
});

describe('failures, in words a user can act on', () => {
  it.each([
    ['bad-request', 77, 'CREDENTIALS_REFUSED', /answered 400 .*Unable to assume the role/, /trusts credentials\.iot\.amazonaws\.com/],
    ['forbidden', 77, 'CREDENTIALS_REFUSED', /answered 403 .*\(AccessDeniedException: Access Denied\)/, /iot:AssumeRoleWithCertificate/],
    ['throttled', 69, 'CREDENTIALS_THROTTLED', /answered 429 .*Rate exceeded/, /try again later/],
    ['server-error', 69, 'CREDENTIALS_UNAVAILABLE', /answered 500 .*Internal Failure/, /service is having trouble/],
    ['not-json', 76, 'CREDENTIALS_INVALID', /answered 200 with a body that is not JSON/, /captive portal/],
    ['expired', 76, 'CREDENTIALS_INVALID', /holds credentials that expired at/, /device clock/],
    ['oversized', 76, 'CREDENTIALS_INVALID', /sent more than 64 KiB/, /iot:CredentialProvider endpoint/],
  ] as const)('stand-in mode %s → exit %i %s', async (providerMode, exitCode, code, message, hint) => {
    stack.provider.mode = providerMode;
    expectFailure(await creds(['--no-cache']), exitCode, code, message, hint);
  });

  it('a thing name the certificate is not attached to → 403, pointing at --thing-name', async () => {
    const result = await trustlink(['creds', ...stack.args, '--thing-name', 'someone-else', '--no-cache'], stack.env);
    expectFailure(result, 77, 'CREDENTIALS_REFUSED', /answered 403 .*Invalid thing name passed/, /not attached to thing "someone-else"/);
  });

  it('an unknown role alias → 404, pointing at --role-alias', async () => {
    const result = await trustlink(['creds', ...stack.args, '--role-alias', 'nope', '--no-cache'], stack.env);
    expectFailure(result, 77, 'CREDENTIALS_REFUSED', /answered 404 for role alias "nope" \(ResourceNotFoundException: Role alias does not exist\)/, /no role alias "nope"/);
  });

  it('a slow answer → gives up after --timeout', async () => {
    stack.provider.mode = 'slow';
    const started = Date.now();
    const result = await creds(['--no-cache', '--timeout', '1']);
    expectFailure(result, 69, 'CREDENTIALS_UNAVAILABLE', /did not answer within 1 s/, /--timeout/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('nobody listening → unavailable', async () => {
    const port = await freePort();
    const result = await trustlink(['creds', ...stack.args, '--credentials-endpoint', `localhost:${port}`, '--no-cache'], stack.env);
    expectFailure(result, 69, 'CREDENTIALS_UNAVAILABLE', new RegExp(`cannot reach localhost:${port}: AWS_IO_SOCKET_CONNECTION_REFUSED`), new RegExp(`describe-endpoint.*lets port ${port} through`));
  });

  it('a server the CA does not vouch for → no credentials; the hint names the CA (s2n reports TLS failures late)', async () => {
    const otherCa = join(stack.dir, 'other-ca');
    await run(join(REPO, 'hsm', 'pki.sh'), ['ca', otherCa]);
    const result = await creds(['--no-cache', '--ca-file', join(otherCa, 'ca.pem'), '--timeout', '2']);
    expectFailure(result, 69, 'CREDENTIALS_UNAVAILABLE', /did not answer within 2 s/, /check --ca-file/);
  });

  it('a missing role alias is a usage error', async () => {
    const args = stack.args.filter((arg, index) => arg !== '--role-alias' && stack.args[index - 1] !== '--role-alias');
    const result = await trustlink(['creds', ...args], stack.env);
    expectFailure(result, 64, 'USAGE', /--role-alias is required \(or "credentials.roleAlias" in the config file, or TRUSTLINK_CREDENTIALS \(JSON\) in the environment\)/, /list-role-aliases/);
  });
});

describe('the RAM cache', () => {
  it('answers the second call without asking AWS, from a 0600 file in a 0700 folder', async () => {
    const cacheDir = join(stack.ramDir, 'hit');
    const before = stack.provider.requestCount;
    const first = await creds(['--cache-dir', cacheDir]);
    const second = await creds(['--cache-dir', cacheDir]);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(stack.provider.requestCount).toBe(before + 1);
    expect(mode(cacheDir)).toBe(0o700);
    const files = readdirSync(cacheDir);
    expect(files).toEqual([expect.stringMatching(/^credentials-[0-9a-f]{32}\.json$/)]);
    expect(mode(join(cacheDir, files[0]!))).toBe(0o600);
  });

  it('misses for another thing name, and --no-cache neither reads nor writes it', async () => {
    const cacheDir = join(stack.ramDir, 'keys');
    const before = stack.provider.requestCount;
    await creds(['--cache-dir', cacheDir]);
    const withoutThing = stack.args.filter((arg, index) => arg !== '--thing-name' && stack.args[index - 1] !== '--thing-name');
    expect((await trustlink(['creds', ...withoutThing, '--cache-dir', cacheDir], stack.env)).code).toBe(0);
    expect(readdirSync(cacheDir)).toHaveLength(2);
    expect((await creds(['--cache-dir', cacheDir, '--no-cache'])).code).toBe(0);
    expect(readdirSync(cacheDir)).toHaveLength(2);
    expect(stack.provider.requestCount).toBe(before + 3);
  });

  it('asks again once the credentials are within --refresh-margin of expiry', async () => {
    const cacheDir = join(stack.ramDir, 'margin');
    stack.provider.lifetimeSeconds = 600;
    const before = stack.provider.requestCount;
    const first = await creds(['--cache-dir', cacheDir]);
    expect((await creds(['--cache-dir', cacheDir, '--refresh-margin', '500'])).stdout).toBe(first.stdout);
    const refreshed = await creds(['--cache-dir', cacheDir, '--refresh-margin', '700']);
    expect(refreshed.code).toBe(0);
    expect(refreshed.stdout).not.toBe(first.stdout);
    expect(stack.provider.requestCount).toBe(before + 2);
  });

  it('defaults to $XDG_RUNTIME_DIR/trustlink', async () => {
    const runtime = join(stack.ramDir, 'xdg');
    mkdirSync(runtime, { mode: 0o700 });
    const env = { ...stack.env, XDG_RUNTIME_DIR: runtime };
    const before = stack.provider.requestCount;
    await creds([], env);
    await creds([], env);
    expect(stack.provider.requestCount).toBe(before + 1);
    expect(mode(join(runtime, 'trustlink'))).toBe(0o700);
    expect(readdirSync(join(runtime, 'trustlink'))).toHaveLength(1);
  });

  it('tightens a cache folder others may enter, and ignores a cache file others may read', async () => {
    const cacheDir = join(stack.ramDir, 'loose');
    mkdirSync(cacheDir, { mode: 0o755 });
    chmodSync(cacheDir, 0o755);
    const before = stack.provider.requestCount;
    await creds(['--cache-dir', cacheDir]);
    expect(mode(cacheDir)).toBe(0o700);
    const file = join(cacheDir, readdirSync(cacheDir)[0]!);
    chmodSync(file, 0o644);
    const result = await creds(['--cache-dir', cacheDir]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/ignoring a cache file that is not a private file of this user/);
    expect(stack.provider.requestCount).toBe(before + 2);
    expect(mode(file)).toBe(0o600);
  });

  it('refuses to cache on persistent storage, and still prints the credentials', async () => {
    const onDisk = join(REPO, '.tmp', `creds-cache-${process.pid}`);
    try {
      const result = await creds(['--cache-dir', onDisk]);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).AccessKeyId).toBe(lastIssued().accessKeyId);
      expect(result.stderr).toMatch(/not caching credentials: the cache folder is not on a RAM file system/);
      expect(readdirSync(onDisk)).toEqual([]);
    } finally {
      await run('rm', ['-rf', onDisk]);
    }
  });
});
