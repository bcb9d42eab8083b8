import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sortDesired } from '../../../src/shadow/desired.js';
import { reportDelay, selftestFacts } from '../../../src/shadow/reported.js';

describe('the shadow\'s desired settings', () => {
  it('applies allowlisted keys with valid values, and names everything else', () => {
    expect(sortDesired({ logLevel: 'debug', healthIntervalSeconds: 30, endpoint: 'evil.example.com', healthTopic: 'x' })).toEqual({
      apply: { logLevel: 'debug', healthIntervalSeconds: 30 },
      ignored: { endpoint: 'not a setting the shadow may change', healthTopic: 'not a setting the shadow may change' },
    });
    const refused = sortDesired({ logLevel: 'chatty', healthIntervalSeconds: 1 });
    expect(refused.apply).toEqual({});
    expect(Object.keys(refused.ignored)).toEqual(['logLevel', 'healthIntervalSeconds']);
  });
});

describe('the shadow\'s reported facts', () => {
  it('reports at once the first time, then not more than once a minute', () => {
    expect(reportDelay(undefined, 1_000)).toBe(0);
    expect(reportDelay(1_000, 31_000)).toBe(30_000);
    expect(reportDelay(1_000, 61_000)).toBe(0);
  });

  it('reads the self-test verdict and the checks that did not pass; nothing from a missing or broken report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trustlink-shadow-'));
    try {
      const file = join(dir, 'selftest.json');
      expect(selftestFacts(file)).toBeNull();
      writeFileSync(file, '{"status":');
      expect(selftestFacts(file)).toBeNull();
      writeFileSync(file, JSON.stringify({ status: 'fail', startedAt: '2026-12-02T07:00:00.000Z', checks: [{ id: 'config', status: 'pass' }, { id: 'certificate', status: 'warn' }, { id: 'tls', status: 'fail' }, { id: 'mqtt', status: 'skip' }] }));
      expect(selftestFacts(file)).toEqual({ status: 'fail', startedAt: '2026-12-02T07:00:00.000Z', notPassed: ['certificate', 'tls'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
