/**
 * The demo's second half: every connection mode against the local AWS IoT
 * stand-in (which relays to a real mosquitto), in the order a new user would
 * try them, then the refusals AWS IoT would give. Everything runs on loopback
 * and is stopped at the end.
 */
import { RunningCli, trustlink } from '../helpers/run.js';
import { AUTHORIZER, connectionModes, createStandinStack } from '../helpers/standin-stack.js';

const bold = (text: string): string => `\n\u001b[1m== ${text}\u001b[0m`;
const s = await createStandinStack('demo-modes');
try {
  const { modes, sigv4, custom, awsEnv } = connectionModes(s);

  console.log(bold('A subscriber on mosquitto itself (mTLS), behind the stand-in'));
  const subscriber = new RunningCli(['subscribe', ...s.stack.args, '--client-id', 'demo-subscriber', '--topic', 'demo/modes', '--count', String(modes.length)], s.stack.env);
  await subscriber.waitFor('subscription', () => subscriber.countLogs('subscribed') === 1);

  for (const [index, { title, args, env }] of modes.entries()) {
    console.log(bold(`${index + 1}. ${title}`));
    console.log(`$ trustlink connect ${args.join(' ')}`);
    const connected = await trustlink(['connect', ...args], env);
    console.log(connected.stdout.split('\n')[0] ?? '', connected.code === 0 ? '' : connected.stderr);
    const published = await trustlink(['publish', ...args, '--topic', 'demo/modes', '--message', `hello via ${title}`], env);
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
