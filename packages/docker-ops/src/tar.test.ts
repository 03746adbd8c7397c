import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarArchive } from './tar.js';

describe('tarArchive', () => {
  it('writes an archive that tar(1) extracts, directories implied, modes kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'inferstack-tar-'));
    try {
      const body = Buffer.alloc(1500, 'x');
      writeFileSync(join(dir, 'a.tar'), tarArchive([{ name: 'opt/app/main.js', content: 'console.log(1)\n' }, { name: 'opt/app/big.bin', content: body, mode: 0o600 }]));
      execFileSync('tar', ['-xf', 'a.tar'], { cwd: dir });
      expect(readFileSync(join(dir, 'opt/app/main.js'), 'utf8')).toBe('console.log(1)\n');
      expect(readFileSync(join(dir, 'opt/app/big.bin')).equals(body)).toBe(true);
      expect(execFileSync('tar', ['-tvf', 'a.tar'], { cwd: dir, encoding: 'utf8' })).toMatch(/^-rw------- .* opt\/app\/big\.bin$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a name longer than the header holds', () => {
    expect(() => tarArchive([{ name: 'x'.repeat(101), content: '' }])).toThrow(/longer than 100 bytes/);
  });
});
