import { describe, expect, test } from 'vitest';
import { type ConfigIssue, ConfigValidationError } from './errors.js';
import { formatGpuLabel, parseGpuLabel } from './gpu-label.js';
import { type ParseConfigOptions, parseConfig } from './parse-config.js';
import type { StackConfig } from './types.js';
import { vllmWorldSize } from './vllm-world-size.js';

/*
 * Capacity: replicas (fixed or autoscaled), `gpus: auto`, `host: any` / a list of hosts, and
 * `routing:`. What the config says and refuses; placing replicas is docker-ops' `planPlacement`.
 */

const base: ParseConfigOptions = { file: 'models.yaml', cwd: '/proj', homeDir: '/home/u' };

function parse(text: string, options: ParseConfigOptions = {}): StackConfig {
  return parseConfig(text, { ...base, ...options });
}

function issuesOf(text: string, options: ParseConfigOptions = {}): ConfigIssue[] {
  try {
    parseConfig(text, { ...base, ...options });
  } catch (error) {
    if (error instanceof ConfigValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigValidationError');
}

const codes = (issues: ConfigIssue[]) => issues.map((i) => `${i.code} ${i.line}:${i.column}`);

const HOSTS = [
  'hosts:',
  '  gpu1: {endpoint: "ssh://root@gpu1.lan", address: 10.0.0.11}',
  '  gpu2: {endpoint: "ssh://root@gpu2.lan", address: 10.0.0.12}',
  '  side: {endpoint: "unix:///var/run/docker-b.sock"}',
].join('\n');

describe('replicas', () => {
  test('default: one replica, fixed', () => {
    expect(parse('models:\n  a: {model: x, gpus: none}\n').models[0]?.replicas).toEqual({ min: 1, max: 1 });
  });

  test('a number is a fixed count; a map autoscales between min and max (down-after defaults to 5m, min to 1)', () => {
    const c = parse(
      [
        'models:',
        '  fixed: {model: x, gpus: none, replicas: 3}',
        '  scaled: {model: x, gpus: none, replicas: {min: 1, max: 4, down-after: 90s}}',
        '  plain: {model: x, gpus: none, replicas: {min: 2, max: 4}}',
        '  upto: {model: x, gpus: none, replicas: {max: 3}}',
      ].join('\n'),
    );
    expect(c.models.map((m) => m.replicas)).toEqual([
      { min: 3, max: 3 },
      { min: 1, max: 4, downAfterMs: 90_000 },
      { min: 2, max: 4, downAfterMs: 300_000 },
      { min: 1, max: 3, downAfterMs: 300_000 },
    ]);
  });

  test('from defaults; a model\'s own wins', () => {
    const c = parse('defaults:\n  replicas: {min: 1, max: 2}\nmodels:\n  a: {model: x, gpus: none}\n  b: {model: y, gpus: none, replicas: 1}\n');
    expect(c.models.map((m) => m.replicas)).toEqual([{ min: 1, max: 2, downAfterMs: 300_000 }, { min: 1, max: 1 }]);
  });

  test('bad counts and ranges, each at its line', () => {
    const issues = issuesOf(
      [
        'models:',
        '  zero: {model: x, gpus: none, replicas: 0}',
        '  half: {model: x, gpus: none, replicas: 1.5}',
        '  upside: {model: x, gpus: none, replicas: {min: 3, max: 2}}',
        '  nomax: {model: x, gpus: none, replicas: {min: 1}}',
        '  never: {model: x, gpus: none, replicas: {min: 1, max: 2, down-after: 0}}',
        '  typo: {model: x, gpus: none, replicas: {min: 1, maxi: 2}}',
      ].join('\n'),
    );
    expect(codes(issues)).toEqual([
      'invalid-value 2:42',
      'invalid-value 3:42',
      'replicas-range 4:50',
      'missing-key 5:43',
      'invalid-value 6:72',
      'missing-key 7:42',
      'unknown-key 7:51',
    ]);
    expect(issues[0]?.hint).toMatch(/min: 0/);
    expect(issues[2]?.message).toBe('model "upside": replicas min 3 is more than max 2');
    expect(issues[3]?.message).toBe('model "nomax".replicas has no "max"');
    expect(issues[6]?.hint).toBe('did you mean "max"?');
  });

  test('in defaults, a range upside down; a misspelt replicas: is taken for a typo, not a vLLM flag', () => {
    expect(codes(issuesOf('defaults:\n  replicas: {min: 2, max: 1}\nmodels:\n  a: {model: x, gpus: none}\n'))).toEqual(['replicas-range 2:19']);
    expect(codes(issuesOf('models:\n  a: {model: x, gpus: none, replica: 2}\n'))).toEqual(['unknown-option 2:29']);
  });

  test('a map that is one option of several (replicas, idle) names its missing or unknown key', () => {
    const issues = issuesOf('models:\n  a: {model: x, gpus: none, idle: {aftr: 15m}}\n');
    expect(codes(issues)).toEqual(['missing-key 2:35', 'unknown-key 2:36']);
    expect(issues[1]?.hint).toBe('did you mean "after"?');
  });

  test('min: 0 needs an idle policy (the model is put away and woken by a request)', () => {
    expect(parse('models:\n  a: {model: x, gpus: none, idle: {after: 15m}, replicas: {min: 0, max: 2}}\n').models[0]?.replicas).toEqual({ min: 0, max: 2, downAfterMs: 300_000 });
    expect(parse('defaults:\n  idle: {after: 1h, then: stop}\nmodels:\n  a: {model: x, gpus: none, replicas: {min: 0, max: 1}}\n').models).toHaveLength(1);
    const issues = issuesOf('models:\n  a:\n    model: x\n    gpus: none\n    replicas: {min: 0, max: 2}\n  b:\n    model: y\n    gpus: none\n    idle: none\n    replicas: {min: 0, max: 1}\n');
    expect(codes(issues)).toEqual(['replicas-need-idle 5:21', 'replicas-need-idle 10:21']);
    expect(issues[0]?.message).toMatch(/min 0/);
    expect(issues[0]?.hint).toMatch(/idle: \{after: 15m\}/);
    expect(issues[0]?.hint).toMatch(/min: 1/);
  });

  test('a model that scales stays on the default host (the watcher scales that host\'s models)', () => {
    const issues = issuesOf(`${HOSTS}\nmodels:\n  a: {model: x, gpus: none, host: gpu2, replicas: {min: 1, max: 2}}\n`);
    // (A model published on another host without an api-key is reported too: open-model.)
    expect(codes(issues).filter((c) => !c.startsWith('open-model'))).toEqual(['scaling-off-default-host 6:35']);
    expect(issues[0]?.hint).toMatch(/replicas: 2/);
    expect(codes(issuesOf(`${HOSTS}\nmodels:\n  a: {model: x, gpus: none, host: gpu2, replicas: 2}\n`)).filter((c) => c.startsWith('scaling'))).toEqual([]);
  });

  test('a model named like another model\'s replica container is refused at its key', () => {
    const issues = issuesOf('models:\n  qwen: {model: x, gpus: none, replicas: 3}\n  qwen-r2: {model: y, gpus: none}\n');
    expect(codes(issues)).toEqual(['replica-name-taken 3:3']);
    expect(issues[0]?.message).toMatch(/inference-qwen-r2, which replica 2 of model "qwen"/);
    expect(issues[0]?.hint).toMatch(/at most 2 replicas/);
    expect(parse('models:\n  qwen: {model: x, gpus: none, replicas: 2}\n  qwen-r2: {model: y, gpus: none}\n').models).toHaveLength(2);
  });

  test('min: 0 from defaults without an idle policy is reported at defaults, naming the model', () => {
    const issues = issuesOf('defaults:\n  replicas: {min: 0, max: 2}\nmodels:\n  a: {model: x, gpus: none}\n');
    expect(codes(issues)).toEqual(['replicas-need-idle 2:19']);
    expect(issues[0]?.message).toMatch(/model "a"/);
  });

  test('the replica count is not part of the spec hash (changing it does not recreate the replicas that run)', () => {
    const one = parse('models:\n  a: {model: x, gpus: [0]}\n').models[0];
    const three = parse('models:\n  a: {model: x, gpus: [0], gpu-memory-utilization: 0.3, replicas: 3}\n').models[0];
    const scaled = parse('models:\n  a: {model: x, gpus: [0], gpu-memory-utilization: 0.3, replicas: {min: 1, max: 3}}\n').models[0];
    // gpu-memory-utilization is a vLLM flag; compare with it set on both sides.
    const oneAt03 = parse('models:\n  a: {model: x, gpus: [0], gpu-memory-utilization: 0.3}\n').models[0];
    expect(three?.specHash).toBe(oneAt03?.specHash);
    expect(scaled?.specHash).toBe(oneAt03?.specHash);
    expect(one?.specHash).not.toBe(oneAt03?.specHash);
  });

  test('replicas with a fixed GPU list share those GPUs: each replica counts in the memory sum', () => {
    expect(parse('models:\n  a: {model: x, gpus: [0], gpu-memory-utilization: 0.3, replicas: 3}\n').models).toHaveLength(1);
    const issues = issuesOf('models:\n  a: {model: x, gpus: [0], gpu-memory-utilization: 0.4, replicas: {min: 1, max: 3}}\n');
    expect(codes(issues)).toEqual(['gpu-oversubscribed 2:52']);
    expect(issues[0]?.message).toMatch(/"a" \(3 replicas\).*a 0\.4 × 3 replicas/);
    // gpus: all: every replica on every GPU.
    expect(issuesOf('models:\n  a: {model: x, replicas: 2}\n')[0]?.message).toMatch(/every GPU/);
  });

  test('a swap group takes turns with one container per model: replicas are refused there', () => {
    const issues = issuesOf('models:\n  a: {model: x, gpus: [0], swap-group: g, replicas: 2}\n  b: {model: y, gpus: [0], swap-group: g}\n');
    expect(codes(issues)).toEqual(['replicas-swap-group 2:40']);
  });
});

describe('gpus: auto', () => {
  test('as many GPUs as vLLM uses: tensor × pipeline × data parallel size', () => {
    const c = parse(
      [
        'models:',
        '  one: {model: x, gpus: auto}',
        '  tp: {model: x, gpus: auto, tensor-parallel-size: 2}',
        '  all3: {model: x, gpus: auto, tensor-parallel-size: 2, pipeline-parallel-size: 2, data-parallel-size: 2}',
        '  flags: {model: x, gpus: auto, additional_flags: [-tp, 4]}',
      ].join('\n'),
    );
    expect(c.models.map((m) => m.gpus)).toEqual([
      { kind: 'auto', count: 1 },
      { kind: 'auto', count: 2 },
      { kind: 'auto', count: 8 },
      { kind: 'auto', count: 4 },
    ]);
  });

  test('a scalar keeps meaning a GPU index, and all / none / lists keep their meaning', () => {
    expect(parse('models:\n  a: {model: x, gpus: 2}\n').models[0]?.gpus).toEqual({ kind: 'devices', indices: [2] });
    expect(parse('models:\n  a: {model: x, gpus: all}\n').models[0]?.gpus).toEqual({ kind: 'all' });
    expect(parse('models:\n  a: {model: x, gpus: none}\n').models[0]?.gpus).toEqual({ kind: 'none' });
  });

  test('auto models are left out of the per-GPU memory sums: serve places them later', () => {
    // With fixed GPUs these three would sum to 2.7 on GPU 0.
    const c = parse('models:\n  a: {model: x, gpus: auto}\n  b: {model: y, gpus: auto}\n  c: {model: z, gpus: [0]}\n');
    expect(c.models).toHaveLength(3);
  });

  test('the spec hash does not depend on placement, only on what the model asks for', () => {
    const a = parse('models:\n  a: {model: x, gpus: auto}\n').models[0];
    const onHosts = parse(`${HOSTS}\nmodels:\n  a: {model: x, gpus: auto, host: [gpu1, gpu2], api-key: k}\n`).models[0];
    const keyed = parse('models:\n  a: {model: x, gpus: auto, api-key: k}\n').models[0];
    expect(onHosts?.specHash).toBe(keyed?.specHash);
    expect(a?.specHash).not.toBe(parse('models:\n  a: {model: x, gpus: [0]}\n').models[0]?.specHash);
  });

  test('its label round-trips', () => {
    expect(formatGpuLabel({ kind: 'auto', count: 2 })).toBe('auto:2');
    expect(parseGpuLabel('auto:2')).toEqual({ kind: 'auto', count: 2 });
  });

  test('a swap group takes turns on fixed GPUs: gpus: auto is refused there', () => {
    expect(codes(issuesOf('models:\n  a: {model: x, gpus: auto, swap-group: g}\n'))).toEqual(['auto-gpus-swap-group 2:41']);
  });
});

describe('placement hosts', () => {
  test('host: any is the default host and every host with an address; a list is those hosts, in its order', () => {
    const c = parse(
      [
        HOSTS,
        'models:',
        '  a: {model: x, gpus: auto, host: any, api-key: k}',
        '  b: {model: x, gpus: auto, host: [gpu2, gpu1], api-key: k}',
        '  c: {model: x, gpus: auto, host: gpu2, api-key: k}',
        '  d: {model: x, gpus: auto}',
        '  e: {model: x, gpus: [0]}',
      ].join('\n'),
    );
    expect(c.models.map((m) => [m.host, m.placementHosts])).toEqual([
      ['local', ['local', 'gpu1', 'gpu2']],
      ['gpu2', ['gpu2', 'gpu1']],
      ['gpu2', ['gpu2']],
      ['local', ['local']],
      ['local', undefined],
    ]);
  });

  test('several hosts need gpus: auto (a GPU list names GPUs of one host)', () => {
    const issues = issuesOf(`${HOSTS}\nmodels:\n  a: {model: x, gpus: [0], host: [gpu1, gpu2], api-key: k}\n  b: {model: x, gpus: none, host: any, api-key: k}\n`);
    expect(codes(issues)).toEqual(['placement-needs-auto-gpus 6:34', 'placement-needs-auto-gpus 7:35']);
    expect(issues[0]?.hint).toMatch(/gpus: auto/);
  });

  test('unknown hosts in a list, with "did you mean"; a host listed twice; an empty list', () => {
    const issues = issuesOf(`${HOSTS}\nmodels:\n  a: {model: x, gpus: auto, host: [gpu1, gpu3], api-key: k}\n  b: {model: x, gpus: auto, host: [gpu1, gpu1], api-key: k}\n  c: {model: x, gpus: auto, host: []}\n`);
    expect(codes(issues)).toEqual(['unknown-host 6:42', 'duplicate-host 7:42', 'invalid-value 8:35']);
    expect(issues[0]?.hint).toMatch(/gpu1|gpu2/);
  });

  test('each host of a list is checked as a model of its own there: address, api-key', () => {
    const issues = issuesOf(`${HOSTS}\nmodels:\n  a: {model: x, gpus: auto, host: [local, side]}\n  b: {model: x, gpus: auto, host: any}\n`);
    expect(codes(issues)).toEqual(['missing-address 4:3', 'open-model 7:35']);
    // One issue for the model, naming every host it would be open on.
    expect(issues[1]?.message).toMatch(/may be published on 10\.0\.0\.11 \(host gpu1\), 10\.0\.0\.12 \(host gpu2\) without an api-key/);
  });

  test('"any" is a word of host:, so no host may be named so', () => {
    expect(codes(issuesOf('hosts:\n  any: {endpoint: "ssh://root@any.lan"}\nmodels:\n  a: {model: x, gpus: none}\n'))).toEqual(['reserved-host 2:3']);
  });

  test('idle policies work on the default host only: a placement that may leave it is refused with one', () => {
    const issues = issuesOf(`${HOSTS}\nmodels:\n  a: {model: x, gpus: auto, host: any, api-key: k, idle: {after: 15m}}\n  b: {model: x, gpus: auto, host: [local], idle: {after: 15m}}\n  c: {model: x, gpus: auto, host: [local, gpu1], api-key: k, env: {VLLM_SERVER_DEV_MODE: "1"}}\n`);
    expect(codes(issues)).toEqual(['placement-off-default-host 6:35', 'placement-off-default-host 8:35']);
    expect(issues[0]?.hint).toMatch(/host: local/);
  });
});

describe('routing', () => {
  test('least-busy by default; prefix; from defaults', () => {
    const c = parse('defaults:\n  routing: prefix\nmodels:\n  a: {model: x, gpus: none}\n  b: {model: x, gpus: none, routing: least-busy}\n');
    expect(c.models.map((m) => m.routing)).toEqual(['prefix', 'least-busy']);
    expect(parse('models:\n  a: {model: x, gpus: none}\n').models[0]?.routing).toBe('least-busy');
    expect(codes(issuesOf('models:\n  a: {model: x, gpus: none, routing: round-robin}\n'))).toEqual(['invalid-type 2:38']);
  });

  test('is not part of the spec hash (it is the gateway\'s)', () => {
    expect(parse('models:\n  a: {model: x, gpus: none, routing: prefix}\n').models[0]?.specHash).toBe(parse('models:\n  a: {model: x, gpus: none}\n').models[0]?.specHash);
  });
});

describe('vllmWorldSize', () => {
  test('tensor × pipeline × data parallel size, each 1 unless given, in any spelling vLLM takes', () => {
    expect(vllmWorldSize({ vllmArgs: [] })).toBe(1);
    expect(vllmWorldSize({ vllmArgs: [], tensorParallelSize: 2 })).toBe(2);
    expect(vllmWorldSize({ vllmArgs: ['-tp', '4', '--pipeline_parallel_size', '2'] })).toBe(8);
    expect(vllmWorldSize({ vllmArgs: ['--tensor-parallel-size=2', '--data-parallel-size', '3'] })).toBe(6);
    expect(vllmWorldSize({ vllmArgs: ['-dp', '2', '-pp=3'] })).toBe(6);
    expect(vllmWorldSize({ vllmArgs: ['--tensor-parallel-size', 'x'] })).toBe(1);
  });
});
