/**
 * The usual test stack plus the AWS IoT stand-in in front of its mosquitto,
 * an RSA token-signing key (in a SoftHSM token of its own) registered with
 * the stand-in's custom authorizer, and the flags each auth mode needs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStandin, type Standin } from '../standin/standin.js';
import { runChecked } from './run.js';
import { createSoftHsmToken, type TestToken } from './softhsm.js';
import { createStack, type TestStack } from './stack.js';

export const AUTHORIZER = { name: 'test-authorizer', tokenKeyName: 'device-token' };
export const REGION = 'eu-west-1';

export interface StandinStack {
  stack: TestStack;
  standin: Standin;
  /** The RSA token-signing key, in a token of its own. */
  signer: TestToken;
  /** Endpoint and CA flags for a stand-in port. */
  endpoint(port: number): string[];
  /** base64 RSA-SHA256 signature of `value` by the signer key, made by pkcs11-tool (test tooling, PIN in argv). */
  signWithSigner(value: string): Promise<string>;
  /** mTLS device flags (token key and certificate), without endpoint. */
  device: string[];
  close(): Promise<void>;
}

export async function createStandinStack(name: string): Promise<StandinStack> {
  const stack = await createStack(name);
  let signer: TestToken;
  let standin: Standin;
  try {
    signer = await createSoftHsmToken(join(stack.dir, 'signer'), stack.pki, { label: 'signer', keyLabel: 'authkey', keyType: 'rsa:2048', cn: 'authorizer' });
    standin = await startStandin({
      dir: stack.dir,
      pki: stack.pki,
      broker: stack.broker,
      region: REGION,
      authorizer: { ...AUTHORIZER, publicKeyPem: readFileSync(join(signer.dir, 'authkey.pub.pem'), 'utf8') },
    });
  } catch (error) {
    // The stack's mosquitto is a process of its own: a failed set-up must not leave it running.
    await stack.close();
    throw error;
  }
  const { token } = stack;
  return {
    stack,
    standin,
    signer,
    endpoint: (port) => ['--endpoint', 'localhost', '--port', String(port), '--ca-file', stack.pki.caFile],
    async signWithSigner(value) {
      const input = join(signer.dir, 'to-sign');
      const output = join(signer.dir, 'signature');
      writeFileSync(input, value);
      await runChecked('pkcs11-tool', [
        '--module', signer.modulePath, '--token-label', signer.label, '--login', '--pin', readFileSync(signer.pinFile, 'utf8').trim(),
        '--sign', '--mechanism', 'SHA256-RSA-PKCS', '--label', signer.keyLabel, '--input-file', input, '--output-file', output,
      ], { env: { ...process.env, ...signer.env } });
      return readFileSync(output).toString('base64');
    },
    device: ['--cert', token.certFile, '--key', token.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile],
    async close() {
      await standin.stop();
      await stack.close();
    },
  };
}

export interface ConnectionMode {
  /** Short, for tables. */
  name: string;
  /** What the mode is, for people reading the demo. */
  title: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface ConnectionModes {
  modes: ConnectionMode[];
  /** Flags shared by the SigV4 modes, and by the custom-authorizer modes. */
  sigv4: string[];
  custom: string[];
  /** The environment of the `env` credentials source. */
  awsEnv: NodeJS.ProcessEnv;
}

/** Every connection mode against the stand-in, in the order a new user would try them. */
export function connectionModes(s: StandinStack): ConnectionModes {
  const credentials = s.standin.issueCredentials();
  const awsEnv = { ...s.stack.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken };
  const identity = 'eu-west-1:0000aaaa-0000-0000-0000-000000000000';
  s.standin.cognito.identities.set(identity, { lifetimeMs: 3_600_000 });
  const sigv4 = ['--auth', 'sigv4', '--region', REGION, ...s.endpoint(s.standin.ports.websocket)];
  const custom = ['--auth', 'custom', '--authorizer', AUTHORIZER.name, '--token-key-name', AUTHORIZER.tokenKeyName, '--token-value', 'device-42',
    '--token-signing-key', s.signer.keyUri, '--pkcs11-module', s.signer.modulePath, '--pin-file', s.signer.pinFile];
  const cognito = [...sigv4, '--credentials-source', 'cognito', '--cognito-identity', identity, '--cognito-endpoint', `localhost:${s.standin.ports.cognito}`];
  const modes: ConnectionMode[] = [
    { name: 'mtls (token key)', title: 'mtls: device certificate, key in the token', args: [...s.endpoint(s.standin.ports.mtls), ...s.device], env: s.stack.env },
    { name: 'sigv4, env credentials', title: 'sigv4 websocket, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN', args: sigv4, env: awsEnv },
    { name: 'sigv4, Cognito', title: 'sigv4 websocket, credentials from Cognito GetCredentialsForIdentity', args: cognito, env: s.stack.env },
    { name: 'custom, direct, token signed in the token', title: 'custom authorizer, MQTT with ALPN "mqtt", token signed inside the token', args: [...s.endpoint(s.standin.ports.custom), ...custom], env: s.signer.env },
    { name: 'custom, websocket, token signed in the token', title: 'custom authorizer over a websocket', args: [...s.endpoint(s.standin.ports.websocket), ...custom, '--websocket'], env: s.signer.env },
  ];
  return { modes, sigv4, custom, awsEnv };
}
