/**
 * The credentials endpoint as users write it: HOST, HOST:PORT, [IPv6]:PORT,
 * or pasted with https:// in front. AWS serves it on 443; other ports are
 * for stand-ins and proxies.
 */
import { TrustlinkError } from '../errors.js';

export interface CredentialsEndpoint {
  /** Host name (or IP address, without brackets): also the TLS server name and the Host header. */
  host: string;
  port: number;
}

export const DEFAULT_CREDENTIALS_PORT = 443;

export function parseCredentialsEndpoint(value: string): CredentialsEndpoint {
  const text = value.trim().replace(/^https:\/\//i, '').replace(/\/$/, '');
  const invalid = (why: string): TrustlinkError =>
    new TrustlinkError('USAGE', `credentials endpoint "${value}" ${why}`, {
      hint: 'give HOST or HOST:PORT, e.g. abc123.credentials.iot.eu-west-1.amazonaws.com (aws iot describe-endpoint --endpoint-type iot:CredentialProvider)',
    });
  if (text === '' || /[/?#@\s]/.test(text) || /^[a-z]+:\/\//i.test(text)) throw invalid('is not HOST[:PORT]');
  let url: URL;
  try {
    url = new URL(`https://${text}`);
  } catch {
    throw invalid('is not HOST[:PORT]');
  }
  const port = url.port === '' ? DEFAULT_CREDENTIALS_PORT : Number(url.port);
  if (/:0*$/.test(text)) throw invalid('has an empty or zero port');
  return { host: url.hostname.replace(/^\[(.+)\]$/, '$1'), port };
}

/** HOST:PORT for messages, with brackets around IPv6 addresses. */
export function describeEndpoint(endpoint: CredentialsEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}`;
}
