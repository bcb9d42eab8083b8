/**
 * What every command starts from: the global options, the layered
 * configuration, a logger and the output channel.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { ConfigKey } from '../config/schema.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../log/log.js';
import { createOutput, type Output } from './output.js';

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
}

export function parseInteger(min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('not a whole number.');
    const number = Number(value);
    if (number < min || number > max) throw new InvalidArgumentError(`must be between ${min} and ${max}.`);
    return number;
  };
}

export function parseChoice<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${choices.join(', ')}.`);
    return value as T;
  };
}

export function addGlobalOptions(program: Command): Command {
  return program
    .option('--config <file>', 'JSON config file (default: /etc/trustlink/config.json when it exists; env TRUSTLINK_CONFIG)')
    .option('--json', 'print results as one JSON object per line, and logs as JSON')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (default: info)`, parseChoice(LOG_LEVELS))
    .option('--debug', 'show the cause of errors and debug logs');
}

export function createContext(command: Command, flags: Partial<Record<ConfigKey, unknown>>, env: NodeJS.ProcessEnv = process.env): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const loaded = loadConfig({ file: globals.config, env, flags: { ...flags, logLevel: globals.debug ? 'debug' : globals.logLevel } });
  const json = globals.json ?? false;
  const log = createCommandLogger(loaded.config.logLevel, json, env);
  return { loaded, log, output: createOutput(json), env };
}

export function createCommandLogger(level: LogLevel, json: boolean, env: NodeJS.ProcessEnv): Logger {
  return createLogger({
    level,
    // Under systemd, stderr goes to journald: JSON lines with priorities are what it stores best.
    json: json || env.JOURNAL_STREAM !== undefined || !process.stderr.isTTY,
    journald: env.JOURNAL_STREAM !== undefined,
  });
}
