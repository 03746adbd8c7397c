import {
  LitellmAuthError,
  type LitellmErrorBody,
  LitellmHttpError,
  type LitellmHttpErrorInit,
  LitellmNoDatabaseError,
} from './errors.js';

const MAX_MESSAGE = 500;

/**
 * Normalises LiteLLM's two error shapes into one:
 * `{"error": {"message", "type", "param", "code"}}` (LiteLLM's ProxyException) and FastAPI's
 * `{"detail": string | object | validation-error[]}`. Anything else keeps (a bounded part of) the
 * raw text so the user still sees what came back.
 */
export function parseErrorBody(text: string, status: number): LitellmErrorBody {
  let body: unknown;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isRecord(body)) {
    const error = body['error'];
    if (isRecord(error)) {
      const result: LitellmErrorBody = { message: messageOf(error['message']) ?? `HTTP ${status}` };
      const type = scalar(error['type']);
      const code = scalar(error['code']);
      const param = scalar(error['param']);
      if (type !== undefined) result.type = type;
      if (code !== undefined) result.code = code;
      if (param !== undefined && param !== 'None') result.param = param;
      return result;
    }
    const fromError = messageOf(error);
    if (fromError !== undefined) return { message: fromError };
    if ('detail' in body) {
      const detail = detailMessage(body['detail']);
      if (detail !== undefined) return { message: detail };
    }
    const message = messageOf(body['message']);
    if (message !== undefined) return { message };
  }
  const raw = text.trim();
  return { message: raw === '' ? `HTTP ${status}` : truncate(raw) };
}

/**
 * Turns a failed response into the most specific error class. LiteLLM reports some conditions
 * only through the message text, so these checks look at it too.
 */
export function httpErrorFor(init: LitellmHttpErrorInit): LitellmHttpError {
  const { status, type } = init;
  const message = init.message;
  if (status === 401) return new LitellmAuthError(init);
  // Without a database, a key that is not the master key cannot be looked up: LiteLLM answers
  // 400 no_db_connection ("No connected db.") where a proxy with a DB would answer 401.
  if (status === 400 && (type === 'no_db_connection' || /no connected db/i.test(message))) {
    return new LitellmAuthError(init);
  }
  if (status === 500 && /no db connected/i.test(message)) return new LitellmNoDatabaseError(init);
  return new LitellmHttpError(init);
}

/** Replaces every occurrence of `secret` in `text`: LiteLLM may echo what it was sent. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('***');
}

function detailMessage(detail: unknown): string | undefined {
  if (Array.isArray(detail)) {
    // FastAPI request validation: [{loc: ['body', 'model_name'], msg: 'Field required', ...}]
    const parts = detail.map((item) => {
      if (!isRecord(item)) return String(item);
      const loc = Array.isArray(item['loc']) ? item['loc'].map(String).join('.') : undefined;
      const msg = messageOf(item['msg']) ?? JSON.stringify(item);
      return loc ? `${loc}: ${msg}` : msg;
    });
    return parts.length > 0 ? truncate(parts.join('; ')) : undefined;
  }
  return messageOf(detail);
}

/** A message from a string or an object like `{error: "..."}` / `{message: "..."}`. */
function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : truncate(unwrapPythonRepr(value));
  if (isRecord(value)) {
    const inner = messageOf(value['error']) ?? messageOf(value['message']) ?? messageOf(value['detail']);
    return inner ?? truncate(JSON.stringify(value));
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * LiteLLM wraps an HTTPException's dict detail with `str(detail)`, so the message arrives as a
 * Python repr: `{'error': "No DB Connected. Here's how..."}`. Keep only the text inside.
 */
function unwrapPythonRepr(message: string): string {
  const match = /^\{\s*'(?:error|message)'\s*:\s*(['"])([\s\S]*)\1\s*\}$/.exec(message.trim());
  return match?.[2] ?? message;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
