/** The local MQTT bridge as an agent service, its settings read from the config. */
import { join } from 'node:path';
import { createBridge } from '../bridge/bridge.js';
import { parseListenAddress } from '../bridge/listen-address.js';
import type { AgentService, ServiceDeps } from './service.js';

export function bridgeService(deps: ServiceDeps): AgentService | undefined {
  const { config } = deps;
  const listen = (config.localListen ?? [`unix:${join(config.runtimeDir, 'mqtt.sock')}`]).map(parseListenAddress);
  // localListen: [] turns the local endpoint off.
  if (listen.length === 0) return undefined;
  return createBridge({
    session: deps.connection.session,
    log: deps.log,
    listen,
    forwardPublish: config.forwardPublish,
    forwardSubscribe: config.forwardSubscribe,
    spoolDir: config.spoolDir ?? join(deps.stateDir, 'spool'),
    spoolMaxBytes: config.spoolMaxBytes,
  });
}
