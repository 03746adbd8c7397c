import type { StackConfig } from '@inferstack/config';
import { checkGpuPlacement, daemonRuntimes, detectGpusLocally, formatGiB, formatGpuProblems, type DockerClient, type GpuInfo } from '@inferstack/docker-ops';
import type { Check } from './check.js';

/*
 * GPUs: whether Docker can hand them to containers (the NVIDIA runtime or CDI), which ones this
 * machine has, and whether the models fit them.
 */

/** Whether any model (or the DCGM exporter) asks for GPUs. */
export function wantsGpus(config: StackConfig): boolean {
  return config.models.some((m) => m.gpus.kind !== 'none') || config.monitoring.dcgmExporter.enabled === true;
}

/** Whether Docker can give containers GPUs (the nvidia runtime, or CDI); a warning only when a model asks for them. */
export async function runtimeChecks(client: DockerClient, config: StackConfig | undefined, checks: Check[]): Promise<void> {
  const gpus = config ? wantsGpus(config) : true;
  let runtimes: string[];
  let cdi: string[];
  try {
    ({ runtimes, cdiSpecDirs: cdi } = await daemonRuntimes(client));
  } catch (error) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'warn', message: `the daemon did not answer "info": ${(error as Error).message}` });
    return;
  }
  if (runtimes.includes('nvidia')) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'ok', message: 'the nvidia runtime is registered with Docker' });
  } else if (cdi.length > 0) {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'ok', message: `CDI is on (${cdi.join(', ')}): GPUs are given through CDI specs` });
  } else if (gpus) {
    checks.push({
      id: 'nvidia-runtime',
      title: 'nvidia runtime',
      status: 'warn',
      message: `no NVIDIA runtime (Docker has ${runtimes.join(', ') || 'no runtimes listed'}) and no CDI: models with GPUs will not start`,
      hint: 'install the NVIDIA Container Toolkit, run "sudo nvidia-ctk runtime configure --runtime=docker" and restart Docker',
    });
  } else {
    checks.push({ id: 'nvidia-runtime', title: 'nvidia runtime', status: 'ok', message: 'no NVIDIA runtime, and no model asks for GPUs' });
  }
}

/** The GPUs of this machine (only when the daemon is local) and whether the models fit them. */
export async function gpuChecks(local: boolean, config: StackConfig, checks: Check[]): Promise<void> {
  const needed = wantsGpus(config);
  if (!local) {
    checks.push({ id: 'gpus', title: 'gpus', status: 'ok', message: 'not checked: the daemon is on another host (serve up checks them there)' });
    return;
  }
  const found = await detectGpusLocally();
  if (found === 'unavailable' || found.length === 0) {
    checks.push(
      needed
        ? { id: 'gpus', title: 'gpus', status: 'warn', message: 'nvidia-smi sees no GPU here, but the config asks for GPUs', hint: 'install the NVIDIA driver, or set "gpus: none" for CPU-only images' }
        : { id: 'gpus', title: 'gpus', status: 'ok', message: 'no GPU here, and no model asks for one' },
    );
    return;
  }
  checks.push({ id: 'gpus', title: 'gpus', status: 'ok', message: `${found.length} GPU${found.length === 1 ? '' : 's'}: ${found.map(describeGpu).join('; ')}` });
  const problems = checkGpuPlacement({ gpus: found, models: config.models });
  const structural = problems.filter((p) => p.kind !== 'insufficient-memory');
  const memory = problems.filter((p) => p.kind === 'insufficient-memory');
  if (structural.length > 0) {
    checks.push({ id: 'gpu-placement', title: 'gpu placement', status: 'fail', message: 'the models do not fit the GPUs of this machine', details: formatGpuProblems(structural), hint: 'fix gpus / tensor-parallel-size in models.yaml' });
  }
  if (memory.length > 0) {
    checks.push({
      id: 'gpu-memory',
      title: 'gpu memory',
      status: 'warn',
      message: 'not enough free GPU memory right now (models already running hold some of it)',
      details: formatGpuProblems(memory),
    });
  }
}

function describeGpu(g: GpuInfo): string {
  return `${g.index} ${g.name ?? 'GPU'} (${formatGiB(g.totalMiB)}, ${formatGiB(g.freeMiB)} free)`;
}
