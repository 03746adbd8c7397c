import { parseConfig } from '@inferstack/config';
import type { ModelChange, ModelContainer } from '@inferstack/docker-ops';
import { describe, expect, it } from 'vitest';
import { swapGroupOrder } from './up.js';

const config = parseConfig(
  ['models:', '  a: {model: a, gpus: [0], swap-group: g}', '  b: {model: b, gpus: [0], swap-group: g}', '  c: {model: c, gpus: [1]}', '  d: {model: d, gpus: [2], swap-group: h}'].join('\n') + '\n',
  { file: '/p/model_config/models.yaml', projectDir: '/p', settings: {} },
);
const spec = (key: string) => config.models.find((m) => m.key === key)!;
const running = { state: 'running' } as ModelContainer;

describe('swap groups in up', () => {
  it('starts the members of a group one after the other, everything else at once', () => {
    const changes: ModelChange[] = ['a', 'b', 'c', 'd'].map((key) => ({ action: 'create', key, spec: spec(key) }));
    const { together, oneByOne } = swapGroupOrder(changes);
    expect(together.map((c) => c.key)).toEqual(['c', 'd']);
    expect(oneByOne.map((c) => c.key)).toEqual(['a', 'b']);
  });

  it('starts a member after a running one of its group sleeps, and a lone member at once', () => {
    const changes: ModelChange[] = [
      { action: 'keep', key: 'a', spec: spec('a'), container: running, adopted: false } as ModelChange,
      { action: 'create', key: 'b', spec: spec('b') },
      { action: 'create', key: 'd', spec: spec('d') },
    ];
    const { together, oneByOne } = swapGroupOrder(changes);
    expect(oneByOne.map((c) => c.key)).toEqual(['b']);
    expect(together.map((c) => c.key)).toEqual(['a', 'd']);
  });
});
