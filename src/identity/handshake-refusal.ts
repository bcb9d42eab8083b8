/**
 * Says which side refused a failed mutual-TLS handshake, and why when it can.
 * aws-crt reports a broker that refuses the device certificate and a device
 * that refuses the broker's certificate alike (AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE,
 * or a read failure under TLS 1.3), and only once s2n's blinding delay has
 * passed: aws-c-io sets S2N_SELF_SERVICE_BLINDING and then waits out
 * s2n_connection_get_delay() (10-30 s) before it closes the channel, with no
 * option to skip it. A second handshake with Node's TLS, without the device
 * certificate, shows the broker's certificate in milliseconds; judging it
 * against the CA file tells the two cases apart.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect as tlsConnect, rootCertificates, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { isHangUp } from '../crt/errors.js';
import { TrustlinkError } from '../errors.js';
import { pemCertificates } from './certificate.js';

export interface ServerTarget {
  host: string;
  port: number;
  /** The CA bundle; the system's roots when undefined. */
  caPem: string | undefined;
  alpn: string[];
  timeoutMs: number;
}

/** trusted: the broker's certificate chains to the CA file and names the host; refused: why not; unknown: no certificate seen. */
export type ServerVerdict = { kind: 'trusted' } | { kind: 'refused'; reason: string } | { kind: 'unknown'; reason: string };

function presentedChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  // The root's issuerCertificate points at itself; a bound guards against longer loops.
  while (current?.raw !== undefined && chain.length < 10) {
    const certificate = new X509Certificate(current.raw);
    if (chain.some((seen) => seen.fingerprint256 === certificate.fingerprint256)) break;
    chain.push(certificate);
    current = current.issuerCertificate;
  }
  return chain;
}

const issues = (subject: X509Certificate, issuer: X509Certificate): boolean => subject.checkIssued(issuer) && subject.verify(issuer.publicKey);

/** Why the device would refuse this chain for `host`, or undefined when it would accept it. */
export function judgeServerChain(chain: X509Certificate[], trusted: X509Certificate[], host: string, now: Date): string | undefined {
  const [leaf] = chain;
  if (leaf === undefined) return 'the broker sent no certificate';
  const names = leaf.subjectAltName ?? leaf.subject.replace(/\n/g, ', ');
  if (now > new Date(leaf.validTo)) return `the broker's certificate (${names}) expired ${new Date(leaf.validTo).toISOString()}`;
  if (now < new Date(leaf.validFrom)) return `the broker's certificate (${names}) is not valid before ${new Date(leaf.validFrom).toISOString()}; is the clock right?`;
  const named = isIP(host) !== 0 ? leaf.checkIP(host) : leaf.checkHost(host);
  if (named === undefined) return `the broker's certificate names ${names}, not ${host}`;
  let current = leaf;
  for (let depth = 0; depth < chain.length; depth++) {
    if (trusted.some((anchor) => anchor.fingerprint256 === current.fingerprint256 || issues(current, anchor))) return undefined;
    const next = chain.find((candidate) => candidate !== current && issues(current, candidate));
    if (next === undefined) break;
    current = next;
  }
  return `the broker's certificate (${names}, issued by ${current.issuer.replace(/\n/g, ', ')}) does not chain to a CA in the CA file`;
}

/** One TLS handshake without a client certificate, to look at the broker's certificate. */
export function checkServerCertificate(target: ServerTarget, now = new Date()): Promise<ServerVerdict> {
  const trusted = (target.caPem !== undefined ? pemCertificates(target.caPem) : [...rootCertificates]).map((pem) => new X509Certificate(pem));
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: target.host,
      port: target.port,
      ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      ALPNProtocols: target.alpn,
      // Judged below, whatever the broker does once it sees no client certificate.
      rejectUnauthorized: false,
    });
    let settled = false;
    const settle = (verdict: ServerVerdict): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(verdict);
    };
    const judge = (): void => {
      let chain: X509Certificate[];
      try {
        chain = presentedChain(socket);
      } catch {
        chain = [];
      }
      if (chain.length === 0) return settle({ kind: 'unknown', reason: 'the broker sent no certificate' });
      const reason = judgeServerChain(chain, trusted, target.host, now);
      settle(reason === undefined ? { kind: 'trusted' } : { kind: 'refused', reason });
    };
    socket.once('secureConnect', judge);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // A broker that requires a client certificate aborts the handshake after sending its own.
      if (socket.getPeerCertificate()?.raw !== undefined) judge();
      else settle({ kind: 'unknown', reason: error.code ?? error.message });
    });
    socket.setTimeout(target.timeoutMs, () => settle({ kind: 'unknown', reason: 'timed out' }));
  });
}

/** AWS IoT's certificate ID: the SHA-256 of the certificate's DER, in lower-case hex. */
export function awsCertificateId(certificate: X509Certificate): string {
  return certificate.fingerprint256.replace(/:/g, '').toLowerCase();
}

export interface HandshakeContext {
  endpoint: string;
  port: number;
  caPem: string | undefined;
  alpn: string[];
  timeoutMs: number;
  /** The device certificate offered, when the handshake was mutual. */
  deviceCertificate: X509Certificate | undefined;
}

/** A failed handshake, or a broker that hung up on it: the broker may close the socket instead of sending its alert. */
const refusedHandshake = (error: TrustlinkError): boolean => error.code === 'TLS_FAILED' || (error.code === 'BROKER_UNREACHABLE' && isHangUp(error.cause));

/**
 * Turns a failed mutual-TLS handshake into the error that names who refused
 * what: CERT_EXPIRED, CERT_REFUSED (revoked, inactive, unknown CA), or
 * TLS_FAILED saying why the device refused the broker. Other errors pass.
 */
export async function explainRefusal(error: unknown, context: HandshakeContext, now = new Date()): Promise<unknown> {
  const certificate = context.deviceCertificate;
  if (certificate === undefined || !(error instanceof TrustlinkError) || !refusedHandshake(error)) return error;
  const target = `${context.endpoint}:${context.port}`;
  const subject = certificate.subject.replace(/\n/g, ', ');
  if (now > new Date(certificate.validTo)) {
    return new TrustlinkError('CERT_EXPIRED', `${target} refused the device certificate (${subject}): it expired ${new Date(certificate.validTo).toISOString()}`, {
      cause: error,
      hint: 'an expired certificate cannot renew itself over MQTT: provision the device again, or install a new certificate for this key; set rotateBeforeDays so the agent rotates it in time',
    });
  }
  const verdict = await checkServerCertificate({ host: context.endpoint, port: context.port, caPem: context.caPem, alpn: context.alpn, timeoutMs: context.timeoutMs }, now);
  if (verdict.kind === 'refused') {
    return new TrustlinkError('TLS_FAILED', `the device refused the broker's certificate at ${target}: ${verdict.reason}`, {
      cause: error,
      hint: 'check --ca-file (for AWS IoT: Amazon Root CA 1) and that --endpoint is the iot:Data-ATS endpoint the certificate names',
    });
  }
  if (verdict.kind === 'unknown') return error;
  const certificateId = awsCertificateId(certificate);
  const how = error.code === 'TLS_FAILED' ? 'refused' : 'hung up on';
  return new TrustlinkError('CERT_REFUSED', `${target} ${how} the device certificate (${subject}, serial ${certificate.serialNumber}, certificate ID ${certificateId}): it is revoked, inactive, or issued by a CA the broker does not trust`, {
    cause: error,
    hint: `see its status with: aws iot describe-certificate --certificate-id ${certificateId} (AWS IoT also hangs up when the policy does not allow iot:Connect); a revoked or inactive certificate needs a new identity (provision again); while it still works, trustlink rotate replaces it`,
  });
}
