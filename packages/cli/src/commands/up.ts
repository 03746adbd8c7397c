import { defineCommand } from 'citty';
import {
  applyModelPlan,
  checkGpuPlacement,
  detectGpusLocally,
  detectGpusViaDocker,
  inspectImage,
  type DockerClient,
  formatGpuProblems,
  isLocalDaemon,
  containersOfStack,
  listModelContainers,
  planModels,
  type ModelChange,
  type ModelOutcome,
} from '@inferstack/docker-ops';
import { asCliError, commonArgs, docker, extraLabels, hashKey, loadStack, lock, type CommandEnv } from '../context.js';
import { ensureGateway, requireGatewayKey } from '../stack/gateway.js';
import { integrationsJson, reportIntegrations, syncIntegrations } from '../stack/integrations.js';
import { ensureMonitoring } from '../stack/monitoring.js';
import { CliError, ExitCode } from '../errors.js';
import { formatDuration } from '../output.js';
import { printPlan, planJson } from '../plan-view.js';
import { Progress } from '../progress.js';

export const upArgs = {
  models: { type: 'positional', required: false, description: 'Models to serve (default: all in the config)', valueHint: 'MODEL...' },
  'force-recreate': { type: 'boolean', alias: 'force-reload', description: 'Recreate the models even when unchanged' },
  'dry-run': { type: 'boolean', description: 'Print the plan, change nothing' },
  timeout: { type: 'string', description: 'Seconds to wait for each model to be ready (default 3600)', valueHint: 'SECONDS' },
  json: { type: 'boolean', description: 'Print the result as JSON' },
  ...commonArgs,
} as const;

/** `serve up [MODEL...]`: make the running models match the config. */
export async function up(ctx: CommandEnv, args: { models: string[]; file: string; forceRecreate: boolean; dryRun: boolean; timeoutSeconds?: number; json: boolean }): Promise<number> {
  const out = ctx.output;
  const config = await loadStack(ctx, args.file, args.models);
  // The gateway and Prometheus serve every model of the stack, not only the ones named here.
  const stack = args.models.length > 0 ? await loadStack(ctx, args.file) : config;
  requireGatewayKey(config);
  const client = await docker(ctx);
  const held = args.dryRun ? undefined : await lock(ctx, client, `serve up ${args.models.join(' ')}`.trim());
  const progress = new Progress(out, { live: out.isTTY && !args.json });
  try {
    const actual = containersOfStack(await listModelContainers(client), { network: config.network, keys: config.models.map((m) => m.key) });
    const changes = planModels(config.models, actual, { removeOrphans: args.models.length === 0, forceRecreate: args.forceRecreate });
    if (args.dryRun) {
      if (args.json) out.json({ plan: planJson(changes) });
      else printPlan(out, changes);
      return ExitCode.ok;
    }

    await gpuPreflight(ctx, client, changes);

    const started = Date.now();
    // Infrastructure first, each only if needed: the gateway, then the monitoring stack.
    let infraOk = true;
    let gatewayJustStarted = false;
    let gatewayFailed = false;
    const labels = extraLabels(ctx.env);
    if (config.gateway.mode === 'managed') {
      try {
        const r = await ensureGateway(client, stack, { hashKey: hashKey(ctx.env), extraLabels: labels });
        gatewayJustStarted = r.action !== 'kept';
        progress.line(`${out.green('✔')} gateway      ${config.gateway.containerName} ${r.action}, ${config.gateway.url}`);
      } catch (error) {
        infraOk = false;
        gatewayFailed = true;
        const e = asCliError(error) as Error & { hint?: string };
        out.error(`gateway: ${e.message}`, e.hint);
      }
    }
    if (config.monitoring.mode === 'managed') {
      try {
        for (const line of await ensureMonitoring(ctx, client, stack)) progress.line(`${out.green('✔')} ${line}`);
      } catch (error) {
        infraOk = false;
        const e = asCliError(error) as Error & { hint?: string };
        out.error(`monitoring: ${e.message}`, e.hint);
      }
    }

    let outcomes: ModelOutcome[];
    try {
      outcomes = await applyModelPlan(client, changes, {
        network: config.network,
        extraLabels: labels,
        probe: isLocalDaemon({ env: ctx.env }) ? 'http' : 'healthcheck',
        readyTimeoutMs: args.timeoutSeconds !== undefined ? args.timeoutSeconds * 1000 : undefined,
        signal: ctx.signal,
        onEvent: progress.handle,
      });
    } catch (error) {
      throw asCliError(error);
    }
    progress.stop();

    const failed = outcomes.filter((o) => o.outcome === 'failed');
    const aborted = outcomes.filter((o) => o.outcome === 'aborted');
    const changed = outcomes.filter((o) => o.action !== 'keep' && o.outcome === 'done');
    // Register only what is ready; a model that failed is not routed to.
    const integrations = ctx.signal.aborted
      ? undefined
      : await syncIntegrations(ctx, client, stack, { readyKeys: new Set(outcomes.filter((o) => o.outcome === 'done').map((o) => o.key)), gatewayJustStarted, skipGateway: gatewayFailed });
    const integrationsOk = integrations ? (args.json ? isOk(integrations) : reportIntegrations(ctx, integrations)) : true;
    if (args.json) {
      out.json({
        ok: failed.length === 0 && aborted.length === 0 && integrationsOk && infraOk,
        elapsedMs: Date.now() - started,
        models: outcomes.map(outcomeJson),
        ...(integrations ? integrationsJson(integrations) : {}),
      });
    } else if (ctx.signal.aborted) {
      out.info(`interrupted: ${changed.length} change(s) done (${changed.map((o) => o.key).join(', ') || 'none'}); not done: ${aborted.map((o) => o.key).join(', ') || 'none'}. Run "serve up" again to finish.`);
    } else if (changed.length === 0 && failed.length === 0) {
      out.info('nothing to do: every model is up and matches the config');
    } else {
      out.info(`${changed.length} model(s) changed, ${failed.length} failed in ${formatDuration(Date.now() - started)}`);
    }
    for (const f of failed) {
      if (args.json) break;
      if (f.failure?.logs && !f.failure.diagnosis) {
        const tail = f.failure.logs.trimEnd().split('\n').slice(-10);
        out.info(`last log lines of ${f.key}:`);
        for (const l of tail) out.info(`  ${l}`);
      }
    }
    if (ctx.signal.aborted) return ExitCode.interrupted;
    return failed.length > 0 || !integrationsOk || !infraOk ? ExitCode.failed : ExitCode.ok;
  } finally {
    progress.stop();
    await held?.release();
  }
}

function isOk(r: { gateway: { ok: boolean }; monitoring: { ok: boolean } }): boolean {
  return r.gateway.ok && r.monitoring.ok;
}

function outcomeJson(o: ModelOutcome) {
  return {
    model: o.key,
    action: o.action,
    outcome: o.outcome,
    elapsedMs: o.elapsedMs,
    error: o.failure
      ? { message: o.failure.message, reason: o.failure.reason, exitCode: o.failure.exitCode, cause: o.failure.diagnosis?.cause, advice: o.failure.diagnosis?.advice, hint: o.failure.hint }
      : undefined,
  };
}

/**
 * Before anything starts: every listed GPU exists and the requested memory fits what is free
 * now (as vLLM checks at start). Where no GPU answers (no NVIDIA runtime), skipped.
 */
async function gpuPreflight(ctx: CommandEnv, client: DockerClient, changes: ModelChange[]): Promise<void> {
  const starting = changes.filter((c): c is Extract<ModelChange, { spec: unknown }> => c.action === 'create' || c.action === 'recreate' || c.action === 'start');
  const gpuModels = starting.filter((c) => c.spec.gpus.kind !== 'none');
  if (gpuModels.length === 0) return;
  let gpus: Awaited<ReturnType<typeof detectGpusLocally>>;
  if (isLocalDaemon({ env: ctx.env })) {
    gpus = await detectGpusLocally();
  } else {
    // A remote daemon: ask a short --gpus all container, with an image already there.
    const image = (await Promise.all(gpuModels.map(async (c) => ((await inspectImage(client, c.spec.image)) ? c.spec.image : undefined)))).find(Boolean);
    gpus = image ? await detectGpusViaDocker(client, image, { labels: extraLabels(ctx.env) }) : 'unavailable';
  }
  if (gpus === 'unavailable') {
    ctx.output.debug('nvidia-smi did not answer (no GPU, no NVIDIA runtime, or no image yet): GPU pre-flight skipped');
    return;
  }
  const problems = checkGpuPlacement({
    gpus,
    models: starting.map((c) => c.spec),
    replacing: changes.filter((c): c is Extract<ModelChange, { action: 'recreate' }> => c.action === 'recreate').map((c) => c.spec),
  });
  if (problems.length > 0) {
    throw new CliError('GPU pre-flight failed; nothing was started', { exitCode: ExitCode.badInput, details: formatGpuProblems(problems) });
  }
}

export const upCommand = defineCommand({
  meta: { name: 'up', description: 'Start, recreate or remove model containers so that they match the config (alias: serve)' },
  args: upArgs,
});
