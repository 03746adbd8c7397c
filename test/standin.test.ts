// The vLLM stand-in image under the real Docker daemon: it must behave like vLLM where the product
// depends on it (readiness, HTTP surface, auth, metrics, signals, argv, startup failures).
import { afterAll, describe, expect, it } from 'vitest';
import {
  containerLogs,
  containerState,
  docker,
  httpGet,
  removeContainers,
  runStandin,
  type StandinOptions,
  STANDIN_LEGACY_IMAGE,
  waitFor,
  waitForExit,
  waitForHttp,
} from './support/docker.js';

const started: string[] = [];
async function start(options: StandinOptions) {
  const c = await runStandin(options);
  started.push(c.id);
  return c;
}
afterAll(() => removeContainers(started));

const serve = (model: string, ...flags: string[]) => [model, '--port', '8000', '--host', '0.0.0.0', ...flags];

async function json(url: string, init?: RequestInit) {
  const r = await fetch(url, init);
  return { status: r.status, body: (await r.json()) as any };
}
const chat = (baseUrl: string, body: object, headers: Record<string, string> = {}) =>
  fetch(`${baseUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** The value of one sample in Prometheus text, by its full name+labels prefix. */
function sample(text: string, prefix: string): number {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no sample ${prefix}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('a stand-in that loads, serves and stops like vLLM', () => {
  let c: Awaited<ReturnType<typeof start>>;

  it('refuses connections during the loading delay and answers /health 200 after it', async () => {
    const delay = 3;
    c = await start({ name: 'main', env: { STANDIN_LOAD_DELAY: String(delay) }, args: serve('Qwen/Qwen3-0.6B', '--served-model-name', 'qwen') });
    const t0 = Date.now();
    const { answer, refused } = await waitForHttp(`${c.baseUrl}/health`, { timeoutMs: 20_000 });
    const readyAfter = (Date.now() - t0) / 1000;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('');
    expect(refused).toBeGreaterThan(5);
    expect(readyAfter).toBeGreaterThan(delay - 0.7);
    expect(readyAfter).toBeLessThan(delay + 3);

    const logs = await containerLogs(c.id);
    expect(logs).toContain("non-default args: {'model_tag': 'Qwen/Qwen3-0.6B', 'host': '0.0.0.0', 'served_model_name': ['qwen']}");
    expect(logs).toContain('Starting vLLM API server 0 on http://0.0.0.0:8000');
    expect(logs.indexOf('Available routes are:')).toBeLessThan(logs.indexOf('INFO:     Application startup complete.'));
  });

  it('lists the served name on /v1/models in vLLM’s shape', async () => {
    const { status, body } = await json(`${c.baseUrl}/v1/models`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ object: 'list', data: [{ id: 'qwen', object: 'model', owned_by: 'vllm', root: 'Qwen/Qwen3-0.6B', parent: null, max_model_len: 131072 }] });
    expect(await json(`${c.baseUrl}/version`)).toEqual({ status: 200, body: { version: '0.12.0-standin' } });
    expect((await fetch(`${c.baseUrl}/ping`, { method: 'POST' })).status).toBe(200);
  });

  it('answers chat and text completions, naming the model and echoing the prompt', async () => {
    const r = await chat(c.baseUrl, { model: 'qwen', messages: [{ role: 'user', content: 'What is 2+2?' }] });
    expect(r.status).toBe(200);
    const body = (await r.json()) as any;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'qwen', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from qwen! You said: What is 2+2?' }, finish_reason: 'stop' }] });
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);

    const text = await json(`${c.baseUrl}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'qwen', prompt: 'Once upon', max_tokens: 3 }) });
    expect(text.body.choices[0]).toMatchObject({ text: 'Hello from qwen', finish_reason: 'length' });
  });

  it('streams chat as SSE ending in data: [DONE]', async () => {
    const r = await chat(c.baseUrl, { model: 'qwen', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me' }] });
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await r.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const content = chunks.flatMap((ch) => ch.choices.map((x: any) => x.delta.content ?? '')).join('');
    expect(content).toBe('Hello from qwen! You said: stream me');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: expect.any(Number) } });
  });

  it('answers an unknown model with vLLM’s 404 error shape', async () => {
    const r = await chat(c.baseUrl, { model: 'gpt-4', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { message: 'The model `gpt-4` does not exist.', type: 'NotFoundError', param: null, code: 404 } });
  });

  it('exits 0 promptly on docker stop (SIGTERM to PID 1)', async () => {
    const t0 = Date.now();
    await docker(['stop', c.id]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await containerState(c.id)).ExitCode).toBe(0);
    const logs = await containerLogs(c.id);
    expect(logs).toContain('INFO:     Shutting down');
    expect(logs).toContain('INFO:     Finished server process [1]');
  });
});

describe('--api-key and VLLM_API_KEY', () => {
  it('guard /v1* only; /health and /metrics stay open', async () => {
    const [flag, env] = await Promise.all([
      start({ name: 'key-flag', env: { STANDIN_LOAD_DELAY: '0' }, args: serve('org/m', '--api-key', 'sekret') }),
      start({ name: 'key-env', env: { STANDIN_LOAD_DELAY: '0', VLLM_API_KEY: 'from-env' } }),
    ]);
    await Promise.all([waitForHttp(`${flag.baseUrl}/health`), waitForHttp(`${env.baseUrl}/health`)]);
    const status = async (url: string, key?: string, init: RequestInit = {}) =>
      (await fetch(url, { ...init, headers: key ? { authorization: `Bearer ${key}` } : {} })).status;

    expect(await json(`${flag.baseUrl}/v1/models`)).toEqual({ status: 401, body: { error: 'Unauthorized' } });
    expect(await status(`${flag.baseUrl}/v1/models`, 'wrong')).toBe(401);
    expect(await status(`${flag.baseUrl}/v1/chat/completions`, undefined, { method: 'POST', body: '{}' })).toBe(401);
    expect(await status(`${flag.baseUrl}/v1/models`, 'sekret')).toBe(200);
    expect(await status(`${flag.baseUrl}/health`)).toBe(200);
    expect(await status(`${flag.baseUrl}/metrics`)).toBe(200);

    expect(await status(`${env.baseUrl}/v1/models`)).toBe(401);
    expect(await status(`${env.baseUrl}/v1/models`, 'from-env')).toBe(200);
  });
});

describe('/metrics', () => {
  it('exposes vLLM’s names and labels, moved by real requests', async () => {
    const c = await start({ name: 'metrics', env: { STANDIN_LOAD_DELAY: '0', STANDIN_RESPONSE_DELAY_MS: '700' }, args: serve('org/m', '--served-model-name', 'm', '--max-num-seqs', '1') });
    await waitForHttp(`${c.baseUrl}/health`);
    const scrape = async () => (await fetch(`${c.baseUrl}/metrics`)).text();
    const L = '{engine="0",model_name="m"}';
    const before = await scrape();
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total', 'vllm:num_preemptions_total', 'vllm:time_to_first_token_seconds_count', 'vllm:e2e_request_latency_seconds_count', 'vllm:inter_token_latency_seconds_count']) {
      expect(sample(before, `${name}${L}`)).toBe(0);
    }
    expect(before).toContain('# TYPE vllm:e2e_request_latency_seconds histogram');
    expect(before).not.toContain('vllm:gpu_cache_usage_perc');

    // Two requests with --max-num-seqs 1: one runs, one waits.
    const requests = [1, 2].map((i) => chat(c.baseUrl, { messages: [{ role: 'user', content: `request ${i}` }] }).then((r) => r.json() as Promise<any>));
    const during = await waitFor('a running and a waiting request', async () => {
      const t = await scrape();
      return sample(t, `vllm:num_requests_running${L}`) === 1 && sample(t, `vllm:num_requests_waiting${L}`) === 1 ? t : undefined;
    }, { timeoutMs: 5_000, intervalMs: 50 });
    expect(sample(during, `vllm:kv_cache_usage_perc${L}`)).toBeGreaterThan(0);
    const bodies = await Promise.all(requests);

    const after = await scrape();
    const sum = (k: string) => bodies.reduce((n, b) => n + b.usage[k], 0);
    expect(sample(after, `vllm:prompt_tokens_total${L}`)).toBe(sum('prompt_tokens'));
    expect(sample(after, `vllm:generation_tokens_total${L}`)).toBe(sum('completion_tokens'));
    expect(sample(after, 'vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"}')).toBe(2);
    expect(sample(after, `vllm:e2e_request_latency_seconds_count${L}`)).toBe(2);
    expect(sample(after, `vllm:time_to_first_token_seconds_count${L}`)).toBe(2);
    // The waiting request's first token came after the first request's whole run.
    expect(sample(after, `vllm:time_to_first_token_seconds_sum${L}`)).toBeGreaterThan(0.7 + 1.3);
    expect(sample(after, `vllm:inter_token_latency_seconds_count${L}`)).toBe(sum('completion_tokens') - 2);
    expect(sample(after, `vllm:num_requests_running${L}`)).toBe(0);
  });

  it('adds the pre-0.12 vllm:gpu_cache_usage_perc only with STANDIN_OLD_METRICS=1', async () => {
    const c = await start({ name: 'old-metrics', env: { STANDIN_LOAD_DELAY: '0', STANDIN_OLD_METRICS: '1' }, args: serve('org/m') });
    await waitForHttp(`${c.baseUrl}/health`);
    const text = await (await fetch(`${c.baseUrl}/metrics`)).text();
    expect(text).toContain('vllm:gpu_cache_usage_perc{engine="0",model_name="org/m"} 0.0');
    expect(text).toContain('vllm:kv_cache_usage_perc{engine="0",model_name="org/m"} 0.0');
  });
});

describe('the curl healthcheck, as in the real image', () => {
  it('fails with curl’s exit 7 while loading, turns healthy after, exits 22 on HTTP errors', async () => {
    const c = await start({
      name: 'healthcheck',
      env: { STANDIN_LOAD_DELAY: '2' },
      publish: false,
      runFlags: ['--health-cmd', 'curl -fsS http://localhost:8000/health || exit 1', '--health-interval', '500ms', '--health-retries', '100'],
    });
    const early = await docker(['exec', c.id, 'curl', '-fsS', 'http://localhost:8000/health'], { allowFail: true });
    expect(early.code).toBe(7);
    expect(early.stderr).toMatch(/^curl: \(7\) Failed to connect to localhost port 8000 after \d+ ms: Couldn't connect to server/);
    expect((await containerState(c.id)).Health?.Status).toBe('starting');

    await waitFor('healthy', async () => (await containerState(c.id)).Health?.Status === 'healthy', { timeoutMs: 15_000, intervalMs: 200 });
    expect((await docker(['exec', c.id, 'curl', '-fsS', 'localhost:8000/health'])).code).toBe(0);
    const missing = await docker(['exec', c.id, 'curl', '-fsS', 'http://localhost:8000/nope'], { allowFail: true });
    expect(missing.code).toBe(22);
    expect(missing.stderr.trim()).toBe('curl: (22) The requested URL returned error: 404');
  });
});

describe('argv in both entrypoint styles', () => {
  it('legacy entrypoint: rejects a positional model (exit 2), serves --model', async () => {
    const [positional, flag] = await Promise.all([
      start({ name: 'legacy-positional', image: STANDIN_LEGACY_IMAGE, publish: false, args: ['Qwen/Qwen3-0.6B', '--port', '8000'] }),
      start({ name: 'legacy-model', image: STANDIN_LEGACY_IMAGE, env: { STANDIN_LOAD_DELAY: '0' }, args: ['--model', 'org/legacy', '--served-model-name', 'old', '--port', '8000'] }),
    ]);
    expect(await waitForExit(positional.id)).toBe(2);
    const logs = await containerLogs(positional.id);
    expect(logs).toMatch(/^usage: api_server\.py \[-h\]/);
    expect(logs).toContain('api_server.py: error: unrecognized arguments: Qwen/Qwen3-0.6B');

    await waitForHttp(`${flag.baseUrl}/health`);
    expect((await json(`${flag.baseUrl}/v1/models`)).body.data[0]).toMatchObject({ id: 'old', root: 'org/legacy' });
  });

  it('vllm serve: --model works with the deprecation warning; an unknown flag exits 2', async () => {
    const [deprecated, unknown] = await Promise.all([
      start({ name: 'serve-model-flag', env: { STANDIN_LOAD_DELAY: '0' }, args: ['--model', 'org/flagged', '--port', '8000'] }),
      start({ name: 'serve-unknown', publish: false, args: serve('org/m', '--frobnicate', '3') }),
    ]);
    expect(await waitForExit(unknown.id)).toBe(2);
    expect(await containerLogs(unknown.id)).toBe('usage: vllm serve [model_tag] [options]\nvllm serve: error: unrecognized arguments: --frobnicate 3\n');

    await waitForHttp(`${deprecated.baseUrl}/health`);
    expect((await json(`${deprecated.baseUrl}/v1/models`)).body.data[0].id).toBe('org/flagged');
    expect(await containerLogs(deprecated.id)).toContain('With `vllm serve`, you should provide the model as a positional argument');
  });
});

describe.concurrent('startup failures print vLLM’s text and exit 1', () => {
  const WRAPPER = 'RuntimeError: Engine core initialization failed. See root cause above.';
  const cases: Array<{ what: string; args?: string[]; env?: Record<string, string>; text: RegExp; wrapped: boolean }> = [
    { what: 'kv-cache', env: { STANDIN_FAIL: 'kv-cache' }, text: /KV cache is needed, which is larger than the available KV cache memory .*the estimated maximum model length is \d+\./, wrapped: true },
    { what: 'kv-cache (natural: small KV cache)', args: serve('org/m', '--max-model-len', '16384'), env: { STANDIN_KV_CACHE_TOKENS: '8000' }, text: /the estimated maximum model length is 8000\./, wrapped: true },
    { what: 'free-memory', args: serve('org/m', '--gpu-memory-utilization', '0.9'), env: { STANDIN_GPU_MEMORY_GIB: '23.55', STANDIN_GPU_FREE_GIB: '12.18' }, text: /Free memory on device cuda:0 \(12\.18\/23\.55 GiB\) on startup is less than desired GPU memory utilization \(0\.9, 21\.2 GiB\)/, wrapped: true },
    { what: 'cuda-oom', env: { STANDIN_FAIL: 'cuda-oom' }, text: /torch\.OutOfMemoryError: CUDA out of memory\. Tried to allocate/, wrapped: true },
    { what: 'gated (natural: no HF_TOKEN)', args: serve('meta-llama/gated-model-8b'), text: /GatedRepoError: 401 Client Error[\s\S]*Cannot access gated repo for url https:\/\/huggingface\.co\/meta-llama\/gated-model-8b/, wrapped: false },
    { what: 'tp-gpu-count (natural: -tp 2 on one GPU)', args: serve('org/m', '--tensor-parallel-size', '2'), text: /please set tensor_parallel_size \(2\) to less than max local gpu count \(1\)/, wrapped: true },
    { what: 'max-model-len (natural)', args: serve('org/m', '--max-model-len', '1M'), text: /User-specified max_model_len \(1048576\) is greater than the derived max_model_len/, wrapped: false },
    { what: 'no-device (natural: no GPU)', env: { STANDIN_GPU_COUNT: '0' }, text: /Failed to infer device type/, wrapped: false },
    { what: 'shm', env: { STANDIN_FAIL: 'shm' }, text: /ncclSystemError[\s\S]*Error while creating shared memory segment \/dev\/shm\/nccl-/, wrapped: true },
  ];
  it.each(cases.map((c, i) => ({ ...c, i })))('$what', async ({ i, args, env, text, wrapped }) => {
    const c = await start({ name: `fail-${i}`, publish: false, args, env: { STANDIN_LOAD_DELAY: '1', ...env } });
    expect(await waitForExit(c.id, 20_000)).toBe(1);
    const logs = await containerLogs(c.id);
    expect(logs).toMatch(text);
    expect(logs.includes(WRAPPER)).toBe(wrapped);
    expect(logs).not.toContain('Application startup complete.');
  });
});

describe('hang and crash-after-ready', () => {
  it('hang: never listens and never exits, but stops promptly', async () => {
    const c = await start({ name: 'hang', env: { STANDIN_LOAD_DELAY: '0.5', STANDIN_FAIL: 'hang' } });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await containerState(c.id)).Running).toBe(true);
    await expect(httpGet(`${c.baseUrl}/health`, { timeoutMs: 2000 })).rejects.toThrow();
    const t0 = Date.now();
    await docker(['stop', c.id]);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('crash-after-ready: serves, answers /health 503 once the engine is dead, exits 1', async () => {
    const c = await start({ name: 'crash', env: { STANDIN_LOAD_DELAY: '0', STANDIN_FAIL: 'crash-after-ready', STANDIN_CRASH_AFTER: '1.5' } });
    await waitForHttp(`${c.baseUrl}/health`);
    const seen = new Set<number | string>();
    await waitFor('exit', async () => {
      try {
        seen.add((await httpGet(`${c.baseUrl}/health`, { timeoutMs: 1000 })).status);
      } catch {
        seen.add('refused');
      }
      return !(await containerState(c.id)).Running;
    }, { timeoutMs: 10_000, intervalMs: 50 });
    expect(await waitForExit(c.id)).toBe(1);
    expect(seen).toContain(200);
    expect(seen).toContain(503);
    expect(await containerLogs(c.id)).toContain('EngineDeadError: EngineCore encountered an issue.');
  });
});
