import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM without type declarations: the stand-in stays dependency-free JS
import * as lib from './lib.mjs';
// @ts-expect-error idem
import { parseCurlArgs } from './curl.mjs';

const ok = (argv: string[], style: 'serve' | 'legacy' = 'serve') => {
  const r = lib.parseArgv(argv, style);
  if (!r.ok) throw new Error(`expected argv to parse: ${r.stderr}`);
  return r;
};

describe('parseArgv: vllm serve style', () => {
  it('takes the model as the positional and the flags vLLM has', () => {
    const r = ok(['Qwen/Qwen3-8B', '--port', '8000', '--host=0.0.0.0', '--served-model-name', 'qwen', 'q8', '--max_model_len', '32K', '-tp', '2', '--enforce-eager', '--no-enable-prefix-caching', '--gpu-memory-utilization', '0.45', '--limit-mm-per-prompt', '{"image":2}']);
    expect(r.args).toMatchObject({
      model_tag: 'Qwen/Qwen3-8B',
      port: 8000,
      host: '0.0.0.0',
      served_model_name: ['qwen', 'q8'],
      max_model_len: 32768,
      tensor_parallel_size: 2,
      enforce_eager: true,
      enable_prefix_caching: false,
      gpu_memory_utilization: 0.45,
      limit_mm_per_prompt: { image: 2 },
    });
    expect(r.warnings).toEqual([]);
  });

  it('moves --model X to the front with vLLM’s deprecation warning', () => {
    const r = ok(['--port', '8001', '--model', 'org/m']);
    expect(r.args.model_tag).toBe('org/m');
    expect(r.warnings[0]).toContain('With `vllm serve`, you should provide the model as a positional argument');
  });

  it('rejects a second model (positional and --model), like argparse', () => {
    const r = lib.parseArgv(['org/a', '--model', 'org/b'], 'serve');
    expect(r).toMatchObject({ ok: false, exitCode: 2 });
    expect(r.stderr).toBe('usage: vllm serve [model_tag] [options]\nvllm serve: error: unrecognized arguments: org/a\n');
  });

  it.each([
    [['m', '--foo'], 'unrecognized arguments: --foo'],
    [['m', '--foo=1', 'bar'], 'unrecognized arguments: --foo=1 bar'],
    [['m', '--dtype', 'fp4'], "argument --dtype: invalid choice: 'fp4' (choose from 'auto', 'bfloat16', 'float', 'float16', 'float32', 'half')"],
    [['m', '--port', 'x'], "argument --port: invalid int value: 'x'"],
    [['m', '--gpu-memory-utilization', 'lots'], "argument --gpu-memory-utilization: invalid float value: 'lots'"],
    [['m', '--max-model-len', 'big'], "argument --max-model-len: invalid human_readable_int value: 'big'"],
    [['m', '--port'], 'argument --port: expected one argument'],
    [['m', '--served-model-name'], 'argument --served-model-name: expected at least one argument'],
    [['m', '--enforce-eager=yes'], "argument --enforce-eager: ignored explicit argument 'yes'"],
  ])('%j → exit 2 with argparse’s message', (argv, message) => {
    const r = lib.parseArgv(argv, 'serve');
    expect(r.ok).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^usage: vllm serve/);
    expect(r.stderr).toContain(`vllm serve: error: ${message}\n`);
  });

  it('answers --help on stdout with exit 0', () => {
    const r = lib.parseArgv(['--help'], 'serve');
    expect(r).toMatchObject({ ok: false, exitCode: 0 });
    expect(r.stdout).toContain('--tensor-parallel-size, -tp');
  });

  it('reads human-readable ints as vLLM does (k = 1000, K = 1024)', () => {
    expect(ok(['m', '--max-model-len', '32k']).args.max_model_len).toBe(32000);
    expect(ok(['m', '--max-num-batched-tokens', '2K']).args.max_num_batched_tokens).toBe(2048);
  });
});

describe('parseArgv: python3 -m vllm.entrypoints.openai.api_server style', () => {
  it('rejects a positional model with usage and exit 2', () => {
    const r = lib.parseArgv(['Qwen/Qwen3-0.6B', '--port', '8000'], 'legacy');
    expect(r).toMatchObject({ ok: false, exitCode: 2 });
    expect(r.stderr).toMatch(/^usage: api_server\.py \[-h\] \[--config CONFIG\] \[--host HOST\]/);
    expect(r.stderr).toContain('[--trust-remote-code | --no-trust-remote-code]');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('api_server.py: error: unrecognized arguments: Qwen/Qwen3-0.6B');
  });

  it('takes --model without a warning', () => {
    const r = ok(['--model', 'org/m', '--port', '8000'], 'legacy');
    expect(r.args).toMatchObject({ model: 'org/m', port: 8000 });
    expect(r.warnings).toEqual([]);
    expect(lib.resolveConfig(r.args).model).toBe('org/m');
  });
});

describe('non-default args line', () => {
  it('prints Python reprs in parser order, skipping defaults', () => {
    const r = ok(['org/m', '--port', '8000', '--host', '0.0.0.0', '--gpu-memory-utilization', '1', '--served-model-name', 'a', '--trust-remote-code', '--max-model-len', '4096']);
    expect(lib.nonDefaultArgs(r.args)).toBe(
      "{'model_tag': 'org/m', 'host': '0.0.0.0', 'trust_remote_code': True, 'max_model_len': 4096, 'served_model_name': ['a'], 'gpu_memory_utilization': 1.0}",
    );
  });
});

describe('resolveConfig', () => {
  it('serves the model under its own name unless --served-model-name is given', () => {
    expect(lib.resolveConfig(ok(['org/m']).args).served).toEqual(['org/m']);
    expect(lib.resolveConfig(ok(['org/m', '--served-model-name', 'x', 'y']).args).served).toEqual(['x', 'y']);
    expect(lib.resolveConfig({}).model).toBe('Qwen/Qwen3-0.6B');
  });

  it('takes the API key from --api-key, else VLLM_API_KEY', () => {
    expect(lib.resolveConfig(ok(['m']).args, { VLLM_API_KEY: 'e' }).apiKeys).toEqual(['e']);
    expect(lib.resolveConfig(ok(['m', '--api-key', 'f']).args, { VLLM_API_KEY: 'e' }).apiKeys).toEqual(['f']);
    expect(lib.resolveConfig(ok(['m']).args, {}).apiKeys).toEqual([]);
  });
});

describe('pickFailure: natural triggers', () => {
  const pick = (argv: string[], env: Record<string, string> = {}) => lib.pickFailure(lib.resolveConfig(ok(argv).args, env), env);
  it.each([
    [['m'], {}, undefined],
    [['m', '-tp', '2'], {}, 'tp-gpu-count'],
    [['m', '-tp', '2'], { STANDIN_GPU_COUNT: '2' }, undefined],
    [['m', '-tp', '3'], { STANDIN_GPU_COUNT: '4' }, 'tp-divisible'],
    [['m'], { STANDIN_GPU_COUNT: '0' }, 'no-device'],
    [['meta-llama/gated-8b'], {}, 'gated'],
    [['meta-llama/gated-8b'], { HF_TOKEN: 'hf_x' }, undefined],
    [['org/does-not-exist'], {}, 'invalid-repo'],
    [['org/remote-code-model'], {}, 'remote-code'],
    [['org/remote-code-model', '--trust-remote-code'], {}, undefined],
    [['m', '--max-model-len', '200000'], {}, 'max-model-len'],
    [['m', '--max-model-len', '200000'], { VLLM_ALLOW_LONG_MAX_MODEL_LEN: '1' }, undefined],
    [['m', '--gpu-memory-utilization', '0.9'], { STANDIN_GPU_FREE_GIB: '30' }, 'free-memory'],
    [['m', '--gpu-memory-utilization', '0.3'], { STANDIN_GPU_FREE_GIB: '30' }, undefined],
    [['m', '--gpu-memory-utilization', '0.01'], {}, 'no-cache-blocks'],
    [['m', '--max-model-len', '16384'], { STANDIN_KV_CACHE_TOKENS: '8000' }, 'kv-cache'],
    [['m'], { STANDIN_FAIL: 'shm' }, 'shm'],
  ])('%j %j → %s', (argv, env, mode) => {
    expect(pick(argv, env)).toBe(mode);
  });
});

describe('failureOutput: the text of every startup failure the stand-in imitates', () => {
  const fragments: Record<string, RegExp> = {
    'kv-cache': /KV cache is needed, which is larger than the available KV cache memory .* the estimated maximum model length is \d+\./,
    'no-cache-blocks': /No available memory for the cache blocks/,
    'free-memory': /Free memory on device cuda:0 \([\d.]+\/[\d.]+ GiB\) on startup is less than desired GPU memory utilization \([\d.]+, [\d.]+ GiB\)/,
    'cuda-oom': /torch\.OutOfMemoryError: CUDA out of memory/,
    gated: /GatedRepoError: 401 Client Error[\s\S]*Cannot access gated repo/,
    'invalid-repo': /Invalid repository ID or local directory specified: 'org\/m'/,
    'unsupported-arch': /are not supported for now\. Supported architectures:/,
    'remote-code': /--trust-remote-code/,
    'max-model-len': /User-specified max_model_len \(\d+\) is greater than the derived max_model_len/,
    'tp-divisible': /must be divisible by tensor parallel size \(\d+\)/,
    'tp-gpu-count': /please set tensor_parallel_size \(2\) to less than max local gpu count \(1\)/,
    'no-device': /Failed to infer device type/,
    shm: /ncclSystemError[\s\S]*\/dev\/shm\/nccl-/,
  };
  const startupModes = Object.entries(lib.FAILURE_MODES as Record<string, { stage: string }>)
    .filter(([, m]) => m.stage === 'config' || m.stage === 'engine')
    .map(([k]) => k);

  it('covers every startup mode', () => {
    expect(startupModes.sort()).toEqual(Object.keys(fragments).sort());
  });

  it.each(startupModes)('%s', (mode) => {
    const cfg = lib.resolveConfig(ok(['org/m', '-tp', '2', '--gpu-memory-utilization', '0.85']).args, {});
    const { out, exitCode } = lib.failureOutput(mode, cfg, { style: 'serve', pid: 1, enginePid: 277, now: new Date(0) });
    const text = out.map(([, t]: [string, string]) => t).join('\n');
    expect(exitCode).toBe(1);
    expect(text).toMatch(fragments[mode]!);
    const wrapped = text.includes('RuntimeError: Engine core initialization failed. See root cause above.');
    expect(wrapped).toBe(lib.FAILURE_MODES[mode].stage === 'engine');
    // Every line carries vLLM's process prefix, so a scan of `docker logs` sees real-looking lines.
    for (const line of text.split('\n')) expect(line).toMatch(/^\((APIServer|EngineCore_DP0|Worker_TP0) pid=\d+\) /);
  });

  it('uses free-memory numbers consistent with --gpu-memory-utilization', () => {
    const cfg = lib.resolveConfig(ok(['m', '--gpu-memory-utilization', '0.9']).args, { STANDIN_GPU_MEMORY_GIB: '23.55', STANDIN_GPU_FREE_GIB: '12.18' });
    const text = lib.failureOutput('free-memory', cfg, { style: 'serve', pid: 1, enginePid: 2, now: new Date(0) }).out.map((o: string[]) => o[1]).join('\n');
    expect(text).toContain('Free memory on device cuda:0 (12.18/23.55 GiB) on startup is less than desired GPU memory utilization (0.9, 21.2 GiB).');
  });

  it('estimates the maximum model length from the KV cache that fits', () => {
    const cfg = lib.resolveConfig(ok(['m', '--max-model-len', '16384']).args, { STANDIN_KV_CACHE_TOKENS: '8000' });
    const text = lib.failureOutput('kv-cache', cfg, { style: 'legacy', pid: 1, enginePid: 2, now: new Date(0) }).out.map((o: string[]) => o[1]).join('\n');
    expect(text).toContain("max seq len (16384)");
    expect(text).toContain('the estimated maximum model length is 8000.');
    expect(text).toContain('File "<frozen runpy>"');
  });
});

describe('completions', () => {
  const cfg = { served: ['qwen', 'alias'], maxModelLen: 64, autoToolChoice: false };

  it('answers with the served name and echoes the last user message', () => {
    const plan = lib.planCompletion('chat', { model: 'alias', messages: [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'x' }, { role: 'user', content: [{ type: 'text', text: 'Hi there' }] }] }, cfg);
    const body = lib.completionBody('chat', plan, { id: 'chatcmpl-1', created: 1 });
    expect(body.choices[0].message.content).toBe('Hello from alias! You said: Hi there');
    expect(body.model).toBe('alias');
    expect(body.usage.completion_tokens).toBe(lib.tokenize(body.choices[0].message.content).length);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it('defaults to the first served name and knows text completions', () => {
    const plan = lib.planCompletion('completion', { prompt: 'Say hi' }, cfg);
    expect(lib.completionBody('completion', plan, { id: 'cmpl-1', created: 1 }).choices[0]).toMatchObject({ text: 'Hello from qwen! You said: Say hi', finish_reason: 'stop' });
  });

  it('stops at max_tokens with finish_reason length', () => {
    const plan = lib.planCompletion('chat', { messages: [{ role: 'user', content: 'a b c' }], max_tokens: 2 }, cfg);
    expect(plan).toMatchObject({ pieces: ['Hello', ' from'], finishReason: 'length', completionTokens: 2 });
  });

  it('ignore_eos generates up to max_tokens (finish_reason length), min_tokens at least that many', () => {
    const long = lib.planCompletion('chat', { messages: [{ role: 'user', content: 'x' }], max_tokens: 40, ignore_eos: true }, cfg);
    expect(long).toMatchObject({ finishReason: 'length', completionTokens: 40 });
    expect(long.pieces.join('')).toMatch(/^Hello from qwen! You said: x And so on\. And so on\./);
    const min = lib.planCompletion('completion', { prompt: 'x', min_tokens: 20, max_tokens: 30 }, cfg);
    expect(min).toMatchObject({ finishReason: 'stop', completionTokens: 20 });
    // Without a limit ignore_eos runs to the context length, as vLLM does.
    expect(lib.planCompletion('completion', { prompt: 'x', ignore_eos: true }, cfg).completionTokens).toBe(64 - 2);
    expect(lib.planCompletion('completion', { prompt: 'x', min_tokens: 3 }, cfg).completionTokens).toBe(lib.tokenize('Hello from qwen! You said: x').length);
  });

  it('garbles the answer of discarded weights into as many ! tokens', () => {
    const plan = lib.planCompletion('chat', { messages: [{ role: 'user', content: 'x' }] }, cfg);
    const bad = lib.garbled(plan);
    expect(bad.pieces.join('')).toBe('!'.repeat(plan.pieces.length));
    expect(bad.completionTokens).toBe(plan.completionTokens);
  });

  it('tokenizes prompts and chats with the completion token counts', () => {
    const full = { ...cfg, maxModelLen: 4096 };
    const prompt = lib.tokenizeBody({ prompt: 'hello world' }, full);
    expect(prompt.body).toEqual({ count: 2, max_model_len: 4096, tokens: [lib.tokenId('hello'), lib.tokenId(' world')], token_strs: null });
    const messages = [{ role: 'user', content: 'hi there' }];
    expect(lib.tokenizeBody({ messages }, full).body.count).toBe(lib.chatPromptTokens(messages));
    expect(lib.tokenizeBody({ model: 'nope', prompt: 'x' }, full).error.status).toBe(404);
  });

  it.each([
    [{ model: 'nope', messages: [] }, 404, 'NotFoundError', 'The model `nope` does not exist.'],
    [{ messages: [{ role: 'user', content: 'x' }], max_tokens: 100 }, 400, 'BadRequestError', "'max_tokens' or 'max_completion_tokens' is too large: 100"],
    [{ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }] }, 400, 'BadRequestError', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'],
  ])('%j → %i %s', (body, status, type, message) => {
    const { error } = lib.planCompletion('chat', body, cfg);
    expect(error.status).toBe(status);
    expect(error.body).toEqual({ error: { message: expect.stringContaining(message), type, param: null, code: status } });
  });

  it('lists models in vLLM’s shape', () => {
    const body = lib.modelsBody({ served: ['qwen'], model: 'Qwen/Qwen3-0.6B', maxModelLen: 4096 }, 7, 'abc');
    expect(body).toMatchObject({ object: 'list', data: [{ id: 'qwen', object: 'model', created: 7, owned_by: 'vllm', root: 'Qwen/Qwen3-0.6B', parent: null, max_model_len: 4096 }] });
    expect(body.data[0].permission[0]).toMatchObject({ id: 'modelperm-abc', object: 'model_permission' });
  });
});

describe('renderMetrics', () => {
  const sample = (text: string, name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(name));
    if (!line) throw new Error(`no sample ${name}`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  it('renders vLLM’s families with sorted labels, HELP and TYPE, as prometheus_client does', () => {
    const m = lib.newMetrics(1700000000);
    m.promptTokens = 12;
    m.success.stop = 1;
    lib.observe(m.e2e, 0.4);
    lib.observe(m.e2e, 3);
    const text = lib.renderMetrics(m, { modelName: 'qwen' });
    expect(text).toContain('# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.\n# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{engine="0",model_name="qwen"} 0.0\n');
    expect(text).toContain('# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{engine="0",model_name="qwen"} 12.0\n');
    expect(text).toContain('vllm:request_success_total{engine="0",finished_reason="stop",model_name="qwen"} 1.0');
    expect(text).toContain('# TYPE vllm:e2e_request_latency_seconds histogram');
    expect(sample(text, 'vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.3",')).toBe(0);
    expect(sample(text, 'vllm:e2e_request_latency_seconds_bucket{engine="0",le="0.5",')).toBe(1);
    expect(sample(text, 'vllm:e2e_request_latency_seconds_bucket{engine="0",le="5.0",')).toBe(2);
    expect(sample(text, 'vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",')).toBe(2);
    expect(sample(text, 'vllm:e2e_request_latency_seconds_count{')).toBe(2);
    expect(sample(text, 'vllm:e2e_request_latency_seconds_sum{')).toBeCloseTo(3.4);
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:generation_tokens_total', 'vllm:num_preemptions_total', 'vllm:time_to_first_token_seconds_count', 'vllm:inter_token_latency_seconds_count']) {
      expect(text).toContain(`${name}{engine="0",model_name="qwen"}`);
    }
    expect(text).not.toContain('vllm:gpu_cache_usage_perc');
  });

  it('adds the pre-0.12 names only when asked', () => {
    const text = lib.renderMetrics(lib.newMetrics(0), { modelName: 'm', oldNames: true });
    expect(text).toContain('vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.0');
    expect(text).toContain('vllm:time_per_output_token_seconds_count{engine="0",model_name="m"} 0.0');
  });

  it('formats numbers like Python', () => {
    expect([lib.promFloat(1), lib.promFloat(0.25), lib.promFloat(Infinity), lib.pyFloat(1e-5)]).toEqual(['1.0', '0.25', '+Inf', '1e-05']);
    expect(lib.pyRepr({ a: [true, null, "it's"] })).toBe(`{'a': [True, None, "it's"]}`);
  });
});

describe('sleep mode', () => {
  const cfg = lib.resolveConfig({ enable_sleep_mode: true }, { STANDIN_GPU_MEMORY_GIB: '80', STANDIN_GPU_FREE_GIB: '79.5', STANDIN_WEIGHTS_GIB: '15' });

  it('reads --enable-sleep-mode and VLLM_SERVER_DEV_MODE as vLLM does', () => {
    expect(ok(['m', '--enable-sleep-mode']).args.enable_sleep_mode).toBe(true);
    expect(lib.resolveConfig(ok(['m', '--enable-sleep-mode']).args).enableSleepMode).toBe(true);
    expect(lib.resolveConfig(ok(['m']).args).enableSleepMode).toBe(false);
    expect([lib.envFlag('1'), lib.envFlag(' 2 '), lib.envFlag('0'), lib.envFlag(undefined), lib.envFlag('true')]).toEqual([true, true, false, false, false]);
  });

  it('parses level and tags like the FastAPI handlers', () => {
    expect([lib.parseSleepLevel(null), lib.parseSleepLevel('2'), lib.parseSleepLevel(' 1 '), lib.parseSleepLevel('deep')]).toEqual([1, 2, 1, undefined]);
    expect(lib.parseWakeTags([])).toBeNull();
    expect(lib.parseWakeTags(['weights'])).toEqual(['weights']);
  });

  it('frees weights and KV cache; level 1 backs the weights up in CPU memory, level 2 discards them', () => {
    const kv = cfg.kvAvailableGiB;
    expect(kv).toBeCloseTo(0.9 * 80 - 15 - 0.6, 6);
    const l1 = lib.sleepMemory(cfg, 1);
    expect(l1.freedGiB).toBeCloseTo(15 + kv, 6);
    expect(l1.backedUpGiB).toBe(15);
    expect(l1.discardedGiB).toBeCloseTo(kv, 6);
    expect(l1.stillInUseGiB).toBeCloseTo(0.5 + 0.6, 6);
    expect(lib.sleepMemory(cfg, 2)).toMatchObject({ backedUpGiB: 0, discardedGiB: l1.freedGiB });
    // Loaded without --enable-sleep-mode, nothing went through the sleep allocator.
    expect(lib.sleepMemory(cfg, 1, false)).toMatchObject({ freedGiB: 0, backedUpGiB: 0 });
  });

  it('logs vLLM’s sleep and wake lines', () => {
    const lines = lib.sleepLogMessages(cfg, 1, 3.152677).map(([, m]: [string, string]) => m);
    expect(lines).toEqual([
      'CuMemAllocator: sleep freed 71.40 GiB memory in total, of which 15.00 GiB is backed up in CPU and the rest 56.40 GiB is discarded directly.',
      'Sleep mode freed 71.40 GiB memory, 1.10 GiB memory is still in use.',
      'It took 3.152677 seconds to fall asleep.',
    ]);
    expect(lib.wakeLogMessage(null, ['weights', 'kv_cache'], 0.273367)).toBe("It took 0.273367 seconds to wake up tags {'weights', 'kv_cache'}.");
    expect(lib.wakeLogMessage(['weights'], ['weights', 'kv_cache'], 0.5)).toBe("It took 0.500000 seconds to wake up tags ['weights'].");
  });

  it('renders vllm:engine_sleep_state like record_sleep_state', () => {
    expect(lib.sleepStateSeries(false, 0)).toEqual({ awake: 1, weights_offloaded: 0, discard_all: 0 });
    expect(lib.sleepStateSeries(true, 1)).toEqual({ awake: 0, weights_offloaded: 1, discard_all: 0 });
    expect(lib.sleepStateSeries(true, 2)).toEqual({ awake: 0, weights_offloaded: 0, discard_all: 1 });
    const m = { ...lib.newMetrics(0), sleeping: true, sleepLevel: 2 };
    const text = lib.renderMetrics(m, { modelName: 'm' });
    expect(text).toContain('# TYPE vllm:engine_sleep_state gauge');
    expect(text).toContain('vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="awake"} 0.0');
    expect(text).toContain('vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="discard_all"} 1.0');
    expect(lib.renderMetrics(lib.newMetrics(0), { modelName: 'm' })).toContain('vllm:engine_sleep_state{engine="0",model_name="m",sleep_state="awake"} 1.0');
  });
});

describe('curl shim arguments', () => {
  it('reads the healthcheck form', () => {
    expect(parseCurlArgs(['-fsS', 'http://localhost:8000/health']).opts).toMatchObject({ fail: true, silent: true, showError: true, url: 'http://localhost:8000/health' });
    expect(parseCurlArgs(['-sfo', '/dev/null', '-m', '2', 'localhost:8000/health']).opts).toMatchObject({ output: '/dev/null', maxTime: 2, url: 'localhost:8000/health' });
  });
  it('refuses unknown options like curl (exit 2)', () => {
    expect(parseCurlArgs(['--frobnicate', 'x'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('curl: option --frobnicate: is unknown') });
  });
});

describe('prefix cache (vLLM automatic prefix caching, imitated)', () => {
  const chat = (system: string, user: string) => lib.promptTokenList('chat', { messages: [{ role: 'system', content: system }, { role: 'user', content: user }] });
  const doc = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');

  it('reuses the full blocks of a prefix it has seen, and nothing after the first difference', () => {
    const cache = lib.newPrefixCache(1000);
    const first = chat(doc, 'what is word7?');
    expect(lib.usePrefixCache(cache, first)).toBe(0);
    // The same document: every full block of it (and of the role marker) is cached.
    const second = chat(doc, 'and word9?');
    const hit = lib.usePrefixCache(cache, second);
    expect(hit % lib.BLOCK_TOKENS).toBe(0);
    expect(hit).toBeGreaterThanOrEqual(Math.floor(101 / lib.BLOCK_TOKENS) * lib.BLOCK_TOKENS - lib.BLOCK_TOKENS);
    expect(hit).toBeLessThan(second.length);
    // Another document: no hit, though later blocks may be equal (the hash chains over the prefix).
    expect(lib.usePrefixCache(cache, chat(`other ${doc}`, 'and word9?'))).toBe(0);
  });

  it('forgets the least recently used blocks beyond its capacity', () => {
    const cache = lib.newPrefixCache(4);
    const a = chat(doc, 'a');
    lib.usePrefixCache(cache, a);
    expect(cache.blocks.size).toBe(4);
    expect(lib.usePrefixCache(cache, a)).toBe(0);
  });

  it('reports queries and hits as vLLM names them', () => {
    const m = lib.newMetrics(0);
    m.prefixQueries = 120;
    m.prefixHits = 96;
    const text = lib.renderMetrics(m, { modelName: 'x' });
    expect(text).toMatch(/^vllm:prefix_cache_queries_total\{.*\} 120\.0$/m);
    expect(text).toMatch(/^vllm:prefix_cache_hits_total\{.*\} 96\.0$/m);
  });
});
