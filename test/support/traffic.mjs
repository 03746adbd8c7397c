// Client traffic for availability measurements: closed-loop clients that send chat completions
// through an OpenAI-compatible endpoint (the LiteLLM gateway, or a vLLM stand-in directly) and
// record every request with its times and outcome, plus one long streaming request whose
// completion or truncation is reported. Plain JavaScript (types in traffic.d.mts) so that vitest
// tests and the node benchmarks in bench/ use the same code.
//
// Two kinds of clients. By default all clients share one keep-alive pool. With `ownConnection`
// each client keeps one connection of its own, as an OpenAI SDK client does, and reuses it
// request after request; a request is never sent again (node:http does not retry), so a
// connection the server resets under a request is a failure, recorded as on a reused connection.
// Every answer is checked for who gave it: the vLLM stand-in answers "Hello from <served name>!".
//
// node:http rather than fetch: Node 20's fetch never settles when the peer closes a connection
// right after accepting it, which is what docker-proxy does for a published port whose container
// is not listening (yet, or any more) — exactly the moments these measurements are about.
import http from 'node:http';
import https from 'node:https';

/** How long one request may take unless `timeoutMs` says otherwise. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** After a failed request a client waits at least this long, so that an endpoint that refuses at once does not turn into a busy loop (and into thousands of failures per second). */
const DEFAULT_FAILURE_PAUSE_MS = 100;
/** Error texts are cut to this length. */
const MAX_ERROR_CHARS = 300;
/** The vLLM stand-in's answer names the served model it came from. */
const GREETING = /Hello from ([^!\s]+)!/;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Error text without the key and without anything that looks like a LiteLLM/OpenAI key. */
function redact(text, key) {
  let out = String(text);
  if (key) out = out.split(key).join('***');
  out = out.replace(/sk-[A-Za-z0-9_-]{6,}/g, 'sk-***');
  return out.length > MAX_ERROR_CHARS ? `${out.slice(0, MAX_ERROR_CHARS)}…` : out;
}

/**
 * One POST with a deadline over the whole exchange (connect, headers and body). Resolves with
 * `{ status, headers }` after calling `onData` for every body chunk; rejects on a connection error,
 * a connection closed before the body ended, or the deadline.
 */
function post(url, { key, body, timeoutMs, agent, onRequest, onResponse, onData }) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const payload = Buffer.from(JSON.stringify(body));
    let settled = false;
    const finish = (error, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
    };
    const req = lib.request(
      u,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
      },
      (res) => {
        onResponse?.(res.statusCode ?? 0, res.headers);
        res.on('data', (chunk) => onData(chunk));
        res.on('end', () => finish(null, { status: res.statusCode ?? 0, headers: res.headers }));
        // Node reports a connection lost mid-body as an 'error' ("aborted") or only as a 'close'.
        const cut = (why) => finish(new Error(`connection closed after HTTP ${res.statusCode} before the body ended${why ? ` (${why})` : ''}`));
        res.on('error', (e) => cut(e?.message));
        res.on('close', () => {
          if (!res.complete) cut('');
        });
      },
    );
    const timer = setTimeout(() => {
      const error = new Error(`timed out after ${timeoutMs} ms`);
      finish(error);
      req.destroy(error);
    }, timeoutMs);
    req.on('error', (e) => finish(e));
    onRequest?.(req);
    req.end(payload);
  });
}

/**
 * Reads an SSE body as it arrives: counts `data:` events, notices `data: [DONE]`, an event with
 * an `error` member, and the last `finish_reason`.
 */
function sseReader() {
  let buffer = '';
  const state = { chunks: 0, done: false, error: '', finishReason: null, afterDone: false, content: '' };
  const line = (l) => {
    if (!l.startsWith('data:')) return;
    const data = l.slice(5).trim();
    if (data === '[DONE]') {
      state.done = true;
      return;
    }
    if (state.done) state.afterDone = true;
    state.chunks++;
    try {
      const event = JSON.parse(data);
      if (event && event.error) state.error ||= typeof event.error === 'string' ? event.error : JSON.stringify(event.error);
      const fr = event?.choices?.[0]?.finish_reason;
      if (fr) state.finishReason = fr;
      const piece = event?.choices?.[0]?.delta?.content;
      if (typeof piece === 'string') state.content += piece;
    } catch {
      state.error ||= `unparsable event: ${data.slice(0, 80)}`;
    }
  };
  return {
    state,
    push(chunk) {
      buffer += chunk.toString('utf8');
      let i;
      while ((i = buffer.indexOf('\n')) >= 0) {
        line(buffer.slice(0, i).replace(/\r$/, ''));
        buffer = buffer.slice(i + 1);
      }
    },
    end() {
      if (buffer) line(buffer.replace(/\r$/, ''));
      buffer = '';
    },
  };
}

/** The served model an answer names (the stand-in's greeting), undefined when it names none. */
const answeredBy = (content) => (typeof content === 'string' ? GREETING.exec(content)?.[1] : undefined);

/**
 * One chat completion: `{ ok, status, error, chunks, finishReason, from, reused }`. ok means HTTP
 * 200 and a complete answer: `choices` present (plain) or an SSE stream that ended with
 * `data: [DONE]` and carried no error event (stream). `from` is the model the answer names,
 * `reused` whether the request went on a kept-alive connection that had carried one before.
 */
async function chatOnce(options) {
  let request;
  const result = await chatExchange({ ...options, onRequest: (req) => (request = req) });
  return { ...result, reused: request?.reusedSocket === true };
}

async function chatExchange({ url, key, model, stream, maxTokens, extra, timeoutMs, agent, onChunk, onRequest }) {
  const body = { model, messages: [{ role: 'user', content: 'ping' }], stream, ...(maxTokens ? { max_tokens: maxTokens } : {}), ...extra };
  const sse = sseReader();
  const parts = [];
  let status = 0;
  try {
    await post(`${url.replace(/\/+$/, '')}/v1/chat/completions`, {
      key,
      body,
      timeoutMs,
      agent,
      onRequest,
      onResponse: (s) => (status = s),
      onData: (chunk) => {
        if (stream && status === 200) {
          const before = sse.state.chunks;
          sse.push(chunk);
          if (onChunk && sse.state.chunks !== before) onChunk(sse.state.chunks);
        } else parts.push(chunk);
      },
    });
  } catch (e) {
    sse.end();
    return { ok: false, status, error: redact(e?.message ?? e, key), chunks: sse.state.chunks, done: sse.state.done, finishReason: sse.state.finishReason };
  }
  if (status !== 200) {
    return { ok: false, status, error: redact(`HTTP ${status}: ${Buffer.concat(parts).toString('utf8')}`, key), chunks: 0, done: false, finishReason: null };
  }
  if (stream) {
    sse.end();
    const s = sse.state;
    const error = s.error ? `error event: ${s.error}` : !s.done ? `stream ended without data: [DONE] after ${s.chunks} chunks` : '';
    return { ok: !error, status, error: redact(error, key), chunks: s.chunks, done: s.done, finishReason: s.finishReason, from: answeredBy(s.content) };
  }
  const text = Buffer.concat(parts).toString('utf8');
  let answer;
  try {
    answer = JSON.parse(text);
  } catch {
    return { ok: false, status, error: redact(`HTTP 200 with a body that is not JSON: ${text}`, key), chunks: 0, done: false, finishReason: null };
  }
  const choices = answer?.choices;
  if (!Array.isArray(choices) || choices.length === 0) {
    return { ok: false, status, error: redact(`HTTP 200 without choices: ${text}`, key), chunks: 0, done: false, finishReason: null };
  }
  return { ok: true, status, error: '', chunks: 0, done: true, finishReason: choices[0]?.finish_reason ?? null, from: answeredBy(choices[0]?.message?.content) };
}

/** Nearest-rank percentile of sorted numbers (undefined for none). */
function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function buildReport({ models, records, marks, startedAt, stoppedAt }) {
  const perModel = {};
  for (const model of models) {
    const mine = records.filter((r) => r.model === model);
    const failed = mine.filter((r) => !r.ok);
    const latencies = mine.filter((r) => r.ok).map((r) => r.end - r.start).sort((a, b) => a - b);
    perModel[model] = {
      requests: mine.length,
      ok: mine.length - failed.length,
      failures: failed.length,
      wrongModel: mine.filter((r) => r.ok && r.from !== undefined && r.from !== model).length,
      unnamed: mine.filter((r) => r.ok && r.from === undefined).length,
      latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies.at(-1) },
      firstFailureAt: failed.length ? Math.min(...failed.map((r) => r.start)) : undefined,
      lastFailureAt: failed.length ? Math.max(...failed.map((r) => r.end)) : undefined,
    };
  }
  const failures = records.filter((r) => !r.ok);
  const at = (m, open) => {
    if (m === undefined || m === null) return open;
    if (typeof m === 'number') return m;
    const found = marks.find((x) => x.name === m);
    if (!found) throw new Error(`no mark named "${m}" (marks: ${marks.map((x) => x.name).join(', ') || 'none'})`);
    return found.at;
  };
  const between = (model, from, to) => {
    const lo = at(from, -Infinity);
    const hi = at(to, Infinity);
    // A failed request belongs to a window when its time in flight overlaps it: one sent just
    // before a replacement and failed by it counts as failed during it.
    return failures.filter((r) => (model == null || r.model === model) && r.end >= lo && r.start <= hi);
  };
  const s = (ms) => (ms === undefined ? '-' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);
  const rel = (t) => (t === undefined ? '-' : `+${((t - startedAt) / 1000).toFixed(1)}s`);
  return {
    startedAt,
    stoppedAt,
    marks: marks.map((m) => ({ ...m })),
    requests: records,
    failures,
    models: perModel,
    failuresBetween: between,
    failuresOutside(model, from, to) {
      const inside = new Set(between(model, from, to));
      return failures.filter((r) => (model == null || r.model === model) && !inside.has(r));
    },
    summary() {
      const rows = [['model', 'requests', 'failures', 'p50', 'p95', 'max', 'failing from', 'to']];
      for (const [model, m] of Object.entries(perModel)) {
        rows.push([model, String(m.requests), String(m.failures), s(m.latencyMs.p50), s(m.latencyMs.p95), s(m.latencyMs.max), rel(m.firstFailureAt), rel(m.lastFailureAt)]);
      }
      const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
      const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd());
      lines.push(`over ${s(stoppedAt - startedAt)}; marks: ${marks.map((m) => `${m.name} ${rel(m.at)}`).join(', ') || 'none'}`);
      const shown = failures.slice(0, 5);
      for (const f of shown) lines.push(`  ✖ ${f.model} ${rel(f.start)}..${rel(f.end)} ${f.status || 'no answer'}: ${f.error}`);
      if (failures.length > shown.length) lines.push(`  … and ${failures.length - shown.length} more failures`);
      return lines.join('\n');
    },
  };
}

/**
 * Start closed-loop clients: `concurrency` per model, each sending one chat completion, waiting
 * for its end, pausing `pauseMs` (after a failure at least 100 ms), and sending the next, until
 * `stop()`. With `ownConnection` each client keeps one connection of its own alive between its
 * requests (an OpenAI SDK client's way), instead of drawing from a pool all clients share.
 */
export function startTraffic({
  url,
  key,
  models,
  concurrency = 1,
  stream = false,
  maxTokens,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  pauseMs = 0,
  failurePauseMs = DEFAULT_FAILURE_PAUSE_MS,
  extraBody = {},
  ownConnection = false,
}) {
  if (!url) throw new Error('startTraffic: url is required');
  if (!Array.isArray(models) || models.length === 0) throw new Error('startTraffic: models must name at least one model');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`startTraffic: concurrency must be a whole number ≥ 1, not ${concurrency}`);
  const Agent = (new URL(url).protocol === 'https:' ? https : http).Agent;
  const agents = ownConnection ? [] : [new Agent({ keepAlive: true, maxSockets: models.length * concurrency })];
  const records = [];
  const marks = [];
  const startedAt = Date.now();
  let stopping = false;
  let wake = () => {};
  const stopped = new Promise((resolve) => (wake = resolve));
  let seq = 0;

  const client = async (model) => {
    // One socket: a client waits for each answer, so its next request goes on the same connection.
    const agent = ownConnection ? new Agent({ keepAlive: true, maxSockets: 1 }) : agents[0];
    if (ownConnection) agents.push(agent);
    while (!stopping) {
      const start = Date.now();
      const r = await chatOnce({ url, key, model, stream, maxTokens, extra: extraBody, timeoutMs, agent });
      records.push({ id: ++seq, model, stream, start, end: Date.now(), ok: r.ok, status: r.status, error: r.error, chunks: r.chunks, from: r.from, reused: r.reused });
      const pause = r.ok ? pauseMs : Math.max(pauseMs, failurePauseMs);
      if (pause > 0 && !stopping) await Promise.race([sleep(pause), stopped]);
    }
  };
  const clients = models.flatMap((model) => Array.from({ length: concurrency }, () => client(model)));

  return {
    startedAt,
    get requests() {
      return records;
    },
    mark(name) {
      if (marks.some((m) => m.name === name)) throw new Error(`mark "${name}" was already set`);
      const at = Date.now();
      marks.push({ name, at });
      return at;
    },
    async stop() {
      stopping = true;
      wake();
      await Promise.all(clients);
      for (const agent of agents) agent.destroy();
      return buildReport({ models, records, marks, startedAt, stoppedAt: Date.now() });
    },
  };
}

/**
 * One long streaming chat completion (`max_tokens` = `min_tokens` = tokens, `ignore_eos`, so a
 * vLLM generates exactly that many tokens): did it end with `data: [DONE]`, after how many chunks.
 */
export async function longRequest({ url, key, model, tokens, timeoutMs = 120_000, onChunk }) {
  if (!Number.isInteger(tokens) || tokens < 1) throw new Error(`longRequest: tokens must be a whole number ≥ 1, not ${tokens}`);
  const agent = new (new URL(url).protocol === 'https:' ? https : http).Agent({ keepAlive: false });
  const start = Date.now();
  let firstChunkAt;
  try {
    const r = await chatOnce({
      url,
      key,
      model,
      stream: true,
      maxTokens: tokens,
      extra: { ignore_eos: true, min_tokens: tokens },
      timeoutMs,
      agent,
      onChunk: (n) => {
        firstChunkAt ??= Date.now();
        onChunk?.(n);
      },
    });
    return { model, start, end: Date.now(), firstChunkAt, complete: r.ok, done: r.done, chunks: r.chunks, finishReason: r.finishReason, status: r.status, error: r.error };
  } finally {
    agent.destroy();
  }
}
