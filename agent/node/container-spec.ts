// A pod's container as the container runtime's create request: command/args as entrypoint/cmd,
// env, workingDir, limits, the pod's network namespace and cgroup joined, the pod's restart policy
// as the runtime's own (it restarts crashed containers with the kubelet's back-off, also while the
// agent is away), the securityContext (seccomp, no_new_privs), and the labels that find the
// container again.

import { parseCpu, parseMemory, type Container, type EnvVar, type Pod, type RestartPolicy } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { SERVICE_ACCOUNT_MOUNT } from '../../proto/trust';
import type { PortMapping } from '../network';
import {
  KUBELET_RESTART_BACKOFF, type AppArmorRequest, type CreateRequest, type GroupLimits, type LogConfig, type VolumeMount, type DnsSettings, type RestartBackoff, type RestartPolicy as RuntimeRestartPolicy, type SecurityConfig,
} from '../runtime';
import { containerLabels, containerName } from './naming';
import { graceSecondsOf, restartPolicyOf } from './plan';
import type { PodRef } from './types';

export function runtimeRestartPolicy(policy: RestartPolicy, backoff: RestartBackoff = KUBELET_RESTART_BACKOFF): RuntimeRestartPolicy {
  switch (policy) {
    case 'Always': return { name: 'always', maximumRetryCount: 0, backoff };
    case 'OnFailure': return { name: 'on-failure', maximumRetryCount: 0, backoff };
    case 'Never': return { name: 'no', maximumRetryCount: 0, backoff };
  }
}

/**
 * When the runtime runs a container again by itself: an app container by the pod's policy; a
 * sidecar always; an init container until it succeeds, unless the pod never restarts.
 */
export function containerRestartPolicy(pod: Pod, container: Container): RestartPolicy {
  const init = pod.spec.initContainers?.find((c) => c.name === container.name);
  if (!init) return restartPolicyOf(pod);
  if (init.restartPolicy === 'Always') return 'Always';
  return restartPolicyOf(pod) === 'Never' ? 'Never' : 'OnFailure';
}

/** What the node adds to a pod's container that the pod does not say. */
export interface NodeSide {
  /** The pod's cgroup under the agent's parent. */
  cgroup?: string;
  restartBackoff?: RestartBackoff;
  /** A Localhost seccomp profile's JSON, by its localhostProfile name (read from the node's profile root). */
  localhostProfile?(name: string): string;
  /** The pod's service account token directory (pod-tokens.ts), mounted read-only where Kubernetes' clients look for it. */
  serviceAccountDir?: string;
  /** The container's volumeMounts as bind mounts of the pod's volumes (pod-volumes.ts). */
  mounts?: VolumeMount[];
  /** The container's environment as resolved (pod-env.ts: Services, envFrom, valueFrom); absent: its env as written. */
  env?: EnvVar[];
  /** The pod's resolv.conf (pod-dns.ts). */
  dns?: DnsSettings;
  /** More /etc/hosts lines (the pod's FQDN under its subdomain). */
  extraHosts?: string[];
  /** The node's name: a pod on the host's network has the host's name, as in Kubernetes. */
  nodeName?: string;
}

/**
 * The limits of a pod's cgroup, which its containers share: the agent's pids limit for every pod
 * (or the pod's own pids limit if lower), and the pod-level memory and CPU limits it has.
 */
export function podCgroupLimits(pod: Pod, agentPids: number | undefined): GroupLimits {
  const limits = pod.spec.resources?.limits ?? {};
  const where = `pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} spec.resources.limits`;
  const own = limits.pids !== undefined ? parseMemory(limits.pids, `${where}.pids`) : undefined;
  const pids = own === undefined ? agentPids : agentPids === undefined ? own : Math.min(own, agentPids);
  return {
    ...(pids !== undefined ? { pids } : {}),
    ...(limits.memory !== undefined ? { memoryBytes: parseMemory(limits.memory, `${where}.memory`) } : {}),
    ...(limits.cpu !== undefined ? { cpus: parseCpu(limits.cpu, `${where}.cpu`) / 1000 } : {}),
  };
}

/** The netns a hostNetwork pod's attachment names: the host's own. */
export const HOST_NETNS = 'host';

/**
 * A container's securityContext over the pod's: the container's seccompProfile wins, none at all
 * means RuntimeDefault; allowPrivilegeEscalation: false means no_new_privs; privileged is the
 * runtime's privileged mode (which has no seccomp filter, whatever the profile says). The securityOpt is
 * what `berth inspect` shows, in docker's words.
 */
export function containerSecurity(pod: Pod, container: Container, localhostProfile?: (name: string) => string): { security: Omit<SecurityConfig, 'apparmorProfile'>; apparmor?: AppArmorRequest; securityOpt: string[] } {
  const profile = container.securityContext?.seccompProfile ?? pod.spec.securityContext?.seccompProfile ?? { type: 'RuntimeDefault' };
  const noNewPrivileges = container.securityContext?.allowPrivilegeEscalation === false;
  const securityOpt: string[] = [];
  let seccomp: SecurityConfig['seccomp'];
  switch (profile.type) {
    case 'RuntimeDefault':
      seccomp = { type: 'runtime-default' };
      break;
    case 'Unconfined':
      seccomp = { type: 'unconfined' };
      securityOpt.push('seccomp=unconfined');
      break;
    case 'Localhost': {
      const name = profile.localhostProfile ?? '';
      if (!localhostProfile) throw new BerthError('failed-precondition', `seccomp localhostProfile "${name}": this node has no profile root`);
      seccomp = { type: 'profile', json: localhostProfile(name) };
      securityOpt.push(`seccomp=localhost/${name}`);
      break;
    }
  }
  if (noNewPrivileges) securityOpt.push('no-new-privileges');
  const caps = container.securityContext?.capabilities;
  const runAsNonRoot = container.securityContext?.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot;
  // The container's AppArmor profile over the pod's; none: the node's default (the runtime decides).
  const apparmor = container.securityContext?.appArmorProfile ?? pod.spec.securityContext?.appArmorProfile;
  return {
    security: {
      seccomp, noNewPrivileges,
      ...(caps?.add?.length ? { capAdd: caps.add } : {}),
      ...(caps?.drop?.length ? { capDrop: caps.drop } : {}),
      ...(runAsNonRoot ? { runAsNonRoot } : {}),
      ...(container.securityContext?.privileged ? { privileged: true } : {}),
    },
    ...(apparmor ? { apparmor } : {}),
    securityOpt: [...(container.securityContext?.privileged ? ['privileged'] : []), ...securityOpt, ...(caps?.add ?? []).map((c) => `cap-add=${c}`), ...(caps?.drop ?? []).map((c) => `cap-drop=${c}`)],
  };
}

/**
 * runAsUser (and runAsGroup with it), the container's over the pod's, as the runtime's user word;
 * the pod's fsGroup and supplementalGroups as groups the process has besides.
 */
function runAs(pod: Pod, container: Container): { user?: string; groupAdd?: number[]; strictGroups?: boolean } {
  const uid = container.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser;
  const gid = container.securityContext?.runAsGroup ?? pod.spec.securityContext?.runAsGroup;
  const { fsGroup, supplementalGroups = [] } = pod.spec.securityContext ?? {};
  const groupAdd = [...new Set([...(fsGroup !== undefined ? [fsGroup] : []), ...supplementalGroups])];
  return {
    ...(uid !== undefined ? { user: gid === undefined ? String(uid) : `${uid}:${gid}` } : {}),
    ...(groupAdd.length ? { groupAdd } : {}),
    // Strict: the image's /etc/group adds nothing (Kubernetes' SupplementalGroupsPolicy).
    ...(pod.spec.securityContext?.supplementalGroupsPolicy === 'Strict' ? { strictGroups: true } : {}),
  };
}

export function createRequest(pod: Pod, ref: PodRef, container: Container, netns: string, node: NodeSide = {}): CreateRequest {
  const where = `pod ${ref.namespace}/${ref.name} container ${container.name}`;
  const limits = container.resources?.limits ?? {};
  const env = (node.env ?? container.env ?? []).map((e) => {
    if (!e.name || e.name.includes('=')) throw new BerthError('invalid-argument', `${where}: invalid environment variable name "${e.name}"`);
    return `${e.name}=${e.value ?? ''}`;
  });
  const { securityOpt, ...security } = containerSecurity(pod, container, node.localhostProfile);
  return {
    image: container.image,
    name: containerName(ref, container.name),
    // command replaces the image's Entrypoint (and with it its Cmd), args replaces Cmd.
    ...(container.command ? { entrypoint: container.command } : {}),
    ...(container.args ? { cmd: container.args } : {}),
    env,
    ...(node.dns ? { dns: node.dns } : {}),
    ...(node.extraHosts?.length ? { extraHosts: node.extraHosts } : {}),
    ...(container.workingDir ? { workdir: container.workingDir } : {}),
    network: netns === HOST_NETNS ? 'host' : `netns:${netns}`,
    ...(pod.spec.hostPID ? { pidMode: 'host' as const } : {}),
    ...(pod.spec.hostIPC ? { ipcMode: 'host' as const } : {}),
    ...runAs(pod, container),
    volumes: [
      ...(node.serviceAccountDir ? [{ source: node.serviceAccountDir, destination: SERVICE_ACCOUNT_MOUNT, readonly: true }] : []),
      ...(node.mounts ?? []),
    ],
    ...(container.securityContext?.readOnlyRootFilesystem ? { readonlyRootfs: true } : {}),
    limits: {
      ...(limits.memory !== undefined ? { memoryBytes: parseMemory(limits.memory, `${where} resources.limits.memory`) } : {}),
      // Millicores, exactly as the scheduler counts them (proto/resources/quantity.ts).
      ...(limits.cpu !== undefined ? { cpus: parseCpu(limits.cpu, `${where} resources.limits.cpu`) / 1000 } : {}),
    },
    restart: runtimeRestartPolicy(containerRestartPolicy(pod, container), node.restartBackoff),
    labels: containerLabels(ref, container),
    stopTimeout: graceSecondsOf(pod),
    hostname: (pod.spec.hostNetwork && node.nodeName ? node.nodeName : pod.spec.hostname || ref.name).slice(0, 63),
    ...security,
    ...(securityOpt.length ? { securityOpt } : {}),
    ...(node.cgroup ? { cgroup: node.cgroup } : {}),
    ...(container.tty ? { tty: true } : {}),
    ...(container.stdin ? { openStdin: true, stdinOnce: Boolean(container.stdinOnce) } : {}),
    log: KUBELET_LOG,
  };
}

/** kubelet's containerLogMaxSize (10Mi) and containerLogMaxFiles (5). */
const KUBELET_LOG: LogConfig = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

/** The ports of every container of the pod that ask for a host port: published on the pod's network. */
export function publishedPorts(pod: Pod): PortMapping[] {
  // On the host's network every container port is a host port (Kubernetes defaults hostPort to it).
  const hostNetwork = pod.spec.hostNetwork === true;
  return pod.spec.containers.flatMap((c) => (c.ports ?? [])
    .filter((p) => hostNetwork || (p.hostPort !== undefined && p.hostPort > 0))
    .map((p) => ({ hostIp: '', hostPort: p.hostPort || p.containerPort, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase() as 'tcp' | 'udp' })));
}
