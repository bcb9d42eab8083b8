import { expect, it } from 'vitest';
import type { AgentStatus } from '../../../src/agent/status.js';
import { statusLine } from '../../../src/agent/status.js';
import { renderStatus } from '../../../src/cli/status-render.js';

const status: AgentStatus = {
  time: '2026-12-02T07:00:10.000Z', pid: 42, version: '0.1.0', startedAt: '2026-12-02T07:00:00.000Z',
  connection: { endpoint: 'iot.example:8883', clientId: 'thing-1', connected: false, since: '2026-12-02T07:00:05.000Z', reconnects: 2 },
  services: {
    bridge: {
      listen: ['unix:/run/trustlink/mqtt.sock'], localClients: 3, upstreamSubscriptions: ['cmd/#'], inFlight: 0,
      spool: { messages: 12, bytes: 3400, oldestAgeMs: 61_000, discardedTornRecords: 1 },
      counters: { received: 20, refusedSpoolFull: 0 },
    },
  },
};

it('prints the connection, local clients, upstream subscriptions, spool and counters', () => {
  const text = renderStatus(status, Date.parse('2026-12-02T07:00:10.000Z'));
  expect(text).toContain('connection not connected to iot.example:8883 as thing-1 since 2026-12-02T07:00:05.000Z (5 s ago), 2 reconnects');
  expect(text).toContain('local      3 clients on unix:/run/trustlink/mqtt.sock');
  expect(text).toContain('upstream   1 subscriptions: cmd/#');
  expect(text).toContain('spool      12 messages, 3400 bytes, oldest 61 s, 1 torn records discarded');
  expect(text).toContain('messages   received 20, refusedSpoolFull 0');
});

it('puts the spool depth in the STATUS= line', () => {
  expect(statusLine(status)).toBe('reconnecting to iot.example:8883; spool 12 messages (3400 bytes)');
  expect(statusLine({ ...status, services: {} })).toBe('reconnecting to iot.example:8883');
});
