import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../src/files/atomic-write.js';
import { makeTempDir } from '../../helpers/paths.js';

const temp = makeTempDir('atomic');
afterAll(() => temp.remove());

describe('writeFileAtomic', () => {
  it('writes with the mode asked for and leaves no temp file', () => {
    const path = join(temp.path, 'a.json');
    writeFileSync(path, 'old', { mode: 0o644 });
    expect(writeFileAtomic(path, 'new', 0o600)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(temp.path)).toEqual(['a.json']);
  });

  it('with replace: false, leaves an existing file alone and says so', () => {
    const path = join(temp.path, 'b');
    expect(writeFileAtomic(path, 'first', 0o600, { replace: false })).toBe(true);
    expect(writeFileAtomic(path, 'second', 0o600, { replace: false })).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(readdirSync(temp.path).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('fails with FILE_WRITE_FAILED naming the path', () => {
    const path = join(temp.path, 'missing', 'c');
    expect(() => writeFileAtomic(path, 'x', 0o600)).toThrow(expect.objectContaining({ code: 'FILE_WRITE_FAILED', message: `cannot write ${path}: ENOENT` }));
  });

  it('replaces an existing file as a whole', () => {
    const path = join(temp.path, 'replaced');
    writeFileSync(path, 'old content that is longer');
    writeFileAtomic(path, Buffer.from('new'), 0o644);
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  it('removes its temp file when the rename fails', () => {
    // A folder where the file should go: the temp file is written, the rename is refused.
    const folder = join(temp.path, 'rename-fails');
    mkdirSync(folder);
    const path = join(folder, 'out');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'kept');
    expect(() => writeFileAtomic(path, 'x', 0o644)).toThrow(expect.objectContaining({ code: 'FILE_WRITE_FAILED' }));
    expect(readdirSync(folder)).toEqual(['out']);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('kept');
  });
});
