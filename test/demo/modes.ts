/**
 * The demo's second half: every connection mode against the local AWS IoT
 * stand-in (which relays to a real mosquitto), in the order a new user would
 * try them, then the refusals AWS IoT would give. Everything runs on loopback
 * and is stopped at the end.
 */
import { RunningCli, trustlink } from '../helpers/run.js';
import { AUTHORIZER, REGION, createStandinStack } from '../helpers/standin-stack.js';

const bold = (text: string): string => `\n\u001b[1m== ${text}\u001b[0m`;
const s = await createStandinStack('demo-modes');
try {
  const credentials = s.standin.issueCredentials();
  const awsEnv = { ...s.stack.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken };
  const identity = 'eu-west-1:0000aaaa-0000-0000-0000-000000000000';
  s.standin.cognito.identities.set(identity, { lifetimeMs: 3_600_000 });
  const sigv4 = ['--auth', 'sigv4', '--region', REGION, ...s.endpoint(s.standin.ports.websocket)];
  const custom = ['--auth', 'custom', '--authorizer', AUTHORIZER.name, '--token-key-name', AUTHORIZER.tokenKeyName, '--token-value', 'device-42',
    '--token-signing-key', s.signer.keyUri, '--pkcs11-module', s.signer.modulePath, '--pin-file', s.signer.pinFile];
  const cognito = [...sigv4, '--credentials-source', 'cognito', '--cognito-identity', identity, '--cognito-endpoint', `localhost:${s.standin.ports.cognito}`];
  const modes: Array<[string, string[], NodeJS.ProcessEnv]> = [
    ['1. mtls: device certificate, key in the token', [...s.endpoint(s.standin.ports.mtls), ...s.device], s.stack.env],
    ['2. sigv4 websocket, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN', sigv4, awsEnv],
    ['3. sigv4 websocket, credentials from Cognito GetCredentialsForIdentity', cognito, s.stack.env],
    ['4. custom authorizer, MQTT with ALPN "mqtt", token signed inside the token', [...s.endpoint(s.standin.ports.custom), ...custom], s.signer.env],
    ['5. custom authorizer over a websocket', [...s.endpoint(s.standin.ports.websocket), ...custom, '--websocket'], s.signer.env],
  ];

  console.log(bold('A subscriber on mosquitto itself (mTLS), behind the stand-in'));
  const subscriber = new RunningCli(['subscribe', ...s.stack.args, '--client-id', 'demo-subscriber', '--topic', 'demo/modes', '--count', String(modes.length)], s.stack.env);
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);

  for (const [title, args, env] of modes) {
    console.log(bold(title));
    console.log(`$ trustlink connect ${args.join(' ')}`);
    const connected = await trustlink(['connect', ...args], env);
    console.log(connected.stdout.split('\n')[0] ?? '', connected.code === 0 ? '' : connected.stderr);
    const published = await trustlink(['publish', ...args, '--topic', 'demo/modes', '--message', `hello via ${title.slice(3)}`], env);
    console.log(published.stdout.trim() || published.stderr);
    console.log('the stand-in saw:', JSON.stringify(s.standin.seen.at(-1)));
  }
  await subscriber.exited;
  console.log(bold('What the subscriber on mosquitto received'));
  for (const line of subscriber.stdoutLines) console.log(`  ${line}`);

  console.log(bold('Refusals, as AWS IoT gives them'));
  const refusals: Array<[string, string[], NodeJS.ProcessEnv]> = [
    ['wrong region', [...sigv4, '--region', 'us-east-1'], awsEnv],
    ['unknown Cognito identity', [...sigv4, '--credentials-source', 'cognito', '--cognito-identity', 'eu-west-1:0000ffff-0000-0000-0000-000000000000', '--cognito-endpoint', `localhost:${s.standin.ports.cognito}`], s.stack.env],
    ['wrong authorizer name', [...s.endpoint(s.standin.ports.custom), ...custom.map((arg) => (arg === AUTHORIZER.name ? 'no-such-authorizer' : arg))], s.signer.env],
  ];
  for (const [title, args, env] of refusals) {
    const result = await trustlink(['connect', ...args], env);
    console.log(`- ${title} (exit ${result.code}):\n  ${result.stderr.trim().replaceAll('\n', '\n  ')}`);
  }
} finally {
  await s.close();
}
