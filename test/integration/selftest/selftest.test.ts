/**
 * trustlink selftest against a real SoftHSM2 token and a real mosquitto:
 * the passing run, and each failure provoked for real and named by the
 * check that should name it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certifyWithDates } from '../../helpers/certificates.js';
import { ROLE_ALIAS, startProvider } from '../../helpers/credentials.js';
import { REPO } from '../../helpers/paths.js';
import { jsonLogs, runChecked, trustlink, type RunResult } from '../../helpers/run.js';
import { createSoftHsmToken } from '../../helpers/softhsm.js';
import { createStack, type TestStack } from '../../helpers/stack.js';
import type { CredentialsProviderStandIn } from '../../standin/credentials-provider.js';

interface Report {
  version: string;
  device: string;
  startedAt: string;
  durationMs: number;
  status: string;
  checks: Array<{ id: string; name: string; status: string; durationMs: number; detail: string; hint?: string }>;
}

const DAY_MS = 86_400_000;
let stack: TestStack;
/** The token key's certificate, valid 90 days: the stack's own is 30, which the expiry horizon warns about. */
let goodCert: string;
let reportCount = 0;

beforeAll(async () => {
  stack = await createStack('selftest');
  goodCert = await stack.pki.certify(join(stack.token.dir, 'devkey.pub.pem'), 'thing-1', join(stack.dir, 'good.pem'), 90);
});

afterAll(async () => {
  await stack?.close();
});

function argsWith(overrides: Record<string, string>): string[] {
  const args = [...stack.args];
  for (const [flag, value] of Object.entries({ '--cert': goodCert, '--thing-name': 'thing-1', ...overrides })) {
    const at = args.indexOf(flag);
    if (at === -1) args.push(flag, value);
    else args[at + 1] = value;
  }
  return args;
}

async function selftest(extra: string[], overrides: Record<string, string> = {}, env: NodeJS.ProcessEnv = stack.env): Promise<{ result: RunResult; report: Report; reportFile: string }> {
  const reportFile = join(stack.dir, `report-${++reportCount}.json`);
  const result = await trustlink(['--json', 'selftest', ...argsWith(overrides), '--report', reportFile, ...extra], env);
  let report: Report;
  try {
    report = JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`selftest printed no JSON report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return { result, report, reportFile };
}

const statusOf = (report: Report): Record<string, string> => Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
const check = (report: Report, id: string) => {
  const found = report.checks.find((item) => item.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};
const firstFailure = (report: Report) => report.checks.find((item) => item.status === 'fail')?.id;

describe('a healthy device', () => {
  it('passes every check, round trip included, and writes the same report it prints', async () => {
    const { result, report, reportFile } = await selftest([], {}, { ...stack.env, TRUSTLINK_SELFTEST_TOPIC: 'selftest/thing-1' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.device).toBe('thing-1');
    expect(statusOf(report)).toEqual({
      config: 'pass', spool: 'pass', clock: 'pass', 'pkcs11-module': 'pass', token: 'pass', login: 'pass', key: 'pass', sign: 'pass',
      certificate: 'pass', ca: 'pass', dns: 'pass', tcp: 'pass', tls: 'pass', mqtt: 'pass', pubsub: 'pass', credentials: 'skip',
    });
    expect(check(report, 'credentials').detail).toBe('no credentials.endpoint and credentials.roleAlias configured');
    expect(check(report, 'key').detail).toContain('sensitive=true, extractable=false, never-extractable=true');
    expect(check(report, 'sign').detail).toMatch(/^ECDSA SHA-256 signature made in [\d.]+ ms and verified$/);
    expect(JSON.parse(readFileSync(reportFile, 'utf8'))).toEqual(report);
    expect(statSync(reportFile).mode & 0o777).toBe(0o644);
  });

  it('connects for its one round-trip publish without aws-crt\'s pacing to AWS IoT Core limits', async () => {
    const { result, report } = await selftest(['--log-level', 'debug'], {}, { ...stack.env, TRUSTLINK_SELFTEST_TOPIC: 'selftest/pace' });
    expect(check(report, 'pubsub').status).toBe('pass');
    const connecting = jsonLogs(result.stderr.split('\n')).find((entry) => entry.message === 'connecting');
    expect(connecting?.flowControl).toBe('none');
  });

  it('writes a report that validates against the published JSON Schema', async () => {
    const { report } = await selftest([]);
    const schema = JSON.parse(readFileSync(join(REPO, 'src/selftest/report.schema.json'), 'utf8'));
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
    // And the schema is not a rubber stamp.
    expect(validate({ ...report, status: 'ok' })).toBe(false);
    expect(validate({ ...report, checks: [{ ...report.checks[0], status: 'fine' }] })).toBe(false);
  });

  it('skips the round trip, and says why, when no selftestTopic is set', async () => {
    const { result, report } = await selftest([]);
    expect(result.code).toBe(0);
    expect(check(report, 'pubsub')).toMatchObject({ status: 'skip', detail: 'no selftestTopic configured' });
  });

  it('prints a table with marks for people', async () => {
    const result = await trustlink(['selftest', ...argsWith({}), '--report', join(stack.dir, 'table.json'), '--no-network'], stack.env);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^✓ configuration +\d+ ms {2}no config file/);
    expect(lines).toContainEqual(expect.stringMatching(/^- endpoint resolves +\d+ ms {2}skipped: --no-network$/));
    expect(lines.at(-1)).toMatch(/^selftest PASS for thing-1: 10 passed, 0 failed, 0 warned, 6 skipped in \d+ ms$/);
  });

  it('with --no-network, needs no broker and runs no network check', async () => {
    const { result, report } = await selftest(['--no-network'], { '--endpoint': 'broker.invalid', '--port': '1' });
    expect(result.code).toBe(0);
    for (const id of ['dns', 'tcp', 'tls', 'mqtt', 'pubsub', 'credentials']) expect(check(report, id)).toMatchObject({ status: 'skip', detail: 'skipped: --no-network' });
  });

  it('warns, and exits 0, when the certificate expires within 30 days', async () => {
    const { result, report } = await selftest([], { '--cert': stack.token.certFile });
    expect(result.code).toBe(0);
    expect(report.status).toBe('warn');
    expect(check(report, 'certificate')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/\(\d+ days to expiry\), within certWarnDays \(30\)$/), hint: expect.stringContaining('trustlink rotate') });
  });

  it('warns within certWarnDays when it is set wider than the default', async () => {
    const { result, report } = await selftest(['--no-network'], {}, { ...stack.env, TRUSTLINK_CERT_WARN_DAYS: '120' });
    expect(result.code).toBe(0);
    expect(check(report, 'certificate')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/\((89|90) days to expiry\), within certWarnDays \(120\)$/) });
  });

  it('with a PEM key file (development), skips the token checks and warns about the key', async () => {
    const keyFile = join(stack.dir, 'dev.key');
    const publicKey = join(stack.dir, 'dev.pub.pem');
    await runChecked('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]);
    await runChecked('openssl', ['pkey', '-in', keyFile, '-pubout', '-out', publicKey]);
    const cert = await stack.pki.certify(publicKey, 'thing-1', join(stack.dir, 'dev-file.pem'), 90);
    const { result, report } = await selftest([], { '--key': keyFile, '--cert': cert });
    expect(result.code).toBe(0);
    expect(report.status).toBe('warn');
    for (const id of ['pkcs11-module', 'token', 'login', 'sign']) expect(check(report, id)).toMatchObject({ status: 'skip', detail: expect.stringContaining('PEM file') });
    expect(check(report, 'key')).toMatchObject({ status: 'warn', hint: expect.stringContaining('PKCS#11 URI') });
    expect(statusOf(report)).toMatchObject({ certificate: 'pass', tls: 'pass', mqtt: 'pass' });
  });
});

describe('each failure is named by its check', () => {
  it('a wrong PIN fails the login, is tried once, and nothing after it uses the token', async () => {
    const wrongPin = join(stack.dir, 'wrong-pin');
    writeFileSync(wrongPin, '999999\n', { mode: 0o600 });
    const { result, report } = await selftest([], { '--pin-file': wrongPin });
    expect(result.code).toBe(1);
    expect(firstFailure(report)).toBe('login');
    expect(check(report, 'login').detail).toMatch(/refused the PIN from file .*wrong-pin \(tried once, not retried\)/);
    expect(check(report, 'login').detail).not.toContain('999999');
    for (const id of ['key', 'sign', 'certificate', 'tls']) expect(check(report, id).status).toBe('skip');
    // The token is not locked: the right PIN still works.
    expect((await selftest(['--no-network'])).result.code).toBe(0);
  });

  it('a deleted key fails the key check', async () => {
    const token = await createSoftHsmToken(join(stack.dir, 'hsm-deleted'), stack.pki, { label: 'gone' });
    const env = { ...stack.env, SOFTHSM2_CONF: token.env.SOFTHSM2_CONF };
    await runChecked('pkcs11-tool', ['--module', token.modulePath, '--token-label', 'gone', '--login', '--pin', readFileSync(token.pinFile, 'utf8').trim(),
      '--delete-object', '--type', 'privkey', '--label', token.keyLabel], { env });
    const { result, report } = await selftest([], { '--key': token.keyUri, '--pin-file': token.pinFile, '--cert': token.certFile }, env);
    expect(result.code).toBe(1);
    expect(firstFailure(report)).toBe('key');
    expect(check(report, 'key')).toMatchObject({ detail: expect.stringMatching(/token "gone" has no private key matching object "devkey"/), hint: expect.stringContaining('object=') });
  });

  it('a certificate of another key fails the certificate check', async () => {
    const otherKey = join(stack.dir, 'other.key');
    const otherPub = join(stack.dir, 'other.pub.pem');
    await runChecked('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey]);
    await runChecked('openssl', ['pkey', '-in', otherKey, '-pubout', '-out', otherPub]);
    const otherCert = await stack.pki.certify(otherPub, 'thing-1', join(stack.dir, 'other.pem'), 90);
    const { result, report } = await selftest([], { '--cert': otherCert });
    expect(result.code).toBe(1);
    expect(firstFailure(report)).toBe('certificate');
    expect(check(report, 'certificate').detail).toMatch(/other\.pem \(CN=thing-1\) was not issued for this key/);
    expect(check(report, 'tls').status).toBe('skip');
  });

  it('an expired certificate fails the certificate check, not the clock', async () => {
    const expired = await certifyWithDates(stack.pki, join(stack.token.dir, 'devkey.pub.pem'), 'thing-1', join(stack.dir, 'expired.pem'), {
      notBefore: new Date(Date.now() - 60 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const { result, report } = await selftest([], { '--cert': expired });
    expect(result.code).toBe(1);
    expect(firstFailure(report)).toBe('certificate');
    expect(check(report, 'clock').status).toBe('pass');
    expect(check(report, 'certificate')).toMatchObject({ detail: expect.stringMatching(/^CN=thing-1: expired \d{4}-/), hint: expect.stringContaining('provision the device again') });
  });

  it('a clock before the certificate\'s validity fails the clock check (--now)', async () => {
    const validFrom = new Date(new X509Certificate(readFileSync(goodCert)).validFrom);
    const now = new Date(validFrom.getTime() - 3 * DAY_MS).toISOString();
    const { result, report } = await selftest(['--now', now]);
    expect(result.code).toBe(1);
    expect(firstFailure(report)).toBe('clock');
    expect(check(report, 'clock')).toMatchObject({
      detail: expect.stringContaining('is before the device certificate\'s validity starts'),
      hint: expect.stringContaining('set the clock'),
    });
    expect(report.startedAt).toBe(now);
  });

  it('a stopped broker fails the TCP check and skips what needs it', async () => {
    await stack.broker.stop();
    try {
      const { result, report } = await selftest([]);
      expect(result.code).toBe(1);
      expect(firstFailure(report)).toBe('tcp');
      expect(check(report, 'tcp').detail).toMatch(/ECONNREFUSED/);
      expect(statusOf(report)).toMatchObject({ dns: 'pass', tcp: 'fail', tls: 'skip', mqtt: 'skip', pubsub: 'skip' });
    } finally {
      await stack.broker.start();
    }
  });
});

describe('the credentials-provider check', () => {
  let provider: CredentialsProviderStandIn;
  beforeAll(async () => {
    provider = await startProvider(stack.pki);
  });
  afterAll(async () => {
    await provider?.stop();
  });
  const providerArgs = (): string[] => ['--credentials-endpoint', provider.endpoint, '--role-alias', ROLE_ALIAS];

  it('fetches credentials with the device key and reports the key\'s last 4 characters and the expiration, nothing secret', async () => {
    const before = provider.requestCount;
    const { result, report } = await selftest(providerArgs());
    expect(result.code, result.stderr).toBe(0);
    expect(provider.requestCount).toBe(before + 1);
    const issued = provider.issued.at(-1)!;
    expect(check(report, 'credentials')).toMatchObject({
      status: 'pass',
      detail: `${provider.endpoint}, role alias "${ROLE_ALIAS}": access key …${issued.accessKeyId.slice(-4)}, expires ${issued.expiration}`,
    });
    for (const secret of [issued.accessKeyId, issued.secretAccessKey, issued.sessionToken]) expect(result.stdout + result.stderr).not.toContain(secret);
  });

  it('a 403 from the credentials provider fails the credentials check, with a hint', async () => {
    provider.mode = 'forbidden';
    try {
      const { result, report } = await selftest(providerArgs());
      expect(result.code).toBe(1);
      expect(firstFailure(report)).toBe('credentials');
      expect(check(report, 'credentials')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('answered 403'),
        hint: expect.stringContaining('iot:AssumeRoleWithCertificate'),
      });
    } finally {
      provider.mode = 'ok';
    }
  });
});

describe('exit status 2 and hooks', () => {
  it('a broken config file fails the config check, skips the rest, still writes the report, exits 2', async () => {
    const config = join(stack.dir, 'broken.json');
    writeFileSync(config, '{ "port": "eighty" }');
    const reportFile = join(stack.dir, 'broken-report.json');
    const result = await trustlink(['--json', '--config', config, 'selftest', '--report', reportFile], stack.env);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as Report;
    expect(check(report, 'config')).toMatchObject({ status: 'fail', detail: expect.stringContaining('port') });
    expect(report.checks.slice(1).every((item) => item.status === 'skip')).toBe(true);
    expect(JSON.parse(readFileSync(reportFile, 'utf8'))).toEqual(report);
  });

  it('a usage error exits 2, not the 64 of other commands', async () => {
    const result = await trustlink(['selftest', '--no-such-flag'], stack.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--no-such-flag' \[USAGE\]/);
  });

  it('--on-pass runs with the verdict and the report path; --on-fail does not', async () => {
    const seen = join(stack.dir, 'hook-pass');
    const { result, reportFile } = await selftest(['--no-network', '--on-pass', `echo "$TRUSTLINK_SELFTEST_STATUS $TRUSTLINK_SELFTEST_REPORT" > ${seen}`, '--on-fail', `touch ${seen}.fail`]);
    expect(result.code).toBe(0);
    expect(readFileSync(seen, 'utf8')).toBe(`pass ${reportFile}\n`);
    expect(() => statSync(`${seen}.fail`)).toThrow();
  });

  it('--on-fail runs on a failure; its output stays off stdout', async () => {
    const { result } = await selftest(['--on-fail', 'echo "marking bad: $TRUSTLINK_SELFTEST_STATUS"'], { '--port': '1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('marking bad: fail');
  });

  it('a failing --on-pass hook makes the self-test exit 1', async () => {
    const { result, report } = await selftest(['--no-network', '--on-pass', 'exit 3']);
    expect(report.status).toBe('pass');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('self-test hook failed');
  });
});
