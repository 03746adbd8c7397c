// scripts/ensure-test-env.sh, the set-up that `pnpm test` runs first: on a machine that is set up
// it finds every step done and does none of them again; without root it changes nothing and
// says what is missing and how to set it up. (Its path that starts daemons is not run here: it
// would stop and restart daemons other test runs on this machine use.)
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const script = join(repoRoot, 'scripts/ensure-test-env.sh');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
    });
  });
}

let home: string | undefined;
afterEach(async () => {
  if (home) await rm(home, { recursive: true, force: true });
  home = undefined;
});

describe('scripts/ensure-test-env.sh', () => {
  it('on a machine that is set up, finds every step done and redoes none of them', async () => {
    const r = await run('bash', [script], process.env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/all set up already: Docker daemon, host tools, test images, host b, Kubernetes binaries/);
    expect(r.stdout).not.toMatch(/starting|installing|building|compile/i);
    console.log(`ensure-test-env: a run with everything set up took ${r.ms} ms`);
  });

  it('without root, starts and installs nothing, and names what is missing with the command for each', async () => {
    home = await mkdtemp(join(tmpdir(), 'test-env-home-'));
    // A Docker endpoint that cannot answer, and an empty home (no host b keys, no Kubernetes
    // binaries): the same outcome whatever this machine has.
    const env = { PATH: '/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin', HOME: home, DOCKER_HOST: `unix://${join(home, 'no-docker.sock')}`, LANG: 'C.UTF-8' };
    const asUser =
      process.getuid?.() === 0
        ? run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', script], process.env)
        : run('bash', [script], env);
    const r = await asUser;
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the tests need these, and setting them up takes root');
    expect(r.stderr).toContain(`a Docker daemon: none answers at ${env.DOCKER_HOST}. Start one: 'sudo bash scripts/ensure-docker.sh'`);
    expect(r.stderr).toContain("host b, the second Docker daemon (needs the Docker daemon first): 'sudo bash scripts/ensure-docker-b.sh'");
    expect(r.stderr).toMatch(new RegExp(`the Kubernetes test binaries \\(.*${home}.*\\): 'sudo bash scripts/ensure-kube.sh'`));
    expect(r.stderr).toContain('or set up all of it at once: sudo bash scripts/ensure-test-env.sh');
    expect(r.stderr).not.toMatch(/starting|installing|building/i);
  });
});
