import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openStack, type Stack, type StackEventHandler } from '@inferstack/stack';

// The commands take it from here, never from the stack's index (see tsup.config.ts).
export { hasSeveralHosts } from '@inferstack/stack';
import { createConfigLoader } from '@inferstack/config';
import type { Output } from './output.js';

/** What every command gets from `runCli` (citty's `data`). */
export interface CommandEnv {
  env: NodeJS.ProcessEnv;
  cwd: string;
  output: Output;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** The env a command was run with, from citty's context. */
export function commandEnv(context: { data?: unknown }): CommandEnv {
  return context.data as CommandEnv;
}

/**
 * Open the stack of `configPath` for a command (this module is loaded with the commands, so
 * `--help` never loads the library), its config read through the CLI's cache of parsed configs;
 * every secret of the config is masked in all output from here on.
 */
export async function openStackFor(ctx: CommandEnv, args: { 'model-config': string; project?: string }, onEvent?: StackEventHandler): Promise<Stack> {
  // The bundled bin carries Grafana's files beside itself (copied there at build); from the
  // sources, the library finds its own.
  const grafana = fileURLToPath(new URL('./grafana/', import.meta.url));
  const stack = await openStack({
    configPath: args['model-config'],
    ...(args.project !== undefined ? { name: args.project } : {}),
    cwd: ctx.cwd,
    env: ctx.env,
    signal: ctx.signal,
    loadConfig: createConfigLoader({ env: ctx.env, debug: (message) => ctx.output.debug(message) }),
    ...(existsSync(grafana) ? { grafanaAssets: { dashboards: `${grafana}dashboards`, provisioning: `${grafana}provisioning` } } : {}),
    ...(onEvent ? { onEvent } : {}),
    // The managed watcher runs this very program (the bundled bin) in a container of the stack.
    ...(existsSync(fileURLToPath(new URL('./serve.cjs', import.meta.url))) ? { watcherProgram: { dir: fileURLToPath(new URL('.', import.meta.url)), main: 'serve.cjs' } } : {}),
  });
  ctx.output.addSecrets(stack.secrets);
  return stack;
}
