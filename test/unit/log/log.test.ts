import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../../src/log/log.js';

function capture(options: { level: 'debug' | 'info' | 'warn' | 'error'; json: boolean; journald?: boolean }): { lines: () => string[]; log: ReturnType<typeof createLogger> } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  return { log: createLogger({ ...options, stream }), lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('redact', () => {
  it('replaces secret-looking keys, at any depth, and keeps the rest', () => {
    expect(redact({ pin: '1234', userPin: '1', tokenLabel: 'dev', nested: { secretAccessKey: 's', sessionToken: 't', accessKeyId: 'AKIA' }, authorization: 'x', password: 'p' })).toEqual({
      pin: '[redacted]', userPin: '[redacted]', tokenLabel: 'dev', nested: { secretAccessKey: '[redacted]', sessionToken: '[redacted]', accessKeyId: 'AKIA' }, authorization: '[redacted]', password: '[redacted]',
    });
  });
});

describe('createLogger', () => {
  it('writes one JSON object a line with level, message and fields', () => {
    const { log, lines } = capture({ level: 'info', json: true });
    log.info('connected', { endpoint: 'e:1', pin: '9999' });
    const [line] = lines();
    expect(JSON.parse(line as string)).toMatchObject({ level: 'info', message: 'connected', endpoint: 'e:1', pin: '[redacted]' });
  });

  it('drops lines below the level', () => {
    const { log, lines } = capture({ level: 'warn', json: false });
    log.info('quiet');
    log.debug('quieter');
    log.warn('loud', { code: 'X' });
    expect(lines()).toEqual(['warn: loud code=X']);
  });

  it('prefixes sd-daemon priorities for journald', () => {
    const { log, lines } = capture({ level: 'debug', json: true, journald: true });
    log.error('e');
    log.debug('d');
    expect(lines().map((line) => line.slice(0, 3))).toEqual(['<3>', '<7>']);
  });
});
