// The vLLM stand-in: behaves like vLLM's OpenAI server in a container (argv, log lines, loading
// delay, HTTP surface, /metrics, startup failures, signals) without a GPU. Runs as PID 1, so it
// handles SIGTERM/SIGINT itself. Pure parts live in lib.mjs. See README.md for the env knobs.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import * as lib from './lib.mjs';

const pid = process.pid;
const api = `(APIServer pid=${pid})`;
const eng = `(EngineCore_DP0 pid=${pid + 276})`;

const write = (stream, text) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${text}\n`);
const log = (level, where, msg, proc = api) => write('stdout', lib.logLine(proc, level, where, msg, new Date()));
/** uvicorn's own lines (its default log config sends them to stderr). */
const uvicorn = (msg) => write('stderr', `${api} INFO:     ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hex = () => randomUUID().replaceAll('-', '');

function exit(code) {
  // Flush both streams before leaving: docker logs must see the last lines.
  let pending = 2;
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write('', done);
  process.stderr.write('', done);
  setTimeout(() => process.exit(code), 200).unref();
}

/**
 * Entry point of the image's launchers (`vllm`, `python3`).
 * @param {'vllm'|'python3'} entry
 * @param {string[]} argv arguments after the program name
 */
export async function runCli(entry, argv) {
  if (entry === 'python3') {
    if (argv[0] === '-m' && argv[1] === 'vllm.entrypoints.openai.api_server') return main('legacy', argv.slice(2));
    if (argv[0] === '--version' || argv[0] === '-V') return write('stdout', 'Python 3.12.3');
    const what = argv[0] === '-m' ? `No module named ${argv[1] ?? ''}` : 'this python3 is a shim of the vLLM stand-in';
    write('stderr', `/usr/bin/python3: ${what}`);
    return exit(1);
  }
  if (argv[0] === 'serve') return main('serve', argv.slice(1));
  if (argv[0] === '--version' || argv[0] === '-v') return write('stdout', lib.VERSION);
  const cmds = ['chat', 'complete', 'serve', 'bench', 'collect-env', 'run-batch'];
  write('stderr', `usage: vllm [-h] [-v] {${cmds.join(',')}} ...`);
  write('stderr', argv[0] === undefined ? 'vllm: error: the following arguments are required: subparser' : `vllm: error: argument subparser: invalid choice: ${lib.pyStr(argv[0])} (choose from ${cmds.map(lib.pyStr).join(', ')})`);
  return exit(2);
}

/**
 * @param {'serve'|'legacy'} style entrypoint style
 * @param {string[]} argv
 * @param {Record<string, string | undefined>} env
 */
export async function main(style, argv, env = process.env) {
  const parsed = lib.parseArgv(argv, style);
  if (!parsed.ok) {
    if (parsed.stdout) process.stdout.write(parsed.stdout);
    if (parsed.stderr) process.stderr.write(parsed.stderr);
    return exit(parsed.exitCode);
  }
  const cfg = lib.resolveConfig(parsed.args, env);
  const delayMs = Math.max(0, Number(env.STANDIN_LOAD_DELAY ?? 2) * 1000) || 0;
  const mode = lib.pickFailure(cfg, env);
  if (mode && !lib.FAILURE_MODES[mode]) {
    write('stderr', `vllm-standin: unknown STANDIN_FAIL=${mode}; known modes: ${Object.keys(lib.FAILURE_MODES).join(', ')}`);
    return exit(1);
  }

  let phase = 'loading';
  /** @type {(http.Server & { stopEngine: () => void, openResponses: () => number }) | undefined} */
  let server;
  const onSignal = (sig) => {
    // vLLM's handler only cancels uvicorn's serve task; a second signal changes nothing.
    if (phase === 'stopping') return;
    const was = phase;
    phase = 'stopping';
    if (was === 'serving') return stopOnSignal();
    if (was === 'dead') return watchdogShutdown(1);
    log('INFO', 'launcher.py:110', `Received ${sig} while loading; exiting.`);
    return exit(0);
  };
  /**
   * SIGTERM/SIGINT while serving, as vLLM 0.11-0.13 do it (launcher.serve_http, then
   * run_server_worker): the serve task is cancelled, the engine is shut down (in-flight requests get
   * no further tokens), then uvicorn's shutdown stops listening, closes idle connections and waits
   * without a time limit for the others to close. With nothing in flight that is immediate; with a
   * request in flight the process stays until its client disconnects or SIGKILL comes. uvicorn's
   * `Finished server process` line is never reached on this path.
   */
  const stopOnSignal = () => {
    log('INFO', 'launcher.py:110', 'Shutting down FastAPI HTTP server.');
    server?.stopEngine();
    uvicorn('Shutting down');
    const done = () => {
      uvicorn('Waiting for application shutdown.');
      uvicorn('Application shutdown complete.');
      exit(0);
    };
    if (!server) return done();
    const open = server.openResponses();
    server.close(done);
    server.closeIdleConnections();
    if (open > 0) uvicorn('Waiting for connections to close. (CTRL+C to force quit)');
  };
  /** The watchdog's way out once the engine died: uvicorn's own shutdown, to its last line. */
  const watchdogShutdown = (code) => {
    uvicorn('Shutting down');
    server?.close();
    server?.closeAllConnections();
    uvicorn('Waiting for application shutdown.');
    uvicorn('Application shutdown complete.');
    uvicorn(`Finished server process [${pid}]`);
    exit(code);
  };
  /** The engine core dies (CUDA error): /health turns 503, the watchdog stops the server. */
  const die = () => {
    if (phase !== 'serving') return;
    phase = 'dead';
    for (const [stream, text] of lib.engineDeathOutput({ pid, enginePid: pid + 276, now: new Date() })) write(stream, text);
    setTimeout(() => {
      if (phase === 'dead') {
        phase = 'stopping';
        watchdogShutdown(1);
      }
    }, Number(env.STANDIN_DEAD_GRACE_MS ?? 1000));
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  for (const w of parsed.warnings) log('WARNING', 'argparse_utils.py:203', w);
  if (cfg.autoToolChoice && !cfg.toolCallParser) {
    write('stderr', `${api} Traceback (most recent call last):`);
    write('stderr', `${api}   File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/openai/cli_args.py", line 281, in validate_parsed_serve_args`);
    write('stderr', `${api}     raise TypeError("Error: --enable-auto-tool-choice requires --tool-call-parser")`);
    write('stderr', `${api} TypeError: Error: --enable-auto-tool-choice requires --tool-call-parser`);
    return exit(1);
  }
  if (mode === 'no-device') log('WARNING', 'interface.py:199', 'No platform detected, vLLM is running on UnspecifiedPlatform');
  log('INFO', 'api_server.py:1839', `vLLM API server version ${lib.VERSION}`);
  log('INFO', 'utils.py:233', `non-default args: ${lib.nonDefaultArgs(parsed.args)}`);

  // The loading sequence: [fraction of the delay, what vLLM logs then].
  const kvTokens = cfg.kvTokens.toLocaleString('en-US');
  const steps = [
    [0.05, () => log('INFO', 'model.py:547', 'Resolved architecture: Qwen3ForCausalLM')],
    [0.06, () => log('INFO', 'model.py:1510', `Using max model len ${cfg.maxModelLen}`)],
    [0.07, () => log('INFO', 'scheduler.py:205', `Chunked prefill is enabled with max_num_batched_tokens=${cfg.maxNumBatchedTokens}.`)],
    [
      0.2,
      () =>
        log(
          'INFO',
          'core.py:93',
          `Initializing a V1 LLM engine (v${lib.VERSION}) with config: model='${cfg.model}', speculative_config=None, tokenizer='${cfg.model}', skip_tokenizer_init=False, tokenizer_mode=auto, revision=None, trust_remote_code=${cfg.trustRemoteCode ? 'True' : 'False'}, dtype=torch.bfloat16, max_seq_len=${cfg.maxModelLen}, download_dir=None, load_format=auto, tensor_parallel_size=${cfg.tp}, pipeline_parallel_size=${cfg.pp}, data_parallel_size=1, disable_custom_all_reduce=False, quantization=None, enforce_eager=${cfg.enforceEager ? 'True' : 'False'}, kv_cache_dtype=${cfg.kvCacheDtype}, device_config=cuda, seed=0, served_model_name=${cfg.served[0]}, enable_prefix_caching=True, enable_chunked_prefill=True, pooler_config=None`,
          eng,
        ),
    ],
    [0.22, () => log('INFO', 'parallel_state.py:1208', 'rank 0 in world size 1 is assigned as DP rank 0, PP rank 0, TP rank 0, EP rank 0', eng)],
    [0.3, () => log('INFO', 'gpu_model_runner.py:2602', `Starting to load model ${cfg.model}...`, eng)],
    [0.33, () => log('INFO', 'cuda.py:366', 'Using Flash Attention backend on V1 engine.', eng)],
    [0.4, () => log('INFO', 'weight_utils.py:392', "Using model weights format ['*.safetensors']", eng)],
    [0.5, () => write('stdout', `${eng} Loading safetensors checkpoint shards: 100% Completed | 1/1 [00:00<00:00,  3.02it/s]`)],
    [0.52, () => log('INFO', 'default_loader.py:267', `Loading weights took ${((delayMs * 0.2) / 1000).toFixed(2)} seconds`, eng)],
    [0.55, () => log('INFO', 'gpu_model_runner.py:2653', `Model loading took ${cfg.gpu.weightsGiB.toFixed(4)} GiB and ${((delayMs * 0.25) / 1000).toFixed(6)} seconds`, eng)],
    [0.6, () => !cfg.enforceEager && log('INFO', 'backends.py:548', "Using cache directory: /root/.cache/vllm/torch_compile_cache/0f3c1a2b4d/rank_0_0/backbone for vLLM's torch.compile", eng)],
    [0.66, () => !cfg.enforceEager && log('INFO', 'monitor.py:34', `torch.compile takes ${((delayMs * 0.1) / 1000).toFixed(2)} s in total`, eng)],
    [0.72, () => log('INFO', 'gpu_worker.py:298', `Available KV cache memory: ${cfg.kvAvailableGiB.toFixed(2)} GiB`, eng)],
    [0.73, () => log('INFO', 'kv_cache_utils.py:1087', `GPU KV cache size: ${kvTokens} tokens`, eng)],
    [0.74, () => log('INFO', 'kv_cache_utils.py:1091', `Maximum concurrency for ${cfg.maxModelLen.toLocaleString('en-US')} tokens per request: ${(cfg.kvTokens / cfg.maxModelLen).toFixed(2)}x`, eng)],
    [0.85, () => !cfg.enforceEager && write('stdout', `${eng} Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|██████████| 67/67 [00:02<00:00, 30.1it/s]`)],
    [0.88, () => !cfg.enforceEager && log('INFO', 'gpu_model_runner.py:3480', 'Graph capturing finished in 3 secs, took 0.59 GiB', eng)],
    [0.95, () => log('INFO', 'core.py:210', `init engine (profile, create kv cache, warmup model) took ${((delayMs * 0.5) / 1000).toFixed(2)} seconds`, eng)],
    [0.97, () => log('INFO', 'loggers.py:147', `Engine 000: vllm cache_config_info with initialization after num_gpu_blocks is: ${Math.floor(cfg.kvTokens / 16)}`)],
    [0.98, () => log('INFO', 'api_server.py:1634', "Supported_tasks: ['generate']")],
  ];
  const failAt = mode ? lib.FAILURE_MODES[mode].at : 2;
  // vLLM downloads what is missing first (progress bars off); only with STANDIN_DOWNLOAD=1.
  if (env.STANDIN_DOWNLOAD === '1') {
    try {
      const { ensureWeights } = await import('./download.mjs');
      const seconds = await ensureWeights({ repo: cfg.model, revision: parsed.args.revision ? String(parsed.args.revision) : 'main', env });
      if (seconds > 0.5) log('INFO', 'weight_utils.py:450', `Time spent downloading weights for ${cfg.model}: ${seconds.toFixed(6)} seconds`, eng);
    } catch (error) {
      log('ERROR', 'core.py:708', `EngineCore failed to start.`, eng);
      write('stderr', `${eng} ${error.message}`);
      return exit(1);
    }
  }
  const t0 = Date.now();
  for (const [at, step] of steps) {
    if (at >= failAt) break;
    const wait = t0 + at * delayMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (phase !== 'loading') return;
    step();
  }
  if (mode === 'hang') {
    // Never listens, never exits (a stuck download or compile); only a signal ends it.
    setInterval(() => {}, 60_000);
    return;
  }
  if (mode && mode !== 'crash-after-ready') {
    const wait = t0 + failAt * delayMs - Date.now();
    if (wait > 0) await sleep(wait);
    if (phase !== 'loading') return;
    const { out, exitCode } = lib.failureOutput(mode, cfg, { style, pid, enginePid: pid + 276, now: new Date() });
    for (const [stream, text] of out) write(stream, text);
    return exit(exitCode);
  }
  const wait = t0 + delayMs - Date.now();
  if (wait > 0) await sleep(wait);
  if (phase !== 'loading') return;

  const devMode = lib.envFlag(env.VLLM_SERVER_DEV_MODE);
  server = createServer(cfg, env, { getPhase: () => phase, die, devMode });
  await new Promise((resolve) => {
    server.once('error', (e) => {
      write('stderr', `${api} ERROR:    [Errno 98] error while attempting to bind on address ('${cfg.host}', ${cfg.port}): ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`);
      exit(1);
    });
    log('INFO', 'api_server.py:1912', `Starting vLLM API server 0 on http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${cfg.port}`);
    if (devMode) log('WARNING', 'api_server.py:1767', 'SECURITY WARNING: Development endpoints are enabled! This should NOT be used in production!');
    log('INFO', 'launcher.py:34', 'Available routes are:');
    for (const [route, methods] of [...lib.ROUTES, ...(devMode ? lib.DEV_ROUTES : [])]) log('INFO', 'launcher.py:42', `Route: ${route}, Methods: ${methods}`);
    uvicorn(`Started server process [${pid}]`);
    uvicorn('Waiting for application startup.');
    uvicorn('Application startup complete.');
    server.listen(cfg.port, cfg.host, resolve);
  });
  if (phase !== 'loading') return;
  phase = 'serving';

  if (mode === 'crash-after-ready') {
    // vLLM answers /health with 503 once the engine is dead, then shuts the server down.
    setTimeout(die, Number(env.STANDIN_CRASH_AFTER ?? 5) * 1000);
  }
}

/**
 * The HTTP server: routes, auth, completions, metrics, and (dev mode) sleep mode.
 * @param {ReturnType<typeof lib.resolveConfig>} cfg
 * @param {Record<string, string | undefined>} env
 * @param {{ getPhase: () => string, die: () => void, devMode: boolean }} ctx
 */
function createServer(cfg, env, { getPhase, die, devMode }) {
  const metrics = lib.newMetrics(Date.now() / 1000);
  const ms = (name, def) => {
    const v = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(v) && v >= 0 ? v : def;
  };
  const responseDelayMs = ms('STANDIN_RESPONSE_DELAY_MS', 0);
  const tokenDelayMs = ms('STANDIN_TOKEN_DELAY_MS', 0);
  const sleepDelayMs = ms('STANDIN_SLEEP_DELAY_MS', 300);
  const wakeDelayMs = ms('STANDIN_WAKE_DELAY_MS', 300);
  // Reading the weights from disk again: the share of the loading delay the startup log gives it.
  const reloadWeightsMs = ms('STANDIN_RELOAD_WEIGHTS_MS', Math.max(0, Number(env.STANDIN_LOAD_DELAY ?? 2) * 1000 * 0.2) || 0);
  const waitWhileAsleep = env.STANDIN_ASLEEP_REQUESTS === 'wait';
  const oldNames = env.STANDIN_OLD_METRICS === '1';
  // Prefill: the time per prompt token not found in the prefix cache (0: none, the default).
  const prefillMsPerToken = ms('STANDIN_PREFILL_MS_PER_TOKEN', 0);
  const prefixCache = lib.newPrefixCache(cfg.kvTokens / lib.BLOCK_TOKENS);
  const active = new Set();
  const queue = [];
  let running = 0;
  const admit = () => {
    if (running < cfg.maxNumSeqs) {
      running++;
      return Promise.resolve();
    }
    return new Promise((r) => queue.push(r));
  };
  const release = () => {
    running--;
    const next = queue.shift();
    if (next) {
      running++;
      next();
    }
  };

  // The engine core: one busy loop that runs utility calls (sleep, wake_up, is_sleeping, RPCs)
  // one at a time, in arrival order, between the steps of the requests it runs. A request sent
  // after a call is added once that call returned.
  const engine = {
    /** @type {Set<string>} memory tags currently asleep */
    sleepingTags: new Set(),
    level: 0,
    /** false once a sleep discarded the weights (level 2), until reload_weights */
    weightsValid: true,
    /** set on SIGTERM: the engine is shut down, in-flight requests get nothing more */
    stopped: false,
  };
  let engineQueue = Promise.resolve();
  const utility = (fn) => {
    const p = engineQueue.then(fn);
    engineQueue = p.then(
      () => {},
      () => {},
    );
    return p;
  };
  /** GPU memory of a sleeping tag is unmapped only when the model was loaded with --enable-sleep-mode. */
  const memoryReleased = () => cfg.enableSleepMode && engine.sleepingTags.size > 0;
  let wakeWaiters = [];
  const onAwake = () => {
    for (const w of wakeWaiters) w();
    wakeWaiters = [];
  };

  const snapshot = () => {
    metrics.running = running;
    metrics.waiting = queue.length;
    let blocks = 0;
    for (const r of active) blocks += Math.ceil(r.tokens / 16);
    metrics.kvUsage = cfg.kvTokens > 0 ? Math.min(1, (blocks * 16) / cfg.kvTokens) : 0;
    return metrics;
  };

  // vLLM's periodic stats line, only when something happened.
  let last = { p: 0, g: 0, t: Date.now() };
  if (cfg.logStats) {
    setInterval(() => {
      // The stats are logged by the engine's output handler, gone once the engine is shut down.
      if (engine.stopped) return;
      const m = snapshot();
      const dt = (Date.now() - last.t) / 1000;
      if (m.promptTokens === last.p && m.generationTokens === last.g && m.running === 0 && m.waiting === 0) {
        last.t = Date.now();
        return;
      }
      log(
        'INFO',
        'loggers.py:127',
        `Engine 000: Avg prompt throughput: ${((m.promptTokens - last.p) / dt).toFixed(1)} tokens/s, Avg generation throughput: ${((m.generationTokens - last.g) / dt).toFixed(1)} tokens/s, Running: ${m.running} reqs, Waiting: ${m.waiting} reqs, GPU KV cache usage: ${(m.kvUsage * 100).toFixed(1)}%, Prefix cache hit rate: 0.0%`,
      );
      last = { p: m.promptTokens, g: m.generationTokens, t: Date.now() };
    }, 10_000).unref();
  }

  const send = (res, status, body, type = 'application/json') => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), server: 'uvicorn' });
    res.end(text);
  };
  /** Starlette's bare `Response(status_code=200)`: no body, no content type. */
  const sendEmpty = (res, status = 200) => {
    res.writeHead(status, { 'content-length': 0, server: 'uvicorn' });
    res.end();
  };
  /** An exception inside a handler: Starlette's plain 500 after uvicorn's traceback. */
  const internalError = (res, exc) => {
    write('stderr', `${api} ERROR:    Exception in ASGI application`);
    write('stderr', `${api} ${exc}`);
    send(res, 500, 'Internal Server Error', 'text/plain; charset=utf-8');
  };

  const routes = {
    'GET /health': (req, res) => send(res, getPhase() === 'dead' ? 503 : 200, ''),
    'GET /ping': (req, res) => send(res, getPhase() === 'dead' ? 503 : 200, ''),
    'POST /ping': (req, res) => send(res, getPhase() === 'dead' ? 503 : 200, ''),
    'GET /version': (req, res) => send(res, 200, { version: lib.VERSION }),
    'GET /load': (req, res) => send(res, 200, { server_load: running + queue.length }),
    'GET /metrics': (req, res) =>
      send(
        res,
        200,
        lib.renderMetrics(snapshot(), {
          modelName: cfg.served[0],
          oldNames,
          cacheInfo: {
            block_size: '16',
            cache_dtype: cfg.kvCacheDtype,
            enable_prefix_caching: 'True',
            gpu_memory_utilization: lib.pyFloat(cfg.util),
            num_gpu_blocks: String(Math.floor(cfg.kvTokens / 16)),
          },
        }),
        'text/plain; version=0.0.4; charset=utf-8',
      ),
    'GET /v1/models': (req, res) => send(res, 200, lib.modelsBody(cfg, Math.floor(Date.now() / 1000), hex())),
    // The tokenizer lives in the API server: it answers whatever the engine is doing.
    'POST /tokenize': (req, res, body) => {
      const r = lib.tokenizeBody(body, cfg);
      return r.error ? send(res, r.error.status, r.error.body) : send(res, 200, r.body);
    },
    'POST /v1/chat/completions': (req, res, body) => complete('chat', req, res, body),
    'POST /v1/completions': (req, res, body) => complete('completion', req, res, body),
  };
  if (devMode) {
    Object.assign(routes, {
      'POST /sleep': async (req, res, body, url) => {
        const level = lib.parseSleepLevel(url.searchParams.get('level'));
        if (level === undefined) return internalError(res, `ValueError: invalid literal for int() with base 10: ${lib.pyStr(url.searchParams.get('level') ?? '')}`);
        let crashes = false;
        await utility(async () => {
          if (engine.sleepingTags.size > 0) return log('WARNING', 'abstract.py:296', 'Executor is already sleeping.', eng);
          const t0 = Date.now();
          await sleep(sleepDelayMs);
          for (const [where, msg] of lib.sleepLogMessages(cfg, level, (Date.now() - t0) / 1000, cfg.enableSleepMode)) log('INFO', where, msg, eng);
          engine.sleepingTags = new Set(lib.SLEEP_TAGS);
          engine.level = level;
          if (cfg.enableSleepMode && level !== 1) engine.weightsValid = false;
          metrics.sleeping = true;
          metrics.sleepLevel = level;
          // Either level frees the KV cache: the prefix cache starts empty after waking.
          prefixCache.blocks.clear();
          // Requests still scheduled run their next step on unmapped memory.
          crashes = cfg.enableSleepMode && active.size > 0;
        });
        sendEmpty(res);
        if (crashes) setTimeout(die, 20);
      },
      'POST /wake_up': async (req, res, body, url) => {
        const tags = lib.parseWakeTags(url.searchParams.getAll('tags'));
        log('INFO', 'api_server.py:1068', `wake up the engine with tags: ${tags ? lib.pyList(tags) : 'None'}`);
        await utility(async () => {
          if (engine.sleepingTags.size === 0) return log('WARNING', 'abstract.py:309', 'Executor is not sleeping.', eng);
          for (const tag of tags ?? []) {
            if (!engine.sleepingTags.has(tag)) {
              return log('WARNING', 'abstract.py:314', `Tag ${tag} is not in sleeping tags ${lib.pySet([...engine.sleepingTags])}`, eng);
            }
          }
          const t0 = Date.now();
          await sleep(wakeDelayMs);
          log('INFO', 'abstract.py:322', lib.wakeLogMessage(tags, [...engine.sleepingTags], (Date.now() - t0) / 1000), eng);
          if (tags) for (const tag of tags) engine.sleepingTags.delete(tag);
          else engine.sleepingTags.clear();
          if (engine.sleepingTags.size === 0) {
            engine.level = 0;
            onAwake();
          }
        });
        // AsyncLLM records "awake" after every wake_up call, even a partial one.
        metrics.sleeping = false;
        metrics.sleepLevel = 0;
        sendEmpty(res);
      },
      'GET /is_sleeping': async (req, res) => {
        log('INFO', 'api_server.py:1076', 'check whether the engine is sleeping');
        const sleeping = await utility(() => engine.sleepingTags.size > 0);
        send(res, 200, { is_sleeping: sleeping });
      },
      'POST /collective_rpc': async (req, res, body) => {
        if (!body || typeof body !== 'object' || body.method === undefined || body.method === null) {
          return send(res, 400, { detail: "Missing 'method' in request body" });
        }
        if (body.method !== 'reload_weights') {
          return internalError(res, `AttributeError: 'Worker' object has no attribute ${lib.pyStr(String(body.method))}`);
        }
        let crashes = false;
        await utility(async () => {
          log('INFO', 'gpu_model_runner.py:2688', 'Reloading weights inplace...', eng);
          // Loading into weight memory that is not mapped (still asleep) is an illegal access.
          if (cfg.enableSleepMode && engine.sleepingTags.has('weights')) {
            crashes = true;
            return;
          }
          await sleep(reloadWeightsMs);
          engine.weightsValid = true;
        });
        if (crashes) {
          die();
          return send(res, 500, 'Internal Server Error', 'text/plain; charset=utf-8');
        }
        send(res, 200, { results: [null] });
      },
    });
  }
  const knownPaths = new Set(Object.keys(routes).map((k) => k.split(' ')[1]));

  async function complete(kind, req, res, body) {
    const dead = () => send(res, 500, lib.openaiError(500, 'InternalServerError', 'EngineCore encountered an issue. See stack trace (above) for the root cause.').body);
    if (getPhase() === 'dead') return dead();
    let plan = lib.planCompletion(kind, body, cfg);
    if (plan.error) return send(res, plan.error.status, plan.error.body);
    const start = Date.now();
    const ids = { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${hex()}`, created: Math.floor(start / 1000) };
    let aborted = false;
    /** @type {Promise<void>} */
    const closed = new Promise((resolve) => {
      res.on('close', () => {
        if (!res.writableFinished) aborted = true;
        resolve();
      });
    });
    // The request reaches the engine after the utility calls sent before it.
    await engineQueue;
    if (memoryReleased()) {
      if (!waitWhileAsleep) {
        // vLLM 0.11-0.13 do not guard generation while asleep: the step runs on freed memory.
        die();
        return dead();
      }
      await new Promise((resolve) => wakeWaiters.push(resolve));
    }
    if (!engine.weightsValid) plan = lib.garbled(plan);
    await admit();
    // The prompt's blocks the prefix cache holds are not computed again.
    const cached = Math.min(plan.promptTokens, lib.usePrefixCache(prefixCache, lib.promptTokenList(kind, body)));
    metrics.prefixQueries += plan.promptTokens;
    metrics.prefixHits += cached;
    const prefillMs = (plan.promptTokens - cached) * prefillMsPerToken;
    const reqState = { tokens: plan.promptTokens };
    active.add(reqState);
    const sse = (obj) => res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
    try {
      if (plan.stream && !aborted) {
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', server: 'uvicorn' });
        if (kind === 'chat') for (let c = 0; c < plan.n; c++) sse(lib.chunkBody(kind, plan, ids, c, { role: 'assistant', content: '' }));
      }
      let prevAt = 0;
      const count = Math.max(plan.pieces.length, 1);
      for (let i = 0; i < count && !aborted; i++) {
        if (i === 0) await sleep(responseDelayMs + prefillMs);
        else if (tokenDelayMs > 0) await sleep(tokenDelayMs);
        // A shut-down engine sends nothing more: the response hangs until its client leaves.
        if (engine.stopped) await closed;
        if (aborted || getPhase() === 'dead') break;
        const t = Date.now();
        if (i === 0) lib.observe(metrics.ttft, (t - start) / 1000);
        else lib.observe(metrics.itl, (t - prevAt) / 1000);
        prevAt = t;
        reqState.tokens++;
        if (plan.stream) {
          const piece = plan.pieces[i] ?? '';
          const last = i === count - 1;
          for (let c = 0; c < plan.n; c++) sse(lib.chunkBody(kind, plan, ids, c, { content: piece }, last ? plan.finishReason : null));
        }
      }
      if (aborted || getPhase() === 'dead') {
        metrics.success.abort++;
        if (!res.writableEnded) res.end();
        return;
      }
      metrics.promptTokens += plan.promptTokens;
      metrics.generationTokens += plan.completionTokens;
      metrics.success[plan.finishReason]++;
      lib.observe(metrics.e2e, (Date.now() - start) / 1000);
      if (plan.stream) {
        if (plan.includeUsage) {
          sse({
            id: ids.id,
            object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
            created: ids.created,
            model: plan.name,
            choices: [],
            usage: { prompt_tokens: plan.promptTokens, total_tokens: plan.promptTokens + plan.completionTokens, completion_tokens: plan.completionTokens },
          });
        }
        sse('[DONE]');
        res.end();
      } else {
        send(res, 200, lib.completionBody(kind, plan, ids));
      }
    } finally {
      active.delete(reqState);
      release();
    }
  }

  let openResponses = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const path = url.pathname;
    openResponses++;
    res.on('close', () => {
      openResponses--;
      // While stopping, a connection whose response is over is closed, as uvicorn does.
      if (engine.stopped) server.closeIdleConnections();
    });
    if (cfg.accessLog) {
      res.on('finish', () => {
        const addr = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '-';
        write('stdout', `${api} INFO:     ${addr}:${req.socket.remotePort} - "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${http.STATUS_CODES[res.statusCode] ?? ''}`);
      });
    }
    // vLLM's API-key middleware guards /v1 only; /health, /metrics, /version stay open.
    if (cfg.apiKeys.length > 0 && path.startsWith('/v1') && req.method !== 'OPTIONS') {
      const auth = req.headers.authorization ?? '';
      if (!cfg.apiKeys.some((k) => auth === `Bearer ${k}`)) return send(res, 401, { error: 'Unauthorized' });
    }
    const handler = routes[`${req.method} ${path}`];
    if (!handler) {
      return knownPaths.has(path) ? send(res, 405, { detail: 'Method Not Allowed' }) : send(res, 404, { detail: 'Not Found' });
    }
    const fail = (e) => {
      write('stderr', `${api} ERROR: ${e?.stack ?? e}`);
      if (!res.headersSent) send(res, 500, lib.openaiError(500, 'InternalServerError', String(e?.message ?? e)).body);
      else res.end();
    };
    if (req.method !== 'POST') return Promise.resolve(handler(req, res, undefined, url)).catch(fail);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      if (raw.trim() !== '') {
        try {
          body = JSON.parse(raw);
        } catch (e) {
          return send(res, 400, lib.openaiError(400, 'BadRequestError', `[{'type': 'json_invalid', 'loc': ('body', 0), 'msg': 'JSON decode error', 'input': {}, 'ctx': {'error': ${lib.pyStr(String(e.message))}}}]`).body);
        }
      }
      Promise.resolve(handler(req, res, body, url)).catch(fail);
    });
  });
  server.keepAliveTimeout = 5000; // uvicorn's default
  return Object.assign(server, {
    stopEngine: () => {
      engine.stopped = true;
    },
    openResponses: () => openResponses,
  });
}

// Run directly: `node server.mjs serve <model> ...` or `node server.mjs legacy --model X ...`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [style, ...rest] = process.argv.slice(2);
  if (style === 'serve' || style === 'legacy') main(style, rest);
  else {
    write('stderr', 'usage: node server.mjs serve|legacy [vLLM args...]');
    exit(2);
  }
}
