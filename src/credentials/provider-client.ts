/**
 * Asks the AWS IoT credentials provider for temporary credentials:
 * GET /role-aliases/ALIAS/credentials over mutual TLS. The HTTP client is
 * aws-crt's, on the same TLS context as MQTT, so with a token key s2n signs
 * the handshake inside the token. (aws-crt's own x509 credentials provider
 * is fixed to port 443 and never hands the credentials to JavaScript.)
 */
import type { ClientTlsContext } from 'aws-crt/dist/native/io.js';
import { TrustlinkError } from '../errors.js';
import type { Logger } from '../log/log.js';
import { connectionError } from '../crt/errors.js';
import { loadCrt, type Crt } from '../crt/load.js';
import { createTlsContext, type TlsSettings } from '../identity/tls-context.js';
import { describeEndpoint, type CredentialsEndpoint } from './endpoint.js';
import type { TemporaryCredentials } from './types.js';
import { parseProviderResponse, type ProviderResponse, type ProviderDocument, type ProviderRequest } from './provider-response.js';

/** A real answer is under 2 KB (aws-crt caps it there); anything near this is not credentials. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface ProviderClientSettings {
  endpoint: CredentialsEndpoint;
  roleAlias: string;
  thingName: string | undefined;
  tls: TlsSettings;
  /** For the whole exchange: connect, handshake, request, answer. */
  timeoutMs: number;
}

export interface FetchedCredentials {
  /** The provider's JSON document, as sent. */
  document: ProviderDocument;
  credentials: TemporaryCredentials;
  fetchedAt: Date;
}

export interface CredentialsClient {
  fetch(): Promise<FetchedCredentials>;
}

function describeRequest(settings: ProviderClientSettings): ProviderRequest {
  return { endpoint: describeEndpoint(settings.endpoint), roleAlias: settings.roleAlias, thingName: settings.thingName };
}

/** Network and TLS failures, with the credentials provider's codes. */
function transportError(error: unknown, endpoint: CredentialsEndpoint): TrustlinkError {
  const mapped = connectionError(error, describeEndpoint(endpoint));
  if (mapped.code !== 'BROKER_UNREACHABLE') return mapped;
  return new TrustlinkError('CREDENTIALS_UNAVAILABLE', mapped.message, {
    cause: error,
    hint: `check the credentials endpoint (aws iot describe-endpoint --endpoint-type iot:CredentialProvider), DNS, and that the network lets port ${endpoint.port} through`,
  });
}

function exchange(crt: Crt, tlsContext: ClientTlsContext, settings: ProviderClientSettings): Promise<ProviderResponse> {
  const { io, http } = crt;
  const where = describeEndpoint(settings.endpoint);
  return new Promise((resolve, reject) => {
    let connection: InstanceType<typeof http.HttpClientConnection> | undefined;
    let settled = false;
    const finish = (error: unknown, answer?: ProviderResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection?.close();
      if (answer !== undefined) resolve(answer);
      else reject(error);
    };
    // s2n reports a failed TLS handshake only after a random 10-30 s ("blinding"), so a timeout may be one.
    const timer = setTimeout(() => finish(new TrustlinkError('CREDENTIALS_UNAVAILABLE', `the credentials provider ${where} did not answer within ${settings.timeoutMs / 1000} s`, {
      hint: 'check the network (a slow link may need a longer --timeout); if it is fine, the TLS handshake may have failed: check --ca-file and that the endpoint accepts this device certificate',
    })), settings.timeoutMs);

    let opened: InstanceType<typeof http.HttpClientConnection>;
    try {
      const socket = new io.SocketOptions(io.SocketType.STREAM, io.SocketDomain.IPV4, settings.timeoutMs);
      const tls = new io.TlsConnectionOptions(tlsContext, settings.endpoint.host);
      opened = new http.HttpClientConnection(undefined, settings.endpoint.host, settings.endpoint.port, socket, tls);
    } catch (error) {
      finish(transportError(error, settings.endpoint));
      return;
    }
    connection = opened;
    opened.on('error', (error) => finish(transportError(error, settings.endpoint)));
    opened.on('close', () => finish(new TrustlinkError('CREDENTIALS_UNAVAILABLE', `the credentials provider ${where} closed the connection before answering`, {
      hint: 'try again later; if it persists, check that the endpoint is the iot:CredentialProvider one',
    })));
    opened.on('connect', () => {
      const headers = new http.HttpHeaders([
        // As aws-crt's x509 provider sends them: Host is the endpoint name.
        ['host', settings.endpoint.host],
        ['accept', '*/*'],
        ['user-agent', 'trustlink'],
        ...(settings.thingName !== undefined ? [['x-amzn-iot-thingname', settings.thingName] as [string, string]] : []),
      ]);
      // The alias is validated ([\w=,@-]): all of it is legal in a path segment, so it goes as is, like aws-crt sends it.
      const stream = opened.request(new http.HttpRequest('GET', `/role-aliases/${settings.roleAlias}/credentials`, headers));
      let status = 0;
      const responseHeaders: Record<string, string> = {};
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('response', (code, received) => {
        status = code;
        for (const [name, value] of received) responseHeaders[name.toLowerCase()] = value;
      });
      stream.on('data', (data) => {
        size += data.byteLength;
        if (size > MAX_ANSWER_BYTES) {
          finish(new TrustlinkError('CREDENTIALS_INVALID', `the credentials provider ${where} sent more than ${MAX_ANSWER_BYTES / 1024} KiB; that is not a credentials answer`, {
            hint: 'is the endpoint the account\'s iot:CredentialProvider endpoint?',
          }));
          return;
        }
        chunks.push(Buffer.from(data));
      });
      stream.on('error', (error) => finish(transportError(error, settings.endpoint)));
      stream.on('end', () => finish(undefined, { status, headers: responseHeaders, body: Buffer.concat(chunks) }));
      stream.activate();
    });
  });
}

/**
 * One TLS context for the life of the client: with a token key, building it
 * loads the PKCS#11 module and logs in once.
 */
export async function openCredentialsClient(settings: ProviderClientSettings, log: Logger): Promise<CredentialsClient> {
  const crt = await loadCrt();
  // Refusals of the token or key at TLS set-up are mapped once, in createTlsContext.
  const tlsContext = createTlsContext(crt, settings.tls);
  const request = describeRequest(settings);
  return {
    async fetch() {
      const started = Date.now();
      log.debug('fetching credentials', { endpoint: request.endpoint, roleAlias: request.roleAlias, thingName: request.thingName });
      const answer = await exchange(crt, tlsContext, settings);
      const fetchedAt = new Date();
      const { document, credentials } = parseProviderResponse(answer, request, fetchedAt);
      log.info('credentials fetched', { endpoint: request.endpoint, roleAlias: request.roleAlias, expiration: credentials.expiration, elapsedMs: Date.now() - started });
      return { document, credentials, fetchedAt };
    },
  };
}
