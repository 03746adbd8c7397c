/* What a gateway sync reports, as a plain type (read by the events without the sync's code). */

/** What a gateway sync did. */
export interface GatewaySyncResult {
  mode: 'config' | 'api';
  /** Served names routed after the sync. */
  routed: string[];
  added: number;
  removed: number;
  /**
   * Config-file mode, managed gateway: the running gateway took the new routes (its plugin, in
   * every worker), without a reload or a restart.
   */
  applied: boolean;
  /** The gateway had to be restarted to load the new list (a gateway without the plugin). */
  restarted: boolean;
  /** Dry run: the plan lines. */
  plan?: string[];
}
