import { describe, expect, it } from 'vitest';
import { parseVllmLoad } from './load.js';

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
