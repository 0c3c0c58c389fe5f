// Resource usage, as agents measure it and metrics-server's API (metrics.k8s.io/v1beta1) shows it:
// what an agent reports each metrics resolution, and the PodMetrics and NodeMetrics made from it.

import { formatCpu } from './quantity';

/** One container's usage: CPU as cores over the window (1.5 = one and a half), memory as working-set bytes. */
export interface ContainerUsage {
  name: string;
  cpuCores: number;
  memoryBytes: number;
}

/** What an agent reports for its node and its pods' running containers. */
export interface NodeMetricsReport {
  node: string;
  /** When it was measured (ISO 8601), and over how many seconds CPU use was averaged. */
  timestamp: string;
  windowSeconds: number;
  usage: { cpuCores: number; memoryBytes: number };
  pods: Array<{ namespace: string; name: string; uid: string; containers: ContainerUsage[] }>;
}

export interface PodMetrics {
  apiVersion: 'metrics.k8s.io/v1beta1';
  kind: 'PodMetrics';
  metadata: { name: string; namespace: string; labels?: Record<string, string>; creationTimestamp?: string };
  timestamp: string;
  window: string;
  containers: Array<{ name: string; usage: { cpu: string; memory: string } }>;
}

export interface NodeMetrics {
  apiVersion: 'metrics.k8s.io/v1beta1';
  kind: 'NodeMetrics';
  metadata: { name: string; labels?: Record<string, string>; creationTimestamp?: string };
  timestamp: string;
  window: string;
  usage: { cpu: string; memory: string };
}

/** As metrics-server writes usage: CPU in millicores here (it uses nanocores), memory in Ki. */
const usage = (cpuCores: number, memoryBytes: number) => ({ cpu: formatCpu(Math.round(cpuCores * 1000)), memory: `${Math.round(memoryBytes / 1024)}Ki` });

/** The PodMetrics of one report's pods. */
export function podMetricsOf(report: NodeMetricsReport): PodMetrics[] {
  return report.pods.map((p) => ({
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'PodMetrics',
    metadata: { name: p.name, namespace: p.namespace },
    timestamp: report.timestamp,
    window: `${report.windowSeconds}s`,
    containers: p.containers.map((c) => ({ name: c.name, usage: usage(c.cpuCores, c.memoryBytes) })),
  }));
}

export function nodeMetricsOf(report: NodeMetricsReport): NodeMetrics {
  return {
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'NodeMetrics',
    metadata: { name: report.node },
    timestamp: report.timestamp,
    window: `${report.windowSeconds}s`,
    usage: usage(report.usage.cpuCores, report.usage.memoryBytes),
  };
}
