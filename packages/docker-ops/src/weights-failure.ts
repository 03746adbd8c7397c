import { WeightsAccessError, WeightsCacheError, WeightsDownloadError, WeightsError, WeightsNoSpaceError, WeightsNotFoundError } from './errors.js';
import type { ProgramError } from './weights-program.js';

/*
 * What a failure of the Hugging Face client means for `serve pull`: an answer to show (a gated
 * repo, a wrong model id, a full disk), or a transient failure to retry (a cut connection, a busy
 * Hub). The client's exception classes are named alike from huggingface_hub 0.3x to 2.x
 * (`utils/_http.py` `hf_raise_for_status`); the network ones come from requests (0.x) or httpx
 * (1.x, 2.x). Pure.
 */

/** What the classification needs to word the error. */
export interface FailureContext {
  /** The model's key. */
  key: string;
  repo: string;
  revision?: string;
  /** Whether the model has an HF_TOKEN. */
  hasToken: boolean;
  /** The Hub's address for people (`HF_ENDPOINT`, else https://huggingface.co). */
  endpoint: string;
  /** For a full disk: what was to download and what the disk had free. */
  space?: { neededBytes: number; freeBytes: number; path: string };
}

/** A failure, classified. */
export interface ClassifiedFailure {
  /** Worth another attempt (network, a busy Hub, a listing that changed meanwhile). */
  retryable: boolean;
  error: WeightsError;
}

const ENOSPC = 28;
const EDQUOT = 122;
const EACCES = 13;
const EPERM = 1;
const EROFS = 30;

/** Exception class names of the network layer (requests/urllib3 in 0.x, httpx/httpcore in 1.x and 2.x). */
const NETWORK_ERRORS = new Set([
  'ConnectionError',
  'ConnectError',
  'ConnectTimeout',
  'ReadError',
  'ReadTimeout',
  'WriteError',
  'WriteTimeout',
  'PoolTimeout',
  'TimeoutException',
  'Timeout',
  'RemoteProtocolError',
  'ProtocolError',
  'ChunkedEncodingError',
  'IncompleteRead',
  'ProxyError',
  'SSLError',
  'NetworkError',
  'TransportError',
  'ContentDecodingError',
  // The client's own "could not reach the Hub and nothing cached" (its cause is a network error).
  'LocalEntryNotFoundError',
  'FileMetadataError',
]);

const firstLine = (text: string) => text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

/** The failure of one attempt of the pull program, as an error to show and whether to try again. */
export function classifyFailure(failure: ProgramError, ctx: FailureContext): ClassifiedFailure {
  const { key, repo } = ctx;
  const page = `${ctx.endpoint.replace(/\/+$/, '')}/${repo}`;
  const at = `${repo}${ctx.revision ? `@${ctx.revision}` : ''}`;
  const cause = { cause: failure };
  const fail = (error: WeightsError, retryable = false): ClassifiedFailure => ({ retryable, error });

  if (failure.errno === ENOSPC || failure.errno === EDQUOT) {
    const space = ctx.space ?? { neededBytes: 0, freeBytes: 0, path: 'the Hugging Face cache' };
    return fail(new WeightsNoSpaceError(key, repo, space, cause));
  }
  if (failure.errno === EACCES || failure.errno === EPERM || failure.errno === EROFS) {
    return fail(new WeightsCacheError(key, repo, `cannot write the Hugging Face cache for ${key}: ${firstLine(failure.message)}`, { ...cause, hint: 'the cache volume must be writable by the container (root): check the mount (not :ro) and the directory\'s owner on the host' }));
  }
  switch (failure.type) {
    case 'GatedRepoError':
      if (!ctx.hasToken) {
        return fail(new WeightsAccessError(key, repo, 'gated-no-token', `${repo} is gated and ${key} has no HF_TOKEN`, { ...cause, hint: `accept the model's licence at ${page} while logged in, then put HF_TOKEN=hf_... (a token of that account) in .env` }));
      }
      if (failure.status === 401) {
        return fail(new WeightsAccessError(key, repo, 'token-refused', `the Hub did not accept the HF_TOKEN of ${key} for the gated ${repo}`, { ...cause, hint: 'check HF_TOKEN in .env: a valid token from https://huggingface.co/settings/tokens' }));
      }
      return fail(new WeightsAccessError(key, repo, 'no-access', `the account of the HF_TOKEN of ${key} has no access to the gated ${repo}`, { ...cause, hint: `request access (accept the licence) at ${page} with that account, or use a token of an account that has it` }));
    case 'RepositoryNotFoundError':
      return fail(new WeightsNotFoundError(key, repo, 'repo', `${repo} (the model of ${key}) is not on the Hub${ctx.hasToken ? ', or the HF_TOKEN cannot see it' : ', or it is private'}`, { ...cause, hint: ctx.hasToken ? `check the model id in models.yaml (${page})` : `check the model id in models.yaml (${page}); for a private repo set HF_TOKEN in .env` }));
    case 'RevisionNotFoundError':
      return fail(new WeightsNotFoundError(key, repo, 'revision', `revision ${ctx.revision ?? 'main'} of ${repo} (model ${key}) does not exist`, { ...cause, hint: `check revision: in models.yaml: a branch, tag or commit of ${page}` }));
    case 'EntryNotFoundError':
    case 'RemoteEntryNotFoundError':
      // The file list changed between listing and downloading (a branch moved): list again.
      return fail(new WeightsDownloadError(key, repo, `a file of ${at} disappeared while it was pulled: ${firstLine(failure.message)}`, cause), true);
    default:
      break;
  }
  if (failure.type === 'HfHubHTTPError' || failure.status !== null) {
    const status = failure.status ?? 0;
    if (status === 401 && ctx.hasToken) {
      return fail(new WeightsAccessError(key, repo, 'token-refused', `the Hub did not accept the HF_TOKEN of ${key} (401: ${lastLine(failure.message)})`, { ...cause, hint: 'check HF_TOKEN in .env: a valid token from https://huggingface.co/settings/tokens' }));
    }
    if (status === 429 || status >= 500) {
      return fail(new WeightsDownloadError(key, repo, `the Hub answered ${status} for ${at}`, cause), true);
    }
    return fail(new WeightsDownloadError(key, repo, `the Hub answered ${status || 'an error'} for ${at}: ${firstLine(failure.message)}`, { ...cause, hint: `check ${page}` }));
  }
  if (NETWORK_ERRORS.has(failure.type) || failure.causes.some((c) => NETWORK_ERRORS.has(c)) || /Consistency check failed|timed out|Connection reset/i.test(failure.message)) {
    return fail(new WeightsDownloadError(key, repo, `the download of ${at} was interrupted: ${failure.type}: ${firstLine(failure.message)}`, { ...cause, hint: networkHint(ctx) }), true);
  }
  if (failure.errno !== null) {
    return fail(new WeightsDownloadError(key, repo, `cannot pull ${at}: ${failure.type}: ${firstLine(failure.message)}`, cause), true);
  }
  return fail(new WeightsDownloadError(key, repo, `cannot pull ${at}: ${failure.type}: ${firstLine(failure.message)}`, { ...cause, hint: 'please report this with the message above' }));
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.at(-1)?.trim() ?? '';
}

function networkHint(ctx: FailureContext): string {
  return `check that the model's host reaches ${ctx.endpoint} (a proxy: HTTPS_PROXY in the model's env; a mirror: HF_ENDPOINT); serve pull keeps what it has and goes on from there`;
}

/** When to try again: a few attempts in a row without new bytes, with a growing pause. */
export interface RetryPolicy {
  /** Attempts in a row that may end without a file more in the cache. @default 5 */
  maxStalled: number;
  /** Attempts in all. @default 20 */
  maxAttempts: number;
  /** The first pause; doubled each time, up to `maxDelayMs`. @default 2000 */
  baseDelayMs: number;
  /** @default 30000 */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxStalled: 5, maxAttempts: 20, baseDelayMs: 2000, maxDelayMs: 30_000 };

/**
 * After a retryable failure: the pause before the next attempt, or `undefined` to give up.
 * `attempt` counts from 1; `stalled` is the number of attempts in a row that brought nothing.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, stalled: number): number | undefined {
  if (attempt >= policy.maxAttempts || stalled >= policy.maxStalled) return undefined;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, stalled - 1));
}
