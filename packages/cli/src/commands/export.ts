import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { defineCommand } from 'citty';
import type { StackConfig } from '@inferstack/config';
import { argvStyleForEntrypoint, connectDocker, inspectImage, type ArgvStyle, type ServiceSpec } from '@inferstack/docker-ops';
import { commonArgs, extraLabels, hashKey, loadStack, secretValues, type CommandEnv } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { composeYaml, renderCompose } from '../stack/compose.js';
import { ensureGatewayConfigFile, gatewayServiceSpec, requireGatewayKey } from '../stack/gateway.js';
import { dcgmSpec, grafanaSpec, nodeExporterSpec, prometheusSpec, renderConfig, wantDcgm } from '../stack/monitoring.js';

export const exportArgs = {
  format: { type: 'positional', required: true, description: 'What to export: compose', valueHint: 'compose' },
  output: { type: 'string', alias: 'o', description: 'Write to this file (mode 0644) instead of stdout', valueHint: 'FILE' },
  ...commonArgs,
} as const;

const FORMATS = ['compose'];

/** `serve export compose [-o FILE]`: the configured stack as a docker compose file, without secrets. */
export async function exportStack(ctx: CommandEnv, args: { format?: string; file: string; output?: string }): Promise<number> {
  if (!args.format || !FORMATS.includes(args.format)) {
    throw new CliError(args.format ? `"serve export" cannot export "${args.format}"` : '"serve export" needs a format', {
      exitCode: ExitCode.badInput,
      hint: `formats: ${FORMATS.join(', ')} (serve export compose -o docker-compose.yml)`,
    });
  }
  const config = await loadStack(ctx, args.file);
  requireGatewayKey(config);
  const services = await infrastructure(ctx, config);
  const rendered = renderCompose(config, {
    services,
    hashKey: hashKey(ctx.env),
    argvStyles: await argvStyles(ctx, config),
    extraLabels: extraLabels(ctx.env),
  });
  const envFile = join(config.projectDir, '.env');
  const text = composeYaml(rendered, { source: shown(ctx.cwd, config.file), envFile: shown(ctx.cwd, envFile), secretValues: secretValues(config) });

  for (const s of rendered.secrets.filter((r) => !r.inSettings)) {
    ctx.output.info(`${ctx.output.yellow('!')} \${${s.name}} (for ${s.usedBy.join(', ')}) is not set in ${shown(ctx.cwd, envFile)}: compose would pass an empty value; add ${s.name}=... there`);
  }
  if (args.output === undefined || args.output === '-') {
    ctx.output.streams.out.write(text);
    return ExitCode.ok;
  }
  const target = resolve(ctx.cwd, args.output);
  try {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text, { mode: 0o644 });
    chmodSync(target, 0o644);
  } catch (error) {
    throw new CliError(`cannot write ${args.output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  ctx.output.info(`${ctx.output.green('✔')} wrote ${shown(ctx.cwd, target)} (${Object.keys(rendered.compose.services).length} services; no secrets inside)`);
  ctx.output.info(`  run it with: docker compose -f ${shown(ctx.cwd, target)} --env-file ${shown(ctx.cwd, envFile)} up -d`);
  return ExitCode.ok;
}

/**
 * The gateway and monitoring services `serve up` would run, with the files they mount made
 * ready the same way (the gateway's config file when missing, prometheus.yml, Grafana's
 * provisioning), so the compose file works on its own.
 */
async function infrastructure(ctx: CommandEnv, config: StackConfig): Promise<ServiceSpec[]> {
  const services: ServiceSpec[] = [];
  if (config.gateway.mode === 'managed') {
    if (!existsSync(config.gateway.configFile)) {
      ensureGatewayConfigFile(config);
      ctx.output.info(`wrote ${shown(ctx.cwd, config.gateway.configFile)} (the gateway's config file; the compose file mounts it)`);
    }
    services.push(gatewayServiceSpec(config));
  }
  if (config.monitoring.mode === 'managed') {
    const m = config.monitoring;
    const dcgm = await wantDcgm(ctx, config);
    mkdirSync(m.targetsDir, { recursive: true, mode: 0o755 });
    if (renderConfig(config, dcgm).changed) ctx.output.info(`wrote ${shown(ctx.cwd, join(config.projectDir, '.inferstack', 'prometheus'))}/ (Prometheus config the compose file mounts)`);
    if (m.nodeExporter.enabled) services.push(nodeExporterSpec(config));
    if (dcgm) services.push(dcgmSpec(config));
    services.push(prometheusSpec(config));
    if (m.grafana.enabled) services.push(grafanaSpec(config));
  }
  return services;
}

/**
 * How each model image takes the model, read from its Entrypoint where the daemon has the image
 * (as `serve up` does after pulling); `--model`, which every vLLM image accepts, otherwise.
 */
async function argvStyles(ctx: CommandEnv, config: StackConfig): Promise<Map<string, ArgvStyle>> {
  const styles = new Map<string, ArgvStyle>();
  try {
    const client = await connectDocker({ env: ctx.env, timeoutMs: 2000 });
    for (const image of new Set(config.models.map((m) => m.image))) {
      const info = await inspectImage(client, image).catch(() => undefined);
      if (info) styles.set(image, argvStyleForEntrypoint(info.Config?.Entrypoint));
      else ctx.output.debug(`${image} is not on the daemon: its command uses --model, which every vLLM image accepts`);
    }
  } catch {
    ctx.output.debug('no Docker daemon answered: model commands use --model, which every vLLM image accepts');
  }
  return styles;
}

function shown(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export const exportCommand = defineCommand({
  meta: { name: 'export', description: 'Write the configured stack as a docker compose file (secrets stay in .env)' },
  args: exportArgs,
});
