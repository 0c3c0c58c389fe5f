// How a pod's things on the host are named and labelled, so that they can be found again after an
// agent restart: containers by name and labels, the pod's network attachment and cgroup by the
// pod's uid.

import { createHash } from 'node:crypto';
import type { Container, Pod } from '../../proto/resources';
import { LABELS, type ObservedContainer, type PodRef } from './types';
import { DOCKER_RESTART_BACKOFF, type ContainerRecord } from '../runtime';

export const podRef = (pod: Pod): PodRef => ({
  namespace: pod.metadata.namespace ?? 'default',
  name: pod.metadata.name ?? '',
  uid: pod.metadata.uid ?? '',
});

/** Every container of the pod that the node runs: init containers (sidecars among them) first, then the app containers. */
export { podContainers } from '../../proto/resources';

export const podKey = (ref: { namespace: string; name: string }): string => `${ref.namespace}/${ref.name}`;

/** Docker's container name alphabet: anything else in a pod's names becomes '-'. */
const safe = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, '-');

/** k8s_<container>_<pod>_<namespace>_<first 8 of the uid>, as the kubelet's dockershim named them. */
export function containerName(ref: PodRef, container: string): string {
  return `k8s_${safe(container)}_${safe(ref.name)}_${safe(ref.namespace)}_${safe(ref.uid.slice(0, 8))}`;
}

/** The id of the pod's network attachment (and the file name of its namespace). */
export function networkId(ref: PodRef): string {
  return `pod-${safe(ref.uid)}`;
}

/** The pod's cgroup, under the agent's cgroup parent. */
export function cgroupName(ref: PodRef): string {
  return `pod-${safe(ref.uid)}`;
}

export function containerLabels(ref: PodRef, container: Container): Record<string, string> {
  return {
    [LABELS.namespace]: ref.namespace,
    [LABELS.name]: ref.name,
    [LABELS.uid]: ref.uid,
    [LABELS.container]: container.name,
    [LABELS.hash]: containerHash(container),
  };
}

/**
 * A hash of everything in a container's spec that the container is made from: a change means
 * the container must be made again. Probes are left out: they are applied to a running container.
 */
export function containerHash(container: Container): string {
  const { livenessProbe: _l, readinessProbe: _r, ...made } = container;
  return createHash('sha256').update(canonicalJson(made)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The pod a container belongs to, from its labels; undefined for a container that is not a pod's. */
export function podOfContainer(record: ContainerRecord): PodRef | undefined {
  const l = record.config.labels;
  const uid = l[LABELS.uid];
  const name = l[LABELS.name];
  const namespace = l[LABELS.namespace];
  if (!uid || !name || !namespace || !l[LABELS.container]) return undefined;
  return { namespace, name, uid };
}

/** The runtime's record in the planner's terms. */
export function observeContainer(record: ContainerRecord): ObservedContainer {
  const s = record.state;
  return {
    id: record.id,
    name: record.config.labels[LABELS.container] ?? '',
    hash: record.config.labels[LABELS.hash] ?? '',
    image: record.config.image,
    imageId: record.config.imageId,
    status: s.status,
    ...(s.startedAt ? { startedAt: s.startedAt } : {}),
    ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
    ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
    ...(s.error ? { error: s.error } : {}),
    restartCount: s.restartCount,
    ...(s.nextRestartAt ? { nextRestartAt: s.nextRestartAt } : {}),
    ...(s.restartDelayMs !== undefined ? { restartDelayMs: s.restartDelayMs } : {}),
    ...(s.lastExit ? { lastExit: s.lastExit } : {}),
    // What the runtime restarts it with; a record from before back-offs were recorded: docker's, as the runtime does.
    backoff: record.config.restart.backoff ?? DOCKER_RESTART_BACKOFF,
  };
}
