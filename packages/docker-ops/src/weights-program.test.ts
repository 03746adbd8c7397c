import { describe, expect, test } from 'vitest';
import { WEIGHTS_PROGRAM, parseProgramLine } from './weights-program.js';

describe('parseProgramLine', () => {
  test('reads report lines and leaves everything else (the client writes warnings too)', () => {
    expect(parseProgramLine('@@inferstack {"version": "2.4.0", "python": "3.12.3", "e": "client"}')).toEqual({ e: 'client', version: '2.4.0', python: '3.12.3' });
    expect(parseProgramLine('UserWarning: something')).toBeUndefined();
    expect(parseProgramLine('@@inferstack {not json')).toBeUndefined();
    expect(parseProgramLine('@@inferstack {"files": [["a", 1, false]], "e": "progress"}')).toEqual({ e: 'progress', files: [['a', 1, false]] });
  });

  test('the listing with the disk in our names', () => {
    const line = `@@inferstack ${JSON.stringify({ repo: 'o/m', revision: 'main', commit: 'c'.repeat(40), ref: null, source: 'hub', files: [], indexes: {}, gated: false, disk: { path: '/c', free: 5, total: 10, device: 64 }, cache: '/c/models--o--m', e: 'listing' })}`;
    expect(parseProgramLine(line)).toMatchObject({ e: 'listing', disk: { path: '/c', freeBytes: 5, totalBytes: 10, device: 64 } });
  });

  test('the program prints the token nowhere and takes it from the environment only', () => {
    expect(WEIGHTS_PROGRAM).toContain('os.environ.get("HF_TOKEN")');
    expect(WEIGHTS_PROGRAM).toMatch(/def scrub/);
    expect(WEIGHTS_PROGRAM).not.toMatch(/print\(|token=/);
  });
});
