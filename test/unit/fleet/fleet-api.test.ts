import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCertificateAnswer, parseParameters, parseRegisterAnswer, registerThingTopic, rejectionError } from '../../../src/fleet/fleet-api.js';
import { openState } from '../../../src/provision/state.js';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const ID = 'a'.repeat(64);

describe('fleet-provisioning answers', () => {
  it('names the RegisterThing topic after the template', () => {
    expect(registerThingTopic('Factory')).toBe('$aws/provisioning-templates/Factory/provision/json');
  });

  it('accepts a CreateCertificateFromCsr answer and names the bad field of a malformed one', () => {
    const good = { certificateId: ID, certificatePem: '-----BEGIN CERTIFICATE-----\n...', certificateOwnershipToken: 't' };
    expect(parseCertificateAnswer(json(good)).certificateId).toBe(ID);
    expect(() => parseCertificateAnswer(json({ ...good, certificateId: 'short' }))).toThrow(/CreateCertificateFromCsr is malformed \(bad or missing certificateId\)/);
    expect(() => parseCertificateAnswer(Buffer.from('{"certificateId": 42'))).toThrow(/not JSON/);
  });

  it('accepts a RegisterThing answer without deviceConfiguration', () => {
    expect(parseRegisterAnswer(json({ thingName: 'thing-1' }))).toEqual({ thingName: 'thing-1', deviceConfiguration: {} });
    expect(() => parseRegisterAnswer(json({ thingName: 'has space' }))).toThrow(/PROVISION_ANSWER_INVALID|malformed/);
  });

  it.each([
    [403, 'AccessDenied', /pre-provisioning hook/],
    [404, 'ResourceNotFoundException', /--template/],
    [400, 'InvalidParameters', /--param/],
    [500, 'InternalFailure', /run again later/],
  ])('turns a %i %s rejection into words a user can act on', (statusCode, errorCode, hint) => {
    const error = rejectionError('RegisterThing', json({ statusCode, errorCode, errorMessage: 'why' }));
    expect(error.code).toBe('PROVISION_REJECTED');
    expect(error.message).toBe(`AWS IoT rejected RegisterThing: ${statusCode} ${errorCode}: why`);
    expect(error.hint).toMatch(hint);
  });

  it('blames the CSR when CreateCertificateFromCsr is refused with 400', () => {
    expect(rejectionError('CreateCertificateFromCsr', json({ statusCode: 400, errorCode: 'InvalidCsr', errorMessage: 'bad' })).hint).toMatch(/key type/);
  });

  it('treats a rejection without statusCode as malformed', () => {
    expect(rejectionError('RegisterThing', json({ oops: true })).code).toBe('PROVISION_ANSWER_INVALID');
  });
});

describe('provisioning parameters and state', () => {
  it('splits KEY=VALUE at the first "="', () => {
    expect(parseParameters(['SerialNumber=A1', 'Note=a=b', 'Empty='])).toEqual({ SerialNumber: 'A1', Note: 'a=b', Empty: '' });
  });

  it('keeps the registered step, ignores a corrupt file, and drops it once provisioned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'provision-state-'));
    try {
      const state = openState(join(dir, 'state'));
      expect(state.readRegistered()).toBeUndefined();
      const registered = { step: 'registered' as const, certificateId: ID, certificatePem: 'PEM', thingName: 't', clientId: 't' };
      state.saveRegistered(registered);
      expect(state.readRegistered()).toEqual(registered);
      writeFileSync(join(dir, 'state', 'provision.json'), '{"step":');
      expect(state.readRegistered()).toBeUndefined();
      state.saveRegistered(registered);
      state.markProvisioned('t');
      expect(state.isProvisioned()).toBe(true);
      expect(state.readRegistered()).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
