// examples/stack-api/lifecycle.mjs, run as a user would (node, the built library), against the
// real daemon, the real LiteLLM gateway and the real Prometheus, with two vLLM stand-ins.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from './support/docker-cli.js';
import { createStackProject, type StackProject } from './support/stack-project.js';

const script = fileURLToPath(new URL('../examples/stack-api/lifecycle.mjs', import.meta.url));

describe('examples/stack-api', () => {
  let p: StackProject;
  beforeAll(async () => {
    p = await createStackProject('example');
    p.write(['a', 'b']);
  });
  afterAll(() => p.cleanup());

  it('lifecycle.mjs brings a stack up, reads its status, syncs it and takes it down', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [script, p.file], { env: p.env, timeout: 240_000 });
    const lines = stdout.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^service gateway +created http:\/\/127\.0\.0\.1:\d+$/),
        expect.stringMatching(/^service prometheus +created/),
        expect.stringMatching(new RegExp(`^model   ${p.prefix}-a +ready in`)),
        'gateway routes 2 model(s)',
        'prometheus scrapes 2 target(s)',
        expect.stringMatching(new RegExp(`^status  ${p.prefix}-a +running, in-sync, routed, scrape (up|unknown)$`)),
        'done: up ok, sync ok, down ok',
      ]),
    );
    expect((await docker(['ps', '-aq', '--filter', `name=${p.prefix}`])).stdout.trim()).toBe('');
  });
});
