import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../../src/fs/write-atomic.js';
import { makeTempDir } from '../../helpers/paths.js';

let temp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  temp = makeTempDir('atomic');
});
afterEach(() => temp.remove());

describe('writeFileAtomic', () => {
  it('writes the file with the mode asked for and leaves no temporary file', () => {
    const path = join(temp.path, 'out.csr');
    writeFileAtomic(path, 'hello\n', 0o640);
    expect(readFileSync(path, 'utf8')).toBe('hello\n');
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~process.umask());
    expect(readdirSync(temp.path)).toEqual(['out.csr']);
  });

  it('replaces an existing file as a whole', () => {
    const path = join(temp.path, 'out.csr');
    writeFileSync(path, 'old content that is longer');
    writeFileAtomic(path, Buffer.from('new'), 0o644);
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  it('fails with FILE_WRITE_FAILED naming the path when the folder does not exist', () => {
    const path = join(temp.path, 'missing', 'out.csr');
    expect(() => writeFileAtomic(path, 'x', 0o644)).toThrow(expect.objectContaining({ code: 'FILE_WRITE_FAILED', message: `cannot write ${path}: ENOENT` }));
  });

  it('removes its temporary file when the rename fails', () => {
    // A folder where the file should go: the temporary file is written, the rename is refused.
    const path = join(temp.path, 'out.csr');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'kept');
    expect(() => writeFileAtomic(path, 'x', 0o644)).toThrow(expect.objectContaining({ code: 'FILE_WRITE_FAILED' }));
    expect(readdirSync(temp.path)).toEqual(['out.csr']);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('kept');
  });
});
