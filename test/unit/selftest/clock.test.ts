import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assessClock, timeSyncState } from '../../../src/selftest/clock.js';
import { makeTempDir } from '../../helpers/paths.js';

const build = new Date('2026-06-01T00:00:00Z');
const certificate = { validFrom: new Date('2026-07-01T00:00:00Z'), validTo: new Date('2027-07-01T00:00:00Z') };

describe('assessClock', () => {
  it('passes a clock after the build date and inside the certificate window', () => {
    expect(assessClock({ now: new Date('2026-08-01T00:00:00Z'), buildTime: build, certificate, timeSync: 'synchronized' }))
      .toEqual({ status: 'pass', detail: '2026-08-01T00:00:00.000Z; time sync: synchronized' });
  });

  it('fails a clock before the build date (a device without RTC)', () => {
    const outcome = assessClock({ now: new Date('1970-01-01T00:00:10Z'), buildTime: build, certificate: undefined, timeSync: 'unknown' });
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('before this program\'s build date (2026-06-01T00:00:00.000Z)');
    expect(outcome.hint).toMatch(/time-sync.target/);
  });

  it('fails a clock before the certificate\'s start, naming it', () => {
    const outcome = assessClock({ now: new Date('2026-06-15T00:00:00Z'), buildTime: build, certificate, timeSync: 'unknown' });
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('before the device certificate\'s validity starts (2026-07-01T00:00:00.000Z)');
    expect(outcome.detail).not.toContain('build date');
  });

  it('leaves a clock past the certificate\'s end to the certificate check', () => {
    expect(assessClock({ now: new Date('2028-01-01T00:00:00Z'), buildTime: build, certificate, timeSync: 'unknown' }).status).toBe('pass');
  });

  it('warns when timesyncd has not synchronized yet', () => {
    const outcome = assessClock({ now: new Date('2026-08-01T00:00:00Z'), buildTime: undefined, certificate, timeSync: 'not synchronized' });
    expect(outcome).toMatchObject({ status: 'warn', detail: expect.stringContaining('time sync: not synchronized') });
  });
});

describe('timeSyncState', () => {
  const temp = makeTempDir('timesync');
  afterAll(() => temp.remove());

  it('reads systemd-timesyncd\'s flag files', () => {
    const dir = join(temp.path, 'timesync');
    expect(timeSyncState(dir)).toBe('unknown');
    mkdirSync(dir);
    expect(timeSyncState(dir)).toBe('not synchronized');
    writeFileSync(join(dir, 'synchronized'), '');
    expect(timeSyncState(dir)).toBe('synchronized');
  });
});
