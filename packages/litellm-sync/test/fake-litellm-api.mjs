// A LiteLLM proxy in DB mode, as far as inferstack's sync talks to it: node:http on loopback,
// answering with the status codes and bodies LiteLLM 1.108 sends (read from its source and checked
// against the real proxy in config-file mode; see docs/upstream/litellm.md):
//
//   auth      no key → 401 auth_error; wrong key → 401 with a DB, 400 no_db_connection without
//   /model/info, /v1/model/info (?litellm_model_id=)  defaults added to litellm_params, api_key
//             removed, model_info.db_model, custom model_info keys verbatim
//   /model/new     500 "No DB Connected" without DB; re-used id → 500 "Failed to add model to db";
//                  answers the DB row with encrypted params
//   /model/delete  unknown id (or a config model) → 400 "Model with id=<id> not found in db"
//   /v1/models, /models   model groups; /health/readiness, /health/liveliness without auth
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

/** LiteLLM's ProxyException body. */
const proxyError = (message, type, code, param = 'None') => ({ error: { message, type, param, code: String(code) } });

/**
 * @param {import('./fake-litellm-api.d.mts').FakeLitellmOptions} [options]
 * @returns {Promise<import('./fake-litellm-api.d.mts').FakeLitellm>}
 */
export async function startFakeLitellm(options = {}) {
  const masterKey = options.masterKey;
  const db = options.db ?? true;
  const propagationDelayMs = options.propagationDelayMs ?? 0;
  const latencyMs = options.latencyMs ?? 0;
  /** @type {Map<string, {model_name: string, litellm_params: Record<string, unknown>, model_info: Record<string, unknown>, db: boolean, visibleAt: number, deletedAt?: number}>} */
  const models = new Map();
  /** Deleted rows, kept until their deletion has "propagated" to /model/info. */
  const tombstones = [];
  const requests = [];
  const faults = [];

  for (const entry of options.configModels ?? []) {
    const id = entry.model_info?.id ?? hash(JSON.stringify(entry));
    models.set(id, { ...structuredClone(entry), model_info: { ...entry.model_info, id }, db: false, visibleAt: 0 });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const authorization = req.headers['authorization'];
    requests.push({ method: req.method ?? 'GET', path: url.pathname, search: url.search, authorization, body });
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));

    const fault = faults.shift();
    if (fault !== undefined) {
      if (fault === 'reset') return void req.socket.destroy();
      return send(res, fault, { detail: `fake: injected ${fault}` });
    }

    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /health/liveliness' || route === 'GET /health/liveness') return send(res, 200, "I'm alive!");
    if (route === 'GET /health/readiness') return send(res, 200, { status: 'healthy', db: db ? 'connected' : 'Not connected' });

    const known = [
      'GET /model/info',
      'GET /v1/model/info',
      'POST /model/new',
      'POST /model/delete',
      'GET /v1/models',
      'GET /models',
    ];
    if (!known.includes(route)) return send(res, 404, { detail: 'Not Found' });

    if (masterKey) {
      const key = bearer(authorization) ?? req.headers['x-litellm-api-key'];
      if (!key) return send(res, 401, proxyError('Authentication Error, No api key passed in.', 'auth_error', 401));
      if (key !== masterKey) {
        if (!db) return send(res, 400, proxyError('No connected db.', 'no_db_connection', 400, null));
        const masked = key.length > 8 ? `${key.slice(0, 4)}****${key.slice(-4)}` : '****';
        return send(
          res,
          401,
          proxyError(`Authentication Error, Invalid proxy server token passed. Received API Key = ${masked}`, 'auth_error', 401),
        );
      }
    }

    const now = Date.now();
    switch (route) {
      case 'GET /model/info':
      case 'GET /v1/model/info': {
        const only = url.searchParams.get('litellm_model_id');
        const data = visible(now)
          .filter(([id]) => !only || id === only)
          .map(([id, row]) => reported(id, row));
        return send(res, 200, { data });
      }
      case 'GET /v1/models':
      case 'GET /models': {
        const names = [...new Set(visible(now).map(([, row]) => row.model_name))];
        return send(res, 200, {
          data: names.map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
          object: 'list',
        });
      }
      case 'POST /model/new': {
        if (!db) return send(res, 500, proxyError(NO_DB_MESSAGE, 'auth_error', 500));
        const entry = parseJson(body);
        if (!entry || typeof entry.model_name !== 'string' || !entry.litellm_params || typeof entry.litellm_params.model !== 'string') {
          // What 1.108 answers for a body its Deployment model rejects.
          return send(res, 500, { error: { message: 'Internal server error', type: 'internal_server_error' } });
        }
        const id = entry.model_info?.id ?? randomUUID();
        if (models.has(id)) {
          return send(
            res,
            500,
            proxyError("{'error': 'Failed to add model to db. Check your server logs for more details.'}", 'auth_error', 500),
          );
        }
        const row = {
          model_name: entry.model_name,
          litellm_params: structuredClone(entry.litellm_params),
          model_info: { ...structuredClone(entry.model_info ?? {}), id },
          db: true,
          visibleAt: now + propagationDelayMs,
        };
        models.set(id, row);
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
        if (!db) return send(res, 500, proxyError(NO_DB_MESSAGE, 'auth_error', 500));
        const id = parseJson(body)?.id;
        const row = typeof id === 'string' ? models.get(id) : undefined;
        if (row === undefined || !row.db) {
          return send(res, 400, proxyError(`{'error': 'Model with id=${id} not found in db'}`, 'auth_error', 400));
        }
        models.delete(id);
        if (propagationDelayMs > 0) tombstones.push([id, { ...row, deletedAt: now + propagationDelayMs }]);
        return send(res, 200, { message: `Model: ${id} deleted successfully` });
      }
    }
  });

  /** Rows as /model/info shows them at `now` (changes show after propagationDelayMs). */
  function visible(now) {
    for (let i = tombstones.length - 1; i >= 0; i--) if (tombstones[i][1].deletedAt <= now) tombstones.splice(i, 1);
    return [
      ...[...models].filter(([, row]) => row.visibleAt <= now),
      ...tombstones.filter(([id]) => !models.has(id) || models.get(id).visibleAt > now),
    ];
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    get models() {
      return [...models].map(([id, row]) => ({
        id,
        model_name: row.model_name,
        litellm_params: structuredClone(row.litellm_params),
        model_info: structuredClone(row.model_info),
        db_model: row.db,
      }));
    },
    failNext(count, status = 503) {
      for (let i = 0; i < count; i++) faults.push(status);
    },
    close() {
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

function bearer(header) {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match ? match[1].trim() : undefined;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
