/**
 * trustlink creds: temporary AWS credentials from the AWS IoT credentials
 * provider, fetched with the device key, printed for credential_process or
 * a shell (cached in RAM between calls), or served to local programs.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { CredentialsCache, defaultCacheDir, readThrough } from '../credentials/cache.js';
import { environmentVariables, exportLines, OUTPUT_FORMATS, processCredentials, type OutputFormat } from '../credentials/formats.js';
import { CredentialsKeeper } from '../credentials/credentials-keeper.js';
import type { FetchedCredentials } from '../credentials/provider-client.js';
import { DEFAULT_REFRESH_MARGIN_SECONDS, isFresh } from '../credentials/refresh.js';
import { ECS_PATH, isLoopbackAddress, startCredentialsServer } from '../credentials/server.js';
import { credentialsTarget, openClientFor, targetCacheKey } from '../credentials/settings.js';
import { readOrCreateToken } from '../credentials/token-file.js';
import type { Output } from './output.js';
import { createContext } from './context.js';
import { CONNECTING_EXITS, exitStatusHelp } from './exit-status.js';
import { parseChoice, parseInteger } from './parse.js';
import { addSettingFlags } from './setting-flags.js';
import { stopOnSignals } from './stop-signals.js';

/** Who asks (the device identity) and whom (the credentials provider). */
const FLAG_GROUPS = ['identity', 'credentialsProvider'] as const;

interface CredsFlags {
  format: OutputFormat;
  cacheDir?: string;
  cache: boolean;
  refreshMargin: number;
  timeout: number;
}

interface ServeFlags {
  port: number;
  tokenFile: string;
  bind: string;
}

function print(output: Output, format: OutputFormat, fetched: FetchedCredentials): void {
  if (format === 'process') {
    const data = processCredentials(fetched.credentials);
    output.result(JSON.stringify(data), data);
  } else if (format === 'env') {
    const variables = environmentVariables(fetched.credentials);
    output.result(exportLines(variables), variables);
  } else {
    output.result(JSON.stringify(fetched.document), fetched.document);
  }
}

/** http://HOST:PORT as a local program reaches it; a wildcard bind is reached on loopback. */
function baseUrl(bind: string, port: number): string {
  const host = bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function serveCommand(): Command {
  const command = new Command('serve')
    .description('serve the credentials to local programs (ECS container protocol and IMDSv2), refreshed ahead of expiry')
    .requiredOption('--port <port>', 'TCP port to listen on (0: any free port)', parseInteger(0, 65535))
    .requiredOption('--token-file <file>', 'file with the Authorization token for the ECS protocol; made (32 random bytes, hex, mode 0600) if missing')
    .option('--bind <address>', 'address to listen on; anything but loopback exposes the credentials to the network', '127.0.0.1')
    .configureHelp({ showGlobalOptions: true });
  command.addHelpText('after', `
The credentials provider, identity and --refresh-margin options are those of
"trustlink creds" (listed above as global options). Credentials are fetched
once, refreshed in the background --refresh-margin before they expire (halfway
through their life if they live shorter), and while a refresh fails the last
good ones are served until they expire. Upstream errors are retried with
backoff: network trouble and 5xx soon, 429 later, refusals much later.

On start it prints what programs need in their environment:
  AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT${ECS_PATH}
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/trustlink/creds-token
  AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT
It stops on SIGTERM or SIGINT (exit 0).

Example:
  trustlink --config /etc/trustlink/config.json creds serve --port 9911 --token-file /run/trustlink/creds-token`);
  command.addHelpText('after', exitStatusHelp('stopped by SIGTERM or SIGINT', CONNECTING_EXITS));
  return command.action(async (flags: ServeFlags, self: Command) => {
    const parentFlags = self.parent!.opts<CredsFlags>();
    const { loaded, log, output, env } = createContext(self, FLAG_GROUPS, { flagsFrom: self.parent! });
    const target = credentialsTarget(loaded.config);
    if (!isLoopbackAddress(flags.bind)) {
      log.warn('serving credentials beyond this host: anyone who can reach this address and read the token gets them', { bind: flags.bind });
    }
    const tokenFile = resolve(flags.tokenFile);
    const token = readOrCreateToken(tokenFile, log);
    const opened = await openClientFor(loaded.config, target, parentFlags.timeout * 1000, log, env);
    const keeper = new CredentialsKeeper({ fetch: () => opened.client.fetch(), refreshMarginMs: parentFlags.refreshMargin * 1000, log });
    const signal = stopOnSignals(log);
    try {
      const server = await startCredentialsServer({ host: flags.bind, port: flags.port, token, roleName: target.roleAlias, source: keeper, log });
      try {
        const ready = await Promise.race([keeper.start(), signal.stopped.then(() => false)]);
        if (!ready) return;
        const base = baseUrl(flags.bind, server.port);
        const ecs = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${base}${ECS_PATH}`, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile };
        const imds = { AWS_EC2_METADATA_SERVICE_ENDPOINT: base };
        output.result([
          '# ECS container credentials (AWS SDKs, AWS CLI, Greengrass components):',
          ...Object.entries(ecs).map(([name, value]) => `${name}=${value}`),
          '# IMDSv2, for tools that read only instance metadata:',
          ...Object.entries(imds).map(([name, value]) => `${name}=${value}`),
        ].join('\n'), { event: 'serving', ecs, imds });
        log.info('serving credentials', { url: base, roleAlias: target.roleAlias });
        await signal.stopped;
      } finally {
        keeper.stop();
        await server.close();
        log.info('stopped', { upstreamFetches: keeper.fetches });
      }
    } finally {
      signal.release();
      opened.close();
    }
  });
}

export function credsCommand(): Command {
  const command = new Command('creds')
    .description('print temporary AWS credentials from the AWS IoT credentials provider, fetched with the device key');
  addSettingFlags(command, FLAG_GROUPS);
  command
    .option('--format <format>', `what to print: ${OUTPUT_FORMATS.join(', ')}`, parseChoice(OUTPUT_FORMATS), 'process')
    .option('--cache-dir <dir>', 'RAM-backed folder for the credentials cache (default: $XDG_RUNTIME_DIR/trustlink, else /run/trustlink)')
    .option('--no-cache', 'always ask the credentials provider; read and write no cache')
    .option('--refresh-margin <seconds>', 'fetch new credentials this long before the cached ones expire', parseInteger(0, 43_200), DEFAULT_REFRESH_MARGIN_SECONDS)
    .option('--timeout <seconds>', 'give up on the credentials provider after this long', parseInteger(1, 300), 10)
    .addCommand(serveCommand());
  command.addHelpText('after', `
Formats:
  process  the JSON of the AWS CLI/SDK credential_process setting (default)
  env      shell lines: export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_SESSION_TOKEN=...
  json     the credentials provider's answer as it came

Credentials are cached in RAM (tmpfs only, mode 0600) and reused until
--refresh-margin before they expire; nothing is printed on stdout on failure.

Examples:
  # in ~/.aws/config, for the AWS CLI and SDKs
  [profile device]
  credential_process = /usr/bin/trustlink --config /etc/trustlink/config.json creds --format process

  # in a shell
  eval "$(trustlink creds --credentials-endpoint abc123.credentials.iot.eu-west-1.amazonaws.com \\
    --role-alias uploader --thing-name thing-1 --cert device.pem \\
    --key 'pkcs11:token=dev;object=devkey' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so \\
    --pin-file /etc/trustlink/pin --format env)"`);
  command.addHelpText('after', exitStatusHelp('the credentials were printed', CONNECTING_EXITS));
  return command.action(async (flags: CredsFlags, self: Command) => {
    const { loaded, log, output, env } = createContext(self, FLAG_GROUPS);
    const target = credentialsTarget(loaded.config);
    const marginMs = flags.refreshMargin * 1000;
    const fresh = (expiresAt: Date): boolean => isFresh(expiresAt, marginMs, new Date());
    const cache = flags.cache ? { key: targetCacheKey(target), store: CredentialsCache.open(flags.cacheDir ?? defaultCacheDir(env), log) } : undefined;
    const fetched = await readThrough(cache, fresh, async () => {
      const opened = await openClientFor(loaded.config, target, flags.timeout * 1000, log, env);
      try {
        return await opened.client.fetch();
      } finally {
        opened.close();
      }
    }, log);
    print(output, flags.format, fetched);
  });
}
