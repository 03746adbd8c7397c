/**
 * What each command does, in one line: the main help lists these without loading any command
 * (so `serve --help` stays fast), and each command's own help shows its line.
 */
export const DESCRIPTIONS = {
  up: 'Start, recreate or remove model containers so that they match the config (alias: serve)',
  plan: 'Show what "serve up" (or, with --target kubernetes, "serve export kubernetes") would change, as a table',
  stop: 'Stop model containers and keep them',
  down: 'Stop and remove model containers (and with --all the whole stack)',
  status: 'Show each model: state, health, GPUs, uptime, and whether it matches the config',
  logs: "Print a model container's log",
  pull: 'Download the models\' images and weights into their Hugging Face cache on their hosts, with progress; a second pull is a no-op',
  bench: 'Send streaming chat requests to a model through the gateway; show latency, throughput and which replica answered',
  sync: 'Sync the gateway and Prometheus with the models that are up',
  unlock: 'Remove the deployment lock left by a run that died',
  init: 'Start a project: a commented models.yaml, a .env with fresh keys, the gateway and Prometheus files',
  doctor: 'Check Docker, the NVIDIA runtime, GPUs, disk, model sizes, ports and keys for the configured stack',
  watch: 'Run the watcher in the foreground: idle models sleep (or stop) and wake on a request; the gateway and Prometheus follow the models that serve',
  export: 'Write the configured stack as a docker compose file or a Kubernetes (Kustomize) directory; secrets stay in .env',
} as const;

export type CommandName = keyof typeof DESCRIPTIONS;

/** A command's citty `meta`. */
export function meta(name: CommandName, alias?: string[]): { name: string; description: string; alias?: string[] } {
  return { name, description: DESCRIPTIONS[name], ...(alias ? { alias } : {}) };
}
