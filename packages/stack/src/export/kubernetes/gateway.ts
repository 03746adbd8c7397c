import { posix } from 'node:path';
import type { ServiceSpec } from '@inferstack/docker-ops';
import { renderLitellmConfig } from '@inferstack/litellm-sync';
import { StackInputError } from '../../errors.js';
import { PLUGIN_CALLBACK, PLUGIN_FILE, PLUGIN_SOURCE } from '../../gateway/plugin.js';
import { desiredDeployments } from '../../gateway/sync.js';
import type { ExportFiles } from './kustomization.js';
import { kubernetesName } from './objects.js';
import { holdsSecret } from './options.js';
import { configFlag, names, serviceObjects } from './services.js';
import type { KubernetesInput, RenderContext } from './types.js';

/*
 * The gateway on Kubernetes: the LiteLLM config with a route per model to its Service, and
 * inferstack's plugin beside it, both in one ConfigMap; the gateway's Deployment mounts it.
 */

/** The gateway's files and objects (gateway.yaml). `modelNames`: each model's Service name by key. */
export function gatewayPart(c: RenderContext, out: ExportFiles, input: KubernetesInput, gateway: ServiceSpec, modelNames: ReadonlyMap<string, string>): void {
  const { config } = c;
  const gatewayName = kubernetesName(gateway.name);
  const configName = `${gatewayName}-config`;
  const configKey = posix.basename(configFlag(gateway) ?? 'config.yaml');
  // The gateway sync's own entries, for every model, at its Service (a local name, as a
  // container's on the stack's network).
  const services = config.models.map((m) => ({ name: modelNames.get(m.key)!, key: m.key, servedModelName: m.servedModelName }));
  const desired = desiredDeployments(config, services, 'config');
  const litellm = renderLitellmConfig(input.gatewayConfig, desired, configKey, { owner: config.name });
  if (holdsSecret(config, litellm.text)) {
    throw new StackInputError(`the gateway's config file ${input.gatewayConfigFile ?? config.gateway.configFile} holds a secret value, which would be readable in a ConfigMap`, {
      hint: 'refer to secrets as os.environ/NAME in it (e.g. master_key: os.environ/LITELLM_MASTER_KEY)',
    });
  }
  const path = 'files/litellm/config.yaml';
  out.configMapFile(path, litellm.text, configName);
  // The config names inferstack's plugin (the managed gateway's config always does): the
  // module goes into the same ConfigMap, mounted beside the config, or LiteLLM fails to start.
  const plugin = names(litellm.text, PLUGIN_CALLBACK) ? [`${PLUGIN_FILE}=files/litellm/${PLUGIN_FILE}`] : [];
  if (plugin.length > 0) out.configMapFile(`files/litellm/${PLUGIN_FILE}`, PLUGIN_SOURCE, configName);
  out.generators.push({ name: configName, files: [`${configKey}=${path}`, ...plugin] });
  if (config.gateway.sync === 'api') c.notes.push('the gateway runs in config-file mode on Kubernetes (its model list is a ConfigMap): API mode needs a database, which the export does not deploy');
  const objects = serviceObjects(c, gateway, input.hashKey, (target) => (target === posix.dirname(configFlag(gateway) ?? '') ? { name: 'config', volume: { configMap: { name: configName } } } : undefined));
  out.objects('gateway.yaml', objects, ' The LiteLLM gateway: it routes to the model Services listed in its ConfigMap (files/litellm/config.yaml)');
}
