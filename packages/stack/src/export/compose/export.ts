import { join } from 'node:path';
import { LOCAL_HOST } from '@inferstack/config';
import { argvStyleForEntrypoint, inspectImage, type ArgvStyle, type ServiceSpec } from '@inferstack/docker-ops';
import type { StackContext } from '../../context.js';
import { shownPath } from '../../_paths.js';
import { composeYaml, renderCompose, type ComposeFile, type SecretReference } from './render.js';
import { privateNetworkName } from '../../models/networks.js';
import { secretValues } from '../../secrets.js';
import { hasSeveralHosts, hostOf } from '../../hosts/hosts.js';
import { requireGatewayKey } from '../../services/gateway.js';
import { prepareService, wantedServices } from '../../services/registry.js';

/** What `exportCompose` produced. */
export interface ComposeExport {
  /** The compose file's text: a header, then the YAML. Holds no secret. */
  text: string;
  compose: ComposeFile;
  /** Every `${NAME}` it uses, and whether `.env` (or the environment) has a value for it. */
  secrets: SecretReference[];
  /** The `.env` file compose should read. */
  envFile: string;
}

/**
 * The stack as a docker compose file: every model and service translated from the very create
 * bodies `up` sends, secrets as `${NAME}` references to `.env`. The files the services mount
 * are written as `up` writes them (the gateway's config when missing, prometheus.yml, Grafana's
 * provisioning), so the compose file works on its own.
 */
export async function exportCompose(call: StackContext): Promise<ComposeExport> {
  requireGatewayKey(call.config);
  // A compose file drives one daemon: the default host's part of the stack.
  const ctx = defaultHostOnly(call);
  const { config } = ctx;
  const services: ServiceSpec[] = [];
  for (const service of await wantedServices(ctx)) {
    await prepareService(ctx, service);
    services.push(await (service.exportSpec ?? service.spec)(ctx));
  }
  const rendered = renderCompose(config, { services, hashKey: ctx.hashKey, argvStyles: await argvStyles(ctx), extraLabels: ctx.labels, privateNetwork: privateNetworkName(ctx.name) });
  const envFile = join(config.projectDir, '.env');
  const text = composeYaml(rendered, { source: shownPath(ctx.cwd, config.file), envFile: shownPath(ctx.cwd, envFile), secretValues: secretValues(config) });
  return { text, compose: rendered.compose, secrets: rendered.secrets, envFile };
}

/**
 * How each model image takes the model, read from its Entrypoint where the daemon has the image
 * (as `up` does after pulling); `--model`, which every vLLM image accepts, otherwise. A daemon
 * is not needed: without one every model gets `--model`.
 */
async function argvStyles(ctx: StackContext): Promise<Map<string, ArgvStyle>> {
  const styles = new Map<string, ArgvStyle>();
  let docker;
  try {
    docker = await Promise.race([ctx.docker(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), 2000).unref())]);
  } catch {
    ctx.emit({ type: 'note', level: 'debug', message: 'no Docker daemon answered: model commands use --model, which every vLLM image accepts' });
    return styles;
  }
  for (const image of new Set(ctx.config.models.map((m) => m.image))) {
    const info = await inspectImage(docker, image).catch(() => undefined);
    if (info) styles.set(image, argvStyleForEntrypoint(info.Config?.Entrypoint));
    else ctx.emit({ type: 'note', level: 'debug', message: `${image} is not on the daemon: its command uses --model, which every vLLM image accepts` });
  }
  return styles;
}

/**
 * The context restricted to the default Docker host: its models, no other hosts (a compose file
 * drives one daemon). The models of other hosts are named in a warning.
 */
function defaultHostOnly(ctx: StackContext): StackContext {
  if (!hasSeveralHosts(ctx.config)) return ctx;
  const elsewhere = ctx.config.models.filter((m) => hostOf(m) !== LOCAL_HOST);
  if (elsewhere.length > 0) {
    ctx.emit({ type: 'note', level: 'warn', message: `the compose file covers the default host only: ${elsewhere.map((m) => `${m.key} (host ${hostOf(m)})`).join(', ')} not in it` });
  }
  const config = { ...ctx.config, hosts: ctx.config.hosts.filter((h) => h.local), models: ctx.config.models.filter((m) => hostOf(m) === LOCAL_HOST) };
  return Object.create(ctx, { config: { value: config, enumerable: true } }) as StackContext;
}
