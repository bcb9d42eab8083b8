import { describe, expect, it } from 'vitest';
import { parseJobDocument } from '../../../src/jobs/document.js';

describe('Device Client job documents', () => {
  it('reads the old schema as one handler step, $1 empty', () => {
    expect(parseJobDocument({ operation: 'install-packages.sh', args: ['lftp', 'htop'], path: 'default', allowStdErr: 2 })).toEqual({
      ok: true,
      plan: { kind: 'handlers', operation: 'install-packages.sh', includeStdout: false, steps: [{ name: 'install-packages.sh', handler: 'install-packages.sh', args: ['lftp', 'htop'], runAsUser: '', ignoreFailure: false }] },
    });
  });

  it('reads the new schema with runAsUser, ignoreStepFailure, finalStep and includeStdOut as the string "true"', () => {
    const parsed = parseJobDocument({
      version: '1.0', includeStdOut: 'true',
      steps: [{ action: { name: 'Download', type: 'runHandler', input: { handler: 'download-file.sh', args: ['https://x/y', '/tmp/y'], path: 'default' }, runAsUser: 'user1', ignoreStepFailure: 'true' } }],
      finalStep: { action: { name: 'Clean', type: 'runHandler', input: { handler: 'cleanup.sh' } } },
    });
    expect(parsed.ok && parsed.plan.kind === 'handlers' && parsed.plan).toMatchObject({
      includeStdout: true,
      steps: [{ name: 'Download', runAsUser: 'user1', ignoreFailure: true, args: ['https://x/y', '/tmp/y'] }, { name: 'Clean', handler: 'cleanup.sh', ignoreFailure: false }],
    });
    expect(parseJobDocument({ version: '1.0', includeStdOut: true, steps: [{ action: { type: 'runHandler', input: { handler: 'h' } } }] })).toMatchObject({ ok: true, plan: { includeStdout: true } });
    expect(parseJobDocument({ version: '1.0', includeStdOut: 'yes', steps: [{ action: { type: 'runHandler', input: { handler: 'h' } } }] })).toMatchObject({ ok: true, plan: { includeStdout: false } });
  });

  it('knows the built-ins, which must be alone', () => {
    expect(parseJobDocument({ operation: 'reboot' })).toEqual({ ok: true, plan: { kind: 'reboot', operation: 'reboot' } });
    expect(parseJobDocument({ operation: 'rotate' })).toEqual({ ok: true, plan: { kind: 'rotate', operation: 'rotate' } });
    expect(parseJobDocument({ operation: 'update', args: ['https://s3/x?sig'] })).toEqual({ ok: true, plan: { kind: 'update', operation: 'update', url: 'https://s3/x?sig' } });
    expect(parseJobDocument({ version: '1.0', steps: [{ action: { type: 'runHandler', input: { handler: 'a' } } }, { action: { type: 'runHandler', input: { handler: 'reboot' } } }] }))
      .toMatchObject({ ok: false, reason: '"reboot" must be the job\'s only step' });
    expect(parseJobDocument({ operation: 'update', args: ['http://plain/x'] })).toMatchObject({ ok: false, reason: expect.stringContaining('https://') });
  });

  it('refuses runCommand, paths outside the handler directory, and names that are paths', () => {
    const refused = [
      [{ version: '1.0', steps: [{ action: { name: 'x', type: 'runCommand', input: { command: 'echo,hi' } } }] }, 'runCommand'],
      [{ operation: 'h', path: '/usr/bin/' }, 'path "/usr/bin/" is refused'],
      [{ operation: '../../bin/sh' }, 'not a file name'],
      [{ operation: '.hidden' }, 'not a file name'],
      [{ operation: 'h', args: [1, 2] }, 'array of strings'],
      [{ version: '1.0', steps: [] }, 'non-empty'],
      [{ foo: 1 }, 'names no "operation"'],
    ] as const;
    for (const [document, reason] of refused) expect(parseJobDocument(document)).toMatchObject({ ok: false, reason: expect.stringContaining(reason) });
    expect(parseJobDocument('text')).toMatchObject({ ok: false, operation: '?' });
    expect(parseJobDocument({ operation: '../x' })).toMatchObject({ ok: false, operation: '../x' });
  });
});
