/**
 * Independent MQTT clients for the bridge tests: mosquitto_pub/mosquitto_sub
 * (Debian mosquitto-clients) and python3-paho-mqtt, plus a file-key client
 * certificate so they can talk to the upstream mosquitto directly.
 */
import { join } from 'node:path';
import type { TestStack } from './stack.js';
import { run, runChecked, RunningCli, type RunResult } from './run.js';

/** Debian's python3, which has python3-paho-mqtt (a pyenv python in PATH would not). */
export const PYTHON = '/usr/bin/python3';
export const PAHO_CLIENT = join(import.meta.dirname, 'paho-client.py');

export interface FileClientCert {
  cert: string;
  key: string;
}

/** A P-256 key in a PEM file and a certificate for it from the stack's test CA. */
export async function fileClientCert(stack: TestStack, cn: string): Promise<FileClientCert> {
  const key = join(stack.dir, `${cn}.key`);
  const pub = join(stack.dir, `${cn}.pub.pem`);
  const cert = join(stack.dir, `${cn}.pem`);
  await runChecked('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await runChecked('openssl', ['ec', '-in', key, '-pubout', '-out', pub]);
  await stack.pki.certify(pub, cn, cert);
  return { cert, key };
}

/** mosquitto_pub/_sub flags for the upstream broker, as a client with its own file key. */
export function upstreamFlags(stack: TestStack, client: FileClientCert): string[] {
  return ['-h', 'localhost', '-p', String(stack.broker.port), '--cafile', stack.pki.caFile, '--cert', client.cert, '--key', client.key];
}

/** mosquitto_sub printing "topic payload" lines, waited on with waitFor(); line-buffered (stdbuf), since stdout is a pipe. */
export function mosquittoSub(flags: string[], env: NodeJS.ProcessEnv = process.env): RunningCli {
  return new RunningCli(['-oL', 'mosquitto_sub', '-v', ...flags], env, 'stdbuf');
}

export function mosquittoPub(flags: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('mosquitto_pub', flags, { timeoutMs });
}

/** The MQTT 5 reason codes mosquitto_pub -d printed for its PUBACKs. */
export function pubackReasonCodes(output: string): number[] {
  return [...output.matchAll(/received PUBACK \(Mid: \d+, RC:(\d+)\)/g)].map((match) => Number(match[1]));
}

export function paho(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run(PYTHON, [PAHO_CLIENT, ...args], { timeoutMs });
}

export function pahoSubscriber(args: string[]): RunningCli {
  return new RunningCli([PAHO_CLIENT, 'sub', ...args], process.env, PYTHON);
}
