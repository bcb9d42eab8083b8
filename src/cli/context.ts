/**
 * What every command starts from: the global options, the layered
 * configuration, a logger and the output channel.
 */
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { ConfigKey } from '../config/schema.js';
import type { SettingGroup } from '../config/setting.js';
import type { ConnectionInputs } from '../connection/settings.js';
import { sigv4CredentialsFor } from '../credentials/sigv4-source.js';
import { createLogger, type Logger, type LogLevel } from '../log/log.js';
import { createOutput, type Output } from './output.js';
import { addSettingFlags, settingsFromFlags } from './setting-flags.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logLevel?: LogLevel;
  debug?: boolean;
}

export interface CommandContext {
  loaded: LoadedConfig;
  log: Logger;
  output: Output;
  env: NodeJS.ProcessEnv;
  /** What a connection needs beyond the configuration: the environment, and where SigV4 credentials come from. */
  connectionInputs: ConnectionInputs;
}

export interface ContextOptions {
  /** The command whose flags are read (a subcommand reads its parent's); default: the command itself. */
  flagsFrom?: Command;
  /** Settings given by other flags of the command's own. */
  extra?: Partial<Record<ConfigKey, unknown>>;
  env?: NodeJS.ProcessEnv;
}

export function addGlobalOptions(program: Command): Command {
  return addSettingFlags(program, ['global'])
    .option('--config <file>', 'JSON config file (default: /etc/trustlink/config.json when it exists; env TRUSTLINK_CONFIG)')
    .option('--json', 'print results as one JSON object per line, and logs as JSON')
    .option('--debug', 'show the cause of errors and debug logs');
}

/** Loads the configuration from the file, the environment and the flags of these groups. */
export function createContext(command: Command, groups: readonly SettingGroup[], options: ContextOptions = {}): CommandContext {
  const env = options.env ?? process.env;
  const flags = { ...settingsFromFlags(options.flagsFrom ?? command, groups), ...options.extra };
  const globals = command.optsWithGlobals<GlobalOptions>();
  const loaded = loadConfig({ file: globals.config, env, flags: { ...flags, logLevel: globals.debug ? 'debug' : globals.logLevel } });
  const json = globals.json ?? false;
  const log = createCommandLogger(loaded.config.logLevel, json, env);
  return { loaded, log, output: createOutput(json), env, connectionInputs: { env, sigv4Credentials: sigv4CredentialsFor(loaded.config, log, env) } };
}

export function createCommandLogger(level: LogLevel, json: boolean, env: NodeJS.ProcessEnv): Logger {
  return createLogger({
    level,
    // Under systemd, stderr goes to journald: JSON lines with priorities are what it stores best.
    json: json || env.JOURNAL_STREAM !== undefined || !process.stderr.isTTY,
    journald: env.JOURNAL_STREAM !== undefined,
  });
}
