/**
 * Logs go to stderr (stdout carries command output): one JSON object a line
 * for journald and scripts, or a short human line on a terminal. Values under
 * secret-looking keys are replaced before anything is written.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Changes the threshold live (the shadow's desired logLevel); loggers that cannot leave it out. */
  setLevel?(level: LogLevel): void;
}

export interface LoggerOptions {
  level: LogLevel;
  json: boolean;
  stream?: NodeJS.WritableStream;
  /** Prefix lines with sd-daemon priorities; true when stderr is connected to journald. */
  journald?: boolean;
}

// Exact names, or names ending in Pin/Password/Secret/Signature: "tokenLabel" stays, "userPin" goes.
const SECRET_KEYS = new Set(['pin', 'token', 'sessiontoken', 'tokenvalue', 'authorization', 'credentials', 'presignedurl']);
const SECRET_SUFFIX = /(pin|password|secret|secretaccesskey|signature)$/i;
const isSecretKey = (key: string): boolean => SECRET_KEYS.has(key.toLowerCase()) || SECRET_SUFFIX.test(key);
const REDACTED = '[redacted]';
// sd-daemon(3) priorities: journald reads "<N>" at the start of a line.
const JOURNAL_PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export function redact(fields: LogFields): LogFields {
  const clean: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (isSecretKey(key)) clean[key] = REDACTED;
    else if (value !== null && typeof value === 'object' && !Array.isArray(value)) clean[key] = redact(value as LogFields);
    else clean[key] = value;
  }
  return clean;
}

function formatText(level: LogLevel, message: string, fields: LogFields): string {
  const pairs = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [`${level}: ${message}`, ...pairs].join(' ');
}

export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stderr;
  let threshold = LOG_LEVELS.indexOf(options.level);
  const write = (level: LogLevel, message: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const safe = redact(fields);
    const line = options.json
      ? JSON.stringify({ time: new Date().toISOString(), level, message, ...safe })
      : formatText(level, message, safe);
    const prefix = options.journald ? `<${JOURNAL_PRIORITY[level]}>` : '';
    stream.write(`${prefix}${line}\n`);
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    setLevel(level) {
      threshold = LOG_LEVELS.indexOf(level);
    },
  };
}
