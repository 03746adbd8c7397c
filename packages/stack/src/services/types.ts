/*
 * What the services report, as plain types: read by the events, the verbs and the CLI, and
 * importing nothing of the stack (so that none of them imports a service's code for its types).
 */

/**
 * A file a service mounts (its config, a key, provisioning), as `up` writes it. Services say
 * what their files should hold instead of writing them, so that `plan` can tell which would
 * change (and whether the service reloads) without writing anything, and `up` writes exactly those.
 */
export interface ServiceFile {
  /** Where it lives on this machine. */
  path: string;
  /** What it holds once written. */
  text: string;
  /** Its mode when created. */
  mode: number;
  /** Also set the mode of an existing file (one that holds a key). @default false */
  enforceMode?: boolean;
  /** What it is, for the `file-written` event; files without are written silently. */
  what?: string;
  /** A kept container must reload when this file changed (see `ServiceDefinition.reload`). @default true */
  reload?: boolean;
  /**
   * A file others write too (the gateway's config file): its text is computed again from the
   * file as it is at the moment of writing, under `lock`, so that nothing written meanwhile is lost.
   */
  recompute?: (current: string | undefined) => Promise<string>;
  /** Held around a {@link recompute}d write. */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** What `up` did with a service container. */
export type ServiceAction = 'created' | 'recreated' | 'started' | 'kept';

/** What happened to one service in `up`. */
export type ServiceOutcome =
  | { service: string; container: string; ok: true; action: ServiceAction; reloaded: boolean }
  | { service: string; container: string; ok: false; error: Error; skipped?: 'dependency-failed' };

/** What `down --all` did with one service container. */
export type ServiceRemoval = { service: string; container: string; ok: true } | { service: string; container: string; ok: false; error: Error };

/** One row of the infrastructure part of `status`. */
export interface ServiceStatus {
  service: string;
  container: string;
  /** Docker's state, or `absent`. */
  state: string;
  url: string | null;
}

