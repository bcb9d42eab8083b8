/**
 * trustlink creds: temporary AWS credentials from the AWS IoT credentials
 * provider, fetched with the device key, printed for credential_process or
 * a shell (cached in RAM between calls).
 */
import { Command } from 'commander';
import type { ConfigKey } from '../config/schema.js';
import { CredentialsCache, defaultCacheDir } from '../credentials/cache.js';
import { environmentVariables, exportLines, OUTPUT_FORMATS, processCredentials, type OutputFormat } from '../credentials/formats.js';
import type { FetchedCredentials } from '../credentials/provider-client.js';
import { DEFAULT_REFRESH_MARGIN_SECONDS, isFresh } from '../credentials/refresh.js';
import { credentialsTarget, openClientFor, targetCacheKey } from '../credentials/settings.js';
import type { Output } from './output.js';
import { addIdentityOptions, identityFlagsToConfig, type IdentityFlags } from './connection-options.js';
import { createContext, parseChoice, parseInteger } from './context.js';

interface CredsFlags extends IdentityFlags {
  credentialsEndpoint?: string;
  roleAlias?: string;
  format: OutputFormat;
  cacheDir?: string;
  cache: boolean;
  refreshMargin: number;
  timeout: number;
}

function credsFlagsToConfig(flags: CredsFlags): Partial<Record<ConfigKey, unknown>> {
  const credentials = flags.credentialsEndpoint !== undefined || flags.roleAlias !== undefined
    ? { endpoint: flags.credentialsEndpoint, roleAlias: flags.roleAlias }
    : undefined;
  return { ...identityFlagsToConfig(flags), credentials };
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

export function credsCommand(): Command {
  const command = new Command('creds')
    .description('print temporary AWS credentials from the AWS IoT credentials provider, fetched with the device key')
    .option('--credentials-endpoint <host[:port]>', 'the account\'s iot:CredentialProvider endpoint (config: credentials.endpoint)')
    .option('--role-alias <alias>', 'AWS IoT role alias naming the IAM role to assume (config: credentials.roleAlias)');
  addIdentityOptions(command, 'CA certificate(s) the credentials endpoint must chain to (AWS: Amazon Root CA 1; default: the system store)');
  command
    .option('--format <format>', `what to print: ${OUTPUT_FORMATS.join(', ')}`, parseChoice(OUTPUT_FORMATS), 'process')
    .option('--cache-dir <dir>', 'RAM-backed folder for the credentials cache (default: $XDG_RUNTIME_DIR/trustlink, else /run/trustlink)')
    .option('--no-cache', 'always ask the credentials provider; read and write no cache')
    .option('--refresh-margin <seconds>', 'fetch new credentials this long before the cached ones expire', parseInteger(0, 43_200), DEFAULT_REFRESH_MARGIN_SECONDS)
    .option('--timeout <seconds>', 'give up on the credentials provider after this long', parseInteger(1, 300), 10);
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
  return command.action(async (flags: CredsFlags, self: Command) => {
    const { loaded, log, output, env } = createContext(self, credsFlagsToConfig(flags));
    const target = credentialsTarget(loaded.config);
    const marginMs = flags.refreshMargin * 1000;
    const fresh = (expiresAt: Date): boolean => isFresh(expiresAt, marginMs, new Date());
    const key = flags.cache ? targetCacheKey(target) : undefined;
    const cache = key !== undefined ? CredentialsCache.open(flags.cacheDir ?? defaultCacheDir(env), log) : undefined;

    let fetched = key !== undefined ? cache?.read(key, fresh) : undefined;
    if (fetched !== undefined) {
      log.debug('using cached credentials', { expiration: fetched.credentials.expiration });
    } else {
      const opened = await openClientFor(loaded.config, target, flags.timeout * 1000, log, env);
      try {
        fetched = await opened.client.fetch();
      } finally {
        opened.close();
      }
      // Credentials that live shorter than the margin would never be read back.
      if (key !== undefined && fresh(fetched.credentials.expiresAt)) cache?.write(key, fetched);
    }
    print(output, flags.format, fetched);
  });
}
