import { isSecretName, type StackConfig } from '@inferstack/config';

/**
 * Every secret value the config holds (keys, tokens, passwords), for masking: a CLI hides each
 * of them in anything it prints. The rule for what is a secret is the config package's.
 */
export function secretValues(config: StackConfig): string[] {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(config.settings)) if (value && isSecretName(name)) values.add(value);
  for (const m of config.models) for (const v of Object.values(m.secretEnv)) values.add(v);
  const typed = [config.gateway.masterKey, config.gateway.saltKey, config.gateway.uiPassword, config.gateway.database.password, config.monitoring.grafana.adminPassword];
  for (const v of typed) if (v) values.add(v);
  return [...values];
}
