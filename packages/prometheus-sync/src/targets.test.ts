import { describe, expect, test } from 'vitest';
import { PrometheusConfigError } from './errors.js';
import { type RunningModelTarget, TARGET_LABELS, parseTargets, renderTargets, serializeTargets } from './targets.js';

const qwen: RunningModelTarget = { key: 'qwen-4b', address: 'inference-qwen-4b:8000', servedModelName: 'Qwen/Qwen3-4B', gpus: '1,0' };
const llama: RunningModelTarget = {
  key: 'meta/llama',
  address: 'inference-meta--llama:8000',
  servedModelName: 'meta-llama/Llama-3.1-8B',
  gpus: 'all',
  host: 'gpu-box-2',
};
const cpu: RunningModelTarget = { key: 'tiny', address: 'inference-tiny:8001', servedModelName: 'tiny', gpus: 'none' };

describe('renderTargets', () => {
  test('one group per running container with the documented label set', () => {
    expect(renderTargets([qwen])).toEqual([
      {
        targets: ['inference-qwen-4b:8000'],
        labels: { container: 'inference-qwen-4b', gpus: '1,0', host: 'local', model: 'qwen-4b', served_model_name: 'Qwen/Qwen3-4B' },
      },
    ]);
  });

  test('any host:port: an IP address, a container name, another port; container and gpus labels as given', () => {
    const [remote] = renderTargets([{ key: 'far', address: '10.0.0.7:8001', servedModelName: 'far', container: 'inference-far' }]);
    expect(remote).toEqual({ targets: ['10.0.0.7:8001'], labels: { container: 'inference-far', host: 'local', model: 'far', served_model_name: 'far' } });
    const [bare] = renderTargets([{ key: 'b', address: 'vllm-b:8000', servedModelName: 'b' }]);
    expect(bare?.labels.container).toBe('vllm-b');
  });

  test('host and port are honoured', () => {
    const [a, b] = renderTargets([llama, cpu]);
    expect(a?.targets).toEqual(['inference-meta--llama:8000']);
    expect(a?.labels.host).toBe('gpu-box-2');
    expect(b?.targets).toEqual(['inference-tiny:8001']);
  });

  test('order does not depend on input order', () => {
    const one = renderTargets([qwen, llama, cpu]);
    const two = renderTargets([cpu, qwen, llama]);
    expect(two).toEqual(one);
    expect(one.map((g) => g.targets[0])).toEqual(['inference-meta--llama:8000', 'inference-qwen-4b:8000', 'inference-tiny:8001']);
    expect(serializeTargets(two)).toBe(serializeTargets(one));
  });

  test('labels carry nothing but the label set, even from an object with secrets', () => {
    const spec = {
      ...qwen,
      model: 'Qwen/Qwen3-4B',
      image: 'vllm/vllm-openai:v0.11.0',
      pullPolicy: 'missing',
      vllmArgs: ['--api-key', 'sk-secret-arg'],
      env: { HF_HOME: '/root/.cache/huggingface' },
      secretEnv: { HF_TOKEN: 'hf_secret_token', VLLM_API_KEY: 'sk-secret-key' },
      volumes: [],
      apiKey: 'sk-secret-key',
      specHash: '0123456789abcdef',
      source: { file: 'models.yaml', line: 1, column: 1 },
      replica: 1,
    };
    const groups = renderTargets([spec]);
    expect(Object.keys(groups[0]?.labels ?? {})).toEqual([...TARGET_LABELS]);
    const text = serializeTargets(groups);
    for (const secret of ['hf_secret_token', 'sk-secret-key', 'sk-secret-arg', 'huggingface', 'vllm-openai', '0123456789abcdef']) {
      expect(text).not.toContain(secret);
    }
  });

  test('no models, no groups', () => {
    expect(renderTargets([])).toEqual([]);
  });

  test('all invalid inputs are reported at once', () => {
    const bad = [
      { ...qwen, address: 'http://x:8000' },
      { ...cpu, address: 'inference-tiny:70000' },
      { ...llama },
      { ...llama, key: 'copy' },
    ];
    const error = (() => {
      try {
        renderTargets(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PrometheusConfigError);
    expect((error as PrometheusConfigError).problems).toEqual([
      'model "qwen-4b": "http://x:8000" is not a host:port Prometheus can scrape',
      'model "tiny": "inference-tiny:70000" is not a host:port Prometheus can scrape',
      'models "meta/llama" and "copy" both claim the target inference-meta--llama:8000',
    ]);
  });
});

describe('serializeTargets', () => {
  test('stable text: sorted groups, sorted labels, two-space JSON, final newline', () => {
    const text = serializeTargets([
      { targets: ['b:1', 'a:1'], labels: { z: '1', a: '2' } },
      { targets: ['a:0'], labels: {} },
    ]);
    expect(text).toBe(
      '[\n  {\n    "targets": [\n      "a:0"\n    ],\n    "labels": {}\n  },\n' +
        '  {\n    "targets": [\n      "a:1",\n      "b:1"\n    ],\n    "labels": {\n      "a": "2",\n      "z": "1"\n    }\n  }\n]\n',
    );
    expect(JSON.parse(text)).toHaveLength(2);
  });

  test('no groups are written as one empty group (Prometheus 2.x keeps old targets otherwise)', () => {
    expect(JSON.parse(serializeTargets([]))).toEqual([{ targets: [], labels: {} }]);
  });
});

describe('parseTargets', () => {
  test('reads back what renderTargets and serializeTargets wrote', () => {
    const models = [
      { key: 'a', address: 'inference-a:8000', servedModelName: 'org/a', gpus: '0', container: 'inference-a' },
      { key: 'b', address: '172.31.250.1:32801', servedModelName: 'org/b', gpus: 'none', host: 'b', container: 'inference-b' },
    ];
    const parsed = parseTargets(serializeTargets(renderTargets(models)));
    expect(parsed).toEqual([
      { key: 'b', address: '172.31.250.1:32801', servedModelName: 'org/b', gpus: 'none', host: 'b', container: 'inference-b' },
      { key: 'a', address: 'inference-a:8000', servedModelName: 'org/a', gpus: '0', host: 'local', container: 'inference-a' },
    ]);
    expect(serializeTargets(renderTargets(parsed))).toBe(serializeTargets(renderTargets(models)));
  });

  test('gives nothing for an empty file, text that is not JSON, or groups that are not ours', () => {
    expect(parseTargets(serializeTargets([]))).toEqual([]);
    expect(parseTargets('not json')).toEqual([]);
    expect(parseTargets('[{"targets": ["x:1"], "labels": {"job": "other"}}]')).toEqual([]);
  });
});
