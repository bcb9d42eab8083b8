/** What the bridge counts since the agent started; reported by `trustlink status` and the health message. */
export interface BridgeCounters {
  /** Local publishes received (QoS 0 and 1). */
  received: number;
  /** Publishes AWS IoT acknowledged (QoS 1) or that were written to it (QoS 0). */
  forwarded: number;
  /** Of those, spooled messages sent after waiting (an outage, a restart, a burst). */
  replayed: number;
  /** Upstream messages handed to local subscribers. */
  delivered: number;
  refusedSpoolFull: number;
  refusedTooLarge: number;
  refusedUpstream: number;
  /** Topics AWS IoT would refuse (more than 8 levels, over 256 bytes). */
  refusedInvalidTopic: number;
  /** Refused by --forward-publish / --forward-subscribe. */
  refusedNotAllowed: number;
  droppedQos0: number;
  /** Deliveries dropped because a local subscriber did not read them. */
  droppedSlowClient: number;
}

export function newCounters(): BridgeCounters {
  return { received: 0, forwarded: 0, replayed: 0, delivered: 0, refusedSpoolFull: 0, refusedTooLarge: 0, refusedUpstream: 0, refusedInvalidTopic: 0, refusedNotAllowed: 0, droppedQos0: 0, droppedSlowClient: 0 };
}
