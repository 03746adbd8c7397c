import { describe, expect, it } from 'vitest';
import { scaleDecision, scaledSpecs } from './scale.js';

const spec = (min: number, max: number, args: string[] = ['--max-num-seqs', '4'], downAfterMs = 10_000) => ({ replicas: { min, max, downAfterMs }, vllmArgs: args });
const at = 100_000;

describe('scaleDecision', () => {
  it('adds a replica once requests have waited for upAfterMs, up to max', () => {
    const now = { replicas: 1, running: 4, waiting: 3, at };
    expect(scaleDecision(spec(1, 3), { queuedSince: at - 6000 }, now, { upAfterMs: 5000 })).toBe('up');
    // Not long enough yet.
    expect(scaleDecision(spec(1, 3), { queuedSince: at - 1000 }, now, { upAfterMs: 5000 })).toBeUndefined();
    // At max already.
    expect(scaleDecision(spec(1, 3), { queuedSince: at - 6000 }, { ...now, replicas: 3 }, { upAfterMs: 5000 })).toBeUndefined();
  });

  it('takes one away after down-after without a queue, when what runs fits in one replica fewer', () => {
    const calm = { calmSince: at - 11_000 };
    expect(scaleDecision(spec(1, 3), calm, { replicas: 2, running: 3, waiting: 0, at }, { upAfterMs: 5000 })).toBe('down');
    // Five in flight do not fit in one replica of --max-num-seqs 4: it would queue at once.
    expect(scaleDecision(spec(1, 3), calm, { replicas: 2, running: 5, waiting: 0, at }, { upAfterMs: 5000 })).toBeUndefined();
    // Not calm for long enough.
    expect(scaleDecision(spec(1, 3), { calmSince: at - 9000 }, { replicas: 2, running: 0, waiting: 0, at }, { upAfterMs: 5000 })).toBeUndefined();
    // Never below min, nor below one (min 0: the idle policy puts the last one away).
    expect(scaleDecision(spec(2, 3), calm, { replicas: 2, running: 0, waiting: 0, at }, { upAfterMs: 5000 })).toBeUndefined();
    expect(scaleDecision(spec(0, 3), calm, { replicas: 1, running: 0, waiting: 0, at }, { upAfterMs: 5000 })).toBeUndefined();
  });

  it('reads --max-num-seqs in both spellings, and vLLM\'s default without it', () => {
    const calm = { calmSince: at - 11_000 };
    expect(scaleDecision(spec(1, 2, ['--max-num-seqs=8']), calm, { replicas: 2, running: 8, waiting: 0, at }, { upAfterMs: 1 })).toBe('down');
    expect(scaleDecision(spec(1, 2, []), calm, { replicas: 2, running: 200, waiting: 0, at }, { upAfterMs: 1 })).toBe('down');
  });
});

describe('scaledSpecs', () => {
  it('are the models with a range, on the default host', () => {
    const m = (key: string, min: number, max: number, host?: string) => ({ key, replicas: { min, max }, ...(host ? { host } : {}) }) as never;
    expect(scaledSpecs([m('a', 1, 1), m('b', 1, 3), m('c', 1, 3, 'local'), m('d', 1, 3, 'gpu2')]).map((s: { key: string }) => s.key)).toEqual(['b', 'c']);
  });
});
