import { describe, expect, it } from 'vitest';
import { fakeContainer, fakeSpec } from './_fixtures.js';
import { changedFieldsOfObserved, gpusOverlap, nameConflicts, planHasChanges, planModels } from './plan.js';
import { containersOfStack } from './containers.js';
import { modelLabels } from './labels.js';
import { startOrder } from './apply.js';

const summary = (changes: ReturnType<typeof planModels>) => changes.map((c) => `${c.action}:${c.key}`);

describe('planModels', () => {
  it('creates what is missing and keeps what runs unchanged', () => {
    const a = fakeSpec('a');
    const b = fakeSpec('b');
    const changes = planModels([a, b], [fakeContainer(a)]);
    expect(summary(changes)).toEqual(['keep:a', 'create:b']);
    expect(planHasChanges(changes)).toBe(true);
    expect(planHasChanges(planModels([a], [fakeContainer(a)]))).toBe(false);
  });

  it('recreates only the model whose spec changed, naming the fields', () => {
    const a = fakeSpec('a');
    const b = fakeSpec('b');
    const b2 = fakeSpec('b', { vllmArgs: ['--max-model-len', '8192'] });
    const changes = planModels([a, b2], [fakeContainer(a), fakeContainer(b)]);
    expect(summary(changes)).toEqual(['keep:a', 'recreate:b']);
    const recreate = changes[1];
    expect(recreate?.action === 'recreate' && recreate.changed).toEqual(['args']);
  });

  it('reports several changed fields', () => {
    const a = fakeSpec('a');
    const a2 = fakeSpec('a', { image: 'vllm/vllm-openai:v0.13.0', gpus: { kind: 'devices', indices: [1] } });
    const [change] = planModels([a2], [fakeContainer(a)]);
    expect(change?.action === 'recreate' && change.changed).toEqual(['image', 'gpus']);
  });

  it('says "secrets" when only the keyed hash differs', () => {
    const a = fakeSpec('a');
    const a2 = { ...a, specHash: 'different' };
    const [change] = planModels([a2], [fakeContainer(a)]);
    expect(change?.action === 'recreate' && change.changed).toEqual(['secrets']);
  });

  it('starts a stopped unchanged container instead of recreating it', () => {
    const a = fakeSpec('a');
    expect(summary(planModels([a], [fakeContainer(a, { state: 'exited', status: 'Exited (0) 1 minute ago' })]))).toEqual(['start:a']);
    expect(summary(planModels([a], [fakeContainer(a, { state: 'created', status: 'Created' })]))).toEqual(['start:a']);
  });

  it('recreates crash-looping and unhealthy containers', () => {
    const a = fakeSpec('a');
    const [r1] = planModels([a], [fakeContainer(a, { state: 'restarting', status: 'Restarting (1) 2 seconds ago' })]);
    expect(r1?.action === 'recreate' && r1.reason).toBe('crashed');
    const [r2] = planModels([a], [fakeContainer(a, { status: 'Up 3 minutes (unhealthy)' })]);
    expect(r2?.action === 'recreate' && r2.reason).toBe('unhealthy');
  });

  it('removes models no longer configured only when serving all', () => {
    const a = fakeSpec('a');
    const gone = fakeSpec('gone');
    const actual = [fakeContainer(a), fakeContainer(gone)];
    expect(summary(planModels([a], actual))).toEqual(['keep:a']);
    expect(summary(planModels([a], actual, { removeOrphans: true }))).toEqual(['keep:a', 'remove:gone']);
  });

  it('removes duplicate containers of one model, keeping the one with our name', () => {
    const a = fakeSpec('a');
    const dup = fakeContainer(a, { name: 'inference-a-old', id: 'dup' });
    const changes = planModels([a], [dup, fakeContainer(a)]);
    expect(summary(changes)).toEqual(['remove:a', 'keep:a']);
    expect(changes[0]?.action === 'remove' && changes[0].container.id).toBe('dup');
  });

  it('adopts a container made by the reference tool (no spec hash) and keeps it', () => {
    const a = fakeSpec('a');
    const old = fakeContainer(a, { labels: { 'inference.managed': 'true', 'inference.model': 'a' } });
    const [change] = planModels([a], [old]);
    expect(change).toMatchObject({ action: 'keep', adopted: true });
    expect(summary(planModels([a], [old], { forceRecreate: true }))).toEqual(['recreate:a']);
  });

  it("shows an old-tool container's real drift (image, args, gpus...) from what it runs, and recreates it", () => {
    const a = fakeSpec('a');
    const old = fakeContainer(a, { labels: { 'inference.managed': 'true', 'inference.model': 'a' } });
    const runs = { image: a.image, cmd: ['org/a', '--port', '8000', '--host', '0.0.0.0', '--max-model-len', '4096'], gpus: '0', binds: ['/data/hf:/root/.cache/huggingface:rw'] };
    // What it runs is what the config says: adopted and kept.
    expect(planModels([a], [{ ...old, observed: runs }])[0]).toMatchObject({ action: 'keep', adopted: true });
    // Another image and other flags: recreated, naming them.
    const drifted = { ...runs, image: 'vllm/vllm-openai:v0.10.0', cmd: ['org/a', '--port', '8000', '--host', '0.0.0.0', '--max-model-len', '8192'] };
    const [change] = planModels([a], [{ ...old, observed: drifted }]);
    expect(change).toMatchObject({ action: 'recreate', reason: 'changed', changed: ['image', 'args'] });
    expect(planHasChanges([change!])).toBe(true);
    // The api_server entrypoint's --model form is the same model.
    expect(changedFieldsOfObserved(a, { ...runs, cmd: ['--model', 'org/a', '--max-model-len', '4096'], gpus: 'all' })).toEqual(['gpus']);
  });

  it('recreates a container that is not on the stack network (the gateway could not reach it)', () => {
    const a = fakeSpec('a');
    const [change] = planModels([a], [fakeContainer(a)], { network: 'inference_b' });
    expect(change).toMatchObject({ action: 'recreate', changed: ['network'] });
    expect(planModels([a], [{ ...fakeContainer(a), networks: ['inference_b'] }], { network: 'inference_b' })[0]?.action).toBe('keep');
  });

  it('recreates everything on --force-recreate', () => {
    const a = fakeSpec('a');
    const b = fakeSpec('b');
    expect(summary(planModels([a, b], [fakeContainer(a), fakeContainer(b)], { forceRecreate: true }))).toEqual(['recreate:a', 'recreate:b']);
  });
});

describe('GPU ordering', () => {
  it('knows which selections overlap', () => {
    expect(gpusOverlap({ kind: 'devices', indices: [0, 1] }, { kind: 'devices', indices: [1] })).toBe(true);
    expect(gpusOverlap({ kind: 'devices', indices: [0] }, { kind: 'devices', indices: [1] })).toBe(false);
    expect(gpusOverlap({ kind: 'all' }, { kind: 'devices', indices: [3] })).toBe(true);
    expect(gpusOverlap({ kind: 'none' }, { kind: 'all' })).toBe(false);
    // Not placed yet: it may land on any GPU.
    expect(gpusOverlap({ kind: 'auto', count: 1 }, { kind: 'devices', indices: [3] })).toBe(true);
    expect(gpusOverlap({ kind: 'none' }, { kind: 'auto', count: 1 })).toBe(false);
  });

  it('makes models on a shared GPU wait for earlier ones, and lets disjoint ones run together', () => {
    const order = startOrder([
      { key: 'a', gpus: { kind: 'devices', indices: [0] } },
      { key: 'b', gpus: { kind: 'devices', indices: [1] } },
      { key: 'c', gpus: { kind: 'devices', indices: [0, 1] } },
      { key: 'd', gpus: { kind: 'none' } },
      { key: 'e', gpus: { kind: 'all' } },
    ]);
    expect(Object.fromEntries(order)).toEqual({ a: [], b: [], c: ['a', 'b'], d: [], e: ['a', 'b', 'c'] });
  });
});

describe('planModels on one of several hosts', () => {
  const published = (address: string, port = 32768) => [{ IP: address, PrivatePort: 8000, PublicPort: port, Type: 'tcp' }];

  it('reads where vLLM\'s port is published, and keeps a model published on the host\'s address', () => {
    const a = fakeSpec('a');
    const container = fakeContainer(a, { ports: published('10.0.0.2', 32801) });
    expect(container.published).toEqual({ address: '10.0.0.2', port: 32801 });
    expect(summary(planModels([a], [container], { publishOn: '10.0.0.2' }))).toEqual(['keep:a']);
  });

  it('recreates a model published on another address, or not at all ("address" changed)', () => {
    const a = fakeSpec('a');
    for (const container of [fakeContainer(a, { ports: published('10.0.0.9') }), fakeContainer(a)]) {
      const [change] = planModels([a], [container], { publishOn: '10.0.0.2' });
      expect(change?.action === 'recreate' && change.changed).toEqual(['address']);
    }
    // On the gateway's host nothing is published, and nothing is expected.
    expect(summary(planModels([a], [fakeContainer(a)]))).toEqual(['keep:a']);
  });

  it('removes the container of a model the config moved to another host, also when not serving all', () => {
    const a = fakeSpec('a');
    const moved = fakeSpec('moved');
    const changes = planModels([a], [fakeContainer(a), fakeContainer(moved)], { elsewhere: new Set(['moved']) });
    expect(summary(changes)).toEqual(['keep:a', 'remove:moved']);
    expect(changes[1]?.action === 'remove' && changes[1].reason).toBe('other-host');
  });
});

describe('nameConflicts', () => {
  const shared = fakeSpec('shared');
  const mineLabels = { ...modelLabels(shared), 'inferstack.stack': 'two' };
  const theirs = (over: Parameters<typeof fakeContainer>[1] = {}) => fakeContainer(shared, { id: 'aaaaaaaaaaaa-one', labels: { ...modelLabels(shared), 'inferstack.stack': 'one' }, ...over });
  const plan = (models: ReturnType<typeof fakeContainer>[], others: Array<{ id: string; name: string; image: string; labels: Record<string, string> }> = [], claims = new Map<string, string>()) => {
    const own = containersOfStack(models, { name: 'two', network: 'inference_default', keys: [shared.key], claims });
    return nameConflicts([shared], own, { models, others, claims }).map((c) => `${c.name} ${c.stack ?? '-'} ${c.model ? 'model' : 'other'}`);
  };

  it("finds another stack's model of the same key, under the model's name and under its replacement's", () => {
    expect(plan([theirs()])).toEqual(['inference-shared one model']);
    expect(plan([theirs({ name: 'inference-shared-next' })])).toEqual(['inference-shared-next one model']);
  });

  it("finds a container of the old tool that another stack adopted, and any container that is not serve's", () => {
    const adopted = fakeContainer(shared, { id: 'bbbbbbbbbbbb-old' });
    expect(plan([adopted], [], new Map([['bbbbbbbbbbbb', 'one']]))).toEqual(['inference-shared one model']);
    expect(plan([], [{ id: 'cccccccccccc', name: 'inference-shared', image: 'nginx', labels: {} }])).toEqual(['inference-shared - other']);
  });

  it("is silent about the stack's own containers, one of the old tool it may adopt, and other names", () => {
    expect(plan([fakeContainer(shared, { labels: mineLabels }), fakeContainer(shared, { id: 'next', name: 'inference-shared-next', labels: mineLabels })])).toEqual([]);
    expect(plan([fakeContainer(shared, { id: 'dddddddddddd-old' })])).toEqual([]);
    expect(plan([theirs({ name: 'inference-other' })], [{ id: 'e', name: 'gateway', image: 'litellm', labels: {} }])).toEqual([]);
  });
});
