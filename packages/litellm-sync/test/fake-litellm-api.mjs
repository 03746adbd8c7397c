// A LiteLLM proxy in DB mode, as far as inferstack's sync talks to it: node:http on loopback,
// answering with the status codes and bodies LiteLLM 1.108 sends (read from its 1.108.14 source,
// checked against the real proxy in config-file mode, and on the points marked so against
// 1.108.7 in DB mode; see docs/upstream/litellm.md):
//
//   auth      no key → 401 auth_error; wrong key → 401 token_not_found_in_db with a DB (a key not
//             starting with sk- → 401 auth_error), 400 no_db_connection without one
//   /model/info, /v1/model/info (?litellm_model_id=, unknown → 400)  defaults added to
//             litellm_params, api_key removed, model_info.db_model, custom model_info keys verbatim
//   /model/new     500 "No DB Connected" without DB; an id already in the DB → 500 "Failed to add
//                  model to db"; the id of a config-file entry → 200, and the entry is replaced;
//                  answers the DB row with encrypted params
//   /model/delete  unknown id (or a config model) → 400 "Model with id=<id> not found in db"
//   a body that is not JSON → 422 (FastAPI's validation shape), before auth; a JSON body of the
//             wrong shape → 422 after it
//   /v1/models, /models   model groups; /health/readiness, /health/liveliness without auth
//   /inferstack/state     with `plugin: true`: what inferstack's plugin answers (master key)
//
// Workers (`workers: N`): each has its own router (model list), as uvicorn's worker processes do.
// The worker that serves an admin call applies it at once (`/model/new` reloads its whole list
// from the DB, `/model/delete` drops the one entry); the others only at their next reload from
// the DB, every `reloadIntervalMs` each, at staggered times. A connection is served by one worker
// (`balance: 'connection'`, as uvicorn does: a kept-alive connection stays with its worker) or
// each request by the next one (`balance: 'request'`, a balancer in front of replicas);
// round-robin either way. A test that needs one order gives a function of method and path.
//
// Plain JavaScript so the benchmark can run it without a TypeScript loader; types in the .d.mts.
import { randomUUID, createHash } from 'node:crypto';
import { createServer } from 'node:http';

const LITELLM_PARAM_DEFAULTS = {
  allow_client_keepalive_override: false,
  use_in_pass_through: false,
  use_litellm_proxy: false,
  use_xai_oauth: false,
  merge_reasoning_content_in_choices: false,
};

const NO_DB_MESSAGE = `{'error': "No DB Connected. Here's how to do it - https://docs.litellm.ai/docs/proxy/virtual_keys"}`;
const STATE_PATH = '/inferstack/state';

/** LiteLLM's ProxyException body. */
const proxyError = (message, type, code, param = 'None') => ({ error: { message, type, param, code: String(code) } });
/** FastAPI's request-validation body (LiteLLM keeps type, loc and msg of each error). */
const validationError = (...errors) => ({ detail: errors.map(([type, loc, msg]) => ({ type, loc, msg })) });

/**
 * @param {import('./fake-litellm-api.d.mts').FakeLitellmOptions} [options]
 * @returns {Promise<import('./fake-litellm-api.d.mts').FakeLitellm>}
 */
export async function startFakeLitellm(options = {}) {
  const masterKey = options.masterKey;
  const db = options.db ?? true;
  const latencyMs = options.latencyMs ?? 0;
  const workerCount = Math.max(1, Math.floor(options.workers ?? 1));
  const reloadIntervalMs = options.reloadIntervalMs ?? 30_000;
  const balance = options.balance ?? 'connection';
  const plugin = options.plugin ?? false;

  /** The config file's entries (`db_model: false`), fixed while the proxy runs. */
  const config = new Map();
  for (const entry of options.configModels ?? []) {
    const id = entry.model_info?.id ?? hash(JSON.stringify(entry));
    config.set(id, { ...structuredClone(entry), model_info: { ...entry.model_info, id }, db: false });
  }
  /** The database's rows. @type {Map<string, {model_name: string, litellm_params: Record<string, unknown>, model_info: Record<string, unknown>, db: true}>} */
  const rows = new Map();

  /** One worker: its pid and the router it routes with. */
  const workers = Array.from({ length: workerCount }, (_, i) => ({ pid: 4100 + i, router: new Map(config) }));
  /** A worker's reload from the DB: entries gone from the DB and the config go, the DB's rows are upserted. */
  const reload = (worker) => {
    for (const id of [...worker.router.keys()]) if (!rows.has(id) && !config.has(id)) worker.router.delete(id);
    for (const [id, row] of rows) worker.router.set(id, structuredClone(row));
  };
  // Each worker on its own schedule: worker i first reloads (i + 1) / N of an interval after start.
  const timers = workers.map((worker, i) => {
    const timer = { handle: undefined };
    timer.handle = setTimeout(function tick() {
      reload(worker);
      timer.handle = setTimeout(tick, reloadIntervalMs);
      timer.handle.unref?.();
    }, Math.round((reloadIntervalMs * (i + 1)) / workerCount));
    timer.handle.unref?.();
    return timer;
  });
  let next = 0;
  const nextWorker = () => workers[next++ % workers.length];

  const requests = [];
  const faults = [];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const authorization = req.headers['authorization'];
    const worker =
      typeof balance === 'function'
        ? workers[balance({ method: req.method ?? 'GET', path: url.pathname }) % workers.length]
        : balance === 'request'
          ? nextWorker()
          : (req.socket.fakeWorker ??= nextWorker());
    requests.push({ method: req.method ?? 'GET', path: url.pathname, search: url.search, authorization, body, worker: worker.pid });
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));

    const fault = faults.shift();
    if (fault !== undefined) {
      if (fault === 'reset') return void req.socket.destroy();
      return send(res, fault, { detail: `fake: injected ${fault}` });
    }

    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /health/liveliness' || route === 'GET /health/liveness') return send(res, 200, "I'm alive!");
    if (route === 'GET /health/readiness') return send(res, 200, { status: 'healthy', db: db ? 'connected' : 'Not connected' });

    if (plugin && route === `GET ${STATE_PATH}`) {
      // The plugin's own check: the master key as a bearer token, nothing else.
      if (masterKey && authorization !== `Bearer ${masterKey}`) return send(res, 401, { detail: 'the master key is needed' });
      return send(res, 200, { pid: worker.pid, routes: {}, models: [...worker.router.keys()] });
    }

    const known = [
      'GET /model/info',
      'GET /v1/model/info',
      'POST /model/new',
      'POST /model/delete',
      'GET /v1/models',
      'GET /models',
    ];
    if (!known.includes(route)) return send(res, 404, { detail: 'Not Found' });

    // FastAPI reads a JSON body before it runs the route's dependencies (LiteLLM's auth).
    let json;
    if (req.method === 'POST' && body.trim() !== '') {
      try {
        json = JSON.parse(body);
      } catch (error) {
        const position = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
        return send(res, 422, validationError(['json_invalid', ['body', position], 'JSON decode error']));
      }
    }

    if (masterKey) {
      const key = bearer(authorization) ?? req.headers['x-litellm-api-key'];
      if (!key) return send(res, 401, proxyError('Authentication Error, No api key passed in.', 'auth_error', 401));
      if (key !== masterKey) {
        if (!db) return send(res, 400, proxyError('No connected db.', 'no_db_connection', 400, null));
        if (!key.startsWith('sk-')) {
          const masked = key.length > 8 ? `${key.slice(0, 4)}****${key.slice(-4)}` : '****';
          return send(res, 401, proxyError(`LiteLLM Virtual Key expected. Received=${masked}, expected to start with 'sk-'.`, 'auth_error', 401));
        }
        return send(res, 401, proxyError('Authentication Error, Invalid API key provided.', 'token_not_found_in_db', 401, 'key'));
      }
    }

    switch (route) {
      case 'GET /model/info':
      case 'GET /v1/model/info': {
        const only = url.searchParams.get('litellm_model_id');
        if (only !== null) {
          const row = worker.router.get(only);
          // An HTTPException of the route itself: FastAPI's shape, the dict kept as it is.
          if (row === undefined) return send(res, 400, { detail: { error: `Model id = ${only} not found on litellm proxy` } });
          return send(res, 200, { data: [reported(only, row)] });
        }
        return send(res, 200, { data: [...worker.router].map(([id, row]) => reported(id, row)) });
      }
      case 'GET /v1/models':
      case 'GET /models': {
        const names = [...new Set([...worker.router.values()].map((row) => row.model_name))];
        return send(res, 200, {
          data: names.map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
          object: 'list',
        });
      }
      case 'POST /model/new': {
        const problems = [];
        if (!isRecord(json)) problems.push(['model_attributes_type', ['body'], 'Input should be a valid dictionary or object to extract fields from']);
        else {
          if (typeof json.model_name !== 'string') problems.push(['missing', ['body', 'model_name'], 'Field required']);
          if (!isRecord(json.litellm_params)) problems.push(['missing', ['body', 'litellm_params'], 'Field required']);
          else if (typeof json.litellm_params.model !== 'string') problems.push(['missing', ['body', 'litellm_params', 'model'], 'Field required']);
        }
        if (problems.length > 0) return send(res, 422, validationError(...problems));
        if (!db) return send(res, 500, proxyError(NO_DB_MESSAGE, 'auth_error', 500));
        const id = json.model_info?.id ?? randomUUID();
        if (rows.has(id)) {
          // The DB's unique constraint on model_id: LiteLLM logs it and answers this.
          return send(
            res,
            500,
            proxyError("{'error': 'Failed to add model to db. Check your server logs for more details.'}", 'auth_error', 500),
          );
        }
        // Not checked against the config file: a config entry with this id is replaced.
        const row = {
          model_name: json.model_name,
          litellm_params: structuredClone(json.litellm_params),
          model_info: { ...structuredClone(json.model_info ?? {}), id },
          db: true,
        };
        rows.set(id, row);
        // The serving worker reloads its whole list from the DB; the others at their next reload.
        reload(worker);
        // The raw DB row: every string param encrypted; not something to diff against.
        return send(res, 200, {
          model_id: id,
          model_name: row.model_name,
          litellm_params: Object.fromEntries(
            Object.entries(row.litellm_params).map(([k, v]) => [k, typeof v === 'string' ? encrypt(v) : v]),
          ),
          model_info: row.model_info,
          created_by: 'default_user_id',
          updated_by: 'default_user_id',
        });
      }
      case 'POST /model/delete': {
        if (!isRecord(json) || typeof json.id !== 'string') return send(res, 422, validationError(['missing', ['body', 'id'], 'Field required']));
        if (!db) return send(res, 500, proxyError(NO_DB_MESSAGE, 'auth_error', 500));
        const id = json.id;
        if (!rows.has(id)) {
          return send(res, 400, proxyError(`{'error': 'Model with id=${id} not found in db'}`, 'auth_error', 400));
        }
        rows.delete(id);
        // Only the serving worker drops it now (a config entry it had replaced goes with it).
        worker.router.delete(id);
        return send(res, 200, { message: `Model: ${id} deleted successfully` });
      }
    }
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get models() {
      const stored = [...[...config].filter(([id]) => !rows.has(id)), ...rows];
      return stored.map(([id, row]) => ({
        id,
        model_name: row.model_name,
        litellm_params: structuredClone(row.litellm_params),
        model_info: structuredClone(row.model_info),
        db_model: row.db,
      }));
    },
    get workers() {
      return workers.map((worker) => ({ pid: worker.pid, ids: [...worker.router.keys()] }));
    },
    reloadAll() {
      for (const worker of workers) reload(worker);
    },
    failNext(count, status = 503) {
      for (let i = 0; i < count; i++) faults.push(status);
    },
    close() {
      for (const timer of timers) clearTimeout(timer.handle);
      server.closeAllConnections?.();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** An entry as /model/info shows it: defaults added, credentials removed. */
function reported(id, row) {
  const { api_key: _key, client_secret: _secret, ...params } = row.litellm_params;
  const model = String(row.litellm_params.model ?? '');
  return {
    model_name: row.model_name,
    litellm_params: { ...params, ...LITELLM_PARAM_DEFAULTS, model },
    model_info: {
      ...row.model_info,
      id,
      db_model: row.db,
      key: model,
      litellm_provider: model.split('/')[0] ?? null,
      mode: null,
      max_tokens: null,
      input_cost_per_token: null,
      output_cost_per_token: null,
      supports_vision: null,
      supported_openai_params: ['max_tokens', 'stream', 'temperature', 'tools'],
    },
  };
}

function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bearer(header) {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match ? match[1].trim() : undefined;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function encrypt(value) {
  return Buffer.from(createHash('sha256').update(value).digest()).toString('base64url');
}

function hash(text) {
  return createHash('sha256').update(text).digest('hex');
}
