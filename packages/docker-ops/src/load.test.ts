import { createServer, type Server } from 'node:http';
import { VLLM_CONTAINER_PORT } from '@inferstack/config';
import { afterEach, describe, expect, it } from 'vitest';
import type { DockerClient } from './client.js';
import type { ModelContainer } from './containers.js';
import { parseVllmLoad, waitUntilDrained } from './load.js';

describe('parseVllmLoad', () => {
  it('reads running, waiting and KV-cache use, preferring the new metric name', () => {
    const text = [
      '# HELP vllm:num_requests_running Number of requests in model execution batches.',
      '# TYPE vllm:num_requests_running gauge',
      'vllm:num_requests_running{engine="0",model_name="m"} 3.0',
      'vllm:num_requests_waiting{engine="0",model_name="m"} 1.0',
      'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25',
      'vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.9',
      'vllm:num_requests_running_total 99',
    ].join('\n');
    expect(parseVllmLoad(text)).toEqual({ running: 3, waiting: 1, kvCacheUsage: 0.25 });
  });

  it('falls back to the name vLLM used before 0.12', () => {
    expect(parseVllmLoad('vllm:num_requests_running{model_name="m"} 0\nvllm:gpu_cache_usage_perc{model_name="m"} 0.5\n')).toEqual({ running: 0, waiting: 0, kvCacheUsage: 0.5 });
  });

  it('says nothing for text that is not vLLM metrics', () => {
    expect(parseVllmLoad('up 1\n')).toBeUndefined();
  });

  it('reads the finished-request counter and which sleep state is 1', () => {
    const text = [
      'vllm:num_requests_running{engine="0",model_name="m"} 0.0',
      'vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 4.0',
      'vllm:request_success_total{engine="0",finished_reason="length",model_name="m"} 2.0',
      'vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="awake"} 0.0',
      'vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="weights_offloaded"} 1.0',
      'vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="discard_all"} 0.0',
    ].join('\n');
    expect(parseVllmLoad(text)).toEqual({ running: 0, waiting: 0, finished: 6, sleepState: 'weights_offloaded' });
  });
});

describe('waitUntilDrained', () => {
  // A model's /metrics on a loopback address of its own (vLLM's port), reached as from the local daemon.
  const at = (address: string) => ({ id: 'c0ffee', addresses: { net: address } }) as unknown as ModelContainer;
  const reach = { network: 'net', local: true };
  const noDocker = {} as DockerClient;
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });
  /** Answers /metrics with `answers[i]` (null: never answers) at its i-th look, the last one from then on. */
  async function model(address: string, answers: Array<string | null>): Promise<{ looks: () => number }> {
    let looks = 0;
    server = createServer((_req, res) => {
      const answer = answers[Math.min(looks++, answers.length - 1)];
      if (answer !== null) res.end(answer);
    });
    await new Promise<void>((r) => server!.listen(VLLM_CONTAINER_PORT, address, r));
    return { looks: () => looks };
  }
  const idle = 'vllm:num_requests_running{model_name="m"} 0.0\nvllm:num_requests_waiting{model_name="m"} 0.0\n';

  it('takes a model too busy to answer in time for busy, and looks again', async () => {
    const m = await model('127.0.0.2', [null, idle]);
    const r = await waitUntilDrained(noDocker, at('127.0.0.2'), { ...reach, timeoutMs: 10_000, intervalMs: 10 });
    expect(r).toMatchObject({ drained: true, inFlight: 0 });
    expect(m.looks()).toBe(2);
  });

  // Its first look may go out on the connection the previous test's model kept alive and has
  // closed since (that reset once made it drained at once): a reset is not a model gone.
  it('is not drained when the model never answers within the drain time', async () => {
    await model('127.0.0.2', [null]);
    const r = await waitUntilDrained(noDocker, at('127.0.0.2'), { ...reach, timeoutMs: 2500, intervalMs: 10 });
    expect(r.drained).toBe(false);
    expect(r.inFlight).toBeUndefined();
  });

  // A wake that evicts a busy peer drains it until a second before its own deadline: a last
  // look that waited its usual 2 s would let the wake time out instead of saying why.
  it('ends by the drain time, its last look cut short to it (but given a second)', async () => {
    await model('127.0.0.2', [null]);
    const r = await waitUntilDrained(noDocker, at('127.0.0.2'), { ...reach, timeoutMs: 1000, intervalMs: 10 });
    expect(r.drained).toBe(false);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(r.elapsedMs).toBeLessThan(1900);
  });

  it('counts a model that is not there, or not vLLM, as drained at once', async () => {
    const gone = await waitUntilDrained(noDocker, at('127.0.0.3'), { ...reach, timeoutMs: 10_000 });
    expect(gone).toMatchObject({ drained: true });
    expect(gone.elapsedMs).toBeLessThan(1500);
    await model('127.0.0.2', ['up 1\n']);
    expect((await waitUntilDrained(noDocker, at('127.0.0.2'), { ...reach, timeoutMs: 10_000 })).drained).toBe(true);
  });
});
