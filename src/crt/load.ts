/**
 * The one place aws-crt is loaded. It is loaded on first use, so commands
 * that never connect (--help, config checks) do not pay for its native addon.
 */
import type * as AwsCrt from 'aws-crt';

export type Crt = typeof AwsCrt;

let loaded: Promise<Crt> | undefined;

export function loadCrt(): Promise<Crt> {
  // aws-crt warns on every start under Node 20 that it will drop Node 20 in
  // 2027; docs/node-versions.md says which Node versions trustlink supports instead.
  process.env.AWS_CRT_NODEJS_SUPPRESS_NODE_DEPRECATION_WARNING ??= 'true';
  loaded ??= import('aws-crt');
  return loaded;
}
