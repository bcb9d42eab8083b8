import { describe, expect, it } from 'vitest';
import { createNotifier, watchdogInterval } from '../../../src/agent/sd-notify.js';
import { createLogger } from '../../../src/log/log.js';

describe('watchdogInterval', () => {
  it('pings at half of WatchdogSec', () => {
    expect(watchdogInterval({ WATCHDOG_USEC: '60000000' })).toBe(30_000);
  });
  it('is off without WATCHDOG_USEC, or with a bad one', () => {
    expect(watchdogInterval({})).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: 'soon' })).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '0' })).toBeUndefined();
  });
  it('is off when WATCHDOG_PID names another process', () => {
    expect(watchdogInterval({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '1' }, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, 42)).toBe(1_000);
  });
});

describe('createNotifier', () => {
  it('does nothing outside systemd', async () => {
    const notifier = createNotifier({ WATCHDOG_USEC: '2000000' }, createLogger({ level: 'debug', json: true }));
    expect(notifier.enabled).toBe(false);
    expect(notifier.watchdogIntervalMs).toBeUndefined();
    await expect(notifier.notify({ READY: '1' })).resolves.toBeUndefined();
  });
});
