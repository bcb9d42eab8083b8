/**
 * The fleet-provisioning side of the AWS IoT stand-in: an MQTT client of
 * the test mosquitto (with its own certificate) that answers
 * CreateCertificateFromCsr and RegisterThing the way AWS IoT does (see
 * docs-provision.md): the CSR is signed by the test CA, the ownership token
 * is checked, a template's parameters are applied and a pre-provisioning
 * hook refuses serials on a deny list. `fleetAcl` is the mosquitto ACL that
 * lets a claim certificate use only those topics.
 *
 * For rotation (aws-facts.md §13): CreateCertificateFromCsr is answered
 * for a device's own certificate too (`rotationAcl`), a certificate-rotator
 * backend answers awslabs/things/<thing>/certificate/{create,commit}, and a
 * certificate can be marked REVOKED or INACTIVE: it goes on the CA's CRL,
 * which mosquitto (crlfile) reads again on SIGHUP, so the broker refuses it.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { iot, mqtt } from 'aws-crt';
import type { Mosquitto } from '../helpers/mosquitto.js';
import { JOBS_STANDIN_CN } from './jobs.js';
import type { TestPki } from '../helpers/pki.js';

export const CREATE_TOPIC = '$aws/certificates/create-from-csr/json';
const REGISTER_FILTER = '$aws/provisioning-templates/+/provision/json';
const ROTATOR_FILTER = 'awslabs/things/+/certificate/+';
const STANDIN_CN = 'fleet-standin';

export interface FleetTemplate {
  /** Parameters the template requires. */
  required: string[];
  /** The thing name from the parameters. */
  thingName(parameters: Record<string, string>): string;
  /** The pre-provisioning hook's deny list, of SerialNumber values. */
  denySerials: string[];
}

export type FleetStep = 'create' | 'register' | 'rotator-create' | 'rotator-commit';
export type CertificateStatus = 'ACTIVE' | 'REVOKED' | 'INACTIVE';

export interface FleetOptions {
  dir: string;
  pki: TestPki;
  broker: Mosquitto;
  templates: Record<string, FleetTemplate>;
  /** The broker's crlfile; certificates can be refused only with it. */
  crlFile?: string;
}

export interface FleetStandin {
  /** Things registered, by name, with the certificate ID each got. */
  things: Map<string, string>;
  /** Certificates issued, by ID (a retried CreateCertificateFromCsr makes another). */
  issued: Set<string>;
  /** Every certificate ownership token handed out, so tests can check none was stored or logged. */
  ownershipTokens: string[];
  /** Answer this step with something that is not the API's answer. */
  malformed: FleetStep | undefined;
  /** Called when a request arrives, before it is answered; the answer is dropped when it returns false. */
  onRequest: ((step: FleetStep) => boolean | Promise<boolean>) | undefined;
  /** Called with each certificate issued, before the answer goes out (e.g. to refuse it at once). */
  onIssued: ((certificateId: string) => Promise<void>) | undefined;
  /** Certificates issued, by ID, with their PEM and status. */
  certificates: Map<string, { pem: string; status: CertificateStatus }>;
  /** Rotator jobs committed, by job ID. */
  committed: Set<string>;
  /** Marks a certificate REVOKED or INACTIVE: the CRL lists it and mosquitto reads the CRL again. */
  setStatus(certificateId: string, status: Exclude<CertificateStatus, 'ACTIVE'>): Promise<void>;
  stop(): Promise<void>;
}

/** mosquitto ACL lines: the claim CN may use only the fleet-provisioning topics of its template; devices their things/<client id>/ tree. */
export function fleetAcl(claimCn: string, template: string): string {
  const register = `$aws/provisioning-templates/${template}/provision/json`;
  return [
    `user ${STANDIN_CN}`, 'topic readwrite $aws/#',
    `user ${claimCn}`,
    `topic write ${CREATE_TOPIC}`, `topic read ${CREATE_TOPIC}/accepted`, `topic read ${CREATE_TOPIC}/rejected`,
    `topic write ${register}`, `topic read ${register}/accepted`, `topic read ${register}/rejected`,
    'pattern readwrite things/%c/#',
    '',
  ].join('\n');
}

/**
 * The device policy rotation needs, as mosquitto ACL patterns for every
 * device (client ID = thing name): the fleet-provisioning topics for its own
 * certificate, the rotator's per-thing topics, its things/<thing>/ tree,
 * and its jobs topics (a `rotate` job), which the Jobs stand-in answers.
 */
export function rotationAcl(template: string): string {
  const register = `$aws/provisioning-templates/${template}/provision/json`;
  return [
    `user ${STANDIN_CN}`, 'topic readwrite $aws/#', 'topic readwrite awslabs/#',
    ...[CREATE_TOPIC, register].flatMap((topic) => [`pattern write ${topic}`, `pattern read ${topic}/accepted`, `pattern read ${topic}/rejected`]),
    'pattern readwrite awslabs/things/%c/certificate/#',
    'pattern readwrite things/%c/#',
    'pattern readwrite $aws/things/%c/jobs/#',
    `user ${JOBS_STANDIN_CN}`, 'topic readwrite $aws/things/+/jobs/#',
    '',
  ].join('\n');
}

const rejection = (statusCode: number, errorCode: string, errorMessage: string): object => ({ statusCode, errorCode, errorMessage });

export async function startFleetStandin(options: FleetOptions): Promise<FleetStandin> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicFile = join(options.dir, 'fleet-standin.pub.pem');
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const certFile = await options.pki.certify(publicFile, STANDIN_CN, join(options.dir, 'fleet-standin.pem'));
  const builder = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(readFileSync(certFile, 'utf8'), privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)
    .with_certificate_authority(readFileSync(options.pki.caFile, 'utf8'))
    .with_endpoint('localhost')
    .with_port(options.broker.port)
    .with_client_id(`${STANDIN_CN}-${randomBytes(3).toString('hex')}`)
    .with_clean_session(true);
  const connection = new mqtt.MqttClient().new_connection(builder.build());
  await connection.connect();

  const pending = new Map<string, { certificateId: string; expires: number }>();
  const state: FleetStandin = {
    things: new Map(),
    issued: new Set(),
    ownershipTokens: [],
    malformed: undefined,
    onRequest: undefined,
    onIssued: undefined,
    certificates: new Map(),
    committed: new Set(),
    async setStatus(certificateId, status) {
      const certificate = state.certificates.get(certificateId);
      if (certificate === undefined) throw new Error(`no certificate ${certificateId}`);
      if (options.crlFile === undefined) throw new Error('the fleet stand-in was started without crlFile');
      certificate.status = status;
      const file = join(options.dir, `revoked-${certificateId}.pem`);
      writeFileSync(file, certificate.pem);
      await options.pki.revoke(file);
      await options.pki.crl(options.crlFile);
      await options.broker.reload();
    },
    async stop() {
      await connection.disconnect();
    },
  };
  let serial = 0;

  const answer = async (topic: string, accepted: boolean, body: object | string): Promise<void> => {
    await connection.publish(`${topic}/${accepted ? 'accepted' : 'rejected'}`, typeof body === 'string' ? body : JSON.stringify(body), mqtt.QoS.AtLeastOnce);
  };

  /** Signs a CSR with the test CA, as AWS IoT's CA would; undefined when it is not a valid CSR. */
  const issue = async (csr: string): Promise<{ certificatePem: string; certificateId: string } | undefined> => {
    const name = `csr-${++serial}`;
    const csrFile = join(options.dir, `${name}.csr`);
    writeFileSync(csrFile, csr);
    let certificatePem: string;
    try {
      certificatePem = readFileSync(await options.pki.sign(csrFile, join(options.dir, `${name}.pem`)), 'utf8');
    } catch {
      return undefined;
    }
    // AWS IoT's certificate ID is the SHA-256 of the certificate's DER.
    const der = Buffer.from(certificatePem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const certificateId = createHash('sha256').update(der).digest('hex');
    state.issued.add(certificateId);
    state.certificates.set(certificateId, { pem: certificatePem, status: 'ACTIVE' });
    await state.onIssued?.(certificateId);
    return { certificatePem, certificateId };
  };

  const createFromCsr = async (request: { certificateSigningRequest?: unknown }): Promise<[boolean, object]> => {
    if (typeof request.certificateSigningRequest !== 'string') return [false, rejection(400, 'InvalidCsr', 'certificateSigningRequest is missing')];
    const issued = await issue(request.certificateSigningRequest);
    if (issued === undefined) return [false, rejection(400, 'InvalidCsr', 'The CSR is not valid')];
    const { certificatePem, certificateId } = issued;
    const token = randomBytes(32).toString('base64');
    pending.set(token, { certificateId, expires: Date.now() + 3_600_000 });
    state.ownershipTokens.push(token);
    return [true, { certificateId, certificatePem, certificateOwnershipToken: token }];
  };

  const registerThing = (templateName: string, request: { certificateOwnershipToken?: unknown; parameters?: Record<string, string> }): [boolean, object] => {
    const template = options.templates[templateName];
    if (template === undefined) return [false, rejection(404, 'ResourceNotFoundException', `Template ${templateName} not found`)];
    const token = request.certificateOwnershipToken;
    if (typeof token !== 'string' || token === '') return [false, rejection(400, 'InvalidCertificateOwnershipToken', 'Certificate ownership token cannot be empty.')];
    const issued = pending.get(token);
    if (issued === undefined || issued.expires < Date.now()) return [false, rejection(400, 'InvalidCertificateOwnershipToken', 'Certificate ownership token is invalid or expired.')];
    const parameters = request.parameters ?? {};
    const missing = template.required.filter((key) => parameters[key] === undefined);
    if (missing.length > 0) return [false, rejection(400, 'InvalidParameters', `Missing parameters: ${missing.join(', ')}`)];
    if (template.denySerials.includes(parameters.SerialNumber ?? '')) {
      return [false, rejection(403, 'AccessDenied', 'Denied by the pre-provisioning hook (allowProvisioning: false)')];
    }
    pending.delete(token);
    const thingName = template.thingName(parameters);
    state.things.set(thingName, issued.certificateId);
    return [true, { thingName, deviceConfiguration: {} }];
  };

  /** The rotator backend's Lambdas, reduced to what a device sees: a job ID is required, the rest (job state, principals) is the cloud's. */
  const rotator = async (step: FleetStep, request: Record<string, unknown>): Promise<[boolean, object]> => {
    if (typeof request.jobId !== 'string' || request.jobId === '') return [false, { errorMsg: 'Pre-conditions not met' }];
    if (step === 'rotator-commit') {
      state.committed.add(request.jobId);
      return [true, {}];
    }
    const issued = typeof request.csr === 'string' ? await issue(request.csr) : undefined;
    return issued === undefined ? [false, { errorMsg: 'Pre-conditions not met' }] : [true, { certificatePem: issued.certificatePem }];
  };

  const handle = async (step: FleetStep, topic: string, payload: ArrayBuffer): Promise<void> => {
    if (state.onRequest && !(await state.onRequest(step))) return;
    if (state.malformed === step) return answer(topic, true, '{"certificateId": 42');
    let request: Record<string, unknown>;
    try {
      request = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
    } catch {
      return answer(topic, false, rejection(400, 'InvalidPayload', 'The payload is not valid JSON'));
    }
    const [accepted, body] = step === 'create'
      ? await createFromCsr(request)
      : step === 'register' ? registerThing(topic.split('/')[2] as string, request) : await rotator(step, request);
    await answer(topic, accepted, body);
  };

  await connection.subscribe(CREATE_TOPIC, mqtt.QoS.AtLeastOnce, (topic, payload) => void handle('create', topic, payload));
  await connection.subscribe(REGISTER_FILTER, mqtt.QoS.AtLeastOnce, (topic, payload) => void handle('register', topic, payload));
  await connection.subscribe(ROTATOR_FILTER, mqtt.QoS.AtLeastOnce, (topic, payload) => {
    const action = topic.split('/').at(-1);
    if (action === 'create' || action === 'commit') void handle(action === 'create' ? 'rotator-create' : 'rotator-commit', topic, payload);
  });
  return state;
}
