/**
 * Serves the device's AWS credentials to local programs over HTTP, in the
 * two protocols AWS SDKs and the AWS CLI read without code changes:
 * - ECS container credentials at /2016-11-01/credentialprovider/ (the path
 *   AWS IoT Greengrass uses), guarded by an Authorization token;
 * - IMDSv2 (PUT /latest/api/token, then GET the role and its credentials
 *   with the session token).
 * Secrets never reach the log: requests are logged by method, path and status.
 */
import { timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import { containerCredentials, instanceMetadataCredentials } from './formats.js';
import { ImdsSessions } from './imds-sessions.js';
import type { FetchedCredentials } from './provider-client.js';

export const ECS_PATH = '/2016-11-01/credentialprovider/';
export const IMDS_TOKEN_PATH = '/latest/api/token';
export const IMDS_ROLE_PATH = '/latest/meta-data/iam/security-credentials/';

export interface CredentialsSource {
  current(): FetchedCredentials | undefined;
}

export interface ServerOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** What the ECS Authorization header must be. */
  token: string;
  /** The role name IMDS lists: the role alias. */
  roleName: string;
  source: CredentialsSource;
  log: Logger;
}

export interface RunningServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopbackAddress(address: string): boolean {
  return /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address) || address === '::1' || address === 'localhost';
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  send(res, status, JSON.stringify(body), 'application/json');
}

/** The ECS error shape the AWS SDKs read: {Code, Message}. */
function ecsError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { Code: code, Message: message });
}

const UNAVAILABLE = 'no valid credentials right now: the device could not fetch them from AWS IoT (see the trustlink log)';

export async function startCredentialsServer(options: ServerOptions): Promise<RunningServer> {
  const { log, source } = options;
  const sessions = new ImdsSessions();
  const roleCredentialsPath = `${IMDS_ROLE_PATH}${options.roleName}`;

  const ecs = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET') return send(res, 405, 'only GET\n', 'text/plain', { allow: 'GET' });
    const authorization = req.headers.authorization;
    if (authorization === undefined) return ecsError(res, 401, 'Unauthorized', 'the Authorization header is missing: set AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE');
    if (!sameSecret(authorization, options.token)) return ecsError(res, 403, 'Forbidden', 'the Authorization header does not match the token file');
    const current = source.current();
    if (current === undefined) return ecsError(res, 503, 'CredentialsUnavailable', UNAVAILABLE);
    sendJson(res, 200, containerCredentials(current.credentials));
  };

  // IMDS has no shared secret: with --bind on a network address, only this host may use it.
  const fromThisHost = (req: IncomingMessage): boolean => isLoopbackAddress(req.socket.remoteAddress ?? '');

  const imdsToken = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'PUT') return send(res, 405, 'only PUT\n', 'text/plain', { allow: 'PUT' });
    // As on EC2: a request that came through a proxy is refused, so the token stays on this host.
    if (req.headers['x-forwarded-for'] !== undefined) return send(res, 400, 'forwarded requests are refused\n');
    const ttl = ImdsSessions.parseTtl(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (ttl === undefined) return send(res, 400, 'x-aws-ec2-metadata-token-ttl-seconds must be 1-21600\n');
    send(res, 200, sessions.issue(ttl), 'text/plain', { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
  };

  const imdsMetadata = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (req.method !== 'GET') return send(res, 405, 'only GET\n', 'text/plain', { allow: 'GET' });
    if (!sessions.isValid(req.headers['x-aws-ec2-metadata-token'])) return send(res, 401, 'a valid x-aws-ec2-metadata-token is required (IMDSv2)\n');
    if (path === IMDS_ROLE_PATH || path === IMDS_ROLE_PATH.slice(0, -1)) return send(res, 200, options.roleName);
    if (path !== roleCredentialsPath) return send(res, 404, 'not found\n');
    const current = source.current();
    if (current === undefined) return sendJson(res, 503, { Code: 'CredentialsUnavailable', Message: UNAVAILABLE });
    sendJson(res, 200, instanceMetadataCredentials(current.credentials, current.fetchedAt));
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === ECS_PATH || path === ECS_PATH.slice(0, -1)) ecs(req, res);
    else if ((path === IMDS_TOKEN_PATH || path.startsWith('/latest/meta-data/')) && !fromThisHost(req)) send(res, 403, 'instance metadata is served to this host only\n');
    else if (path === IMDS_TOKEN_PATH) imdsToken(req, res);
    else if (path.startsWith('/latest/meta-data/')) imdsMetadata(req, res, path);
    else send(res, 404, 'not found\n');
    log.debug('request', { method: req.method, path: path.slice(0, 200), status: res.statusCode });
  });
  // Local clients ask small questions; nobody needs long to send headers.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  server.listen(options.port, options.host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
  } catch (error) {
    throw new TrustlinkError('CONFIG_INVALID', `cannot serve on ${options.host}:${options.port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
      hint: 'pick another --port, or stop the program that uses it; --bind must be an address of this host',
    });
  }
  const address = server.address() as AddressInfo;
  return {
    host: options.host,
    port: address.port,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
