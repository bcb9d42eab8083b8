import { describe, expect, it } from 'vitest';
import { deltaOf, ShadowLogic } from '../../standin/shadow.js';

const P = '$aws/things/t/shadow/name/s';
const bodyOf = (out: { topic: string; body: object }[], topic: string): Record<string, unknown> => {
  const found = out.find((message) => message.topic === topic);
  if (found === undefined) throw new Error(`no ${topic} in ${out.map((message) => message.topic).join(', ')}`);
  return found.body as Record<string, unknown>;
};

describe('the Shadow stand-in', () => {
  it('creates on update, bumps versions, and sends the delta of desired against reported', () => {
    const shadow = new ShadowLogic();
    expect(bodyOf(shadow.getShadow('t', 's', {}, 0), `${P}/get/rejected`)).toMatchObject({ code: 404, message: 'No shadow exists with name: s' });
    const first = shadow.update('t', 's', { state: { reported: { a: 1, nested: { x: 1 } } }, clientToken: 'c' }, 1_000);
    expect(bodyOf(first, `${P}/update/accepted`)).toMatchObject({ version: 1, clientToken: 'c', metadata: { reported: { a: { timestamp: 1 } } } });
    expect(first.some((message) => message.topic === `${P}/update/delta`)).toBe(false);
    const desired = shadow.update('t', 's', { state: { desired: { a: 2, nested: { x: 1, y: 2 }, list: [1, 2] } } }, 2_000);
    expect(bodyOf(desired, `${P}/update/delta`)).toMatchObject({ version: 2, state: { a: 2, nested: { y: 2 }, list: [1, 2] } });
    expect(bodyOf(desired, `${P}/update/documents`)).toMatchObject({ previous: { version: 1 }, current: { version: 2 } });
    expect(bodyOf(shadow.getShadow('t', 's', {}, 3_000), `${P}/get/accepted`)).toMatchObject({ version: 2, state: { delta: { a: 2 } } });
  });

  it('refuses a stale version with 409 Version conflict, and deletes keys sent as null', () => {
    const shadow = new ShadowLogic();
    shadow.update('t', 's', { state: { reported: { a: 1, b: 2 } } }, 0);
    expect(bodyOf(shadow.update('t', 's', { state: { reported: { a: 3 } }, version: 0 }, 0), `${P}/update/rejected`)).toMatchObject({ code: 409, message: 'Version conflict' });
    shadow.update('t', 's', { state: { reported: { b: null } }, version: 1 }, 0);
    expect(shadow.get('t', 's')).toMatchObject({ reported: { a: 1 }, version: 2 });
    shadow.conflictNextUpdate = true;
    expect(bodyOf(shadow.update('t', 's', { state: { reported: { a: 3 } }, version: 2 }, 0), `${P}/update/rejected`)).toMatchObject({ code: 409 });
  });

  it('refuses what AWS refuses: no state, wrong nodes, deep nesting, too large, nulls in arrays', () => {
    const shadow = new ShadowLogic();
    const code = (request: Record<string, unknown>): unknown => bodyOf(shadow.update('t', 's', request, 0), `${P}/update/rejected`).message;
    expect(code({})).toBe('Missing required node: state');
    expect(code({ state: 1 })).toBe('State node must be an object');
    expect(code({ state: { desired: [] } })).toBe('Desired node must be an object');
    expect(code({ state: { other: {} } })).toBe('State contains an invalid node');
    expect(code({ state: { reported: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } })).toContain('too many levels of nesting');
    expect(code({ state: { reported: { big: 'x'.repeat(9000) } } })).toBe('The payload exceeds the maximum size allowed');
    expect(code({ state: { reported: { list: [1, null] } } })).toBe('State contains an invalid node');
    expect(code({ state: {}, clientToken: 'x'.repeat(65) })).toBe('Invalid clientToken');
    expect(bodyOf(shadow.route(`${P}/update`, Buffer.from('{'), 0) ?? [], `${P}/update/rejected`)).toMatchObject({ code: 400, message: 'Invalid JSON' });
  });

  it('keeps the version across a delete', () => {
    const shadow = new ShadowLogic();
    shadow.update('t', undefined, { state: { reported: { a: 1 } } }, 0);
    expect(bodyOf(shadow.deleteShadow('t', undefined, {}, 0), '$aws/things/t/shadow/delete/accepted')).toMatchObject({ version: 1 });
    expect(bodyOf(shadow.update('t', undefined, { state: { reported: { a: 1 } } }, 0), '$aws/things/t/shadow/update/accepted')).toMatchObject({ version: 2 });
  });

  it('computes deltas with nested paths kept and arrays compared whole', () => {
    expect(deltaOf({ a: 1, n: { x: 1, y: [1] }, same: 's' }, { a: 1, n: { x: 2, y: [1] }, same: 's', extra: true })).toEqual({ n: { x: 1 } });
  });
});
