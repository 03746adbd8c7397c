import type { StackConfig } from '@inferstack/config';
import type { Check } from './check.js';

/*
 * The keys in `.env` (the gateway's master and salt keys, Grafana's password, HF_TOKEN) and how
 * exposed the gateway is: pure, from the config alone.
 */

/** Shortest key that is not called weak. */
export const MIN_KEY_LENGTH = 32;

/** Keys from tutorials and defaults: the first ones anyone tries. */
const KNOWN_DEFAULT_KEYS = ['sk-1234', 'sk-1234567890', 'admin', 'changeme', 'change-me', 'password', 'secret', 'sk-admin', 'sk-test', 'test', 'litellm', 'grafana'];

/**
 * Why a key is weak, or `undefined` when it is not: a well-known default, or shorter than
 * {@link MIN_KEY_LENGTH}. The answer never quotes the key.
 */
export function keyWeakness(value: string): string | undefined {
  if (KNOWN_DEFAULT_KEYS.includes(value.trim().toLowerCase())) return 'is a well-known default';
  if (value.length < MIN_KEY_LENGTH) return `is only ${value.length} characters (${MIN_KEY_LENGTH} or more wanted)`;
  return undefined;
}

/** Whether a bind address is every interface (`0.0.0.0`, `::`). */
export function isAllInterfaces(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '[::]' || /^0+(:0+)*::?$/.test(address);
}

/** Whether a bind address is this machine only. */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || address === 'localhost';
}

/** Hugging Face repos that usually ask you to accept a licence first (a hint, not a rule). */
export function looksGated(model: string): boolean {
  return /^(meta-llama|mistralai|CohereForAI|CohereLabs|black-forest-labs)\//i.test(model) || /^google\/(\w+-)?gemma/i.test(model);
}

/**
 * The keys in `.env` and how exposed the gateway is. A gateway on another address than loopback
 * with a weak or default master key is an error: anyone on the network could use it.
 */
export function keyChecks(config: StackConfig): Check[] {
  const checks: Check[] = [];
  const g = config.gateway;
  if (g.mode === 'managed') {
    const where = `${g.bindAddress.includes(':') ? `[${g.bindAddress}]` : g.bindAddress}:${g.port}`;
    const exposed = !isLoopback(g.bindAddress);
    if (!exposed) {
      checks.push({ id: 'gateway-bind', title: 'gateway bind', status: 'ok', message: `published on ${where}: this machine only` });
    } else {
      checks.push({
        id: 'gateway-bind',
        title: 'gateway bind',
        status: 'warn',
        message: isAllInterfaces(g.bindAddress)
          ? `published on all interfaces (${where}): anyone who reaches this machine reaches the gateway`
          : `published on ${where}: reachable from that network`,
        hint: 'keep "bind: 127.0.0.1" and put a TLS reverse proxy or a firewall in front; if open on purpose, use long random keys',
      });
    }
    const key = g.masterKey;
    const weak = key ? keyWeakness(key) : undefined;
    if (!key) {
      checks.push({
        id: 'master-key',
        title: 'master key',
        status: 'fail',
        message: 'LITELLM_MASTER_KEY is not set: serve up will not start the gateway without it',
        hint: 'add LITELLM_MASTER_KEY=sk-<48 random hex digits> to .env (e.g. "sk-$(openssl rand -hex 24)")',
      });
    } else if (weak) {
      checks.push({
        id: 'master-key',
        title: 'master key',
        status: exposed ? 'fail' : 'warn',
        message: exposed
          ? `LITELLM_MASTER_KEY ${weak}, and the gateway is published on ${where}: anyone on the network can use it`
          : `LITELLM_MASTER_KEY ${weak} (tolerable only while the gateway listens on this machine alone)`,
        hint: 'replace it in .env with "sk-" and 48 random hex digits (e.g. "sk-$(openssl rand -hex 24)"), then run serve up',
      });
    } else {
      checks.push({ id: 'master-key', title: 'master key', status: 'ok', message: 'LITELLM_MASTER_KEY is set and strong' });
    }
    const saltWeak = g.saltKey ? keyWeakness(g.saltKey) : undefined;
    if (saltWeak) {
      checks.push({ id: 'salt-key', title: 'salt key', status: 'warn', message: `LITELLM_SALT_KEY ${saltWeak}`, hint: 'set a long random LITELLM_SALT_KEY before the gateway stores any credential' });
    } else if (!g.saltKey && g.sync === 'api') {
      checks.push({ id: 'salt-key', title: 'salt key', status: 'warn', message: 'LITELLM_SALT_KEY is not set: LiteLLM encrypts stored credentials with the master key', hint: 'set LITELLM_SALT_KEY in .env now; it cannot be changed once credentials are stored' });
    }
  }
  const grafana = config.monitoring.grafana;
  if (config.monitoring.mode === 'managed' && grafana.enabled) {
    const weak = grafana.adminPassword ? keyWeakness(grafana.adminPassword) : undefined;
    if (!grafana.adminPassword) {
      checks.push({ id: 'grafana-password', title: 'grafana password', status: 'warn', message: 'GRAFANA_ADMIN_PASSWORD is not set: Grafana keeps admin/admin', hint: 'set GRAFANA_ADMIN_PASSWORD in .env' });
    } else if (weak) {
      checks.push({ id: 'grafana-password', title: 'grafana password', status: 'warn', message: `GRAFANA_ADMIN_PASSWORD ${weak} (Grafana is published on 127.0.0.1 only)`, hint: 'use a long random password' });
    } else {
      checks.push({ id: 'grafana-password', title: 'grafana password', status: 'ok', message: 'GRAFANA_ADMIN_PASSWORD is set and strong' });
    }
  }
  const gated = config.models.filter((m) => looksGated(m.model));
  if (config.settings.HF_TOKEN) {
    checks.push({ id: 'hf-token', title: 'HF_TOKEN', status: 'ok', message: 'set' });
  } else if (gated.length > 0) {
    checks.push({
      id: 'hf-token',
      title: 'HF_TOKEN',
      status: 'warn',
      message: `not set, and ${gated.map((m) => m.model).join(', ')} look${gated.length === 1 ? 's' : ''} gated on Hugging Face`,
      hint: 'accept the licence on the model page and put a token in .env: HF_TOKEN=hf_...',
    });
  } else {
    checks.push({ id: 'hf-token', title: 'HF_TOKEN', status: 'ok', message: 'not set (only gated models need it)' });
  }
  return checks;
}
