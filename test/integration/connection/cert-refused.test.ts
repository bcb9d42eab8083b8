/**
 * A broker that refuses the device certificate, said plainly: mosquitto with
 * a CRL (crlfile, re-read on SIGHUP) refuses a revoked certificate, and an
 * expired one, with the key in SoftHSM2. `connect` exits with CERT_REFUSED or
 * CERT_EXPIRED (not BROKER_UNREACHABLE), and the self-test's verdict names
 * the cause; a broker certificate the device refuses is named as that.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certifyWithDates } from '../../helpers/certificates.js';
import { provisionKey, type ProvisionedKey } from '../../helpers/provision.js';
import { createPki } from '../../helpers/pki.js';
import { trustlink } from '../../helpers/run.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;
let revoked: ProvisionedKey;
let crlFile: string;

beforeAll(async () => {
  stack = await createStack('cert-refused', {
    brokerConfig: (dir) => [`crlfile ${join(dir, 'crl.pem')}`],
    beforeBroker: async (dir, pki) => {
      crlFile = await pki.crl(join(dir, 'crl.pem'));
    },
  });
  const { token } = stack;
  revoked = await provisionKey({ env: stack.env, modulePath: token.modulePath, pinFile: token.pinFile, label: token.label }, stack.pki, stack.dir, { keyLabel: 'revoked', cn: 'thing-revoked' });
  await stack.pki.revoke(revoked.certFile);
  await stack.pki.crl(crlFile);
  await stack.broker.reload();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const lastError = (stderr: string): { code: string; message: string; hint: string } =>
  (JSON.parse(stderr.trim().split('\n').at(-1) as string) as { error: { code: string; message: string; hint: string } }).error;

function argsFor(cert: string, key: string): string[] {
  const args = [...stack.args];
  args[args.indexOf('--cert') + 1] = cert;
  args[args.indexOf('--key') + 1] = key;
  return args;
}

interface Report { status: string; checks: { id: string; status: string; detail: string; hint?: string }[] }

describe('a refused device certificate (SoftHSM2, mosquitto with a CRL)', () => {
  it('still connects with a certificate the CRL does not list', async () => {
    const result = await trustlink(['connect', ...stack.args], stack.env);
    expect(result.code, result.stderr).toBe(0);
  });

  it('connect says the broker refused a revoked certificate, with its certificate ID and the next step', async () => {
    const result = await trustlink(['--json', 'connect', ...argsFor(revoked.certUri, revoked.keyUri)], stack.env, 90_000);
    expect(result.code).toBe(77);
    const error = lastError(result.stderr);
    expect(error.code).toBe('CERT_REFUSED');
    expect(error.message).toMatch(/(refused|hung up on) the device certificate \(CN=thing-revoked, serial [0-9A-F]+, certificate ID [0-9a-f]{64}\): it is revoked, inactive/);
    expect(error.hint).toMatch(/aws iot describe-certificate --certificate-id [0-9a-f]{64}/);
  });

  it('the self-test names the revoked certificate as the cause', async () => {
    const reportFile = join(stack.dir, 'revoked-report.json');
    const result = await trustlink(['--json', 'selftest', ...argsFor(revoked.certUri, revoked.keyUri), '--report', reportFile], stack.env, 90_000);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.checks.find((check) => check.id === 'tls')).toMatchObject({
      status: 'fail', detail: expect.stringMatching(/(refused|hung up on) the device certificate \(CN=thing-revoked/), hint: expect.stringContaining('aws iot describe-certificate'),
    });
  });

  it('connect says the certificate expired, not that the broker is unreachable', async () => {
    const expired = await certifyWithDates(stack.pki, join(stack.token.dir, 'devkey.pub.pem'), 'thing-1', join(stack.dir, 'expired.pem'), {
      notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-01-02T00:00:00Z'),
    });
    const result = await trustlink(['--json', 'connect', ...argsFor(expired, stack.token.keyUri)], stack.env, 90_000);
    expect(result.code).toBe(77);
    const error = lastError(result.stderr);
    expect(error.code).toBe('CERT_EXPIRED');
    expect(error.message).toContain('expired 2020-01-02T00:00:00.000Z');
  });

  it('a broker certificate the device refuses is named as such, by connect and at once by the self-test', async () => {
    const other = await createPki(join(stack.dir, 'other-pki'));
    const args = [...stack.args];
    args[args.indexOf('--ca-file') + 1] = other.caFile;
    const connected = await trustlink(['--json', 'connect', ...args], stack.env, 90_000);
    expect(connected.code).toBe(69);
    const error = lastError(connected.stderr);
    expect(error.code).toBe('TLS_FAILED');
    expect(error.message).toMatch(/the device refused the broker's certificate at localhost:\d+: .*does not chain to a CA in the CA file/);

    const result = await trustlink(['--json', 'selftest', ...args, '--report', join(stack.dir, 'server-report.json')], stack.env, 90_000);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.checks.find((check) => check.id === 'tls')).toMatchObject({ status: 'fail', detail: expect.stringContaining("the device refuses the broker's certificate") });
  });
});
