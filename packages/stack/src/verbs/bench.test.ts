import { describe, expect, it } from 'vitest';
import type { StackContext } from '../context.js';
import { StackInputError } from '../errors.js';
import { bench } from './bench.js';

// The refusals come before anything is asked of Docker or the gateway: a context with a config suffices.
const ctx = (mode: 'managed' | 'none', keys: string[] = ['a', 'b']) =>
  ({
    config: { gateway: { mode, url: 'http://127.0.0.1:1' }, models: keys.map((key) => ({ key, servedModelName: key })) },
    signal: new AbortController().signal,
  }) as unknown as StackContext;

describe('bench refuses', () => {
  it('without a gateway', async () => {
    const error = await bench(ctx('none')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackInputError);
    expect((error as StackInputError).message).toContain('gateway mode: none');
    expect((error as StackInputError).hint).toContain('mode: managed');
  });

  it('a model the config does not have, naming those it has', async () => {
    const error = (await bench(ctx('managed'), { model: 'c' }).catch((e: unknown) => e)) as StackInputError;
    expect(error).toBeInstanceOf(StackInputError);
    expect(error.message).toBe('unknown model "c"');
    expect(error.hint).toContain('a, b');
    await expect(bench(ctx('managed', []))).rejects.toThrow(/no models/);
  });

  it('counts that are not whole numbers ≥ 1', async () => {
    await expect(bench(ctx('managed'), { requests: 0 })).rejects.toThrow(/requests must be a whole number/);
    await expect(bench(ctx('managed'), { concurrency: 1.5 })).rejects.toThrow(/concurrency must be a whole number/);
  });
});
