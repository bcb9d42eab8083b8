/**
 * The self-test's checks, in the order they run. Each is a small object
 * {id, name, requires, timeoutMs, run}; to add one, write it here and
 * put it in SELFTEST_CHECKS.
 */
import { X509Certificate, createPrivateKey, createPublicKey, randomBytes, verify } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { connect as tcpConnect } from 'node:net';
import { loadConfig } from '../config/load.js';
import { connect } from '../connection/connect.js';
import { alpnFor } from '../connection/alpn.js';
import { checkServerCertificate } from '../identity/handshake-refusal.js';
import { defaultPort } from '../connection/settings.js';
import { sigv4CredentialsFor } from '../credentials/sigv4-source.js';
import { readTextFile } from '../files/read.js';
import { pemCertificates, readCaBundle } from '../identity/certificate.js';
import { certificateReader } from '../identity/device-identity.js';
import { certSourceFrom, keySourceFrom, type CertSource } from '../identity/sources.js';
import { describeEndpoint } from '../credentials/endpoint.js';
import { credentialsTarget, openClientFor } from '../credentials/settings.js';
import { TrustlinkError } from '../errors.js';
import { describePinFlags } from '../pkcs11/pin-flags.js';
import { openModule, openSession, pinFlags, selectToken, tokenKeyIn } from '../pkcs11/token.js';
import { isTpm2Module, TPM_PIN_FLAGS_NOTE } from '../pkcs11/tpm.js';
import { localListenOf, spoolDirOf } from '../config/derived.js';
import { checkSpoolDir } from '../spool/index.js';
import { assessClock } from './clock.js';
import { need, type SelftestContext } from './context.js';
import type { Check, CheckOutcome } from './runner.js';

type SelftestCheck = Check<SelftestContext>;

const pass = (detail: string): CheckOutcome => ({ status: 'pass', detail });
const warn = (detail: string, hint: string): CheckOutcome => ({ status: 'warn', detail, hint });
const fail = (detail: string, hint: string): CheckOutcome => ({ status: 'fail', detail, hint });
const notApplicable = (detail: string): CheckOutcome => ({ status: 'skip', detail });

/** The token checks do not apply to a PEM key file (development setups). */
function tokenKeySource(context: SelftestContext) {
  const source = need(context.keySource, 'the key source');
  return source.kind === 'pkcs11' ? source : undefined;
}
const PEM_KEY = 'the key is a PEM file (development only): no token to check';

function requireSetting<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new TrustlinkError('USAGE', `"${key}" is not set`, { hint: `set "${key}" in the config file (or its flag / TRUSTLINK_ variable)` });
  return value;
}

const DAY_MS = 86_400_000;
/** s2n's blinding delay after a refused handshake is at most 30 s (see identity/handshake-refusal.ts). */
const BLINDING_MAX_MS = 30_000;

export const configCheck: SelftestCheck = {
  id: 'config',
  name: 'configuration',
  requires: [],
  timeoutMs: 2_000,
  hint: 'fix the config file (/etc/trustlink/config.json or --config); trustlink --help lists the keys',
  run(context) {
    const { config, file } = loadConfig(context.sources);
    if (config.certFile === undefined && config.provisioningTemplate !== undefined) {
      return fail(`not provisioned yet: no device certificate; fleet provisioning (template ${config.provisioningTemplate}) has not finished`,
        'trustlink-provision.service provisions the device at boot: see journalctl -u trustlink-provision, or run trustlink provision');
    }
    const certFile = requireSetting(config.certFile, 'certFile');
    requireSetting(config.key, 'key');
    if (context.network) requireSetting(config.endpoint, 'endpoint');
    context.config = config;
    context.keySource = keySourceFrom(config, context.env);
    context.certSource = certSourceFrom(certFile, config, context.keySource);
    const target = config.endpoint !== undefined ? `, endpoint ${config.endpoint}:${config.port ?? defaultPort(config)}` : '';
    return pass(`${file ?? 'no config file (flags and environment)'}: key ${config.key}${target}`);
  },
};

export const clockCheck: SelftestCheck = {
  id: 'clock',
  name: 'system clock',
  requires: ['config'],
  timeoutMs: 1_000,
  run(context) {
    let certificate: { validFrom: Date; validTo: Date } | undefined;
    const source = need(context.certSource, 'the certificate source');
    // A certificate in a token is read after the login; the certificate check judges it against the clock.
    if (source.kind === 'file') {
      try {
        // Read without judging: a bad certificate is the certificate check's to report.
        const parsed = new X509Certificate(readTextFile(source.path, 'certificate file', ''));
        certificate = { validFrom: new Date(parsed.validFrom), validTo: new Date(parsed.validTo) };
      } catch {
        certificate = undefined;
      }
    }
    return assessClock({ now: context.now, buildTime: context.buildTime, certificate, timeSync: context.timeSync() });
  },
};

export const moduleCheck: SelftestCheck = {
  id: 'pkcs11-module',
  name: 'PKCS#11 module loads',
  requires: ['config'],
  timeoutMs: 5_000,
  run(context) {
    const source = tokenKeySource(context);
    if (!source) return notApplicable(PEM_KEY);
    context.module = openModule(source.modulePath);
    return pass(`${source.modulePath}: ${context.module.libraryDescription()}`);
  },
};

export const tokenCheck: SelftestCheck = {
  id: 'token',
  name: 'token present, PIN healthy',
  requires: ['pkcs11-module'],
  timeoutMs: 2_000,
  run(context) {
    const source = tokenKeySource(context);
    if (!source) return notApplicable(PEM_KEY);
    const module = need(context.module, 'the module');
    const token = selectToken(module, source.uri);
    context.token = token;
    const flags = pinFlags(token.flags);
    // tpm2-pkcs11 leaves the PIN flags clear even in lockout: say so rather than vouch for them.
    const unreported = isTpm2Module(module.info()) ? ` (${TPM_PIN_FLAGS_NOTE})` : '';
    const what = `token "${token.label}" (${token.manufacturer} ${token.model}, serial ${token.serial}, slot ${token.slotId}): ${describePinFlags(flags)}${unreported}`;
    if (!token.initialized) return fail(`${what}; not initialized`, 'initialize the token (softhsm2-util --init-token, tpm2_ptool addtoken)');
    if (flags.locked) return fail(what, 'unlock the user PIN with the SO PIN (softhsm2-util / tpm2_ptool / the vendor tool), or re-provision the token');
    if (flags.finalTry || flags.countLow) return warn(what, 'a wrong PIN was tried recently: one more may lock the token; check the PIN source before anything else logs in');
    if (flags.toBeChanged) return warn(what, 'the token asks for a new user PIN');
    return pass(what);
  },
};

export const loginCheck: SelftestCheck = {
  id: 'login',
  name: 'token login (once)',
  requires: ['token'],
  timeoutMs: 5_000,
  run(context) {
    const source = tokenKeySource(context);
    if (!source) return notApplicable(PEM_KEY);
    const module = need(context.module, 'the module');
    const token = need(context.token, 'the token');
    // The login is made once per token and process: a refused PIN is never presented again, here or later.
    const opened = openSession(module, token, { pin: source.pin });
    context.cleanups.push(() => opened.close());
    context.opened = opened;
    return pass(`logged in to "${token.label}" with the PIN from ${source.pin.source}`);
  },
};

export const keyCheck: SelftestCheck = {
  id: 'key',
  name: 'private key present, not extractable',
  requires: ['login'],
  timeoutMs: 5_000,
  run(context) {
    const source = need(context.keySource, 'the key source');
    if (source.kind === 'file') {
      const pem = readTextFile(source.path, 'private key file', 'pass --key with a PKCS#11 URI or a PEM key file');
      context.keySpki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
      return warn(`${source.path} is a PEM key file`, 'a key on disk can be copied: use a PKCS#11 URI (TPM or HSM) on production devices');
    }
    // The key as connections open it (label, id, public half), in the session the login check opened.
    const tokenKey = tokenKeyIn(need(context.opened, 'the open token'), source.uri);
    context.tokenKey = tokenKey;
    context.keySpki = tokenKey.publicKeySpki;
    const { sensitive, extractable, neverExtractable } = tokenKey.protection();
    const what = `${tokenKey.algorithm.toUpperCase()} key "${tokenKey.keyLabel ?? '?'}" (id ${tokenKey.keyId?.toString('hex') || '-'}): sensitive=${sensitive}, extractable=${extractable}, never-extractable=${neverExtractable}`;
    const regenerate = 'generate the key inside the token with CKA_SENSITIVE=true and CKA_EXTRACTABLE=false, then certify it again';
    if (sensitive !== true || extractable !== false) return fail(`${what}: the private key could leave the token`, regenerate);
    if (neverExtractable !== true) return warn(`${what}: the key was extractable once (imported, not generated in the token)`, regenerate);
    return pass(what);
  },
};

export const signCheck: SelftestCheck = {
  id: 'sign',
  name: 'sign/verify round trip',
  requires: ['key'],
  timeoutMs: 10_000,
  hint: 'the token could not sign with the key: check the key type (EC P-256/P-384/P-521 or RSA) and the module\'s logs',
  run(context) {
    if (!tokenKeySource(context)) return notApplicable(PEM_KEY);
    const tokenKey = need(context.tokenKey, 'the token key');
    const data = Buffer.concat([Buffer.from('trustlink selftest '), randomBytes(32)]);
    const started = performance.now();
    const signature = tokenKey.signSha256(data);
    const elapsed = (performance.now() - started).toFixed(1);
    const publicKey = createPublicKey({ key: need(context.keySpki, 'the public key'), format: 'der', type: 'spki' });
    // Tokens return ECDSA signatures as raw r||s (IEEE P1363), not DER.
    const key = tokenKey.algorithm === 'ec' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
    if (!verify('sha256', data, key, signature)) {
      return fail('the token\'s signature does not verify with the key\'s public half', 'the public key object in the token does not belong to the private key: re-generate the key pair');
    }
    return pass(`${tokenKey.algorithm === 'ec' ? 'ECDSA' : 'RSA PKCS#1 v1.5'} SHA-256 signature made in ${elapsed} ms and verified`);
  },
};

const certName = (source: CertSource): string => (source.kind === 'file' ? source.path : source.text);

export const certificateCheck: SelftestCheck = {
  id: 'certificate',
  name: 'device certificate',
  requires: ['key'],
  timeoutMs: 1_000,
  run(context) {
    const source = need(context.certSource, 'the certificate source');
    const { x509: certificate } = certificateReader(source)(context.tokenKey);
    const certFile = certName(source);
    const subject = certificate.subject.replace(/\n/g, ', ');
    const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
    if (!spki.equals(need(context.keySpki, 'the key'))) {
      return fail(`${certFile} (${subject}) was not issued for this key`, 'install the certificate made from this key\'s CSR, or point "key" at the key the certificate belongs to');
    }
    const validFrom = new Date(certificate.validFrom);
    const validTo = new Date(certificate.validTo);
    const renew = 'run trustlink rotate (a new key and certificate over the current connection), or set rotateBeforeDays so the agent does it';
    if (context.now < validFrom) return fail(`${subject}: not valid before ${validFrom.toISOString()}`, 'check the system clock; or the certificate was issued with a future start date');
    if (context.now > validTo) {
      return fail(`${subject}: expired ${validTo.toISOString()}; the broker will refuse it`, 'an expired certificate cannot renew itself over MQTT: provision the device again, or install a new certificate for this key');
    }
    const daysLeft = Math.floor((validTo.getTime() - context.now.getTime()) / DAY_MS);
    const warnDays = need(context.config, 'the config').certWarnDays;
    const what = `${subject}, matches the key, valid until ${validTo.toISOString()} (${daysLeft} days to expiry)`;
    return daysLeft < warnDays ? warn(`${what}, within certWarnDays (${warnDays})`, renew) : pass(what);
  },
};

export const caCheck: SelftestCheck = {
  id: 'ca',
  name: 'CA file',
  requires: ['config'],
  timeoutMs: 1_000,
  run(context) {
    const caFile = need(context.config, 'the config').caFile;
    if (caFile === undefined) return notApplicable('no caFile: the system trust store is used');
    const certificates = pemCertificates(readCaBundle(caFile)).map((block) => new X509Certificate(block));
    const expired = certificates.filter((certificate) => new Date(certificate.validTo) < context.now);
    const what = `${caFile}: ${certificates.length} certificate${certificates.length === 1 ? '' : 's'}`;
    if (expired.length === certificates.length) {
      return fail(`${what}, all expired (${expired.map((certificate) => certificate.validTo).join(', ')})`, 'install the current server CA (for AWS IoT: Amazon Root CA 1)');
    }
    if (expired.length > 0) return warn(`${what}, ${expired.length} expired`, 'remove the expired CA certificates from the bundle');
    return pass(what);
  },
};

export const dnsCheck: SelftestCheck = {
  id: 'dns',
  name: 'endpoint resolves',
  requires: ['config'],
  network: true,
  timeoutMs: 5_000,
  hint: 'check the endpoint name (AWS IoT: aws iot describe-endpoint --endpoint-type iot:Data-ATS) and the device\'s DNS servers',
  async run(context) {
    const endpoint = need(context.config?.endpoint, 'the endpoint');
    const addresses = (await lookup(endpoint, { all: true })).map((entry) => entry.address);
    context.addresses = addresses;
    return pass(`${endpoint} → ${addresses.join(', ')}`);
  },
};

export const tcpCheck: SelftestCheck = {
  id: 'tcp',
  name: 'TCP reachable',
  requires: ['dns'],
  network: true,
  timeoutMs: (context) => need(context.config, 'the config').connectTimeoutMs,
  hint: 'check that the broker is up and that firewalls let the port through',
  run(context) {
    const host = need(context.addresses?.[0], 'an address');
    const config = need(context.config, 'the config');
    const port = config.port ?? defaultPort(config);
    return new Promise<CheckOutcome>((resolve, reject) => {
      const started = performance.now();
      const socket = tcpConnect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(pass(`${host}:${port} accepted a connection in ${Math.round(performance.now() - started)} ms`));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(new TrustlinkError('BROKER_UNREACHABLE', `cannot connect to ${host}:${port}: ${error.code ?? error.message}`));
      });
      socket.setTimeout(config.connectTimeoutMs, () => socket.destroy(new Error('timed out')));
    });
  },
};

export const tlsCheck: SelftestCheck = {
  id: 'tls',
  name: 'TLS handshake with the device identity',
  requires: ['tcp', 'certificate'],
  network: true,
  // One attempt: the TCP connect, the handshake and the CONNACK each get the configured time,
  // and a refused handshake aws-crt's blinding delay on top, so that the verdict names the cause.
  timeoutMs: (context) => need(context.config, 'the config').connectTimeoutMs * 2 + BLINDING_MAX_MS + 4_000,
  async run(context) {
    const config = need(context.config, 'the config');
    // The broker's certificate first, with Node's TLS: a refusal on this side is said at once,
    // without waiting out the blinding delay aws-crt adds after a failed handshake.
    const server = await checkServerCertificate({
      host: need(context.config?.endpoint, 'the endpoint'), port: config.port ?? defaultPort(config),
      caPem: config.caFile !== undefined ? readCaBundle(config.caFile) : undefined,
      alpn: alpnFor(config.port ?? defaultPort(config), config.alpn), timeoutMs: config.connectTimeoutMs,
    });
    if (server.kind === 'refused') {
      return fail(`the device refuses the broker's certificate: ${server.reason}`, 'check caFile (for AWS IoT: Amazon Root CA 1) and that endpoint is the iot:Data-ATS endpoint the certificate names');
    }
    try {
      // The round trip publishes once: singlePublish spares it aws-crt's pacing.
      const connection = await connect(config, context.log, {
        retry: false, env: context.env, sigv4Credentials: sigv4CredentialsFor(config, context.log, context.env), singlePublish: true,
      });
      context.cleanups.push(() => connection.close());
      context.connection = connection;
    } catch (error) {
      // A CONNACK refusal means the handshake itself completed: the MQTT check reports it.
      if (!(error instanceof TrustlinkError && error.code === 'CONNECT_REFUSED')) throw error;
      context.connackRefusal = error;
    }
    return pass(`${config.endpoint}:${config.port ?? defaultPort(config)} accepted the device certificate${config.caFile ? ` and chains to ${config.caFile}` : ''}`);
  },
};

export const mqttCheck: SelftestCheck = {
  id: 'mqtt',
  name: 'MQTT CONNACK',
  requires: ['tls'],
  network: true,
  timeoutMs: 1_000,
  run(context) {
    if (context.connackRefusal) throw context.connackRefusal;
    const connection = need(context.connection, 'the connection');
    const mqtt = need(context.config, 'the config').mqttVersion;
    return pass(`MQTT ${mqtt} session accepted for client ID "${connection.clientId}"`);
  },
};

export const pubsubCheck: SelftestCheck = {
  id: 'pubsub',
  name: 'publish/subscribe round trip',
  requires: ['mqtt'],
  network: true,
  timeoutMs: 10_000,
  hint: 'for AWS IoT: the policy must allow iot:Subscribe, iot:Receive and iot:Publish on selftestTopic',
  async run(context) {
    const topic = need(context.config, 'the config').selftestTopic;
    if (topic === undefined) return notApplicable('no selftestTopic configured');
    const { session } = need(context.connection, 'the connection');
    const payload = Buffer.from(JSON.stringify({ selftest: randomBytes(8).toString('hex') }));
    const started = performance.now();
    const received = new Promise<void>((resolve) => {
      const onMessage = (message: { topic: string; payload: Buffer }): void => {
        if (message.topic !== topic || !message.payload.equals(payload)) return;
        session.off('message', onMessage);
        resolve();
      };
      session.on('message', onMessage);
    });
    await session.subscribe(topic, 1);
    await session.publish(topic, payload, 1);
    await received;
    return pass(`"${topic}": QoS 1 message back in ${Math.round(performance.now() - started)} ms`);
  },
};

export const credentialsCheck: SelftestCheck = {
  id: 'credentials',
  name: 'credentials-provider fetch',
  requires: ['certificate'],
  network: true,
  // One fetch: connect, handshake, request and answer share the configured time.
  timeoutMs: (context) => need(context.config, 'the config').connectTimeoutMs + 2_000,
  hint: 'check credentials.endpoint (aws iot describe-endpoint --endpoint-type iot:CredentialProvider) and credentials.roleAlias (aws iot list-role-aliases)',
  async run(context) {
    const config = need(context.config, 'the config');
    if (config.credentials?.endpoint === undefined || config.credentials.roleAlias === undefined) {
      return notApplicable('no credentials.endpoint and credentials.roleAlias configured');
    }
    const target = credentialsTarget(config);
    const opened = await openClientFor(config, target, config.connectTimeoutMs, context.log, context.env);
    context.cleanups.push(() => opened.close());
    // Fetched, never cached nor shown: the report names the key by its last 4 characters only.
    const { credentials } = await opened.client.fetch();
    return pass(`${describeEndpoint(target.endpoint)}, role alias "${target.roleAlias}": access key …${credentials.accessKeyId.slice(-4)}, expires ${credentials.expiration}`);
  },
};

export const spoolCheck: SelftestCheck = {
  id: 'spool',
  name: 'spool folder',
  requires: ['config'],
  timeoutMs: 2_000,
  hint: 'the spool keeps local QoS 1 messages while AWS IoT is out of reach: set --spool-dir / spoolDir to a writable folder on flash with room for spoolMaxBytes',
  async run(context) {
    const config = need(context.config, 'the config');
    if (localListenOf(config).length === 0) return notApplicable('the local MQTT endpoint is off (localListen is [])');
    const dir = spoolDirOf(config);
    const checked = await checkSpoolDir(dir, config.spoolMaxBytes);
    if (checked.ok) return pass(checked.detail);
    // The unit's StateDirectory= (or trustlink run) makes it: worth a word, not a failed boot.
    if (checked.problem === 'missing') return warn(checked.detail, checked.hint);
    return fail(checked.detail, checked.hint);
  },
};

/** In order. */
export const SELFTEST_CHECKS: readonly SelftestCheck[] = [
  configCheck,
  spoolCheck,
  clockCheck,
  moduleCheck,
  tokenCheck,
  loginCheck,
  keyCheck,
  signCheck,
  certificateCheck,
  caCheck,
  dnsCheck,
  tcpCheck,
  tlsCheck,
  mqttCheck,
  pubsubCheck,
  credentialsCheck,
];
