/**
 * A local stand-in for the AWS IoT credentials provider (aws-facts.md §1):
 * HTTPS on loopback that requires a client certificate from the test CA,
 * GET /role-aliases/ALIAS/credentials, the x-amzn-iot-thingname header
 * checked against the certificate's subject CN as the real service checks
 * it against the thing the certificate is attached to, and answers shaped
 * like the real ones: lowerCamel credentials, or {"message"} with an
 * x-amzn-ErrorType header. Modes make it fail the ways the service can.
 * No global state: each instance is a server of its own.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KnownCredentials } from './sigv4-verify.js';

export type CredentialsProviderMode =
  | 'ok'
  /** 400: the role cannot be assumed. */
  | 'bad-request'
  /** 403 Access Denied: no iot:AssumeRoleWithCertificate in the certificate's policy. */
  | 'forbidden'
  /** 429 throttled. */
  | 'throttled'
  /** 500 internal failure. */
  | 'server-error'
  /** 200 with an HTML body, as a captive portal or proxy might send. */
  | 'not-json'
  /** 200 with well-formed JSON whose credentials expired an hour ago. */
  | 'expired'
  /** 200 with a body far larger than any credentials answer. */
  | 'oversized'
  /** The normal answer, after `slowMs`. */
  | 'slow';

export interface CredentialsProviderOptions {
  caPem: string;
  certPem: string;
  keyPem: string;
  host?: string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Role aliases that exist; others get 404. */
  roleAliases?: string[];
  /** credentialDurationSeconds: how long the issued credentials live. */
  lifetimeSeconds?: number;
  slowMs?: number;
  /**
   * Makes the credentials to hand out (lifetime in ms, negative: already
   * expired), e.g. the AWS IoT stand-in's, so that its SigV4 check accepts
   * them; by default random ones nothing else knows.
   */
  issue?: (lifetimeMs: number) => KnownCredentials;
}

export interface ProviderRequestRecord {
  path: string;
  thingName: string | undefined;
  /** Subject CN of the client certificate. */
  clientCn: string | undefined;
  host: string | undefined;
  status: number;
  at: number;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
}

const ALIAS_PATH = /^\/role-aliases\/([^/]+)\/credentials$/;

/** ISO-8601 without milliseconds, as the service writes it: 2018-01-18T09:18:06Z. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomUpper(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

export class CredentialsProviderStandIn {
  readonly requests: ProviderRequestRecord[] = [];
  /** Every set of credentials handed out, in order. */
  readonly issued: IssuedCredentials[] = [];
  mode: CredentialsProviderMode = 'ok';
  lifetimeSeconds: number;
  readonly #options: CredentialsProviderOptions;
  #server: Server | undefined;
  #port = 0;

  constructor(options: CredentialsProviderOptions) {
    this.#options = options;
    this.lifetimeSeconds = options.lifetimeSeconds ?? 3600;
  }

  get port(): number {
    return this.#port;
  }

  /** HOST:PORT for --credentials-endpoint; "localhost" matches the test server certificate. */
  get endpoint(): string {
    return `localhost:${this.#port}`;
  }

  /** Requests that reached the credentials path (the count a cache must keep low). */
  get requestCount(): number {
    return this.requests.length;
  }

  async start(): Promise<number> {
    const server = createServer({
      ca: this.#options.caPem,
      cert: this.#options.certPem,
      key: this.#options.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
    }, (req, res) => void this.#answer(req, res));
    server.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this.#port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    const closed = once(server, 'close');
    server.close();
    server.closeAllConnections();
    await closed;
  }

  #error(res: ServerResponse, status: number, type: string, message: string): number {
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type });
    res.end(JSON.stringify({ message }));
    return status;
  }

  #issue(expiresInSeconds: number): IssuedCredentials {
    const shared = this.#options.issue?.(expiresInSeconds * 1000);
    const credentials = shared !== undefined
      ? { accessKeyId: shared.accessKeyId, secretAccessKey: shared.secretAccessKey, sessionToken: shared.sessionToken ?? '', expiration: isoSeconds(shared.expiration ?? new Date()) }
      : {
        accessKeyId: `ASIA${randomUpper(16)}`,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: randomBytes(600).toString('base64'),
        expiration: isoSeconds(new Date(Date.now() + expiresInSeconds * 1000)),
      };
    this.issued.push(credentials);
    return credentials;
  }

  #credentials(res: ServerResponse, expiresInSeconds: number): number {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ credentials: this.#issue(expiresInSeconds) }));
    return 200;
  }

  async #respond(req: IncomingMessage, res: ServerResponse, thingName: string | undefined, clientCn: string | undefined): Promise<number> {
    const alias = ALIAS_PATH.exec(req.url ?? '')?.[1];
    if (req.method !== 'GET' || alias === undefined) return this.#error(res, 404, 'ResourceNotFoundException', 'Not Found');
    if (thingName !== undefined && thingName !== clientCn) return this.#error(res, 403, 'AccessDeniedException', 'Invalid thing name passed');
    if (!(this.#options.roleAliases ?? ['test-role-alias']).includes(decodeURIComponent(alias))) {
      return this.#error(res, 404, 'ResourceNotFoundException', 'Role alias does not exist');
    }
    switch (this.mode) {
      case 'bad-request':
        return this.#error(res, 400, 'InvalidRequestException', 'Unable to assume the role, or the role to assume does not exist');
      case 'forbidden':
        return this.#error(res, 403, 'AccessDeniedException', 'Access Denied');
      case 'throttled':
        return this.#error(res, 429, 'ThrottlingException', 'Rate exceeded');
      case 'server-error':
        return this.#error(res, 500, 'InternalFailureException', 'Internal Failure');
      case 'not-json':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Please log in to the network</body></html>');
        return 200;
      case 'expired':
        return this.#credentials(res, -3600);
      case 'oversized':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ credentials: this.#issue(this.lifetimeSeconds), padding: 'x'.repeat(200 * 1024) }));
        return 200;
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, this.#options.slowMs ?? 5_000));
        if (res.destroyed) return 0;
        return this.#credentials(res, this.lifetimeSeconds);
      case 'ok':
        return this.#credentials(res, this.lifetimeSeconds);
    }
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const thingHeader = req.headers['x-amzn-iot-thingname'];
    const thingName = typeof thingHeader === 'string' ? thingHeader : undefined;
    const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
    const clientCn = Array.isArray(cn) ? cn[0] : cn;
    const record: ProviderRequestRecord = { path: req.url ?? '', thingName, clientCn, host: req.headers.host, status: 0, at: Date.now() };
    this.requests.push(record);
    record.status = await this.#respond(req, res, thingName, clientCn);
  }
}
