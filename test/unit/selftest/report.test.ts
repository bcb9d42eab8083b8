import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TrustlinkError } from '../../../src/errors.js';
import { DEFAULT_REPORT_FILE, defaultReportFile, formatReport, writeReport, type SelftestReport } from '../../../src/selftest/report.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('report');
afterAll(() => temp.remove());

const report: SelftestReport = {
  version: '1.2.3',
  device: 'thing-1',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 1234,
  status: 'fail',
  checks: [
    { id: 'config', name: 'configuration', status: 'pass', durationMs: 2, detail: 'ok' },
    { id: 'login', name: 'token login (once)', status: 'fail', durationMs: 15, detail: 'PIN refused', hint: 'check the PIN file' },
    { id: 'key', name: 'private key', status: 'skip', durationMs: 0, detail: 'skipped: needs "token login (once)", which did not pass' },
    { id: 'certificate', name: 'device certificate', status: 'warn', durationMs: 1, detail: '10 days left', hint: 'renew' },
  ],
};

describe('formatReport', () => {
  it('prints one aligned line per check with its mark, hints under failures and warnings, and a summary', () => {
    expect(formatReport(report).split('\n')).toEqual([
      '✓ configuration       2 ms  ok',
      '✗ token login (once) 15 ms  PIN refused',
      '                            hint: check the PIN file',
      '- private key         0 ms  skipped: needs "token login (once)", which did not pass',
      '! device certificate  1 ms  10 days left',
      '                            hint: renew',
      'selftest FAIL for thing-1: 1 passed, 1 failed, 1 warned, 1 skipped in 1234 ms',
    ]);
  });
});

describe('writeReport', () => {
  it('writes the JSON with mode 0644 and leaves no temporary file', () => {
    const file = join(temp.path, 'out', 'selftest.json');
    writeReport(file, report);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(report);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(join(temp.path, 'out'))).toEqual(['selftest.json']);
  });

  it('fails with FILE_WRITE_FAILED and a hint when the folder cannot be made', () => {
    const blocker = join(temp.path, 'a-file');
    writeFileSync(blocker, '');
    let error: TrustlinkError | undefined;
    try {
      writeReport(join(blocker, 'selftest.json'), report);
    } catch (caught) {
      error = caught as TrustlinkError;
    }
    expect(error?.code).toBe('FILE_WRITE_FAILED');
    expect(error?.message).toMatch(/^cannot write the self-test report .*\/a-file\/selftest.json: E[A-Z]+$/);
    expect(error?.hint).toContain('--report FILE');
  });
});

describe('defaultReportFile', () => {
  it('follows systemd\'s RuntimeDirectory=, else /run/trustlink', () => {
    expect(defaultReportFile({ RUNTIME_DIRECTORY: '/run/trustlink' })).toBe('/run/trustlink/selftest.json');
    expect(defaultReportFile({ RUNTIME_DIRECTORY: '/run/a:/run/b' })).toBe('/run/a/selftest.json');
    expect(defaultReportFile({})).toBe(DEFAULT_REPORT_FILE);
  });
});
