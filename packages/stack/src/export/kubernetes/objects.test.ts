import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { bytesQuantity, cpusetSize, envFromCreate, kubernetesName, labelValue, literal, objectsYaml } from './objects.js';

describe('kubernetesName', () => {
  it('keeps a name Kubernetes accepts (a model Service keeps its container name)', () => {
    for (const name of ['inference-qwen', 'litellm', 'inference-org--small', 'a1']) expect(kubernetesName(name)).toBe(name);
  });

  it('makes any other name valid, with a digest that keeps different names apart', () => {
    const names = ['inference-Qwen', 'inference-qwen_', 'inference-qwen.5', '9lives', '_', 'x'.repeat(80)];
    const made = names.map((n) => kubernetesName(n));
    for (const m of made) expect(m).toMatch(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/);
    expect(new Set(made).size).toBe(names.length);
    expect(made[0]).toMatch(/^inference-qwen-[0-9a-f]{6}$/);
    expect(kubernetesName('inference-Qwen')).toBe(made[0]);
  });
});

describe('labelValue', () => {
  it('keeps a valid label value, otherwise makes one', () => {
    expect(labelValue('my_stack.1')).toBe('my_stack.1');
    expect(labelValue('my-stack-')).toMatch(/^my-stack-[0-9a-f]{6}$/);
  });
});

describe('quantities and sizes', () => {
  it('writes bytes in the largest binary unit that divides them', () => {
    expect(bytesQuantity(16 * 2 ** 30)).toBe('16Gi');
    expect(bytesQuantity(512 * 2 ** 20)).toBe('512Mi');
    expect(bytesQuantity(1536 * 2 ** 20)).toBe('1536Mi');
    expect(bytesQuantity(1000)).toBe('1000');
  });

  it('counts the CPUs of a cpuset', () => {
    expect(cpusetSize('0-3')).toBe(4);
    expect(cpusetSize('0,2,4-7')).toBe(6);
  });
});

describe('environment and args', () => {
  it('doubles $ so that Kubernetes expansion gives back the text', () => {
    expect(literal('$(HOME) $$ {{ "$" }}')).toBe('$$(HOME) $$$$ {{ "$$" }}');
  });

  it('turns secret names into Secret references and keeps order', () => {
    expect(envFromCreate(['A=1', 'HF_TOKEN=hf_x', 'B=$(A)'], 's', { HF_TOKEN: 'HF_TOKEN' })).toEqual([
      { name: 'A', value: '1' },
      { name: 'HF_TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'HF_TOKEN' } } },
      { name: 'B', value: '$$(A)' },
    ]);
  });
});

describe('objectsYaml', () => {
  it('writes documents with a leading comment and no YAML aliases for repeated objects', () => {
    const labels = { app: 'x' };
    const text = objectsYaml(
      [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', labels } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'b', labels } },
      ],
      ' two services',
    );
    expect(text.startsWith('# two services\n')).toBe(true);
    expect(text).not.toMatch(/[&*]a1/);
    expect(parseAllDocuments(text).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name)).toEqual(['a', 'b']);
  });
});
