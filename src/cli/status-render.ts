/** `trustlink status` for people: the agent's figures, a few lines. */
import type { AgentStatus } from '../agent/status.js';

interface BridgeFigures {
  listen: string[];
  localClients: number;
  upstreamSubscriptions: string[];
  spool: { messages: number; bytes: number; oldestAgeMs: number | undefined; discardedTornRecords: number };
  counters: Record<string, number>;
}

const ago = (iso: string, now: number): string => `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago`;

export function renderStatus(status: AgentStatus, now = Date.now()): string {
  const { connection } = status;
  const lines = [
    `agent      pid ${status.pid}, trustlink ${status.version}, up since ${status.startedAt}`,
    `connection ${connection.connected ? 'connected to' : 'not connected to'} ${connection.endpoint} as ${connection.clientId} since ${connection.since} (${ago(connection.since, now)}), ${connection.reconnects} reconnects`,
  ];
  const bridge = status.services.bridge as BridgeFigures | undefined;
  if (bridge !== undefined) {
    const { spool, counters } = bridge;
    const oldest = spool.oldestAgeMs === undefined ? 'none' : `${Math.round(spool.oldestAgeMs / 1000)} s`;
    lines.push(
      `local      ${bridge.localClients} clients on ${bridge.listen.join(', ')}`,
      `upstream   ${bridge.upstreamSubscriptions.length} subscriptions${bridge.upstreamSubscriptions.length > 0 ? `: ${bridge.upstreamSubscriptions.join(', ')}` : ''}`,
      `spool      ${spool.messages} messages, ${spool.bytes} bytes, oldest ${oldest}${spool.discardedTornRecords > 0 ? `, ${spool.discardedTornRecords} torn records discarded` : ''}`,
      `messages   ${Object.entries(counters).map(([name, value]) => `${name} ${value}`).join(', ')}`,
    );
  }
  for (const [name, figures] of Object.entries(status.services)) {
    if (name !== 'bridge') lines.push(`${name.padEnd(10)} ${JSON.stringify(figures)}`);
  }
  return lines.join('\n');
}
