// The vLLM stand-in image under the real Docker daemon: it must behave like vLLM where the product
// depends on it (readiness, HTTP surface, auth, metrics, signals, argv, startup failures).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerLogStreams,
  containerLogs,
  containerState,
  docker,
  httpGet,
  removeContainers,
  runStandin,
  sessionLabel,
  type StandinOptions,
  STANDIN_LEGACY_IMAGE,
  waitFor,
  waitForExit,
  testSession,
  waitForHttp,
} from './support/docker.js';

// The containers sit on a network of their own (labelled with the session), not on Docker's
// default bridge: nothing here needs it, and a shared daemon's default bridge may be unusable.
let network = '';
beforeAll(async () => {
  network = `inferstack-test-${testSession()}-standin`;
  await docker(['network', 'create', '--label', sessionLabel(), network]);
});
const started: string[] = [];
async function start(options: StandinOptions) {
  const c = await runStandin({ network, ...options });
  started.push(c.id);
  return c;
}
afterAll(async () => {
  await removeContainers(started);
  if (network) await docker(['network', 'rm', network], { allowFail: true });
});

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

    const { stdout, stderr } = await containerLogStreams(c.id);
    const logs = stdout + stderr;
    expect(logs).toContain("non-default args: {'model_tag': 'Qwen/Qwen3-0.6B', 'host': '0.0.0.0', 'served_model_name': ['qwen']}");
    expect(logs).toContain('Starting vLLM API server 0 on http://0.0.0.0:8000');
    // vLLM logs the routes to stdout and uvicorn's lines go to stderr: each stream keeps its order.
    const inOrder = (text: string, lines: string[]) => {
      for (const l of lines) expect(text).toContain(l);
      const at = lines.map((l) => text.indexOf(l));
      expect(at).toEqual([...at].sort((a, b) => a - b));
    };
    inOrder(stdout, ['Starting vLLM API server 0', 'Available routes are:', 'Route: /health, Methods: GET']);
    inOrder(stderr, ['INFO:     Started server process', 'INFO:     Waiting for application startup.', 'INFO:     Application startup complete.']);
    expect(stderr).not.toContain('Available routes are:');
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
    expect(logs).toContain('Shutting down FastAPI HTTP server.');
    expect(logs).toContain('INFO:     Shutting down');
    expect(logs).toContain('INFO:     Application shutdown complete.');
    // vLLM cancels uvicorn's serve task on a signal: its last line is never reached.
    expect(logs).not.toContain('Finished server process');
    expect(logs).not.toContain('Waiting for connections to close.');
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

/** A streaming request read in the background: its SSE events as they come, and a way to leave. */
function openStream(baseUrl: string, body: object) {
  const controller = new AbortController();
  const events: string[] = [];
  const state = { status: 0, done: false, error: undefined as unknown };
  const finished = (async () => {
    try {
      const r = await fetch(`${baseUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }), signal: controller.signal });
      state.status = r.status;
      const reader = r.body!.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        const parts = buf.split('\n\n');
        buf = parts.pop()!;
        events.push(...parts.filter(Boolean));
      }
      state.done = true;
    } catch (e) {
      state.error = e;
    }
  })();
  return { events, state, finished, abort: () => controller.abort() };
}
const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
const post = (url: string, body?: object) =>
  fetch(url, { method: 'POST', ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
const RUNNING = 'vllm:num_requests_running{engine="0",model_name="m"}';

describe('requests that take time', () => {
  it('counts in-flight streaming and non-streaming requests in vllm:num_requests_running exactly while they run', async () => {
    const c = await start({ name: 'slow', env: { STANDIN_LOAD_DELAY: '0', STANDIN_TOKEN_DELAY_MS: '50' }, args: serve('org/m', '--served-model-name', 'm') });
    await waitForHttp(`${c.baseUrl}/health`);
    const running = async () => sample(await (await fetch(`${c.baseUrl}/metrics`)).text(), RUNNING);
    expect(await running()).toBe(0);

    // One long request (ignore_eos: 60 tokens, about 3 s) among short ones.
    const t0 = Date.now();
    const long = openStream(c.baseUrl, { prompt: 'long', max_tokens: 60, ignore_eos: true });
    await waitFor('the first chunks', () => long.events.length >= 3, { timeoutMs: 10_000, intervalMs: 20 });
    expect(await running()).toBe(1);
    const short = json(`${c.baseUrl}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'short' }) });
    await waitFor('two running', async () => (await running()) === 2, { timeoutMs: 5_000, intervalMs: 20 });
    const shortBody = await short;
    expect(shortBody.body.choices[0]).toMatchObject({ text: 'Hello from m! You said: short', finish_reason: 'stop' });
    expect(await running()).toBe(1);
    expect(long.state.done).toBe(false);

    await long.finished;
    expect(Date.now() - t0).toBeGreaterThan(59 * 50);
    expect(long.events.at(-1)).toBe('data: [DONE]');
    const chunks = long.events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks).toHaveLength(60);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
    expect(await running()).toBe(0);
  });
});

describe('SIGTERM with a request in flight (vLLM 0.11-0.13)', () => {
  it('stops listening and sending tokens, waits for the client to leave, then exits 0; docker stop ends it with SIGKILL', async () => {
    const env = { STANDIN_LOAD_DELAY: '0', STANDIN_TOKEN_DELAY_MS: '100' };
    const [a, b] = await Promise.all([
      start({ name: 'term-client-leaves', env, args: serve('org/m', '--served-model-name', 'm') }),
      start({ name: 'term-docker-stop', env, args: serve('org/m', '--served-model-name', 'm') }),
    ]);
    await Promise.all([waitForHttp(`${a.baseUrl}/health`), waitForHttp(`${b.baseUrl}/health`)]);
    const body = { prompt: 'drain me', max_tokens: 300, ignore_eos: true };
    const sa = openStream(a.baseUrl, body);
    const sb = openStream(b.baseUrl, body);
    await waitFor('streams under way', () => sa.events.length >= 3 && sb.events.length >= 3, { timeoutMs: 10_000, intervalMs: 20 });

    // a: SIGTERM, then the client gives up.
    await docker(['kill', '--signal', 'TERM', a.id]);
    await sleepMs(300);
    const atTerm = sa.events.length;
    await sleepMs(1500);
    expect((await containerState(a.id)).Running).toBe(true);
    expect(sa.events.length).toBe(atTerm); // no token after the engine shut down
    expect(sa.state.done).toBe(false);
    await expect(httpGet(`${a.baseUrl}/health`, { timeoutMs: 1500 })).rejects.toThrow(); // not listening
    let logs = await containerLogs(a.id);
    expect(logs).toContain('Shutting down FastAPI HTTP server.');
    expect(logs).toContain('INFO:     Waiting for connections to close. (CTRL+C to force quit)');
    expect(logs).not.toContain('Application shutdown complete.');
    // A second SIGTERM changes nothing, as in vLLM.
    await docker(['kill', '--signal', 'TERM', a.id]);
    await sleepMs(500);
    expect((await containerState(a.id)).Running).toBe(true);
    const left = Date.now();
    sa.abort();
    expect(await waitForExit(a.id, 10_000)).toBe(0);
    expect(Date.now() - left).toBeLessThan(3000);
    logs = await containerLogs(a.id);
    expect(logs.indexOf('Waiting for connections to close.')).toBeLessThan(logs.indexOf('INFO:     Application shutdown complete.'));

    // b: docker stop with its grace period: the process never finishes, SIGKILL ends it.
    const t0 = Date.now();
    await docker(['stop', '-t', '2', b.id]);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(1800);
    expect((await containerState(b.id)).ExitCode).toBe(137);
    await sb.finished;
    expect(sb.state.done || sb.state.error !== undefined).toBe(true);
    expect(sb.events.at(-1)).not.toBe('data: [DONE]');
  });
});

describe('sleep mode (--enable-sleep-mode, VLLM_SERVER_DEV_MODE=1)', () => {
  const dev = { STANDIN_LOAD_DELAY: '0', VLLM_SERVER_DEV_MODE: '1', STANDIN_SLEEP_DELAY_MS: '200', STANDIN_WAKE_DELAY_MS: '1500', STANDIN_RELOAD_WEIGHTS_MS: '300' };
  const sleepArgs = serve('org/m', '--served-model-name', 'm', '--enable-sleep-mode');
  const sleepState = async (baseUrl: string) => {
    const t = await (await fetch(`${baseUrl}/metrics`)).text();
    const v = (s: string) => sample(t, `vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="${s}"}`);
    return { awake: v('awake'), weights_offloaded: v('weights_offloaded'), discard_all: v('discard_all') };
  };
  const isSleeping = async (baseUrl: string) => (await json(`${baseUrl}/is_sleeping`)).body.is_sleeping as boolean;
  const answer = async (baseUrl: string) => {
    const r = await chat(baseUrl, { messages: [{ role: 'user', content: 'ping' }] });
    return { status: r.status, content: r.status === 200 ? ((await r.json()) as any).choices[0].message.content : await r.text() };
  };
  const timed = async <T>(f: () => Promise<T>) => {
    const t0 = Date.now();
    const value = await f();
    return { value, ms: Date.now() - t0 };
  };

  let c: Awaited<ReturnType<typeof start>>;
  let plain: Awaited<ReturnType<typeof start>>;
  it('sleeps at level 1: /is_sleeping true, /health /v1/models /tokenize /metrics still answer, memory lines logged', async () => {
    [c, plain] = await Promise.all([start({ name: 'sleep', env: dev, args: sleepArgs }), start({ name: 'no-dev-mode', env: { STANDIN_LOAD_DELAY: '0' }, args: sleepArgs })]);
    await Promise.all([waitForHttp(`${c.baseUrl}/health`), waitForHttp(`${plain.baseUrl}/health`)]);
    expect(await containerLogs(c.id)).toContain('SECURITY WARNING: Development endpoints are enabled! This should NOT be used in production!');
    expect(await isSleeping(c.baseUrl)).toBe(false);
    expect(await sleepState(c.baseUrl)).toEqual({ awake: 1, weights_offloaded: 0, discard_all: 0 });

    const slept = await timed(() => post(`${c.baseUrl}/sleep?level=1`));
    expect(slept.value.status).toBe(200);
    expect(await slept.value.text()).toBe('');
    expect(slept.ms).toBeGreaterThan(180);
    expect(await isSleeping(c.baseUrl)).toBe(true);
    expect(await sleepState(c.baseUrl)).toEqual({ awake: 0, weights_offloaded: 1, discard_all: 0 });
    expect((await httpGet(`${c.baseUrl}/health`)).status).toBe(200);
    expect((await json(`${c.baseUrl}/v1/models`)).body.data[0].id).toBe('m');
    expect((await json(`${c.baseUrl}/tokenize`, { method: 'POST', body: JSON.stringify({ prompt: 'two words' }) })).body).toMatchObject({ count: 2, token_strs: null });
    const logs = await containerLogs(c.id);
    expect(logs).toMatch(/CuMemAllocator: sleep freed \d+\.\d\d GiB memory in total, of which 1\.12 GiB is backed up in CPU/);
    expect(logs).toMatch(/Sleep mode freed \d+\.\d\d GiB memory, \d+\.\d\d GiB memory is still in use\./);
    expect(logs).toMatch(/It took 0\.\d{6} seconds to fall asleep\./);
    expect(logs).toMatch(/"POST \/sleep\?level=1 HTTP\/1\.1" 200 OK/);
  });

  it('wakes after the wake delay; concurrent /wake_up calls queue behind the first, which alone wakes', async () => {
    const woke = await timed(() => post(`${c.baseUrl}/wake_up`));
    expect(woke.value.status).toBe(200);
    expect(woke.ms).toBeGreaterThan(1400);
    expect(await isSleeping(c.baseUrl)).toBe(false);
    expect(await answer(c.baseUrl)).toEqual({ status: 200, content: 'Hello from m! You said: ping' });

    await post(`${c.baseUrl}/sleep?level=1`);
    const count = async (re: RegExp) => (await containerLogs(c.id)).match(re)?.length ?? 0;
    const WAKES = /wake up the engine with tags: None/g;
    const WOKE = /It took 1\.\d{6} seconds to wake up tags \{'weights', 'kv_cache'\}\./g;
    const AWAKE = /Executor is not sleeping\./g;
    const before = { wakes: await count(WAKES), woke: await count(WOKE), awake: await count(AWAKE) };
    const calls = await Promise.all([0, 1, 2].map(() => timed(() => post(`${c.baseUrl}/wake_up`))));
    for (const w of calls) {
      expect(w.value.status).toBe(200);
      expect(w.ms).toBeGreaterThan(1400);
      expect(w.ms).toBeLessThan(2 * 1400);
    }
    expect((await count(WAKES)) - before.wakes).toBe(3);
    expect((await count(WOKE)) - before.woke).toBe(1);
    expect((await count(AWAKE)) - before.awake).toBe(2);
    expect(await isSleeping(c.baseUrl)).toBe(false);
  });

  it('level 2 discards the weights: answers are noise until /collective_rpc reload_weights; partial wakes by tag', async () => {
    await post(`${c.baseUrl}/sleep?level=2`);
    expect(await sleepState(c.baseUrl)).toEqual({ awake: 0, weights_offloaded: 0, discard_all: 1 });
    expect((await httpGet(`${c.baseUrl}/health`)).status).toBe(200);
    expect((await post(`${c.baseUrl}/wake_up?tags=weights`)).status).toBe(200);
    expect(await isSleeping(c.baseUrl)).toBe(true); // kv_cache still asleep
    const reload = await timed(() => post(`${c.baseUrl}/collective_rpc`, { method: 'reload_weights' }));
    expect(reload.value.status).toBe(200);
    expect(await reload.value.json()).toEqual({ results: [null] });
    expect(reload.ms).toBeGreaterThan(250);
    expect((await post(`${c.baseUrl}/wake_up?tags=kv_cache`)).status).toBe(200);
    expect(await isSleeping(c.baseUrl)).toBe(false);
    expect((await answer(c.baseUrl)).content).toBe('Hello from m! You said: ping');

    // Woken without reloading: the weight memory holds no model.
    await post(`${c.baseUrl}/sleep?level=2`);
    await post(`${c.baseUrl}/wake_up`);
    const noise = await answer(c.baseUrl);
    expect(noise.status).toBe(200);
    expect(noise.content).toMatch(/^!+$/);
    const logs = await containerLogs(c.id);
    expect(logs).toContain("It took 1.");
    expect(logs).toMatch(/seconds to wake up tags \['weights'\]\./);
    expect(logs).toContain('Reloading weights inplace...');
  });

  it('a generation request while asleep kills the engine (vLLM 0.11-0.13 do not guard it); STANDIN_ASLEEP_REQUESTS=wait makes it wait', async () => {
    const [crash, wait] = await Promise.all([
      start({ name: 'sleep-crash', env: dev, args: sleepArgs }),
      start({ name: 'sleep-wait', env: { ...dev, STANDIN_ASLEEP_REQUESTS: 'wait' }, args: sleepArgs }),
    ]);
    await Promise.all([waitForHttp(`${crash.baseUrl}/health`), waitForHttp(`${wait.baseUrl}/health`)]);
    await Promise.all([post(`${crash.baseUrl}/sleep?level=1`), post(`${wait.baseUrl}/sleep?level=1`)]);

    expect((await answer(crash.baseUrl)).status).toBe(500);
    expect((await httpGet(`${crash.baseUrl}/health`)).status).toBe(503);
    expect(await waitForExit(crash.id, 10_000)).toBe(1);
    expect(await containerLogs(crash.id)).toContain('CUDA error: an illegal memory access was encountered');

    const pending = answer(wait.baseUrl);
    const settled = await Promise.race([pending.then(() => true), sleepMs(1000).then(() => false)]);
    expect(settled).toBe(false);
    await post(`${wait.baseUrl}/wake_up`);
    expect(await pending).toEqual({ status: 200, content: 'Hello from m! You said: ping' });
  });

  it('without VLLM_SERVER_DEV_MODE the routes do not exist; without --enable-sleep-mode sleep frees nothing', async () => {
    expect(await json(`${plain.baseUrl}/sleep?level=1`, { method: 'POST' })).toEqual({ status: 404, body: { detail: 'Not Found' } });
    expect((await post(`${plain.baseUrl}/wake_up`)).status).toBe(404);
    expect((await fetch(`${plain.baseUrl}/is_sleeping`)).status).toBe(404);
    expect((await post(`${plain.baseUrl}/collective_rpc`, { method: 'reload_weights' })).status).toBe(404);
    expect(await containerLogs(plain.id)).not.toContain('Route: /sleep');
    expect(await json(`${c.baseUrl}/sleep`)).toEqual({ status: 405, body: { detail: 'Method Not Allowed' } });
    expect(await containerLogs(c.id)).toContain('Route: /sleep, Methods: POST');

    const noFlag = await start({ name: 'dev-no-sleep-flag', env: dev, args: serve('org/m', '--served-model-name', 'm') });
    await waitForHttp(`${noFlag.baseUrl}/health`);
    expect((await post(`${noFlag.baseUrl}/sleep?level=1`)).status).toBe(200);
    expect(await isSleeping(noFlag.baseUrl)).toBe(true);
    expect(await answer(noFlag.baseUrl)).toEqual({ status: 200, content: 'Hello from m! You said: ping' });
    expect(await containerLogs(noFlag.id)).toContain('Sleep mode freed 0.00 GiB memory');
  });
});
