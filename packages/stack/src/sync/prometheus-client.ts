import type { StackConfig } from '@inferstack/config';
import { createPrometheusClient, type PrometheusClient } from '@inferstack/prometheus-sync';

/** A client for the configured Prometheus. */
export function prometheusClient(config: StackConfig, options: { timeoutMs?: number } = {}): PrometheusClient {
  return createPrometheusClient({ baseUrl: config.monitoring.prometheusUrl, timeoutMs: options.timeoutMs ?? Number(config.settings.INFERSTACK_PROMETHEUS_TIMEOUT_MS ?? 5000) });
}
