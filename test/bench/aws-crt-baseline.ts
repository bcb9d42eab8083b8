/**
 * The benchmarks' baseline: the same job written with aws-crt alone
 * (aws-crt-publish.mjs, configured by environment), and the LD_PRELOAD shim
 * that sets TCP_NODELAY, which aws-crt-nodejs offers no way to ask for.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/paths.js';
import type { TestPki } from '../helpers/pki.js';
import type { TestToken } from '../helpers/softhsm.js';

export const AWS_CRT_SCRIPT = join(REPO, 'test/bench/aws-crt-publish.mjs');

/** What aws-crt-publish.mjs reads: the broker, the token key and the certificate to present. */
export function awsCrtScriptEnv(env: NodeJS.ProcessEnv, broker: { host: string; port: number }, token: TestToken, certFile: string, pki: TestPki): NodeJS.ProcessEnv {
  return {
    ...env, BENCH_HOST: broker.host, BENCH_PORT: String(broker.port), BENCH_MODULE: token.modulePath, BENCH_PIN_FILE: token.pinFile,
    BENCH_TOKEN: token.label, BENCH_KEY_LABEL: token.keyLabel, BENCH_CERT: certFile, BENCH_CA: pki.caFile,
  };
}

/** Builds nodelay-preload.c into `dir` and returns the shared object's path. */
export function buildNodelayShim(dir: string): string {
  const shim = join(dir, 'nodelay.so');
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', shim, join(REPO, 'test/bench/nodelay-preload.c'), '-ldl']);
  return shim;
}
