/** The local MQTT bridge as an agent service, its settings read from the config. */
import { createBridge } from '../bridge/bridge.js';
import { parseListenAddress } from '../config/listen-address.js';
import { localListenOf, spoolDirOf } from '../config/derived.js';
import type { AgentService, ServiceDeps } from './service.js';

export function bridgeService(deps: ServiceDeps): AgentService | undefined {
  const { config } = deps;
  const listen = localListenOf(config).map(parseListenAddress);
  // localListen: [] turns the local endpoint off.
  if (listen.length === 0) return undefined;
  return createBridge({
    session: deps.connection.session,
    log: deps.log,
    listen,
    forwardPublish: config.forwardPublish,
    forwardSubscribe: config.forwardSubscribe,
    spoolDir: spoolDirOf(config),
    spoolMaxBytes: config.spoolMaxBytes,
  });
}
