/**
 * Each mistake a user makes gets one clear message on stderr, a documented
 * exit status, nothing on stdout and no stack trace. All against real
 * SoftHSM2 tokens and a real mosquitto.
 */
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { createPki } from '../../helpers/pki.js';
import { freePort } from '../../helpers/ports.js';
import { trustlink, type RunResult } from '../../helpers/run.js';
import { createSoftHsmToken } from '../../helpers/softhsm.js';
import { createStack, type TestStack } from '../../helpers/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await createStack('badinput');
});

afterAll(async () => {
  await stack?.close();
});

/** Replaces the value after `flag` in the stack's connection flags. */
function argsWith(overrides: Record<string, string>): string[] {
  const args = [...stack.args];
  for (const [flag, value] of Object.entries(overrides)) {
    const at = args.indexOf(flag);
    if (at === -1) args.push(flag, value);
    else args[at + 1] = value;
  }
  return args;
}

function publish(args: string[], env: NodeJS.ProcessEnv = stack.env): Promise<RunResult> {
  return trustlink(['publish', ...args, '--client-id', 'bad-input', '--topic', 't', '--message', 'm'], env);
}

function expectFailure(result: RunResult, exitCode: number, code: string, message: RegExp): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(result.stderr).toMatch(new RegExp(`\\[${code}\\]`));
  expect(result.stderr).toMatch(message);
  expect(result.code).toBe(exitCode);
}

describe('configuration', () => {
  it('names the file and line of a JSON syntax error', async () => {
    const file = join(stack.dir, 'broken.json');
    writeFileSync(file, '{\n  "endpoint": "localhost",\n  "port": 8883,,\n}\n');
    expectFailure(await trustlink(['--config', file, 'publish', '--topic', 't', '--message', 'm'], stack.env), 78, 'CONFIG_INVALID', new RegExp(`${file}, line 3`));
  });

  it('names the file, key and line of a wrongly typed value, and every bad key', async () => {
    const file = join(stack.dir, 'typed.json');
    writeFileSync(file, '{\n  "endpoint": "localhost",\n  "port": "8883",\n  "mqttVersion": "4",\n  "endpont": "x"\n}\n');
    const result = await trustlink(['--config', file, 'publish', '--topic', 't', '--message', 'm'], stack.env);
    expectFailure(result, 78, 'CONFIG_INVALID', new RegExp(`config file ${file}`));
    expect(result.stderr).toMatch(/port: .*number.*\(line 3\)/);
    expect(result.stderr).toMatch(/mqttVersion: must be "5" or "3.1.1" \(line 4\)/);
    expect(result.stderr).toMatch(/unknown key "endpont" \(line 5\)/);
  });

  it('names the environment variable that holds a bad value', async () => {
    expectFailure(await publish(stack.args, { ...stack.env, TRUSTLINK_KEEP_ALIVE_SECONDS: 'soon' }), 78, 'CONFIG_INVALID', /environment variable TRUSTLINK_KEEP_ALIVE_SECONDS: keepAliveSeconds/);
  });

  it('reports a config file that does not exist', async () => {
    expectFailure(await trustlink(['--config', join(stack.dir, 'nope.json'), 'publish', '--topic', 't', '--message', 'm'], stack.env), 78, 'CONFIG_UNREADABLE', /nope\.json: ENOENT/);
  });

  it('rejects a bad flag value as a usage error', async () => {
    expectFailure(await publish(argsWith({ '--port': '99999' })), 64, 'USAGE', /--port.*between 1 and 65535/);
  });
});

describe('PKCS#11', () => {
  it('reports a missing module', async () => {
    expectFailure(await publish(argsWith({ '--pkcs11-module': '/nonexistent/libpkcs11.so' })), 78, 'PKCS11_MODULE_NOT_FOUND', /\/nonexistent\/libpkcs11\.so does not exist/);
  });

  it('reports a malformed URI and says what is wrong', async () => {
    expectFailure(await publish(argsWith({ '--key': 'pkcs11:token=dev;objet=devkey' })), 78, 'PKCS11_URI_INVALID', /unknown attribute "objet"/);
  });

  it('refuses a PIN inside the URI without echoing it', async () => {
    const result = await publish(argsWith({ '--key': 'pkcs11:token=dev;object=devkey?pin-value=secret99' }));
    expectFailure(result, 78, 'PKCS11_URI_INVALID', /pin-value is not accepted/);
    expect(result.stderr).not.toContain('secret99');
  });

  it('names the missing token and lists the tokens present', async () => {
    expectFailure(await publish(argsWith({ '--key': 'pkcs11:token=nosuch;object=devkey' })), 69, 'TOKEN_NOT_FOUND', /no token matches token "nosuch".*tokens present: "dev"/);
  });

  it('names the missing key and lists what the token holds', async () => {
    expectFailure(await publish(argsWith({ '--key': 'pkcs11:token=dev;object=nokey' })), 78, 'KEY_NOT_FOUND', /no private key matching object "nokey".*private "devkey" id=01/);
  });

  it('asks for a PIN when none is given', async () => {
    const args = stack.args.filter((arg, index, all) => arg !== '--pin-file' && all[index - 1] !== '--pin-file');
    expectFailure(await publish(args), 77, 'PIN_MISSING', /needs a PIN/);
  });

  it('tries a wrong PIN once, says so, and reports the token PIN flags', async () => {
    const pinFile = join(stack.dir, 'wrong-pin');
    writeFileSync(pinFile, '000000\n', { mode: 0o600 });
    const result = await publish(argsWith({ '--pin-file': pinFile }));
    expectFailure(result, 77, 'PIN_INCORRECT', /refused the PIN from file .*wrong-pin \(tried once, not retried\); token now reports: /);
    expect(result.stderr).not.toContain('000000');
  });

  it('refuses a PIN file any user may read, and a symlink to one, before the token is touched', async () => {
    const pinFile = join(stack.dir, 'open-pin');
    writeFileSync(pinFile, readFileSync(stack.token.pinFile, 'utf8'), { mode: 0o600 });
    chmodSync(pinFile, 0o644);
    const link = join(stack.dir, 'open-pin-link');
    symlinkSync(pinFile, link);
    for (const path of [pinFile, link]) {
      expectFailure(await publish(argsWith({ '--pin-file': path })), 78, 'CONFIG_INVALID', /may be read or written by any user \(mode 644\)/);
    }
  });
});

describe('topics AWS IoT would refuse, before connecting', () => {
  // An endpoint nothing listens on: a usage error (64) proves no connection was tried (that would be 69).
  const unreachable = async () => argsWith({ '--port': String(await freePort()) });

  it.each([
    ['an empty topic', '', /must not be empty/],
    ['a wildcard in a publish', 'dt/+/temp', /without wildcards/],
    ['nine levels', 'a/b/c/d/e/f/g/h/i', /9 levels; AWS IoT takes at most 8/],
    ['257 bytes', 'x'.repeat(257), /257 bytes long/],
  ])('publish refuses %s', async (_what, topic, reason) => {
    const result = await trustlink(['publish', ...(await unreachable()), '--topic', topic, '--message', 'm'], stack.env);
    expectFailure(result, 64, 'USAGE', reason);
    expect(result.stderr).not.toContain('--help for usage');
  });

  it('subscribe refuses a filter whose "#" is not the last level', async () => {
    expectFailure(await trustlink(['subscribe', ...(await unreachable()), '--topic', 'a/#/b'], stack.env), 64, 'USAGE', /"#" must be a whole level, and the last one/);
  });

  it('a config file with a selftestTopic AWS IoT would refuse names the key', async () => {
    const file = join(stack.dir, 'bad-topic.json');
    writeFileSync(file, JSON.stringify({ selftestTopic: 'dt/#' }));
    expectFailure(await trustlink(['--config', file, 'publish', '--topic', 't', '--message', 'm'], stack.env), 78, 'CONFIG_INVALID', /selftestTopic: must be a topic AWS IoT takes: it must be a topic name without wildcards/);
  });
});

describe('help', () => {
  it.each([['publish'], ['subscribe'], ['connect'], ['run'], ['provision'], ['creds'], ['creds', 'serve'], ['hsm', 'list'], ['hsm', 'keygen'], ['hsm', 'csr'], ['hsm', 'import-cert']])(
    'trustlink %s --help lists its exit statuses', async (...command) => {
      const result = await trustlink([...command, '--help'], stack.env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Exit status:\n {2}0 {3}\S.*\n {2}64 {2}usage/);
      expect(result.stdout).toMatch(/ {2}78 {2}configuration/);
    },
  );

  it('a missing required setting says how to give it, and its hint says what it is', async () => {
    const file = join(stack.dir, 'empty.json');
    writeFileSync(file, '{}');
    const result = await trustlink(['--config', file, 'publish', '--topic', 't', '--message', 'm'], stack.env);
    expectFailure(result, 64, 'USAGE', /--endpoint is required \(or "endpoint" in the config file, or TRUSTLINK_ENDPOINT in the environment\)/);
    expect(result.stderr).toContain('hint: endpoint: broker host name (AWS IoT: your iot:Data-ATS endpoint)');
  });
});

describe('certificates', () => {
  it('reports a missing certificate file', async () => {
    expectFailure(await publish(argsWith({ '--cert': join(stack.dir, 'missing.pem') })), 78, 'FILE_UNREADABLE', /certificate file .*missing\.pem: ENOENT/);
  });

  it('reports a file that is not a certificate', async () => {
    expectFailure(await publish(argsWith({ '--cert': stack.token.pinFile })), 78, 'CERT_INVALID', /is not a PEM or DER X\.509 certificate/);
  });

  it('refuses a certificate issued for another key, before connecting', async () => {
    const other = await createSoftHsmToken(join(stack.dir, 'other'), stack.pki, { label: 'other', cn: 'thing-2' });
    expectFailure(await publish(argsWith({ '--cert': other.certFile })), 78, 'CERT_KEY_MISMATCH', /CN=thing-2\) was not issued for token key "devkey" in token "dev"/);
  });

  it('reports a missing CA file', async () => {
    expectFailure(await publish(argsWith({ '--ca-file': join(stack.dir, 'no-ca.pem') })), 78, 'FILE_UNREADABLE', /CA file .*no-ca\.pem: ENOENT/);
  });

  it('reports a CA file that holds no certificate', async () => {
    expectFailure(await publish(argsWith({ '--ca-file': stack.token.pinFile })), 78, 'CA_INVALID', /holds no PEM certificate/);
  });
});

describe('the broker', () => {
  it('reports an unreachable broker', async () => {
    const closedPort = await freePort();
    expectFailure(await publish(argsWith({ '--port': String(closedPort) })), 69, 'BROKER_UNREACHABLE', new RegExp(`cannot reach localhost:${closedPort}: AWS_IO_SOCKET_CONNECTION_REFUSED`));
  });

  it('reports a server that the CA does not vouch for as a TLS failure', async () => {
    const otherPki = await createPki(join(stack.dir, 'other-pki'));
    expectFailure(await publish(argsWith({ '--ca-file': otherPki.caFile })), 69, 'TLS_FAILED', /TLS handshake with localhost:\d+ failed/);
  });

  describe.each(['5', '3.1.1'])('refusing the CONNECT (MQTT %s)', (version) => {
    let refusing: Mosquitto;
    beforeAll(async () => {
      const dir = join(stack.dir, `refusing-${version}`);
      mkdirSync(dir, { recursive: true });
      refusing = await startMosquitto(dir, stack.pki, { extraConfig: ['clientid_prefixes allowed-'] });
    });
    afterAll(async () => {
      await refusing?.stop();
    });

    it('says the broker refused and why', async () => {
      const result = await publish(argsWith({ '--port': String(refusing.port), '--mqtt': version }));
      // MQTT 5 carries the reason; aws-crt drops the 3.1.1 return code.
      const reason = version === '5' ? 'not authorized \\(reason code 0x87\\)' : 'CONNACK refused';
      expectFailure(result, 69, 'CONNECT_REFUSED', new RegExp(`localhost:${refusing.port} refused the MQTT connection: ${reason}`));
    });
  });
});

it('accepts a PIN file that ends in a newline', async () => {
  const pinFile = join(stack.dir, 'pin-with-newline');
  writeFileSync(pinFile, `${readFileSync(stack.token.pinFile, 'utf8').trim()}\n`, { mode: 0o600 });
  const result = await publish(argsWith({ '--pin-file': pinFile }));
  expect(result.stdout).toBe('published 1 message to t (QoS 1, all acknowledged)\n');
  expect(result.code).toBe(0);
});
