/**
 * trustlink hsm against real tokens (SoftHSM2 and a TPM 2.0 simulator):
 * keys made inside the token, CSRs that openssl accepts, certificates stored
 * beside their key and used for mTLS from the token, and a listing that
 * agrees with OpenSC's pkcs11-tool.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hsm, provisionKey, type TokenAccess } from '../../helpers/provision.js';
import { TRUSTLINK } from '../../helpers/paths.js';
import { run, trustlink } from '../../helpers/run.js';
import { createStack, type TestStack, type TokenKind } from '../../helpers/stack.js';

const KINDS: TokenKind[] = ['softhsm', 'tpm'];
const stacks = new Map<TokenKind, TestStack>();

beforeAll(async () => {
  const created = await Promise.all(KINDS.map((kind) => createStack(`hsm-${kind}`, { token: kind })));
  KINDS.forEach((kind, index) => {
    stacks.set(kind, created[index] as TestStack);
  });
});

afterAll(async () => {
  await Promise.all([...stacks.values()].map((stack) => stack.close()));
});

function accessOf(stack: TestStack): TokenAccess {
  return { env: stack.env, modulePath: stack.token.modulePath, pinFile: stack.token.pinFile, label: stack.token.label };
}

async function openssl(args: string[]): Promise<string> {
  const result = await run('openssl', args);
  if (result.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout + result.stderr;
}

interface ToolObject {
  class: string;
  label: string;
  id: string;
  keyType?: string;
  access?: string[];
}

/** pkcs11-tool -O output, one entry per "... Object;" block. */
function parsePkcs11ToolObjects(text: string): ToolObject[] {
  const objects: ToolObject[] = [];
  for (const line of text.split('\n')) {
    const header = /^(Private Key|Public Key|Certificate) Object; (.*)$/.exec(line);
    if (header) {
      const kind = header[1] as string;
      const object: ToolObject = { class: { 'Private Key': 'private', 'Public Key': 'public', Certificate: 'cert' }[kind] as string, label: '', id: '' };
      if (kind !== 'Certificate') object.keyType = (header[2] as string).trim().split(/\s+/)[0] as string;
      objects.push(object);
      continue;
    }
    const field = /^\s+(label|ID|Access):\s*(.*)$/.exec(line);
    const current = objects.at(-1);
    if (!field || !current) continue;
    if (field[1] === 'label') current.label = field[2] as string;
    if (field[1] === 'ID') current.id = field[2] as string;
    if (field[1] === 'Access') current.access = (field[2] as string).split(',').map((item) => item.trim());
  }
  return objects;
}

describe.each(KINDS)('on %s', (kind) => {
  const stack = (): TestStack => stacks.get(kind) as TestStack;

  it('keygen → csr → CA → import-cert gives a key and certificate that publish uses from the token', async () => {
    const { token, broker, pki, dir, env } = stack();
    const key = await provisionKey(accessOf(stack()), pki, dir, { keyLabel: 'thing-2', cn: 'thing-2' });
    expect(await openssl(['req', '-in', key.csrFile, '-noout', '-verify'])).toMatch(/verify OK/);
    expect(key.certUri).toMatch(/^pkcs11:token=dev;object=thing-2;id=(%[0-9a-f]{2})+;type=cert$/);

    const published = await trustlink([
      'publish', '--endpoint', 'localhost', '--port', String(broker.port), '--ca-file', pki.caFile,
      '--cert', key.certUri, '--key', key.keyUri, '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile,
      '--client-id', `token-cert-${kind}`, '--topic', 'test/token-cert', '--message', 'hi',
    ], env);
    expect(published.code, published.stderr).toBe(0);
    expect(published.stderr).not.toMatch(/"level":"(warn|error)"/);
    // use_identity_as_username: the broker saw the certificate that was read from the token.
    expect(broker.log.some((line) => line.includes(`as token-cert-${kind}`) && line.includes("u'thing-2'"))).toBe(true);
  });

  it.each(['ec-p256', 'ec-p384', 'rsa-2048'])('makes a %s key whose CSR openssl verifies and names that key', async (type) => {
    const { dir } = stack();
    const keygen = JSON.parse((await hsm(accessOf(stack()), ['keygen', '--token', 'dev', '--label', `k-${type}`, '--type', type])).stdout);
    expect(keygen).toMatchObject({ event: 'keygen', type, sensitive: true, extractable: false, neverExtractable: true });
    const csrFile = join(dir, `k-${type}.csr`);
    await hsm(accessOf(stack()), ['csr', '--key', keygen.uri, '--subject', `CN=k-${type},O=Example Corp`, '--out', csrFile]);
    expect(await openssl(['req', '-in', csrFile, '-noout', '-verify', '-subject'])).toMatch(/verify OK[\s\S]*CN = k-[\w-]+, O = Example Corp|CN = k-[\w-]+, O = Example Corp[\s\S]*verify OK/);
    expect(await openssl(['req', '-in', csrFile, '-noout', '-pubkey'])).toBe(keygen.publicKeyPem);
  });

  it('lists what pkcs11-tool -O --login lists: labels, ids, key types and protection', async () => {
    const { token, env } = stack();
    const listed = JSON.parse((await hsm(accessOf(stack()), ['list', '--token', 'dev'])).stdout);
    const dev = listed.slots.find((slot: { token?: { label: string } }) => slot.token?.label === 'dev').token;
    expect(dev.objects.loggedIn).toBe(true);

    const tool = await run('pkcs11-tool', ['--module', token.modulePath, '--token-label', 'dev', '--login', '--pin', 'env:TEST_PIN', '-O'],
      { env: { ...env, TEST_PIN: readFileSync(token.pinFile, 'utf8').trim() } });
    expect(tool.code, tool.stderr).toBe(0);
    const fromTool = parsePkcs11ToolObjects(tool.stdout);
    expect(fromTool.length).toBeGreaterThanOrEqual(4);

    const key = (entry: ToolObject) => `${entry.class} ${entry.label} ${entry.id} ${entry.keyType ?? ''}`;
    const ours = [
      ...dev.objects.keys.map((k: { class: string; label: string; id: string; keyType: string }) => key({ class: k.class, label: k.label, id: k.id, keyType: k.keyType })),
      ...dev.objects.certificates.map((c: { label: string; id: string }) => key({ class: 'cert', label: c.label, id: c.id })),
    ];
    expect(ours.sort()).toEqual(fromTool.map(key).sort());

    for (const object of fromTool.filter((entry) => entry.class === 'private')) {
      const mine = dev.objects.keys.find((k: { class: string; id: string }) => k.class === 'private' && k.id === object.id);
      expect(mine.sensitive).toBe(object.access?.includes('sensitive'));
      expect(mine.neverExtractable).toBe(object.access?.includes('never extractable'));
      expect(mine.extractable).toBe(object.access?.includes('extractable'));
    }
    const text = (await trustlink(['hsm', 'list', '--token', 'dev', '--pkcs11-module', token.modulePath, '--pin-file', token.pinFile], env)).stdout;
    for (const k of dev.objects.keys) expect(text).toContain(k.uri);
    expect(dev.pinNote !== undefined).toBe(kind === 'tpm');
  });
});

describe('refusals (SoftHSM)', () => {
  const stack = (): TestStack => stacks.get('softhsm') as TestStack;
  const args = (): string[] => ['--pkcs11-module', stack().token.modulePath, '--pin-file', stack().token.pinFile];
  const objectCount = async (): Promise<number> => {
    const listed = JSON.parse((await hsm(accessOf(stack()), ['list', '--token', 'dev'])).stdout);
    const dev = listed.slots.find((slot: { token?: { label: string } }) => slot.token?.label === 'dev').token;
    return dev.objects.keys.length + dev.objects.certificates.length;
  };

  it('keygen never overwrites a label', async () => {
    const before = await objectCount();
    const result = await trustlink(['hsm', 'keygen', '--token', 'dev', '--label', 'devkey', ...args()], stack().env);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('[KEY_EXISTS]');
    expect(await objectCount()).toBe(before);
  });

  it('import-cert refuses a certificate for another key, and an existing one unless --replace', async () => {
    const { pki, dir, env } = stack();
    const other = await provisionKey(accessOf(stack()), pki, dir, { keyLabel: 'other', cn: 'other' });
    const mismatch = await trustlink(['hsm', 'import-cert', '--token', 'dev', '--label', 'devkey', '--cert', other.certFile, ...args()], env);
    expect(mismatch.code).toBe(78);
    expect(mismatch.stderr).toContain('[CERT_KEY_MISMATCH]');

    const again = await trustlink(['hsm', 'import-cert', '--token', 'dev', '--label', 'other', '--cert', other.certFile, ...args()], env);
    expect(again.code).toBe(78);
    expect(again.stderr).toContain('[CERT_EXISTS]');
    const replaced = await trustlink(['--json', 'hsm', 'import-cert', '--token', 'dev', '--label', 'other', '--cert', other.certFile, '--replace', ...args()], env);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ replaced: 1, uri: other.certUri });
  });

  it('csr refuses a subject it cannot encode, before any login, and writes nothing', async () => {
    const out = join(stack().dir, 'bad.csr');
    const result = await trustlink(['hsm', 'csr', '--key', stack().token.keyUri, '--subject', '/CN=thing-1', '--out', out, ...args()], stack().env);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('[USAGE]');
    expect(await run('test', ['-e', out])).toMatchObject({ code: 1 });
  });

  it('shows keygen progress on a terminal only', async () => {
    const { env, token } = stack();
    const command = `${TRUSTLINK} hsm keygen --token dev --label tty-key --pkcs11-module ${token.modulePath} --pin-file ${token.pinFile}`;
    const onTty = await run('script', ['-qec', command, '/dev/null'], { env });
    expect(onTty.code, onTty.stdout).toBe(0);
    // One spinner frame or more (a loaded machine takes longer), then the line is cleared.
    expect(onTty.stdout).toMatch(/^\r\| generating ec-p256 key pair "tty-key" in token "dev" \d+\.\d s(\r[|/\\-] generating [^\r]+)*\r\x1b\[Kgenerated ec-p256 key pair "tty-key"/);
    const piped = await trustlink(['hsm', 'keygen', '--token', 'dev', '--label', 'pipe-key', ...['--pkcs11-module', token.modulePath, '--pin-file', token.pinFile]], env);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
  });
});
