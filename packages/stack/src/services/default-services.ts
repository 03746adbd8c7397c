import { databaseService, gatewayService } from './gateway.js';
import { dcgmExporterService, grafanaService, nodeExporterService, prometheusService } from './monitoring.js';
import type { ServiceDefinition } from './registry.js';
import { watcherService } from './watcher.js';

/**
 * The infrastructure of a stack, in the order `status` lists it and `up` starts it (each after
 * what it depends on: the gateway after its database in API mode, Grafana after Prometheus).
 * Adding a service is one entry here.
 */
export const DEFAULT_SERVICES: readonly ServiceDefinition[] = [
  gatewayService,
  databaseService,
  prometheusService,
  nodeExporterService,
  dcgmExporterService,
  grafanaService,
  watcherService,
];
