import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseEnvFile, readEnvFile } from './env-file.js';
import { ConfigFileError, ConfigValidationError } from './errors.js';

describe('parseEnvFile', () => {
  test('reads the usual forms', () => {
    const text = [
      '# comment',
      '',
      'HF_TOKEN=hf_abc',
      'export GATEWAY_PORT=8001',
      "SINGLE='a $b # not a comment'",
      'DOUBLE="line1\\nline2 \\"q\\""',
      'UNQUOTED=value with spaces   # trailing comment',
      'HASH=a#b',
      'EMPTY=',
      '  INDENTED = x',
      'REF=${HF_TOKEN}-${MISSING:-dflt}-${FROM_ENV}',
      'MULTI="first',
      'second"',
      'LAST=1',
    ].join('\n');
    const { values, locations, issues } = parseEnvFile(text, '.env', { env: { FROM_ENV: 'e' } });
    expect(issues).toEqual([]);
    expect(values).toEqual({
      HF_TOKEN: 'hf_abc',
      GATEWAY_PORT: '8001',
      SINGLE: 'a $b # not a comment',
      DOUBLE: 'line1\nline2 "q"',
      UNQUOTED: 'value with spaces',
      HASH: 'a#b',
      EMPTY: '',
      INDENTED: 'x',
      REF: 'hf_abc-dflt-e',
      MULTI: 'first\nsecond',
      LAST: '1',
    });
    expect(locations.GATEWAY_PORT).toEqual({ file: '.env', line: 4, column: 8 });
    expect(locations.LAST).toEqual({ file: '.env', line: 14, column: 1 });
  });

  test('handles CRLF line ends', () => {
    expect(parseEnvFile('A=1\r\nB=2\r\n', '.env').values).toEqual({ A: '1', B: '2' });
  });

  test('reports every bad line with its line and column, and keeps the good ones', () => {
    const { values, issues } = parseEnvFile(['GOOD=1', 'this is not a setting', '1BAD=x', 'A="x" trailing', 'OK=2', "Q='open"].join('\n'), 'x/.env');
    expect(values).toEqual({ GOOD: '1', A: 'x', OK: '2' });
    expect(issues.map((i) => [i.line, i.column])).toEqual([
      [2, 1],
      [3, 1],
      [4, 6],
      [6, 3],
    ]);
    for (const issue of issues) {
      expect(issue.file).toBe('x/.env');
      expect(issue.hint.length).toBeGreaterThan(10);
    }
  });
});

describe('readEnvFile', () => {
  test('reads a file, and throws typed errors for missing and malformed files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'inferstack-env-'));
    try {
      await writeFile(join(dir, 'ok.env'), 'A=1\n');
      await writeFile(join(dir, 'bad.env'), 'A=1\nnope\n');
      await writeFile(join(dir, 'latin1.env'), Buffer.from([0x41, 0x3d, 0xe9, 0x0a]));
      expect((await readEnvFile(join(dir, 'ok.env'))).values).toEqual({ A: '1' });
      await expect(readEnvFile(join(dir, 'missing.env'))).rejects.toBeInstanceOf(ConfigFileError);
      const bad = await readEnvFile(join(dir, 'bad.env')).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ConfigValidationError);
      expect((bad as ConfigValidationError).issues[0]?.line).toBe(2);
      const latin1 = await readEnvFile(join(dir, 'latin1.env')).catch((e: unknown) => e);
      expect((latin1 as ConfigValidationError).issues[0]).toMatchObject({ code: 'not-utf8', line: 1, column: 3 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
