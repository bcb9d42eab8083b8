/**
 * A local AWS IoT stand-in on loopback, started and stopped by tests (and
 * the demo). It authenticates each connection the way AWS IoT does, records
 * what it saw, and relays accepted sessions to a real mosquitto, so
 * publish/subscribe semantics are a real broker's:
 *   - mtls:      TLS with a client certificate from the test CA (ALPN x-amzn-mqtt-ca accepted);
 *   - custom:    TLS with ALPN "mqtt", the custom authorizer in the CONNECT username;
 *   - websocket: TLS websocket at /mqtt, either SigV4-presigned (403 when wrong) or
 *                custom auth in the CONNECT;
 *   - cognito:   GetCredentialsForIdentity, issuing credentials the websocket check accepts.
 * No global state: every start() has its own servers, ports, credentials and records.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import type { IConnectPacket } from 'mqtt-packet';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { Mosquitto } from '../helpers/mosquitto.js';
import type { TestPki } from '../helpers/pki.js';
import { createCognitoService, type CognitoService } from './cognito.js';
import { verifyCustomAuth, type AuthorizerConfig } from './custom-auth-verify.js';
import { readConnect, refuse, relay } from './relay.js';
import { verifyPresignedUpgrade, type KnownCredentials } from './sigv4-verify.js';

export type SeenMode = 'mtls' | 'custom' | 'custom-websocket' | 'sigv4';

export interface SeenConnection {
  mode: SeenMode;
  accepted: boolean;
  reason?: string;
  clientId?: string;
  /** The CN of a client certificate that chained to the test CA (mtls, or custom combined with mTLS). */
  certificateCn?: string;
  /** sigv4: the access key that signed, and whether its signature verified. */
  accessKeyId?: string;
  signatureVerified?: boolean;
  /** custom: the authorizer named in the username. */
  authorizer?: string;
  alpn?: string | false | null;
}

export interface StandinOptions {
  dir: string;
  pki: TestPki;
  broker: Mosquitto;
  region: string;
  authorizer: AuthorizerConfig;
}

export interface Standin {
  host: string;
  ports: { mtls: number; custom: number; websocket: number; cognito: number };
  region: string;
  seen: SeenConnection[];
  cognito: CognitoService;
  /** Makes credentials the websocket check accepts until they expire (negative lifetime: already expired). */
  issueCredentials(lifetimeMs?: number): KnownCredentials;
  /** Drops every MQTT connection (not the Cognito ones), as a network blip would: clients must reconnect. */
  dropConnections(): void;
  /** Shifts the stand-in's clock, to simulate a device whose clock is off. */
  clockOffsetMs: number;
  stop(): Promise<void>;
}

const HOUR = 3_600_000;

/** The stand-in's own client certificate, by which mosquitto knows it. */
async function relayIdentity(dir: string, pki: TestPki): Promise<{ cert: string; key: string }> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicFile = join(dir, 'standin-relay.pub.pem');
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const certFile = await pki.certify(publicFile, 'standin-relay', join(dir, 'standin-relay.pem'));
  return { cert: readFileSync(certFile, 'utf8'), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

const verifiedCn = (socket: TLSSocket): { certificateCn?: string } =>
  socket.authorized ? { certificateCn: String(socket.getPeerCertificate().subject?.CN ?? '') } : {};

/** Listens on a port the kernel picks (picked and bound at once: no other test can take it in between). */
function listen(server: NetServer, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startStandin(options: StandinOptions): Promise<Standin> {
  const host = '127.0.0.1';
  const ca = readFileSync(options.pki.caFile, 'utf8');
  const serverTls = { cert: readFileSync(options.pki.serverCert, 'utf8'), key: readFileSync(options.pki.serverKey, 'utf8'), ca };
  const relayTls = await relayIdentity(options.dir, options.pki);
  const upstream: ConnectionOptions = { host: options.broker.host, port: options.broker.port, servername: 'localhost', ca, ...relayTls };
  const credentials = new Map<string, KnownCredentials>();
  const sockets = new Map<Socket, 'mqtt' | 'cognito'>();
  const seen: SeenConnection[] = [];

  const issueCredentials = (lifetimeMs = HOUR): KnownCredentials => {
    const issued = {
      accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(64).toString('base64'),
      expiration: new Date(Date.now() + lifetimeMs),
    };
    credentials.set(issued.accessKeyId, issued);
    return issued;
  };

  /** Reads the CONNECT, runs `check`, records, then refuses or relays. */
  const handleMqtt = async (client: Duplex, record: SeenConnection, check?: (connect: IConnectPacket) => Partial<SeenConnection> & { accepted: boolean }): Promise<void> => {
    const first = await readConnect(client);
    if (first === undefined) {
      seen.push({ ...record, accepted: false, reason: 'no CONNECT' });
      client.destroy();
      return;
    }
    const verdict = check?.(first.connect) ?? { accepted: true };
    seen.push({ ...record, ...verdict, clientId: first.connect.clientId });
    if (verdict.accepted) relay(client, first.connect, first.rest, upstream);
    else refuse(client, first.connect);
  };

  const customCheck = (connect: IConnectPacket): Partial<SeenConnection> & { accepted: boolean } => {
    const outcome = verifyCustomAuth(connect.username, options.authorizer);
    return outcome.ok
      ? { accepted: true, authorizer: outcome.authorizer }
      : { accepted: false, reason: outcome.reason, ...(outcome.authorizer !== undefined ? { authorizer: outcome.authorizer } : {}) };
  };

  const track = (kind: 'mqtt' | 'cognito') => (socket: Socket): void => {
    sockets.set(socket, kind);
    socket.once('close', () => sockets.delete(socket));
  };

  // mTLS: the client certificate must chain to the test CA.
  const mtls = createTlsServer({ ...serverTls, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['x-amzn-mqtt-ca'] }, (socket: TLSSocket) => {
    void handleMqtt(socket, { mode: 'mtls', accepted: false, ...verifiedCn(socket), alpn: socket.alpnProtocol });
  });
  // Custom auth on "443": ALPN mqtt required. requestCert without rejecting: aws-crt's TLS gives up on servers that ask for no certificate.
  const custom = createTlsServer({ ...serverTls, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['mqtt'] }, (socket: TLSSocket) => {
    if (socket.alpnProtocol !== 'mqtt') {
      seen.push({ mode: 'custom', accepted: false, reason: 'ALPN mqtt not offered', alpn: socket.alpnProtocol });
      socket.destroy();
      return;
    }
    void handleMqtt(socket, { mode: 'custom', accepted: false, ...verifiedCn(socket), alpn: socket.alpnProtocol }, customCheck);
  });

  const cognito = createCognitoService((lifetimeMs) => issueCredentials(lifetimeMs));
  const cognitoServer = createHttpsServer({ ...serverTls }, cognito.handle);

  const standin: Standin = {
    host,
    // Set once the servers listen, below.
    ports: { mtls: 0, custom: 0, websocket: 0, cognito: 0 },
    region: options.region,
    seen,
    cognito,
    issueCredentials,
    clockOffsetMs: 0,
    dropConnections() {
      for (const [socket, kind] of sockets) if (kind === 'mqtt') socket.destroy();
    },
    async stop() {
      for (const socket of sockets.keys()) socket.destroy();
      for (const client of websocketServer.clients) client.terminate();
      await Promise.all([mtls, custom, websocket, cognitoServer].map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };

  // Websockets at /mqtt: SigV4 in the query, or custom auth in the CONNECT.
  const websocketServer = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  const websocket = createHttpsServer({ ...serverTls, requestCert: true, rejectUnauthorized: false });
  websocket.on('upgrade', (request, socket: Socket, head) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'https://stand-in');
      const forbid = (record: SeenConnection): void => {
        seen.push(record);
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      };
      if (url.pathname !== '/mqtt') {
        forbid({ mode: 'sigv4', accepted: false, reason: `path ${url.pathname}` });
        return;
      }
      let record: SeenConnection;
      let check: ((connect: IConnectPacket) => Partial<SeenConnection> & { accepted: boolean }) | undefined;
      if (url.searchParams.has('X-Amz-Signature')) {
        const outcome = await verifyPresignedUpgrade(request.method ?? 'GET', url, request.headers, {
          region: standin.region,
          lookup: (accessKeyId) => credentials.get(accessKeyId),
          now: () => new Date(Date.now() + standin.clockOffsetMs),
        });
        if (!outcome.ok) {
          forbid({ mode: 'sigv4', accepted: false, signatureVerified: false, reason: outcome.reason, ...(outcome.accessKeyId !== undefined ? { accessKeyId: outcome.accessKeyId } : {}) });
          return;
        }
        record = { mode: 'sigv4', accepted: true, accessKeyId: outcome.accessKeyId, signatureVerified: true };
      } else {
        record = { mode: 'custom-websocket', accepted: false };
        check = customCheck;
      }
      websocketServer.handleUpgrade(request, socket, head, (ws) => {
        void handleMqtt(createWebSocketStream(ws), record, check);
      });
    })();
  });

  for (const server of [mtls, custom, websocket, cognitoServer]) {
    server.on('connection', track(server === cognitoServer ? 'cognito' : 'mqtt'));
    server.on('secureConnection', (socket: TLSSocket) => socket.on('error', () => socket.destroy()));
    server.on('tlsClientError', () => undefined);
  }
  standin.ports = { mtls: await listen(mtls, host), custom: await listen(custom, host), websocket: await listen(websocket, host), cognito: await listen(cognitoServer, host) };
  return standin;
}
