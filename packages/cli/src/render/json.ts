/**
 * Every `--json` document the CLI prints is shaped here, from the result the command's one
 * call returned: the commands only choose between this and the text renderers. No secrets:
 * specs, file texts and keys are never part of a result shaped here.
 */
import type {
  BenchResult,
  DoctorReport,
  HostPlanStatus,
  InitProjectResult,
  KubernetesExport,
  PullResult,
  StackPlan,
  StackStatus,
  StopResult,
  SyncOutcome,
  SyncResult,
  UpResult,
} from '@inferstack/stack';
import type { ModelChange } from '@inferstack/docker-ops';

type PlannedChange = ModelChange & { host?: string; opens?: string; placement?: string };

/** A document as `Output.json` prints it (its fields are what each function below puts in). */
export type JsonDocument = Record<string, unknown>;

/** With several Docker hosts: each one, done or why not (with what to do). */
export function hostsJson(hosts: readonly HostPlanStatus[]) {
  return hosts.map((h) => (h.ok ? h : { host: h.host, ok: false, error: h.error.message, ...(h.hint ? { hint: h.hint } : {}) }));
}

/** The sync part of a document. */
export function syncJson(r: SyncResult) {
  const one = <T extends object>(x: SyncOutcome<T>) => ('skipped' in x ? { skipped: true } : x.ok ? { ok: true, ...x.result } : { ok: false, error: x.error.message });
  return {
    serving: r.serving.map((c) => c.key),
    gateway: one(r.gateway),
    monitoring: one(r.monitoring),
    // Hosts that could not be asked: their models' routes and targets were left as they were.
    ...(r.unknownHosts?.length ? { unknownHosts: r.unknownHosts } : {}),
  };
}

/** The model changes of a plan; `host` and `opens` with several hosts. */
export function planJson(changes: readonly PlannedChange[], options: { hosts?: boolean } = {}) {
  return changes.map((c) => ({
    model: c.key,
    ...(c.replica ? { replica: c.replica } : {}),
    ...(options.hosts && c.host !== undefined ? { host: c.host } : {}),
    ...(options.hosts && c.opens !== undefined ? { opens: c.opens } : {}),
    action: c.action,
    ...(c.action === 'recreate' ? { reason: c.reason, changed: c.changed, strategy: c.strategy, ...(c.why ? { why: c.why } : {}) } : {}),
    ...(c.action === 'remove' ? { reason: c.reason } : {}),
    ...(c.action === 'keep' ? { adopted: c.adopted } : {}),
    container: 'container' in c ? c.container.name : undefined,
    ...(c.gpuDevices ? { gpus: [...c.gpuDevices] } : {}),
    ...(c.placement ? { placement: c.placement } : {}),
  }));
}

/** `serve plan --json`. */
export function stackPlanJson(plan: StackPlan, several: boolean) {
  return {
    stack: plan.stack,
    changes: plan.hasChanges,
    plan: planJson(plan.changes, { hosts: several }),
    services: plan.services,
    gpus: plan.gpus,
    ...(several ? { hosts: hostsJson(plan.hosts) } : {}),
    ...(plan.warnings.length ? { warnings: plan.warnings } : {}),
    ...(plan.notes.length ? { notes: plan.notes } : {}),
  };
}

/** `serve up --dry-run --json`: the plan alone. */
export function upPlanJson(r: UpResult, several: boolean) {
  return { plan: planJson(r.plan, { hosts: several }) };
}

/** `serve up --json`. */
export function upJson(r: UpResult, several: boolean): JsonDocument {
  return {
    ok: r.ok,
    elapsedMs: r.elapsedMs,
    models: r.models.map((o) => ({
      model: o.key,
      action: o.action,
      outcome: o.outcome,
      elapsedMs: o.elapsedMs,
      error: o.failure && { message: o.failure.message, reason: o.failure.reason, exitCode: o.failure.exitCode, cause: o.failure.diagnosis?.cause, advice: o.failure.diagnosis?.advice, hint: o.failure.hint },
    })),
    ...(r.sync ? syncJson(r.sync) : {}),
    ...(several ? { hosts: hostsJson(r.hosts) } : {}),
  };
}

/** `serve stop --json` / `serve down --json`. */
export function stopJson(r: StopResult, mode: 'stop' | 'down', options: { several: boolean; all?: boolean }): JsonDocument {
  return {
    [mode === 'stop' ? 'stopped' : 'removed']: r.models.map((m) => (m.ok ? m : { model: m.model, container: m.container, ok: false, error: m.error.message })),
    ...(options.all ? { services: r.services.map((s) => (s.ok ? { service: s.container, ok: true } : { service: s.container, ok: false, error: s.error.message })) } : {}),
    ...(r.sync ? syncJson(r.sync) : {}),
    ...(options.several ? { hosts: hostsJson(r.hosts) } : {}),
  };
}

/** `serve sync --json`. */
export function stackSyncJson(r: SyncResult) {
  return { ok: r.ok, ...syncJson(r) };
}

/** `serve status --json`. */
export function statusJson(s: StackStatus, several: boolean): JsonDocument {
  return {
    stack: s.stack,
    ...(several ? { hosts: hostsJson(s.hosts) } : {}),
    models: s.models.map((r) => ({
      model: r.key,
      ...(r.replica !== undefined ? { replica: r.replica } : {}),
      ...(several ? { host: r.host } : {}),
      container: r.containerName,
      state: r.state,
      health: r.health,
      sync: r.sync,
      changed: r.changed,
      gpus: r.gpus,
      uptime: r.uptime,
      image: r.image,
      endpoint: r.endpoint,
      servedModelName: r.servedModelName,
      routed: r.routed,
      scrape: r.scrape,
      load: r.load,
      idle: r.idle,
      ...(r.weights !== undefined ? { weights: r.weights } : {}),
    })),
    services: s.services,
    ...(s.gatewayError ? { gatewayError: s.gatewayError } : {}),
    ...(s.prometheusError ? { prometheusError: s.prometheusError } : {}),
  };
}

/** `serve plan --target kubernetes --json`: the export's changes (file texts are left out). */
export function kubernetesPlanJson(stack: string, out: string, r: KubernetesExport) {
  return {
    stack,
    target: 'kubernetes',
    out,
    namespace: r.namespace,
    changes: r.hasChanges,
    files: r.changes.map((c) => ({ path: c.path, action: c.action, objects: c.objects })),
    secret: { name: r.secretName, keys: r.secrets.map((s) => s.name) },
    notes: r.notes,
  };
}

/** `serve doctor --json`. */
export function doctorJson(report: DoctorReport, exitCode: number, ok: boolean) {
  return { ok, exitCode, checks: report.checks };
}

/** `serve init --json`: the files written, with their modes. */
export function initJson(dir: string, r: InitProjectResult, relativeTo: (path: string) => string) {
  return { dir, files: r.files.map((f) => ({ path: f.path, file: relativeTo(f.path), mode: `0${f.mode.toString(8)}`, what: f.what, overwritten: f.overwritten })) };
}

/** `serve bench --json`: the result as the library returns it. */
export function benchJson(r: BenchResult): JsonDocument {
  return { ...r };
}

/** `serve pull --json`: each model on each host, pulled (what it took) or why not. */
export function pullJson(r: PullResult): JsonDocument {
  return {
    ok: r.ok,
    elapsedMs: r.elapsedMs,
    models: r.models.map((m) => (m.ok ? { model: m.key, host: m.host, ok: true, ...m.result, key: undefined } : { model: m.key, host: m.host, ok: false, error: m.error.message, ...(m.hint ? { hint: m.hint } : {}) })),
  };
}
