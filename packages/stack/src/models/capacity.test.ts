import { describe, expect, it } from 'vitest';
import { StackInputError } from '../errors.js';
import { requireCapacitySupport } from './capacity.js';

const model = (over: Record<string, unknown>) => ({
  key: 'a',
  routing: 'least-busy',
  gpus: { kind: 'none' },
  replicas: { min: 1, max: 1 },
  source: { file: 'models.yaml', line: 7, column: 5 },
  ...over,
});
const config = (models: unknown[], watcher = 'managed') => ({ models, watcher: { mode: watcher } }) as never;
const wake = { env: {}, hasWatcherProgram: true };
const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StackInputError);
    return error as StackInputError;
  }
  throw new Error('expected a refusal');
};

describe('requireCapacitySupport', () => {
  it('lets fixed and scaling replicas through', () => {
    expect(() => requireCapacitySupport(config([model({ replicas: { min: 3, max: 3 } }), model({ key: 'b', replicas: { min: 1, max: 4 } })]), wake)).not.toThrow();
  });

  it('refuses what serve does not carry out yet, at the model\'s line, with what to write instead', () => {
    // routing: prefix is carried out by the gateway plugin.
    expect(() => requireCapacitySupport(config([model({ routing: 'prefix', replicas: { min: 2, max: 2 } })]), wake)).not.toThrow();
    const auto = refusal(() => requireCapacitySupport(config([model({ gpus: { kind: 'auto', count: 2 }, replicas: { min: 1, max: 2 } })]), wake));
    expect(auto.message).toMatch(/^models\.yaml:7: model a has gpus: auto and scales/);
    expect(refusal(() => requireCapacitySupport(config([model({ gpus: { kind: 'auto', count: 2 }, replicas: { min: 1, max: 2 } })]), wake)).hint).toMatch(/replicas: 2/);
    // A fixed count: serve up places each replica on free GPUs of its host, or of its hosts.
    expect(() => requireCapacitySupport(config([model({ gpus: { kind: 'auto', count: 2 }, replicas: { min: 3, max: 3 } })]), wake)).not.toThrow();
    expect(() => requireCapacitySupport(config([model({ gpus: { kind: 'auto', count: 2 }, replicas: { min: 2, max: 2 }, host: 'gpu2' })]), wake)).not.toThrow();
    expect(() => requireCapacitySupport(config([model({ gpus: { kind: 'auto', count: 1 }, replicas: { min: 3, max: 3 }, placementHosts: ['local', 'gpu2'] })]), wake)).not.toThrow();
    expect(refusal(() => requireCapacitySupport(config([model({ idle: { afterMs: 60_000, then: 'sleep' }, replicas: { min: 2, max: 2 } })]), wake)).hint).toMatch(/min: 0, max: 2/);
    expect(() => requireCapacitySupport(config([model({ idle: { afterMs: 60_000, then: 'sleep' }, replicas: { min: 0, max: 2 } })]), wake)).not.toThrow();
    // gpus: auto with one replica: Docker gives it the first GPUs it asks for, as Compose does.
    expect(() => requireCapacitySupport(config([model({ gpus: { kind: 'auto', count: 2 } })]), wake)).not.toThrow();
  });

  it('a scaling model needs a watcher that can run, unless the user runs one (watcher: none)', () => {
    const scaling = [model({ replicas: { min: 1, max: 2 } })];
    expect(refusal(() => requireCapacitySupport(config(scaling), { env: {}, hasWatcherProgram: false })).hint).toMatch(/watcherProgram/);
    expect(refusal(() => requireCapacitySupport(config(scaling), { env: { DOCKER_HOST: 'tcp://10.0.0.2:2376' }, hasWatcherProgram: true })).hint).toMatch(/replicas: 2/);
    expect(() => requireCapacitySupport(config(scaling, 'none'), { env: { DOCKER_HOST: 'tcp://10.0.0.2:2376' }, hasWatcherProgram: false })).not.toThrow();
  });
});
