import type { StackConfig } from '@inferstack/config';
import type { DockerClient, ModelContainer } from '@inferstack/docker-ops';
import type { CommandEnv } from '../context.js';

/** What a monitoring sync did. */
export interface MonitoringSyncResult {
  changed: boolean;
  targets: Array<{ target: string; model: string; health: string; lastError?: string }>;
  warnings: string[];
}

/** Placeholder until prometheus-sync lands: reports that monitoring is not wired yet. */
export async function syncMonitoring(_ctx: CommandEnv, _docker: DockerClient, _config: StackConfig, _serving: readonly ModelContainer[], _options: { dryRun?: boolean }): Promise<MonitoringSyncResult> {
  throw new Error('monitoring sync is not available yet');
}

/** Placeholder until prometheus-sync lands. */
export async function ensureMonitoring(_ctx: CommandEnv, _docker: DockerClient, _config: StackConfig): Promise<string[]> {
  return [];
}
