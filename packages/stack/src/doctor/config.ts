import { ConfigError, ConfigValidationError, loadConfig, type StackConfig } from '@inferstack/config';
import { shownPath } from '../_paths.js';
import type { Check } from './check.js';

/* The config: does models.yaml (with .env) load, and if not, every problem in it. */

/** Load the config; an invalid one is a failed check (with every issue), not an exception. */
export async function configCheck(cwd: string, env: NodeJS.ProcessEnv, file: string | undefined, checks: Check[]): Promise<StackConfig | undefined> {
  try {
    const config = await loadConfig({ cwd, env, ...(file !== undefined ? { file } : {}) });
    const n = config.models.length;
    checks.push({
      id: 'config',
      title: 'config',
      status: 'ok',
      message: `${shownPath(cwd, config.file)}: ${n} model${n === 1 ? '' : 's'}, gateway ${config.gateway.mode}, monitoring ${config.monitoring.mode}`,
    });
    return config;
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      checks.push({
        id: 'config',
        title: 'config',
        status: 'fail',
        message: `${error.issues.length} problem${error.issues.length === 1 ? '' : 's'} in the configuration`,
        details: error.format().split('\n'),
        hint: 'fix them; "serve plan" checks again',
      });
    } else if (error instanceof ConfigError) {
      checks.push({ id: 'config', title: 'config', status: 'fail', message: error.message, hint: (error as { hint?: string }).hint ?? 'run "serve init" to start a project' });
    } else {
      throw error;
    }
    return undefined;
  }
}
