import type { ApplyEvent } from '@inferstack/docker-ops';
import type { LockHolder, WeightsEvent } from '@inferstack/docker-ops';
import type { GatewaySyncResult } from './gateway/types.js';
import type { MonitoringSyncResult } from './sync/types.js';
import type { ServiceAction } from './services/types.js';

/**
 * Progress of a stack operation, as data. The stack never prints: a CLI renders these as
 * spinners or plain lines, a script logs them, a test asserts on them.
 *
 * Model events are docker-ops' {@link ApplyEvent}s (`pulling`, `creating`, `waiting` while the
 * model loads, `ready`, `failed` with a diagnosis...); the others are the stack's own.
 */
export type StackEvent =
  | ApplyEvent
  /** A model's weights being pulled (`serve pull`, or `up` before it starts a model), on `host`. */
  | (WeightsEvent & { host: string })
  /** Another run holds the lock; this one waits. */
  | { type: 'lock-wait'; holder: LockHolder }
  /** An infrastructure service was made to match the config. */
  /** `host`: on another Docker host than the default one (the exporters run on every host). */
  | { type: 'service-ready'; service: string; container: string; action: ServiceAction; reloaded: boolean; url?: string; host?: string }
  | { type: 'service-failed'; service: string; container: string; error: Error; host?: string }
  | { type: 'service-removed'; service: string; container: string; volumes: boolean; host?: string }
  /** A model has requests in flight: it is given time to finish them before it stops. */
  | { type: 'draining'; key: string; container: string; inFlight: number }
  /** The drain is over: `drained` false when the timeout cut it short (`inFlight` were left). */
  | { type: 'drained'; key: string; container: string; elapsedMs: number; drained: boolean; inFlight?: number }
  /** A model replaced in place is routed again: its downtime is over. */
  | { type: 'routed'; key: string }
  /** `stop`: a model container was stopped. */
  | { type: 'stopped'; key: string; container: string }
  /** `stop` / `down`: a model container could not be stopped or removed. */
  | { type: 'stop-failed'; key: string; container: string; error: Error }
  | { type: 'gateway-synced'; result: GatewaySyncResult }
  /** `hint`: what to do (the models are fine either way). */
  | { type: 'gateway-failed'; error: Error; hint: string }
  | { type: 'prometheus-synced'; result: MonitoringSyncResult }
  | { type: 'prometheus-failed'; error: Error; hint: string }
  /** A file the stack's containers mount was written (the gateway config, prometheus.yml...). */
  | { type: 'file-written'; path: string; what: string }
  /** Watcher: a model nobody asked for (`idle`), or a swap-group peer (`swap`), was put to sleep or stopped. */
  | { type: 'model-put-away'; key: string; container: string; action: 'sleep' | 'deep-sleep' | 'stop'; reason: 'idle' | 'swap' }
  /** Watcher: a request woke (or started) a model; `elapsedMs` until it served. */
  | { type: 'model-woken'; key: string; container: string; from: 'asleep' | 'deep-asleep' | 'stopped-idle'; elapsedMs: number }
  /** Watcher: a swap-group member was put away for another one. */
  | { type: 'model-swapped-out'; key: string; for: string }
  /** Watcher: models stopped serving (crashed, restarting) or serve again; the gateway and Prometheus follow. */
  | { type: 'serving-changed'; unrouted: string[]; routed: string[] }
  /** The watcher adds (`up`) or takes away (`down`) replica `replica` of a model; `replicas`: how many serve after it. */
  | { type: 'scaling'; key: string; replica: number; direction: 'up' | 'down'; replicas: number; why: string }
  /** That change is done: the new replica is routed, or the old one is gone. */
  | { type: 'scaled'; key: string; replica: number; direction: 'up' | 'down'; replicas: number }
  /** Watcher: it answers wake requests on this address. */
  | { type: 'watcher-listening'; address: string }
  /**
   * A Docker host (`hosts:`) could not be reached, or its part of the call failed: reported, the
   * other hosts went on (and the call ends not ok). `hint`: what to do.
   */
  | { type: 'host-failed'; host: string; error: Error; hint?: string }
  /** Something worth knowing that changes nothing (a pre-flight skipped, a default used). */
  | { type: 'note'; message: string; level: 'debug' | 'warn' };

/** Receives {@link StackEvent}s. */
export type StackEventHandler = (event: StackEvent) => void;
