import { describe, expect, test } from 'vitest';
import { DURATION_PATTERN, MAX_DURATION_MS, parseDuration } from './_duration.js';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { parseConfig } from './parse-config.js';
import type { StackConfig } from './types.js';

const options = { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' };

function issuesOf(text: string): ConfigIssue[] {
  try {
    parseConfig(text, options);
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}

const withModel = (lines: string, top = '') => `${top}models:\n  - m:\n      model: org/m\n      gpus: none\n${lines}`;

describe('durations', () => {
  test('every form the pattern accepts parses, and nothing else does (one definition)', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    const samples = ['90', '1.5', '90s', '15m', '2h', '1h30m', '1d', '1d12h', '500ms', '1m30s', '15m30', '1h30', '30m1h', 'h', '', '1.h', '1x', '01m', ' 5m', '5m '];
    for (const s of samples) expect(pattern.test(s), s).toBe(parseDuration(s) !== undefined);
  });

  test('values', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration(90)).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('15m30')).toBeUndefined();
    expect(parseDuration(-1)).toBeUndefined();
  });

  test('the limit is the longest timer Node keeps', () => {
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
    expect(parseDuration('24d20h')!).toBeLessThanOrEqual(MAX_DURATION_MS);
  });

  test.each([
    ['idle: {after: 0}', 'more than 0', 5],
    ['idle: {after: "0s"}', 'more than 0', 5],
    ['idle: {after: "15m30"}', 'unit', 5],
    ['idle: {after: 9999h}', 'at most 24d20h', 5],
    ['idle: {after: 3000000}', 'at most 24d20h', 5],
    ['idle: {after: -5}', 'more than 0', 5],
    ['wake-timeout: 9999h', 'at most 24d20h', 5],
    ['wake-timeout: 0', 'more than 0', 5],
    ['wake-timeout: "10m5"', 'unit', 5],
  ])('a model with %s is refused, at its line', (line, words, at) => {
    const issues = issuesOf(withModel(`      ${line}\n`));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'invalid-value', line: at });
    expect(issues[0]!.message).toContain(words);
    expect(issues[0]!.hint).toMatch(/write a duration/);
  });

  test.each([
    ['  idle: {after: "15m30"}', 'unit'],
    ['  idle: {after: 0}', 'more than 0'],
    ['  wake-timeout: 9999h', 'at most 24d20h'],
  ])('defaults with %s are refused, not dropped', (line, words) => {
    const issues = issuesOf(withModel('', `defaults:\n${line}\n`));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'invalid-value', line: 2 });
    expect(issues[0]!.message).toContain(words);
  });

  test('valid durations reach the specs', () => {
    const c: StackConfig = parseConfig(withModel('      idle: {after: 1h30m}\n      wake-timeout: 24d20h\n', 'defaults:\n  idle: {after: 90}\n'), options);
    expect(c.models[0]).toMatchObject({ idle: { afterMs: 5_400_000, then: 'sleep' }, wakeTimeoutMs: 596 * 3_600_000 });
  });
});
