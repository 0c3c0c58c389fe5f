// Pod Security admission, as Kubernetes' (k8s.io/pod-security-admission): what a pod may ask of a
// host, by level, decided from the pod alone.
//
// A namespace chooses its level with the label pod-security.kubernetes.io/enforce:
//   privileged  anything goes
//   baseline    (the default, label absent) no known privilege escalation: no host namespaces,
//               host paths or host ports, no added capabilities beyond the runtime's defaults,
//               no Unconfined seccomp or AppArmor, no custom SELinux user/role, no unsafe sysctls,
//               no unmasked /proc, no probe or lifecycle handler aimed at another host
//   restricted  baseline, and the hardening best practices: allowPrivilegeEscalation=false,
//               capabilities dropped (ALL; only NET_BIND_SERVICE added back), runAsNonRoot=true,
//               runAsUser never 0, a RuntimeDefault or Localhost seccomp profile, and only the
//               volume types that cannot reach the host
// A label value that is not one of these is read as restricted (fail closed, as Kubernetes).
// `enforce-version` is accepted and ignored: every namespace is checked against the latest
// version of its level, and the messages say "latest".
//
// Lifecycle: none. Checks are pure functions of (pod metadata, pod spec); the object layer calls
// `admitPod` each time a pod is created, whoever creates it (an apply, the ReplicaSet controller),
// and when a user's update changes a pod's spec; never because a namespace changed: relabelling
// a namespace leaves its running pods alone.
//
// The checks read Kubernetes' whole pod shape (PodSecurityView below), wider than what berth's
// manifest schema accepts today: fields the schema refuses (privileged, host namespaces, volumes,
// most of securityContext) never reach a check, but the policy stays Kubernetes' as the schema
// grows. Imports proto/ only.

import type { ObjectMeta } from '../../proto/resources';

/** The namespace label that chooses the level enforced on its pods. */
export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
/** The namespace label that pins the policy's version: accepted, evaluated as "latest". */
export const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';

export type PodSecurityLevel =
  /** Unrestricted. */
  | 'privileged'
  /** Minimally restrictive, prevents known privilege escalations; the default. */
  | 'baseline'
  /** Heavily restricted, current pod hardening best practices. */
  | 'restricted';

export const POD_SECURITY_LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

/** The level a namespace enforces when its label is absent. */
export const DEFAULT_LEVEL: PodSecurityLevel = 'baseline';

/** What one check found: allowed, or why not (reason always, detail when it can name things). */
export type CheckResult =
  | { allowed: true }
  | { allowed: false; reason: string; detail: string };

// ---- The pod as the checks read it: Kubernetes' field names, every field optional. ----

export interface Capabilities {
  add?: string[];
  drop?: string[];
}

export interface SeccompProfile {
  /** RuntimeDefault | Localhost | Unconfined */
  type: string;
  localhostProfile?: string;
}

export interface AppArmorProfile {
  /** RuntimeDefault | Localhost | Unconfined */
  type: string;
  localhostProfile?: string;
}

export interface SELinuxOptions {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

export interface WindowsOptions {
  hostProcess?: boolean;
}

export interface ContainerSecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: Capabilities;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  seLinuxOptions?: SELinuxOptions;
  /** Default | Unmasked */
  procMount?: string;
  windowsOptions?: WindowsOptions;
}

export interface PodSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
  seLinuxOptions?: SELinuxOptions;
  sysctls?: Array<{ name: string; value?: string }>;
  windowsOptions?: WindowsOptions;
}

/** A probe or lifecycle handler: only where it connects matters here. */
export interface HandlerView {
  httpGet?: { host?: string };
  tcpSocket?: { host?: string };
}

export interface ContainerView {
  name: string;
  ports?: Array<{ hostPort?: number }>;
  livenessProbe?: HandlerView;
  readinessProbe?: HandlerView;
  startupProbe?: HandlerView;
  lifecycle?: { postStart?: HandlerView; preStop?: HandlerView };
  securityContext?: ContainerSecurityContext;
}

/** A volume: its name and one source field (hostPath, emptyDir, nfs, ...). */
export interface VolumeView {
  name: string;
  [source: string]: unknown;
}

export interface PodSpecView {
  containers: ContainerView[];
  initContainers?: ContainerView[];
  ephemeralContainers?: ContainerView[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: VolumeView[];
  securityContext?: PodSecurityContext;
}

/** A pod as the checks read it; berth's Pod is one (it has a subset of these fields). */
export interface PodSecurityView {
  metadata: Pick<ObjectMeta, 'name' | 'annotations'>;
  spec: PodSpecView;
}

/** One check of a level: Kubernetes' id (the order of messages follows it) and its function. */
export interface Check {
  id: string;
  level: Exclude<PodSecurityLevel, 'privileged'>;
  /** Baseline checks a restricted check replaces at the restricted level (it checks more). */
  overrides?: readonly string[];
  check(metadata: PodSecurityView['metadata'], spec: PodSpecView): CheckResult;
}
