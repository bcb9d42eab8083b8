/**
 * Reads the first MQTT packet (CONNECT) of a client stream, lets the caller
 * decide, then either refuses with a CONNACK as AWS IoT does, or hands the
 * session to the real broker: the CONNECT is re-sent without the
 * authorizer's username and password (the broker knows the stand-in by its
 * own client certificate) and bytes are piped both ways from then on.
 */
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import mqtt, { type IConnectPacket } from 'mqtt-packet';

/** The full length of the packet at the start of buf, once its fixed header and body have arrived. */
function firstPacketLength(buf: Buffer): number | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let index = 1; index < 5; index++) {
    const byte = buf[index];
    if (byte === undefined) return undefined;
    remaining += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) return buf.length >= index + 1 + remaining ? index + 1 + remaining : undefined;
  }
  throw new Error('malformed remaining length');
}

function parseConnect(buf: Buffer): IConnectPacket | undefined {
  let packet: IConnectPacket | undefined;
  const parser = mqtt.parser();
  parser.on('packet', (parsed) => {
    if (parsed.cmd === 'connect') packet = parsed;
  });
  parser.on('error', () => undefined);
  parser.parse(buf);
  return packet;
}

/** Waits for the first whole packet; resolves with it (if a CONNECT) and whatever followed it. */
export function readConnect(client: Duplex, timeoutMs = 10_000): Promise<{ connect: IConnectPacket; rest: Buffer } | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (result: { connect: IConnectPacket; rest: Buffer } | undefined): void => {
      clearTimeout(timer);
      client.off('data', onData);
      client.pause();
      resolve(result);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      let length: number | undefined;
      try {
        length = firstPacketLength(buffered);
      } catch {
        finish(undefined);
        return;
      }
      if (length === undefined) return;
      const connect = parseConnect(buffered.subarray(0, length));
      finish(connect && { connect, rest: buffered.subarray(length) });
    };
    client.on('data', onData);
    client.once('close', () => finish(undefined));
  });
}

/** A refused CONNECT: MQTT 5 reason 0x87 "not authorized"; AWS IoT answers 3.1.1 with return code 7 (aws-facts §2). */
export function refuse(client: Duplex, connect: IConnectPacket): void {
  const connack = connect.protocolVersion === 5
    ? mqtt.generate({ cmd: 'connack', sessionPresent: false, reasonCode: 0x87 }, { protocolVersion: 5 })
    : Buffer.from([0x20, 0x02, 0x00, 0x07]);
  client.end(connack);
}

export function relay(client: Duplex, connect: IConnectPacket, rest: Buffer, upstream: ConnectionOptions): void {
  const { username: _username, password: _password, ...forwarded } = connect;
  const broker = tlsConnect(upstream, () => {
    broker.write(mqtt.generate(forwarded, { protocolVersion: connect.protocolVersion ?? 4 }));
    if (rest.length > 0) broker.write(rest);
    client.pipe(broker).pipe(client);
  });
  const close = (): void => {
    client.destroy();
    broker.destroy();
  };
  broker.on('error', close).on('close', close);
  client.on('error', close).on('close', close);
}
