// Resource usage of the node and its pods' running containers, measured every metrics resolution
// and reported to the controller (what the kubelet's summary API gives metrics-server). CPU is the
// rate between two readings of each cgroup's CPU time, so a container appears from its second
// reading on; memory is the working set.

import { readFileSync } from 'node:fs';
import type { ContainerUsage, NodeMetricsReport } from '../../proto/resources';
import { LABELS, type PodCgroups, type PodRuntime } from './types';

interface Reading {
  cpuNanos: number;
  atMs: number;
}

export class MetricsSampler {
  /** The last CPU reading of each container (by id), and of the node. */
  private readonly last = new Map<string, Reading>();
  private lastNode: { busy: number; total: number; atMs: number } | undefined;

  constructor(
    private readonly d: {
      nodeName: string;
      containers: Pick<PodRuntime, 'list'>;
      cgroups: Pick<PodCgroups, 'usage'>;
      /** /proc/stat and /proc/meminfo's text (tests give their own). */
      procStat?: () => string;
      procMeminfo?: () => string;
    },
  ) {}

  /** Read everything now; the report covers what has been read twice. */
  sample(nowMs: number): NodeMetricsReport {
    const pods = new Map<string, NodeMetricsReport['pods'][number]>();
    /** Pods with a running container not read twice yet: left out whole, as metrics-server leaves out incomplete pods. */
    const incomplete = new Set<string>();
    const seen = new Set<string>();
    let window = 0;
    for (const c of this.d.containers.list({ all: true })) {
      const labels = c.config.labels;
      const namespace = labels[LABELS.namespace];
      const name = labels[LABELS.name];
      const containerName = labels[LABELS.container];
      if (!namespace || !name || !containerName || c.state.status !== 'running') continue;
      const now = this.d.cgroups.usage(c.config.cgroup, c.id);
      if (!now) continue;
      seen.add(c.id);
      const before = this.last.get(c.id);
      this.last.set(c.id, { cpuNanos: now.cpuNanos, atMs: nowMs });
      const key = `${namespace}/${name}`;
      if (!before || nowMs <= before.atMs) {
        incomplete.add(key);
        continue;
      }
      const seconds = (nowMs - before.atMs) / 1000;
      window = Math.max(window, seconds);
      const usage: ContainerUsage = { name: containerName, cpuCores: Math.max(0, now.cpuNanos - before.cpuNanos) / 1e9 / seconds, memoryBytes: now.memoryBytes };
      const pod = pods.get(key) ?? { namespace, name, uid: labels[LABELS.uid] ?? '', containers: [] };
      pod.containers.push(usage);
      pods.set(key, pod);
    }
    for (const id of [...this.last.keys()]) if (!seen.has(id)) this.last.delete(id);
    return {
      node: this.d.nodeName,
      timestamp: new Date(nowMs).toISOString(),
      windowSeconds: Math.round(window) || 0,
      usage: { cpuCores: this.nodeCpu(nowMs), memoryBytes: this.nodeMemory() },
      pods: [...pods.entries()].filter(([key]) => !incomplete.has(key)).map(([, pod]) => pod),
    };
  }

  /** The host's busy cores since the last reading, from /proc/stat's cpu line. */
  private nodeCpu(nowMs: number): number {
    const lines = (this.d.procStat ?? (() => readFileSync('/proc/stat', 'utf8')))().split('\n');
    const line = lines.find((l) => l.startsWith('cpu '));
    // user nice system idle iowait irq softirq steal; guest time is already in user (and guest_nice in nice).
    const fields = (line ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const before = this.lastNode;
    this.lastNode = { busy: total - idle, total, atMs: nowMs };
    if (!before || total <= before.total) return 0;
    const cores = lines.filter((l) => /^cpu\d+ /.test(l)).length || 1;
    return ((total - idle - before.busy) / (total - before.total)) * cores;
  }

  private nodeMemory(): number {
    const text = (this.d.procMeminfo ?? (() => readFileSync('/proc/meminfo', 'utf8')))();
    const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return Math.max(0, kib('MemTotal') - kib('MemAvailable')) * 1024;
  }
}
