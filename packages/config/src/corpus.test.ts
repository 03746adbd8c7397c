import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConfigValidationError } from './errors.js';
import { loadConfig } from './load-config.js';

/*
 * Every file in test-corpus/ is a broken models.yaml whose header lists the issues it must
 * produce (see test-corpus/README.md). Exactly those issues, and each with a hint.
 */

const corpus = fileURLToPath(new URL('../test-corpus/', import.meta.url));
const files = readdirSync(corpus).filter((f) => f.endsWith('.yaml')).sort();

interface Expected {
  code: string;
  line: number;
  column?: number;
}

function header(file: string): { expected: Expected[]; select?: string[] } {
  // latin1: the header is ASCII even in the file that is not UTF-8.
  const text = readFileSync(`${corpus}${file}`, 'latin1');
  const expected: Expected[] = [];
  let select: string[] | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const e = /^# expect: ([a-z0-9-]+) (\d+)(?::(\d+))?\s*$/.exec(line);
    if (e) expected.push({ code: e[1] as string, line: Number(e[2]), ...(e[3] ? { column: Number(e[3]) } : {}) });
    const s = /^# select: (.+)$/.exec(line);
    if (s) select = (s[1] as string).split(',').map((x) => x.trim());
  }
  return { expected, ...(select ? { select } : {}) };
}

describe('malformed configurations', () => {
  test('there are at least 25, each with expectations', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
    for (const file of files) expect(header(file).expected.length, file).toBeGreaterThan(0);
  });

  test.each(files)('%s', async (file) => {
    const { expected, select } = header(file);
    const envFile = file.replace(/\.yaml$/, '.env');
    const error = await loadConfig({
      cwd: corpus,
      file,
      env: {},
      ...(existsSync(`${corpus}${envFile}`) ? { envFile } : {}),
      ...(select ? { select } : {}),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'must throw ConfigValidationError').toBeInstanceOf(ConfigValidationError);
    const issues = (error as ConfigValidationError).issues;
    const order = (a: Expected, b: Expected) => a.line - b.line || (a.column ?? 0) - (b.column ?? 0) || (a.code < b.code ? -1 : 1);
    const actual = issues.map((i) => ({ code: i.code, line: i.line, column: i.column })).sort(order);
    const wanted = [...expected].sort(order).map((e) => ({ code: e.code, line: e.line, column: e.column ?? expect.any(Number) }));
    expect(actual, (error as ConfigValidationError).format()).toEqual(wanted);
    for (const issue of issues) {
      expect(issue.hint.length, `hint of ${issue.code}`).toBeGreaterThan(10);
      expect(issue.message.length).toBeGreaterThan(10);
      expect(issue.file).toBe(issue.code.startsWith('env') || issue.code === 'invalid-setting' ? envFile : file);
    }
  });
});
