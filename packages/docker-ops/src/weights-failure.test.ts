import { describe, expect, test } from 'vitest';
import { WeightsAccessError, WeightsCacheError, WeightsDownloadError, WeightsNoSpaceError, WeightsNotFoundError } from './errors.js';
import { DEFAULT_RETRY_POLICY, type FailureContext, classifyFailure, retryDelay } from './weights-failure.js';
import type { ProgramError } from './weights-program.js';

const ctx: FailureContext = { key: 'llama', repo: 'meta/llama', hasToken: false, endpoint: 'https://huggingface.co' };
// As the program reports the client's exceptions (messages shortened from real runs against the Hub stand-in).
const err = (over: Partial<ProgramError>): ProgramError => ({ type: 'HfHubHTTPError', module: 'huggingface_hub.errors', status: null, errno: null, message: '', causes: [], ...over });
const gated401 = err({ type: 'GatedRepoError', status: 401, message: '401 Client Error.\n\nCannot access gated repo for url http://hf-hub:8080/meta/llama/resolve/x/config.json.' });

describe('classifyFailure', () => {
  test('a gated repo without a token: accept the licence and set HF_TOKEN; not retried', () => {
    const f = classifyFailure(gated401, ctx);
    expect(f.retryable).toBe(false);
    expect(f.error).toBeInstanceOf(WeightsAccessError);
    expect(f.error).toMatchObject({ reason: 'gated-no-token', model: 'llama', repo: 'meta/llama', message: 'meta/llama is gated and llama has no HF_TOKEN' });
    expect(f.error.hint).toBe("accept the model's licence at https://huggingface.co/meta/llama while logged in, then put HF_TOKEN=hf_... (a token of that account) in .env");
  });

  test('a gated repo whose token has no access (403), and a token the Hub refuses (401)', () => {
    const noAccess = classifyFailure(err({ type: 'GatedRepoError', status: 403 }), { ...ctx, hasToken: true });
    expect(noAccess.error).toMatchObject({ reason: 'no-access' });
    expect(noAccess.error.hint).toContain('request access (accept the licence) at https://huggingface.co/meta/llama');
    const refused = classifyFailure(err({ status: 401, message: "Client error '401 Unauthorized' for url '...'\n\nInvalid credentials in Authorization header" }), { ...ctx, hasToken: true });
    expect(refused.error).toMatchObject({ reason: 'token-refused', message: 'the Hub did not accept the HF_TOKEN of llama (401: Invalid credentials in Authorization header)' });
  });

  test('a repo or revision that does not exist: check the model id', () => {
    const repo = classifyFailure(err({ type: 'RepositoryNotFoundError', status: 401 }), ctx);
    expect(repo.error).toBeInstanceOf(WeightsNotFoundError);
    expect(repo.error).toMatchObject({ what: 'repo', message: 'meta/llama (the model of llama) is not on the Hub, or it is private' });
    expect(repo.error.hint).toContain('for a private repo set HF_TOKEN');
    const revision = classifyFailure(err({ type: 'RevisionNotFoundError', status: 404 }), { ...ctx, revision: 'v9' });
    expect(revision.error).toMatchObject({ what: 'revision', message: 'revision v9 of meta/llama (model llama) does not exist' });
  });

  test('a full disk is the numbers; a read-only cache says so', () => {
    const full = classifyFailure(err({ type: 'OSError', module: 'builtins', errno: 28, message: '[Errno 28] No space left on device' }), { ...ctx, space: { neededBytes: 16e9, freeBytes: 2.5e9, path: '/root/.cache/huggingface/hub' } });
    expect(full.retryable).toBe(false);
    expect(full.error).toBeInstanceOf(WeightsNoSpaceError);
    expect(full.error.message).toBe('not enough space for meta/llama: 16.0 GB to download, 2.5 GB free on the disk of the Hugging Face cache (/root/.cache/huggingface/hub)');
    const ro = classifyFailure(err({ type: 'OSError', module: 'builtins', errno: 30, message: "[Errno 30] Read-only file system: '/root/.cache/huggingface/hub/models--meta--llama'" }), ctx);
    expect(ro.error).toBeInstanceOf(WeightsCacheError);
    expect(ro.error.hint).toContain('not :ro');
  });

  test.each([
    ['requests (0.x), a reset', err({ type: 'ChunkedEncodingError', module: 'requests.exceptions', message: "('Connection broken: ConnectionResetError(104, 'Connection reset by peer')', ...)" })],
    ['httpx (1.x, 2.x), a reset', err({ type: 'ReadError', module: 'httpx', message: '[Errno 104] Connection reset by peer' })],
    ['httpx, a close', err({ type: 'RemoteProtocolError', module: 'httpx', message: 'peer closed connection without sending complete message body' })],
    ['no route to the Hub', err({ type: 'LocalEntryNotFoundError', module: 'huggingface_hub.errors', causes: ['ConnectError', 'gaierror'] })],
    ['a busy Hub', err({ status: 503 })],
    ['a rate limit', err({ status: 429 })],
    ['a file that vanished (a branch moved)', err({ type: 'RemoteEntryNotFoundError', status: 404 })],
  ])('%s is retried', (_what, failure) => {
    const f = classifyFailure(failure, ctx);
    expect(f.retryable).toBe(true);
    expect(f.error).toBeInstanceOf(WeightsDownloadError);
  });

  test('an interrupted download names the Hub to check and says a new pull resumes', () => {
    const f = classifyFailure(err({ type: 'ConnectError', module: 'httpx2', message: '[Errno -3] Temporary failure in name resolution' }), { ...ctx, endpoint: 'http://mirror:8080' });
    expect(f.error.message).toBe('the download of meta/llama was interrupted: ConnectError: [Errno -3] Temporary failure in name resolution');
    expect(f.error.hint).toBe("check that the model's host reaches http://mirror:8080 (a proxy: HTTPS_PROXY in the model's env; a mirror: HF_ENDPOINT); serve pull keeps what it has and goes on from there");
  });

  test('an unknown exception is not retried and asks for a report', () => {
    const f = classifyFailure(err({ type: 'ValueError', module: 'builtins', message: 'bad' }), ctx);
    expect(f).toMatchObject({ retryable: false, error: { message: 'cannot pull meta/llama: ValueError: bad' } });
  });
});

describe('retryDelay', () => {
  test('doubles the pause while attempts bring nothing, gives up after 5 in a row or 20 in all', () => {
    expect([1, 2, 3, 4].map((stalled) => retryDelay(DEFAULT_RETRY_POLICY, stalled, stalled))).toEqual([2000, 4000, 8000, 16000]);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 5, 5)).toBeUndefined();
    // Progress resets the count: a long download over a bad line goes on.
    expect(retryDelay(DEFAULT_RETRY_POLICY, 12, 0)).toBe(2000);
    expect(retryDelay(DEFAULT_RETRY_POLICY, 20, 0)).toBeUndefined();
    expect(retryDelay({ ...DEFAULT_RETRY_POLICY, maxStalled: 9 }, 8, 8)).toBe(30000);
  });
});
