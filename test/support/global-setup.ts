// globalSetup of the `docker` vitest project: a daemon must answer (fail loudly, never skip), the
// local test images are built (images/build.sh skips what is current; not again right after the
// set-up of `pnpm test`, scripts/ensure-test-env.sh, which ran it), and one session id labels
// everything the tests create; teardown removes all of it.
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { assertDaemon, newSessionId, removeSessionResources, runInherited, TEST_LABEL_KEY } from './docker-cli.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const version = await assertDaemon();
  // `pnpm test` has just run scripts/ensure-test-env.sh, which ran images/build.sh: not twice.
  if (process.env.INFERSTACK_TEST_ENV !== 'ready') await runInherited('bash', ['images/build.sh'], repoRoot);
  const session = process.env.INFERSTACK_TEST_SESSION || newSessionId();
  process.env.INFERSTACK_TEST_SESSION = session;
  project.provide('inferstackTestSession', session);
  console.log(`docker tests: daemon ${version}, resources labelled ${TEST_LABEL_KEY}=${session}`);
  return async () => {
    await removeSessionResources(session);
  };
}
