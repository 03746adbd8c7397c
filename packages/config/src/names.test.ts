import { describe, expect, test } from 'vitest';
import { containerNameForKey, keyFromContainerName, MAX_MODEL_CONTAINER_NAME_LENGTH, MAX_STACK_NAME_LENGTH, modelKeyProblem } from './container-name.js';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { parseConfig, stackNameFor } from './parse-config.js';

/*
 * Names that become host names on the stack's network: model containers (inference-<key>), the
 * watcher (<stack>-watcher) and the services. Python's resolver (LiteLLM, its hooks) refuses a
 * host name longer than 63 characters, so a longer one is routed but unreachable.
 */

const options = { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' };

function issuesOf(text: string, more: Parameters<typeof parseConfig>[1] = {}): ConfigIssue[] {
  try {
    parseConfig(text, { ...options, ...more });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}

describe('model container names', () => {
  test('the limits', () => {
    expect(MAX_MODEL_CONTAINER_NAME_LENGTH).toBe(56);
    expect(MAX_STACK_NAME_LENGTH).toBe(55);
  });

  test('a key whose container name is 56 characters is fine; 57 is refused with both lengths', () => {
    const fits = 'k'.repeat(46);
    expect(containerNameForKey(fits)).toHaveLength(56);
    expect(modelKeyProblem(fits)).toBeUndefined();
    const long = 'k'.repeat(47);
    expect(modelKeyProblem(long)).toMatch(/57 characters.*at most 56/);
    // "/" becomes "--": the container name counts, not the key.
    expect(modelKeyProblem(`${'o'.repeat(22)}/${'n'.repeat(23)}`)).toMatch(/57 characters/);
  });

  test('containers made with a longer key before are still recognised (to be removed)', () => {
    const long = 'k'.repeat(60);
    expect(keyFromContainerName(containerNameForKey(long))).toBe(long);
  });

  test('models.yaml: a model key too long for a host name is refused at its line, with the way out', () => {
    const key = 'Qwen/Qwen2.5-Coder-32B-Instruct-GPTQ-Int4-experimental';
    const issues = issuesOf(`models:\n  - a: {model: x, gpus: none}\n  - ${key}: {model: x, gpus: none}\n`);
    expect(issues).toEqual([expect.objectContaining({ code: 'model-key-too-long', line: 3, column: 5 })]);
    expect(issues[0]!.message).toContain(`inference-${key.replaceAll('/', '--')}`);
    expect(issues[0]!.message).toMatch(/\d+ characters.*at most 56/);
    expect(issues[0]!.hint).toContain('served-model-name');
  });
});

describe('stack names', () => {
  const base = 'models:\n  - a: {model: m/a, gpus: none}\n';

  test('name: is at most 55 characters (the watcher is <stack>-watcher)', () => {
    expect(parseConfig(`name: ${'s'.repeat(55)}\n${base}`, options).watcher.containerName).toHaveLength(63);
    const issues = issuesOf(`name: ${'s'.repeat(56)}\n${base}`);
    expect(issues).toEqual([expect.objectContaining({ path: ['name'], line: 1 })]);
    expect(issues[0]!.message).toContain('at most 55');
  });

  test('a name from a long directory is cut to fit, without a trailing - or _', () => {
    const dir = `/srv/${'a'.repeat(54)}_b-c`;
    const name = stackNameFor(dir);
    expect(name.length).toBeLessThanOrEqual(55);
    expect(name).toBe('a'.repeat(54));
    expect(parseConfig(base, { file: `${dir}/model_config/models.yaml` }).watcher.containerName.length).toBeLessThanOrEqual(63);
  });
});

describe('service container names', () => {
  const base = 'models:\n  - a: {model: m/a, gpus: none}\n';

  test.each([
    ['watcher: {container-name: NAME}', 63],
    ['monitoring: {prometheus: {container-name: NAME}}', 63],
    ['monitoring: {grafana: {container-name: NAME}}', 63],
    ['monitoring: {node-exporter: {container-name: NAME}}', 63],
    ['monitoring: {dcgm-exporter: {container-name: NAME}}', 63],
    // The gateway's database is <gateway>-db.
    ['gateway: {container-name: NAME}', 60],
  ])('%s fits %i characters', (line, max) => {
    expect(() => parseConfig(`${line.replace('NAME', 'n'.repeat(max))}\n${base}`, options)).not.toThrow();
    const issues = issuesOf(`${line.replace('NAME', 'n'.repeat(max + 1))}\n${base}`);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain(`at most ${max}`);
    expect(issues[0]!.line).toBe(1);
  });
});
