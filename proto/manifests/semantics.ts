// Rules a JSON Schema cannot state: relations between fields. Run only on documents that passed
// their schema, so shapes and types here are the ones in proto/resources/types.ts.

import {
  int64Value, isExtendedResource, localhostProfileProblem, withDefaults, type AppArmorProfile,
  type Container, type Deployment, type Endpoints, type LabelSelector, type LifecycleHandler, type PodSpec, type Probe, type ReplicaSet, type Resource,
  type CertificateSigningRequest, type ConfigMap, type CronJob, type HorizontalPodAutoscaler, type Toleration, type Webhook, type MetricTarget, type Ingress, type IngressBackend, type IngressClass, type NetworkPolicy, type NetworkPolicyPeer, type NetworkPolicyPort, type PodDisruptionBudget, type LimitRange, type ReplicationController, type ValidatingAdmissionPolicy, type ValidatingAdmissionPolicyBinding, type DaemonSet, type PersistentVolume, type PersistentVolumeClaimSpec, type StatefulSet, type Job, type RollingUpdateDeployment, type SeccompProfile, type Secret, type Service,
} from '../resources';
import { formatPath } from './path';
import { formatCpu, formatMemory, parseCpu, parseMemory } from '../resources/quantity';
import { containersRequests } from '../resources/requests';
import { celSyntaxError } from '../cel';
import { x509 } from '../trust/x509';
import { containsCidr, parseBlock } from '../network/cidr';
import { parseIndexes } from '../resources/indexes';
import { scheduleProblem } from '../resources/schedule';
import type { PathSegment, FieldIssue } from './types';

export function semanticIssues(resource: Resource): FieldIssue[] {
  switch (resource.kind) {
    case 'Pod':
      return podSpecIssues(resource.spec, ['spec']);
    case 'Deployment':
      return [...workloadIssues(resource), ...strategyIssues(resource)];
    case 'ReplicaSet':
    case 'DaemonSet':
      return workloadIssues(resource);
    case 'ReplicationController':
      return replicationControllerIssues(resource);
    case 'StatefulSet':
      return statefulSetIssues(resource);
    case 'PersistentVolumeClaim':
      return claimSpecIssues(resource.spec, ['spec']);
    case 'PersistentVolume':
      return persistentVolumeIssues(resource);
    case 'Job':
      return jobIssues(resource);
    case 'CronJob':
      return cronJobIssues(resource);
    case 'Service':
      return serviceIssues(resource);
    case 'ConfigMap':
    case 'Secret':
      return configIssues(resource);
    case 'PodDisruptionBudget':
      return disruptionBudgetIssues(resource);
    case 'NetworkPolicy':
      return networkPolicyIssues(resource);
    case 'Ingress':
      return ingressIssues(resource);
    case 'HorizontalPodAutoscaler':
      return autoscalerIssues(resource);
    case 'CertificateSigningRequest':
      return csrIssues(resource);
    case 'ValidatingWebhookConfiguration':
    case 'MutatingWebhookConfiguration':
      return webhookIssues(resource.webhooks ?? []);
    case 'Endpoints':
      return endpointsIssues(resource);
    case 'IngressClass':
      return ingressClassIssues(resource);
    case 'LimitRange':
      // Checked as it will be stored: a default limit taken from max must still cover the default request.
      return limitRangeIssues(withDefaults(resource));
    case 'ValidatingAdmissionPolicy':
      return admissionPolicyIssues(resource);
    case 'ValidatingAdmissionPolicyBinding':
      return policyBindingIssues(resource);
    default:
      return [];
  }
}

function issue(path: PathSegment[], message: string): FieldIssue {
  return { field: formatPath(path), detail: message, location: { path, part: 'value' } };
}

/** A Deployment or ReplicaSet: its selector must select its own pods, which must keep running. */
function workloadIssues(w: Deployment | ReplicaSet | DaemonSet | StatefulSet | (Omit<ReplicationController, 'spec'> & { spec: ReplicaSet['spec'] }), claimNames: string[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { selector, template } = w.spec;
  out.push(...selectorIssues(selector, ['spec', 'selector']));
  if (out.length === 0) {
    const empty = !selector.matchLabels && !selector.matchExpressions;
    const none = Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
    if (empty || none) {
      out.push(issue(['spec', 'selector'], `must not be empty: a ${w.kind} selects its pods by label (spec.selector.matchLabels)`));
    } else if (!selects(selector, template.metadata?.labels ?? {})) {
      out.push(issue(['spec', 'selector'], "does not select the pod template's labels (spec.template.metadata.labels)"));
    }
  }
  const restartPolicy = template.spec.restartPolicy;
  if (restartPolicy !== undefined && restartPolicy !== 'Always') {
    out.push(issue(['spec', 'template', 'spec', 'restartPolicy'], `must be Always in a ${w.kind}'s pod template (its pods are replaced, not restarted in place)`));
  }
  out.push(...podSpecIssues(template.spec, ['spec', 'template', 'spec'], claimNames));
  return out;
}

/** A StatefulSet: a workload whose pods may mount the claims its volumeClaimTemplates make. */
function statefulSetIssues(sts: StatefulSet): FieldIssue[] {
  const templates = sts.spec.volumeClaimTemplates ?? [];
  const out = workloadIssues(sts, templates.map((t) => t.metadata.name ?? ''));
  const names = new Map<string, number>();
  templates.forEach((t, i) => {
    const at: PathSegment[] = ['spec', 'volumeClaimTemplates', i];
    const first = names.get(t.metadata.name ?? '');
    if (first !== undefined) out.push(issue([...at, 'metadata', 'name'], `duplicate claim template name ${JSON.stringify(t.metadata.name)}: volumeClaimTemplates[${first}] has it too`));
    else names.set(t.metadata.name ?? '', i);
    out.push(...claimSpecIssues(t.spec, [...at, 'spec']));
  });
  return out;
}

/** A claim must say how it is accessed and how much it needs (Kubernetes' messages). */
function claimSpecIssues(spec: PersistentVolumeClaimSpec, at: PathSegment[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  if ((spec.accessModes ?? []).length === 0) out.push(issue([...at, 'accessModes'], 'at least 1 access mode is required'));
  if (spec.resources?.requests?.storage === undefined) out.push(issue([...at, 'resources', 'requests', 'storage'], 'Required value: a claim must request its size'));
  return out;
}

/** A volume: its size, its access modes and exactly one source berth can mount. */
function persistentVolumeIssues(pv: PersistentVolume): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (pv.spec.capacity?.storage === undefined) out.push(issue(['spec', 'capacity', 'storage'], 'Required value: a volume must state its size'));
  if ((pv.spec.accessModes ?? []).length === 0) out.push(issue(['spec', 'accessModes'], 'at least 1 access mode is required'));
  const sources = (['hostPath', 'local'] as const).filter((s) => pv.spec[s] !== undefined);
  if (sources.length === 0) out.push(issue(['spec'], 'must specify a volume type (this cluster mounts hostPath and local volumes)'));
  if (sources.length > 1) out.push(issue(['spec'], `may not specify more than 1 volume type (${sources.join(', ')})`));
  if (pv.spec.local && !pv.spec.nodeAffinity?.required) out.push(issue(['spec', 'nodeAffinity'], 'Required value: Local volume requires node affinity'));
  return out;
}

/** A schedule the controller can follow, a time zone it knows, and a valid Job template. */
function cronJobIssues(cj: CronJob): FieldIssue[] {
  const out: FieldIssue[] = [];
  const problem = scheduleProblem(cj.spec.schedule, cj.spec.timeZone);
  if (problem) out.push(issue(['spec', problem.field], problem.message));
  const template = { ...cj, kind: 'Job', apiVersion: 'batch/v1', spec: cj.spec.jobTemplate.spec } as unknown as Job;
  out.push(...jobIssues(template, ['spec', 'jobTemplate', 'spec']));
  return out;
}

/** A Job's pods end: they restart in place (OnFailure) or not at all (Never), as Kubernetes requires. */
function jobIssues(job: Job, specAt: PathSegment[] = ['spec']): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { template, selector } = job.spec;
  const policyAt = [...specAt, 'template', 'spec', 'restartPolicy'];
  const restartPolicy = template.spec.restartPolicy;
  if (restartPolicy === undefined) out.push(issue([...specAt, 'template', 'spec'], 'restartPolicy: Required value: valid values: "OnFailure", "Never"'));
  else if (restartPolicy === 'Always') out.push(issue(policyAt, 'Unsupported value: "Always": supported values: "OnFailure", "Never"'));
  if (job.spec.completionMode === 'Indexed' && job.spec.completions === undefined) {
    out.push(issue([...specAt, 'completions'], 'Required value: when completionMode is Indexed'));
  }
  const indexedOnly = (field: 'backoffLimitPerIndex' | 'maxFailedIndexes' | 'successPolicy') => {
    if (job.spec[field] !== undefined && job.spec.completionMode !== 'Indexed') out.push(issue([...specAt, field], 'requires indexed completion mode'));
  };
  indexedOnly('backoffLimitPerIndex');
  indexedOnly('successPolicy');
  if (job.spec.maxFailedIndexes !== undefined && job.spec.backoffLimitPerIndex === undefined) out.push(issue([...specAt, 'maxFailedIndexes'], 'cannot be set when backoffLimitPerIndex is not set'));
  if (job.spec.maxFailedIndexes !== undefined && job.spec.completions !== undefined && job.spec.maxFailedIndexes > job.spec.completions) {
    out.push(issue([...specAt, 'maxFailedIndexes'], 'must be less than or equal to completions'));
  }
  (job.spec.successPolicy?.rules ?? []).forEach((rule, i) => {
    const at = [...specAt, 'successPolicy', 'rules', i];
    if (rule.succeededIndexes === undefined && rule.succeededCount === undefined) out.push(issue(at, 'at least one of succeededCount or succeededIndexes must be specified'));
    const outside = rule.succeededIndexes ? [...parseIndexes(rule.succeededIndexes)].find((n) => n >= (job.spec.completions ?? 0)) : undefined;
    if (outside !== undefined) out.push(issue([...at, 'succeededIndexes'], `must be less than completions: index ${outside} is not`));
    if (rule.succeededCount !== undefined && rule.succeededCount > (job.spec.completions ?? 0)) out.push(issue([...at, 'succeededCount'], 'must be less than or equal to completions'));
    else if (rule.succeededCount !== undefined && rule.succeededIndexes && rule.succeededCount > parseIndexes(rule.succeededIndexes).size) {
      out.push(issue([...at, 'succeededCount'], 'must be less than or equal to the number of indexes in succeededIndexes'));
    }
  });
  if (job.spec.podFailurePolicy && restartPolicy !== undefined && restartPolicy !== 'Never') {
    out.push(issue(policyAt, 'only "Never" is supported when podFailurePolicy is specified'));
  }
  (job.spec.podFailurePolicy?.rules ?? []).forEach((rule, i) => {
    const at = [...specAt, 'podFailurePolicy', 'rules', i];
    if (!rule.onExitCodes === !rule.onPodConditions) out.push(issue(at, 'specify one of onExitCodes and onPodConditions, but not both'));
    if (rule.action === 'FailIndex' && job.spec.backoffLimitPerIndex === undefined) out.push(issue([...at, 'action'], 'requires the backoffLimitPerIndex to be set'));
    if (rule.onExitCodes?.operator === 'In' && rule.onExitCodes.values.includes(0)) out.push(issue([...at, 'onExitCodes', 'values'], 'must not be 0 for the In operator'));
  });
  if (selector) {
    out.push(...selectorIssues(selector, [...specAt, 'selector']));
    if (!job.spec.manualSelector) out.push(issue([...specAt, 'selector'], '`selector` will be auto-generated: set manualSelector: true to choose it'));
    else if (!selects(selector, template.metadata?.labels ?? {})) out.push(issue([...specAt, 'selector'], "does not select the pod template's labels (spec.template.metadata.labels)"));
  }
  out.push(...podSpecIssues(template.spec, [...specAt, 'template', 'spec']));
  return out;
}

function selectorIssues(selector: LabelSelector, at: PathSegment[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const values = req.values ?? [];
    const path = [...at, 'matchExpressions', i, 'values'];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) {
      out.push(issue(path, `must not be empty when operator is ${req.operator}`));
    } else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) {
      out.push(issue(path, `must be empty when operator is ${req.operator}`));
    }
  });
  return out;
}

/** Kubernetes' label selector semantics; every requirement must hold. */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const inValues = has && (req.values ?? []).includes(labels[req.key]);
    const ok = req.operator === 'In' ? inValues : req.operator === 'NotIn' ? !inValues : req.operator === 'Exists' ? has : !has;
    if (!ok) return false;
  }
  return true;
}

function podSpecIssues(spec: PodSpec, at: PathSegment[], claimNames: readonly string[] = []): FieldIssue[] {
  const out: FieldIssue[] = [];
  const names = new Map<string, number>();
  const hostPorts = new Map<string, PathSegment[]>();
  const podProfile = spec.securityContext?.seccompProfile;
  if (podProfile) out.push(...seccompProfileIssues(podProfile, [...at, 'securityContext', 'seccompProfile']));
  const appArmor = (profile: AppArmorProfile | undefined, where: PathSegment[]) => {
    if (!profile) return;
    if (profile.type === 'Localhost' && !profile.localhostProfile) out.push(issue(where, 'localhostProfile must be set when AppArmor type is Localhost'));
    if (profile.type !== 'Localhost' && profile.localhostProfile !== undefined) out.push(issue([...where, 'localhostProfile'], 'can only be set when AppArmor type is Localhost'));
  };
  appArmor(spec.securityContext?.appArmorProfile, [...at, 'securityContext', 'appArmorProfile']);
  for (const list of ['initContainers', 'containers'] as const) {
    (spec[list] ?? []).forEach((c, i) => appArmor(c.securityContext?.appArmorProfile, [...at, list, i, 'securityContext', 'appArmorProfile']));
  }
  // Windows options are ignored on Linux nodes, except a HostProcess container, which only Windows can run.
  const hostProcess = (where: PathSegment[]) => out.push(issue([...where, 'windowsOptions', 'hostProcess'], 'Windows HostProcess containers cannot run on berth\'s Linux nodes'));
  if (spec.securityContext?.windowsOptions?.hostProcess) hostProcess([...at, 'securityContext']);
  for (const list of ['initContainers', 'containers'] as const) {
    (spec[list] ?? []).forEach((c, i) => {
      if (c.securityContext?.windowsOptions?.hostProcess) hostProcess([...at, list, i, 'securityContext']);
    });
  }
  (spec.tolerations ?? []).forEach((toleration, i) => out.push(...tolerationIssues(toleration, [...at, 'tolerations', i])));
  if (spec.resources) out.push(...podResourceIssues(spec, at));
  out.push(...volumeIssues(spec, at));
  const firstOf = new Map<string, string>();
  (spec.initContainers ?? []).forEach((c, i) => {
    const cAt = [...at, 'initContainers', i];
    const first = firstOf.get(c.name);
    if (first !== undefined) out.push(issue([...cAt, 'name'], `duplicate container name ${JSON.stringify(c.name)}: ${first} has it too`));
    else firstOf.set(c.name, `initContainers[${i}]`);
    if (c.restartPolicy !== 'Always') {
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        if (c[probe]) out.push(issue([...cAt, probe], 'may not be set for init containers without restartPolicy=Always'));
      }
    }
    out.push(...containerIssues(c, cAt));
    out.push(...volumeMountIssues(c, spec, cAt, claimNames));
  });
  spec.containers.forEach((c, i) => {
    const cAt = [...at, 'containers', i];
    const first = names.get(c.name);
    const firstInit = firstOf.get(c.name);
    if (first !== undefined) {
      out.push(issue([...cAt, 'name'], `duplicate container name ${JSON.stringify(c.name)}: containers[${first}] has it too`));
    } else if (firstInit !== undefined) {
      out.push(issue([...cAt, 'name'], `duplicate container name ${JSON.stringify(c.name)}: ${firstInit} has it too`));
    } else {
      names.set(c.name, i);
    }
    if (c.restartPolicy !== undefined) out.push(issue([...cAt, 'restartPolicy'], 'may not be set for non-init containers'));
    (c.ports ?? []).forEach((p, j) => {
      if (p.hostPort === undefined) return;
      const key = `${p.hostPort}/${p.protocol ?? 'TCP'}`;
      const held = hostPorts.get(key);
      if (held) out.push(issue([...cAt, 'ports', j, 'hostPort'], `host port ${key} is already used by ${formatPath(held)}`));
      else hostPorts.set(key, [...cAt, 'ports', j]);
    });
    out.push(...containerIssues(c, cAt));
    out.push(...volumeMountIssues(c, spec, cAt, claimNames));
  });
  return out;
}

/** The sources a Volume may name; Kubernetes' API allows exactly one (none at all defaults to emptyDir). */
const VOLUME_SOURCES = ['emptyDir', 'hostPath', 'configMap', 'secret', 'downwardAPI', 'projected', 'persistentVolumeClaim', 'ephemeral'] as const;

function volumeIssues(spec: PodSpec, at: PathSegment[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const names = new Map<string, number>();
  (spec.volumes ?? []).forEach((v, i) => {
    const vAt = [...at, 'volumes', i];
    const first = names.get(v.name);
    if (first !== undefined) out.push(issue([...vAt, 'name'], `duplicate volume name ${JSON.stringify(v.name)}: volumes[${first}] has it too`));
    else names.set(v.name, i);
    const hostPath = v.hostPath?.path;
    if (hostPath !== undefined && !hostPath.startsWith('/') && !(targetsWindows(spec) && /^[A-Za-z]:[\\/]/.test(hostPath))) out.push(issue([...vAt, 'hostPath', 'path'], 'must be an absolute path on the node'));
    if (v.ephemeral) out.push(...claimSpecIssues(v.ephemeral.volumeClaimTemplate.spec, [...vAt, 'ephemeral', 'volumeClaimTemplate', 'spec']));
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined);
    if (sources.length > 1) out.push(issue(vAt, `may not specify more than 1 volume type (${sources.join(', ')})`));
    const items = [
      ...(v.configMap?.items ?? []).map((item, j) => ({ path: item.path, at: [...vAt, 'configMap', 'items', j, 'path'] })),
      ...(v.secret?.items ?? []).map((item, j) => ({ path: item.path, at: [...vAt, 'secret', 'items', j, 'path'] })),
      ...(v.downwardAPI?.items ?? []).map((item, j) => ({ path: item.path, at: [...vAt, 'downwardAPI', 'items', j, 'path'] })),
    ];
    for (const item of items) {
      const problem = relativePathProblem(item.path);
      if (problem) out.push(issue(item.at, problem));
    }
  });
  return out;
}

function volumeMountIssues(c: Container, spec: PodSpec, at: PathSegment[], claimNames: readonly string[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const volumes = new Set([...(spec.volumes ?? []).map((v) => v.name), ...claimNames]);
  const paths = new Map<string, number>();
  (c.volumeMounts ?? []).forEach((m, j) => {
    const mAt = [...at, 'volumeMounts', j];
    if (!volumes.has(m.name)) out.push(issue([...mAt, 'name'], `volume ${JSON.stringify(m.name)} not found: the pod's volumes are ${[...volumes].map((n) => JSON.stringify(n)).join(', ') || 'none'}`));
    // Windows pods (whose paths are C:\\...) are Kubernetes' too; berth has no Windows nodes to run them.
    if (!m.mountPath.startsWith('/') && !(targetsWindows(spec) && /^[A-Za-z]:[\\/]/.test(m.mountPath))) out.push(issue([...mAt, 'mountPath'], 'must be an absolute path in the container'));
    const first = paths.get(m.mountPath);
    if (first !== undefined) out.push(issue([...mAt, 'mountPath'], `must be unique: volumeMounts[${first}] mounts at ${JSON.stringify(m.mountPath)} too`));
    else paths.set(m.mountPath, j);
    if (m.subPath !== undefined && m.subPathExpr !== undefined) out.push(issue([...mAt, 'subPathExpr'], 'subPathExpr and subPath are mutually exclusive'));
    if (m.recursiveReadOnly === 'Enabled' || m.recursiveReadOnly === 'IfPossible') {
      if (!m.readOnly) out.push(issue([...mAt, 'recursiveReadOnly'], 'may only be specified when readOnly is true'));
      else if (m.mountPropagation !== undefined && m.mountPropagation !== 'None') out.push(issue([...mAt, 'recursiveReadOnly'], 'may only be specified when mountPropagation is None or not specified'));
    }
    for (const field of ['subPath', 'subPathExpr'] as const) {
      const value = m[field];
      if (value === undefined || value === '') continue;
      const problem = relativePathProblem(value);
      if (problem) out.push(issue([...mAt, field], problem));
    }
  });
  return out;
}

/**
 * Kubernetes' rule for Endpoints addresses: none in the loopback, link-local or multicast ranges,
 * nor unspecified (a Service must not lead to the node itself or its metadata service).
 */
function endpointsIssues(ep: Endpoints): FieldIssue[] {
  const out: FieldIssue[] = [];
  (ep.subsets ?? []).forEach((subset, i) => {
    for (const field of ['addresses', 'notReadyAddresses'] as const) {
      (subset[field] ?? []).forEach((a, j) => {
        const problem = specialAddressProblem(a.ip);
        if (problem) out.push(issue(['subsets', i, field, j, 'ip'], problem));
      });
    }
  });
  return out;
}

function specialAddressProblem(ip: string): string | undefined {
  const [a = 0, b = 0] = ip.split('.').map(Number);
  if (ip === '0.0.0.0') return 'may not be unspecified (0.0.0.0)';
  if (a === 127) return 'may not be in the loopback range (127.0.0.0/8)';
  if (a === 169 && b === 254) return 'may not be in the link-local range (169.254.0.0/16)';
  if (a >= 224 && a <= 239) return 'may not be in the multicast range (224.0.0.0/4)';
  return undefined;
}

/** A pod for Windows nodes: spec.os.name or the kubernetes.io/os node selector says so. */
function targetsWindows(spec: PodSpec): boolean {
  const selected = spec.nodeSelector?.['kubernetes.io/os'] ?? spec.nodeSelector?.['beta.kubernetes.io/os'];
  return spec.os?.name === 'windows' || selected === 'windows';
}

/** Kubernetes' rule for paths inside a volume: relative, and no '..' element. */
function relativePathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return 'must be a relative path';
  if (path.split('/').includes('..')) return "must not contain '..'";
  return undefined;
}

function containerIssues(c: Container, at: PathSegment[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const portNames = new Map<string, number>();
  (c.ports ?? []).forEach((p, j) => {
    if (p.name === undefined) return;
    const first = portNames.get(p.name);
    if (first !== undefined) out.push(issue([...at, 'ports', j, 'name'], `duplicate port name ${JSON.stringify(p.name)}: ports[${first}] has it too`));
    else portNames.set(p.name, j);
  });
  if (c.terminationMessagePath?.split('/').includes('..')) out.push(issue([...at, 'terminationMessagePath'], "must not contain '..'"));
  // Extended resources are never overcommitted: a limit, and a request (if any) equal to it.
  const requests = c.resources?.requests ?? {};
  const limits = c.resources?.limits ?? {};
  for (const name of new Set([...Object.keys(requests), ...Object.keys(limits)].filter(isExtendedResource))) {
    if (limits[name] === undefined) out.push(issue([...at, 'resources', 'limits'], `Limit must be set for non overcommitable resources (${name})`));
    else if (requests[name] !== undefined && Number(requests[name]) !== Number(limits[name])) {
      out.push(issue([...at, 'resources', 'requests', name], `must be equal to ${name} limit of ${limits[name]}`));
    }
  }
  for (const hook of ['postStart', 'preStop'] as const) {
    const handler = c.lifecycle?.[hook];
    if (handler) out.push(...hookIssues(handler, [...at, 'lifecycle', hook], portNames));
  }
  for (const which of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const probe = c[which];
    if (probe) out.push(...probeIssues(probe, [...at, which], which, portNames));
  }
  const profile = c.securityContext?.seccompProfile;
  if (profile) out.push(...seccompProfileIssues(profile, [...at, 'securityContext', 'seccompProfile']));
  return out;
}

/** localhostProfile goes with type Localhost, and only there; it names a file below the node's profile root. */
function seccompProfileIssues(p: SeccompProfile, at: PathSegment[]): FieldIssue[] {
  const field = [...at, 'localhostProfile'];
  if (p.type !== 'Localhost') return p.localhostProfile === undefined ? [] : [issue(field, 'can only be set when seccomp type is Localhost')];
  if (p.localhostProfile === undefined) return [issue(at, 'localhostProfile must be set when seccomp type is Localhost')];
  const problem = localhostProfileProblem(p.localhostProfile);
  return problem ? [issue(field, problem)] : [];
}

function probeIssues(probe: Probe, at: PathSegment[], which: 'livenessProbe' | 'readinessProbe' | 'startupProbe', portNames: Map<string, number>): FieldIssue[] {
  const out = handlerIssues(probe, ['exec', 'httpGet', 'tcpSocket', 'grpc'], at, portNames);
  // A liveness probe passing once proves the container alive; Kubernetes rejects anything else.
  if (which !== 'readinessProbe' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    out.push(issue([...at, 'successThreshold'], `must be 1 for a ${which}`));
  }
  return out;
}

/** A lifecycle hook: exactly one handler, and a named port that the container has. */
function hookIssues(hook: LifecycleHandler, at: PathSegment[], portNames: Map<string, number>): FieldIssue[] {
  return handlerIssues(hook, ['exec', 'httpGet', 'tcpSocket', 'sleep'], at, portNames);
}

/** A probe's or hook's action: exactly one of `kinds`, and an httpGet or tcpSocket port name that the container has. */
function handlerIssues(handler: Probe | LifecycleHandler, kinds: readonly string[], at: PathSegment[], portNames: Map<string, number>): FieldIssue[] {
  const out: FieldIssue[] = [];
  const set = kinds.filter((h) => (handler as Record<string, unknown>)[h] !== undefined);
  if (set.length !== 1) {
    const got = set.length === 0 ? 'none is set' : `${set.join(' and ')} are set`;
    out.push(issue(at, `must have exactly one of ${kinds.join(', ')} (${got})`));
  }
  for (const h of ['httpGet', 'tcpSocket'] as const) {
    const port = handler[h]?.port;
    if (typeof port === 'string' && !portNames.has(port)) out.push(issue([...at, h, 'port'], `no port named ${JSON.stringify(port)} in this container's ports`));
  }
  return out;
}

function strategyIssues(d: Deployment): FieldIssue[] {
  const strategy = d.spec.strategy;
  if (!strategy) return [];
  const at: PathSegment[] = ['spec', 'strategy', 'rollingUpdate'];
  if (strategy.type === 'Recreate') {
    return strategy.rollingUpdate ? [issue(at, 'must not be set when spec.strategy.type is Recreate')] : [];
  }
  const ru: RollingUpdateDeployment = strategy.rollingUpdate ?? {};
  const out: FieldIssue[] = [];
  const unavailable = ru.maxUnavailable ?? '25%';
  const surge = ru.maxSurge ?? '25%';
  if (typeof unavailable === 'string' && parseInt(unavailable, 10) > 100) {
    out.push(issue([...at, 'maxUnavailable'], 'must not be more than 100%'));
  }
  if (isZero(unavailable) && isZero(surge)) {
    out.push(issue([...at, 'maxUnavailable'], 'must not be 0 when maxSurge is 0: the rollout could never make progress'));
  }
  return out;
}

/** Every CEL expression of a policy must parse (Kubernetes compiles them when the policy is written); names are unique. */
function admissionPolicyIssues(vap: ValidatingAdmissionPolicy): FieldIssue[] {
  const out: FieldIssue[] = [];
  const check = (at: PathSegment[], expression: string | undefined) => {
    if (expression === undefined) return;
    const problem = celSyntaxError(expression);
    if (problem) out.push(issue(at, `compilation failed: ${problem}`));
  };
  const { validations = [], variables = [], matchConditions = [], auditAnnotations = [] } = vap.spec;
  validations.forEach((v, i) => {
    check(['spec', 'validations', i, 'expression'], v.expression);
    check(['spec', 'validations', i, 'messageExpression'], v.messageExpression);
  });
  const seen = new Set<string>();
  variables.forEach((v, i) => {
    if (seen.has(v.name)) out.push(issue(['spec', 'variables', i, 'name'], `Duplicate value: "${v.name}"`));
    seen.add(v.name);
    check(['spec', 'variables', i, 'expression'], v.expression);
  });
  const conditionNames = new Set<string>();
  matchConditions.forEach((c, i) => {
    if (conditionNames.has(c.name)) out.push(issue(['spec', 'matchConditions', i, 'name'], `Duplicate value: "${c.name}"`));
    conditionNames.add(c.name);
    check(['spec', 'matchConditions', i, 'expression'], c.expression);
  });
  auditAnnotations.forEach((a, i) => check(['spec', 'auditAnnotations', i, 'valueExpression'], a.valueExpression));
  if (validations.length === 0 && auditAnnotations.length === 0) out.push(issue(['spec', 'validations'], 'at least one of validations or auditAnnotations is required'));
  return out;
}

function policyBindingIssues(binding: ValidatingAdmissionPolicyBinding): FieldIssue[] {
  const out: FieldIssue[] = [];
  const ref = binding.spec.paramRef;
  if (ref && (ref.name === undefined) === (ref.selector === undefined)) out.push(issue(['spec', 'paramRef'], 'one of `name` or `selector` must be set'));
  const actions = binding.spec.validationActions;
  if (actions.includes('Deny') && actions.includes('Warn')) out.push(issue(['spec', 'validationActions'], 'may not contain both "Deny" and "Warn"'));
  if (new Set(actions).size !== actions.length) out.push(issue(['spec', 'validationActions'], 'must not contain duplicates'));
  return out;
}

/** A ReplicationController as a ReplicaSet whose selector is a map, defaulting to the template's labels. */
function replicationControllerIssues(rc: ReplicationController): FieldIssue[] {
  const labels = rc.spec.template.metadata?.labels ?? {};
  const selector = rc.spec.selector && Object.keys(rc.spec.selector).length > 0 ? rc.spec.selector : labels;
  return workloadIssues({ ...rc, spec: { ...rc.spec, selector: { matchLabels: selector } } });
}

/**
 * Pod-level resources (Kubernetes' rules and words): a request within its limit, at least what the
 * containers ask together, and no container limit above the pod's.
 */
function podResourceIssues(spec: PodSpec, at: PathSegment[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { requests = {}, limits = {} } = spec.resources ?? {};
  const aggregate = containersRequests({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec });
  for (const r of ['cpu', 'memory'] as const) {
    const parse = r === 'cpu' ? parseCpu : parseMemory;
    const format = r === 'cpu' ? formatCpu : formatMemory;
    const request = requests[r];
    const limit = limits[r];
    if (request !== undefined && limit !== undefined && parse(request) > parse(limit)) {
      out.push(issue([...at, 'resources', 'requests', r], `must be less than or equal to ${r} limit of ${limit}`));
    }
    const asked = request ?? limit;
    if (asked !== undefined && parse(asked) < aggregate[r]) {
      out.push(issue([...at, 'resources', request !== undefined ? 'requests' : 'limits', r], `must be greater than or equal to aggregate container requests of ${format(aggregate[r])}`));
    }
    if (limit === undefined) continue;
    for (const list of ['initContainers', 'containers'] as const) {
      (spec[list] ?? []).forEach((c, i) => {
        const own = c.resources?.limits?.[r];
        if (own !== undefined && parse(own) > parse(limit)) out.push(issue([...at, list, i, 'resources', 'limits', r], `must be less than or equal to pod limit of ${limit}`));
      });
    }
  }
  return out;
}

/** Kubernetes' LimitRange validation: min <= default request <= default limit <= max, per resource (its words). */
function limitRangeIssues(lr: LimitRange): FieldIssue[] {
  const out: FieldIssue[] = [];
  lr.spec.limits.forEach((item, i) => {
    const at: PathSegment[] = ['spec', 'limits', i];
    if (item.type === 'Pod') {
      for (const field of ['default', 'defaultRequest'] as const) {
        if (item[field]) out.push(issue([...at, field], "may not be specified when `type` is 'Pod'"));
      }
    }
    const amount = (r: string, v: string | number) => (r === 'cpu' ? parseCpu(v) : parseMemory(v));
    const pairs: Array<[keyof typeof item, keyof typeof item, string, string]> = [
      ['min', 'max', 'min', 'max'], ['min', 'defaultRequest', 'min', 'default request'], ['defaultRequest', 'default', 'default request', 'default limit'],
      ['default', 'max', 'default', 'max'], ['min', 'default', 'min', 'default'],
    ];
    for (const [low, high, lowWord, highWord] of pairs) {
      const lows = item[low] as Record<string, string | number> | undefined;
      const highs = item[high] as Record<string, string | number> | undefined;
      for (const [r, v] of Object.entries(lows ?? {})) {
        const h = highs?.[r];
        if (h !== undefined && amount(r, v) > amount(r, h)) out.push(issue([...at, low, r], `${lowWord} value ${v} is greater than ${highWord} value ${h}`));
      }
    }
  });
  return out;
}

/** Kubernetes' PodDisruptionBudget validation (its words). */
function disruptionBudgetIssues(pdb: PodDisruptionBudget): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { minAvailable, maxUnavailable, selector } = pdb.spec;
  if (minAvailable !== undefined && maxUnavailable !== undefined) out.push(issue(['spec'], 'minAvailable and maxUnavailable cannot be both set'));
  for (const field of ['minAvailable', 'maxUnavailable'] as const) {
    const value = pdb.spec[field];
    if (typeof value === 'string' && parseInt(value, 10) > 100) out.push(issue(['spec', field], 'must not be greater than 100%'));
  }
  if (selector) out.push(...selectorIssues(selector, ['spec', 'selector']));
  return out;
}

function isZero(v: number | string): boolean {
  return typeof v === 'number' ? v === 0 : parseInt(v, 10) === 0;
}

/** Kubernetes' Service validation of what the schema cannot say (its wording where it has one). */
function serviceIssues(svc: Service): FieldIssue[] {
  const out: FieldIssue[] = [];
  const spec = svc.spec ?? {};
  const type = spec.type ?? 'ClusterIP';
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === 'None' || spec.clusterIPs?.[0] === 'None';
  if (type === 'ExternalName') {
    if (!spec.externalName) out.push(issue(['spec', 'externalName'], 'Required value: an ExternalName Service names the DNS name it aliases'));
    if (spec.clusterIP && spec.clusterIP !== 'None') out.push(issue(['spec', 'clusterIP'], 'Forbidden: may not be set for ExternalName services'));
  } else if (ports.length === 0 && !headless) {
    out.push(issue(['spec', 'ports'], 'Required value: a Service with a cluster IP needs at least one port'));
  }
  if (headless && (type === 'NodePort' || type === 'LoadBalancer')) {
    out.push(issue(['spec', 'clusterIP'], `Invalid value: "None": may not be set to 'None' for ${type} services`));
  }
  if (spec.clusterIP && spec.clusterIPs?.[0] && spec.clusterIP !== spec.clusterIPs[0]) {
    out.push(issue(['spec', 'clusterIPs'], `Invalid value: ${JSON.stringify(spec.clusterIPs)}: must hold spec.clusterIP (${spec.clusterIP}) first`));
  }
  if (spec.sessionAffinityConfig && spec.sessionAffinity !== 'ClientIP') {
    out.push(issue(['spec', 'sessionAffinityConfig'], 'Forbidden: must not be set when sessionAffinity is None'));
  }
  const names = new Map<string, number>();
  const seen = new Map<string, number>();
  ports.forEach((p, i) => {
    const at: PathSegment[] = ['spec', 'ports', i];
    if (ports.length > 1 && !p.name) out.push(issue([...at, 'name'], 'Required value: each port of a Service with several ports must be named'));
    if (p.name !== undefined) {
      const first = names.get(p.name);
      if (first !== undefined) out.push(issue([...at, 'name'], `Duplicate value: ${JSON.stringify(p.name)} (ports[${first}] has it too)`));
      else names.set(p.name, i);
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    const first = seen.get(key);
    if (first !== undefined) out.push(issue([...at], `Duplicate value: port ${key} (ports[${first}] has it too)`));
    else seen.set(key, i);
    if (p.nodePort !== undefined && type !== 'NodePort' && type !== 'LoadBalancer') {
      out.push(issue([...at, 'nodePort'], `Forbidden: may not be used when \`type\` is '${type}'`));
    }
  });
  return out;
}

/** A ConfigMap's or Secret's rules (Kubernetes' validation): one key in one place, at most 1 MiB, what each Secret type needs. */
function configIssues(obj: ConfigMap | Secret): FieldIssue[] {
  const out: FieldIssue[] = [];
  const values = obj.kind === 'ConfigMap'
    ? [...Object.entries(obj.data ?? {}).map(([k, v]) => ({ key: k, bytes: Buffer.byteLength(v), field: 'data' })), ...Object.entries(obj.binaryData ?? {}).map(([k, v]) => ({ key: k, bytes: Buffer.from(v, 'base64').length, field: 'binaryData' }))]
    : [...Object.entries(obj.data ?? {}).map(([k, v]) => ({ key: k, bytes: Buffer.from(v, 'base64').length, field: 'data' })), ...Object.entries(obj.stringData ?? {}).map(([k, v]) => ({ key: k, bytes: Buffer.byteLength(v), field: 'stringData' }))];
  const seen = new Map<string, string>();
  for (const v of values) {
    if (v.key === '.' || v.key === '..' || v.key.startsWith('..')) out.push(issue([v.field, v.key], `Invalid value: ${JSON.stringify(v.key)}: must not be '.' or '..' or start with '..'`));
    const first = seen.get(v.key);
    // A Secret's stringData overrides its data (Kubernetes merges them); a ConfigMap's two maps must not share a key.
    if (first && obj.kind === 'ConfigMap') out.push(issue([v.field, v.key], `Invalid value: ${JSON.stringify(v.key)}: duplicate of key ${JSON.stringify(v.key)} in ${first}`));
    seen.set(v.key, v.field);
  }
  const total = values.reduce((n, v) => n + v.bytes, 0);
  if (total > 1024 * 1024) out.push(issue([], `Too long: must have at most 1048576 bytes of data (has ${total})`));
  if (obj.kind === 'Secret') {
    const keys = new Set(values.map((v) => v.key));
    const need = (type: string, required: string[]) => {
      if (obj.type !== type) return;
      for (const k of required) if (!keys.has(k)) out.push(issue(['data', k], `Required value: a Secret of type ${type} needs the key ${k}`));
    };
    need('kubernetes.io/dockerconfigjson', ['.dockerconfigjson']);
    need('kubernetes.io/dockercfg', ['.dockercfg']);
    need('kubernetes.io/tls', ['tls.crt', 'tls.key']);
    need('kubernetes.io/ssh-auth', ['ssh-privatekey']);
    if (obj.type === 'kubernetes.io/dockerconfigjson') {
      const raw = obj.stringData?.['.dockerconfigjson'] ?? (obj.data?.['.dockerconfigjson'] !== undefined ? Buffer.from(obj.data['.dockerconfigjson'], 'base64').toString('utf8') : undefined);
      if (raw !== undefined) {
        try {
          JSON.parse(raw);
        } catch (err) {
          out.push(issue(['data', '.dockerconfigjson'], `Invalid value: "<secret contents redacted>": ${(err as Error).message}`));
        }
      }
    }
  }
  return out;
}

/** Kubernetes' NetworkPolicy validation (ValidateNetworkPolicySpec), in its words. */
function networkPolicyIssues(policy: NetworkPolicy): FieldIssue[] {
  const out: FieldIssue[] = [...selectorIssues(policy.spec.podSelector, ['spec', 'podSelector'])];
  const rules: Array<['ingress' | 'egress', 'from' | 'to', Array<{ from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>]> = [
    ['ingress', 'from', policy.spec.ingress ?? []],
    ['egress', 'to', policy.spec.egress ?? []],
  ];
  for (const [direction, peersField, list] of rules) {
    list.forEach((rule, i) => {
      (rule.ports ?? []).forEach((port, j) => out.push(...networkPolicyPortIssues(port, ['spec', direction, i, 'ports', j])));
      (rule[peersField] ?? []).forEach((peer, j) => out.push(...networkPolicyPeerIssues(peer, ['spec', direction, i, peersField, j])));
    });
  }
  return out;
}

function networkPolicyPortIssues(port: NetworkPolicyPort, at: PathSegment[]): FieldIssue[] {
  if (port.endPort === undefined) return [];
  if (port.port === undefined) return [issue([...at, 'port'], 'must be specified when endPort is specified')];
  if (typeof port.port === 'string') return [issue([...at, 'endPort'], 'may not be specified when port is non-numeric')];
  if (port.endPort < port.port) return [issue([...at, 'endPort'], `must be greater than or equal to port (${port.port})`)];
  return [];
}

function networkPolicyPeerIssues(peer: NetworkPolicyPeer, at: PathSegment[]): FieldIssue[] {
  const kinds = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter((p) => p !== undefined).length;
  if (kinds === 0) return [issue(at, 'must specify a peer (podSelector, namespaceSelector or ipBlock)')];
  if (peer.ipBlock && kinds > 1) return [issue(at, 'may not specify both ipBlock and another peer')];
  const out: FieldIssue[] = [];
  if (peer.podSelector) out.push(...selectorIssues(peer.podSelector, [...at, 'podSelector']));
  if (peer.namespaceSelector) out.push(...selectorIssues(peer.namespaceSelector, [...at, 'namespaceSelector']));
  if (peer.ipBlock) {
    const block = parseBlock(peer.ipBlock.cidr);
    if (!block) return [issue([...at, 'ipBlock', 'cidr'], `${JSON.stringify(peer.ipBlock.cidr)}: must be a valid CIDR such as 10.0.0.0/24`)];
    (peer.ipBlock.except ?? []).forEach((text, k) => {
      const path = [...at, 'ipBlock', 'except', k];
      const inner = parseBlock(text);
      if (!inner) out.push(issue(path, `${JSON.stringify(text)}: must be a valid CIDR such as 10.0.1.0/24`));
      else if (inner.family !== block.family) out.push(issue(path, `${JSON.stringify(text)}: must be a strict subset of \`cidr\` (${peer.ipBlock!.cidr})`));
      else if (inner.family === 4 && block.family === 4 && !(containsCidr(block.cidr, inner.cidr) && inner.cidr.prefix > block.cidr.prefix)) {
        out.push(issue(path, `${JSON.stringify(text)}: must be a strict subset of \`cidr\` (${peer.ipBlock!.cidr})`));
      }
    });
  }
  return out;
}

/** Kubernetes' Ingress validation (ValidateIngressSpec), in its words. */
function ingressIssues(ingress: Ingress): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { spec } = ingress;
  if (!spec.rules?.length && !spec.defaultBackend) out.push(issue(['spec'], 'either `defaultBackend` or `rules` must be specified'));
  if (spec.defaultBackend) out.push(...ingressBackendIssues(spec.defaultBackend, ['spec', 'defaultBackend']));
  (spec.rules ?? []).forEach((rule, i) => {
    if (rule.host !== undefined && isIPv4Text(rule.host)) out.push(issue(['spec', 'rules', i, 'host'], `${JSON.stringify(rule.host)}: must be a DNS name, not an IP address`));
    (rule.http?.paths ?? []).forEach((p, j) => {
      const at: PathSegment[] = ['spec', 'rules', i, 'http', 'paths', j];
      out.push(...ingressPathIssues(p.path, p.pathType, [...at, 'path']), ...ingressBackendIssues(p.backend, [...at, 'backend']));
    });
  });
  return out;
}

const isIPv4Text = (text: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(text);

function ingressPathIssues(path: string | undefined, pathType: string, at: PathSegment[]): FieldIssue[] {
  if (pathType === 'ImplementationSpecific' && !path) return [];
  if (!path?.startsWith('/')) return [issue(at, `${JSON.stringify(path ?? '')}: must be an absolute path`)];
  if (pathType === 'ImplementationSpecific') return [];
  // Kubernetes refuses in Exact and Prefix paths what would be read differently by different proxies.
  for (const bad of ['//', '/./', '/../', '%2f', '%2F']) if (path.includes(bad)) return [issue(at, `${JSON.stringify(path)}: must not contain '${bad}'`)];
  for (const bad of ['/..', '/.']) if (path.endsWith(bad)) return [issue(at, `${JSON.stringify(path)}: cannot end with '${bad}'`)];
  return [];
}

function ingressBackendIssues(backend: IngressBackend, at: PathSegment[]): FieldIssue[] {
  if (backend.service && backend.resource) return [issue(at, 'cannot set both service and resource backends')];
  if (!backend.service && !backend.resource) return [issue(at, 'one backend (service or resource) must be specified')];
  const port = backend.service?.port;
  if (port && port.name !== undefined && port.number !== undefined) return [issue([...at, 'service', 'port'], 'cannot set both port name & port number')];
  if (port && port.name === undefined && port.number === undefined) return [issue([...at, 'service', 'port'], 'port name or number is required')];
  return [];
}

/** Kubernetes' IngressClass parameters rules: a namespace exactly when the scope is Namespace. */
function ingressClassIssues(cls: IngressClass): FieldIssue[] {
  const params = cls.spec.parameters;
  if (!params) return [];
  const at: PathSegment[] = ['spec', 'parameters'];
  if (params.scope === 'Namespace' && !params.namespace) return [issue([...at, 'namespace'], '`parameters.scope` is set to "Namespace": must be specified')];
  if (params.scope !== 'Namespace' && params.namespace !== undefined) return [issue([...at, 'namespace'], '`parameters.scope` is set to "Cluster": must not be specified')];
  return [];
}

/** Kubernetes' HorizontalPodAutoscaler validation, in its words. */
function autoscalerIssues(hpa: HorizontalPodAutoscaler): FieldIssue[] {
  const out: FieldIssue[] = [];
  const { spec } = hpa;
  if (spec.maxReplicas < (spec.minReplicas ?? 1)) out.push(issue(['spec', 'maxReplicas'], 'must be greater than or equal to `minReplicas`'));
  (spec.metrics ?? []).forEach((m, i) => {
    const at: PathSegment[] = ['spec', 'metrics', i];
    const sources = (['resource', 'containerResource', 'pods', 'object', 'external'] as const).filter((k) => m[k] !== undefined);
    const own = m.type === 'Resource' ? 'resource' : m.type === 'ContainerResource' ? 'containerResource' : m.type === 'Pods' ? 'pods' : m.type === 'Object' ? 'object' : 'external';
    if (!sources.includes(own)) return void out.push(issue(at, `must populate information for the given metric source (${own})`));
    if (sources.length > 1) return void out.push(issue(at, 'must populate the given metric source only'));
    const target = (m[own] as { target: MetricTarget }).target;
    const tAt: PathSegment[] = [...at, own, 'target'];
    if (own === 'resource' || own === 'containerResource') {
      if (target.type === 'Value') out.push(issue([...tAt, 'type'], 'must be either Utilization or AverageValue'));
    }
    if (target.type === 'Utilization' && target.averageUtilization === undefined) out.push(issue([...tAt, 'averageUtilization'], 'must be set when type is Utilization'));
    if (target.type === 'AverageValue' && target.averageValue === undefined) out.push(issue([...tAt, 'averageValue'], 'must be set when type is AverageValue'));
    if (target.type === 'Value' && target.value === undefined) out.push(issue([...tAt, 'value'], 'must be set when type is Value'));
  });
  return out;
}

/** Kubernetes' webhook configuration validation, in its words. */
function webhookIssues(webhooks: readonly Webhook[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const names = new Set<string>();
  webhooks.forEach((w, i) => {
    const at: PathSegment[] = ['webhooks', i];
    if (names.has(w.name)) out.push(issue([...at, 'name'], `Duplicate value: ${JSON.stringify(w.name)}`));
    names.add(w.name);
    const { url, service, caBundle } = w.clientConfig;
    const cAt: PathSegment[] = [...at, 'clientConfig'];
    if ((url === undefined) === (service === undefined)) out.push(issue(cAt, 'exactly one of url or service is required'));
    if (url !== undefined) {
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        out.push(issue([...cAt, 'url'], `${JSON.stringify(url)}: must be a valid URL`));
      }
      if (parsed) {
        if (parsed.protocol !== 'https:') out.push(issue([...cAt, 'url'], "'https' is the only allowed URL scheme"));
        else if (parsed.username || parsed.password) out.push(issue([...cAt, 'url'], 'user information is not permitted in the URL'));
        else if (parsed.hash) out.push(issue([...cAt, 'url'], 'fragments are not permitted in the URL'));
        else if (parsed.search) out.push(issue([...cAt, 'url'], 'query parameters are not permitted in the URL'));
      }
    }
    if (service?.path !== undefined && !service.path.startsWith('/')) out.push(issue([...cAt, 'service', 'path'], "must start with a '/'"));
    if (caBundle !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(caBundle)) out.push(issue([...cAt, 'caBundle'], 'must be base64-encoded PEM certificates'));
    if (!w.admissionReviewVersions.some((v) => v === 'v1' || v === 'v1beta1')) out.push(issue([...at, 'admissionReviewVersions'], 'must include at least one of v1, v1beta1'));
    const conditionNames = new Set<string>();
    (w.matchConditions ?? []).forEach((c, j) => {
      if (conditionNames.has(c.name)) out.push(issue([...at, 'matchConditions', j, 'name'], `Duplicate value: ${JSON.stringify(c.name)}`));
      conditionNames.add(c.name);
      const problem = celSyntaxError(c.expression);
      if (problem) out.push(issue([...at, 'matchConditions', j, 'expression'], `compilation failed: ${problem}`));
    });
  });
  return out;
}

/** Kubernetes' toleration validation (ValidateTolerations), in its words. */
function tolerationIssues(t: Toleration, at: PathSegment[]): FieldIssue[] {
  const operator = t.operator ?? 'Equal';
  if (!t.key && operator !== 'Exists') return [issue([...at, 'operator'], `${JSON.stringify(operator)}: operator must be Exists when \`key\` is empty, which means "match all values and all keys"`)];
  if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') return [issue([...at, 'effect'], "effect must be 'NoExecute' when `tolerationSeconds` is set")];
  if (operator === 'Exists' && t.value) return [issue([...at, 'operator'], "value must be empty when `operator` is 'Exists'")];
  if ((operator === 'Gt' || operator === 'Lt') && int64Value(t.value) === undefined) return [issue([...at, 'value'], `${JSON.stringify(t.value ?? '')}: must be an integer when \`operator\` is '${operator}'`)];
  return [];
}

/** Kubernetes' CSR validation: a PEM request, and the usages a client certificate may have. */
function csrIssues(csr: CertificateSigningRequest): FieldIssue[] {
  const pem = /^[A-Za-z0-9+/]*={0,2}$/.test(csr.spec.request) ? Buffer.from(csr.spec.request, 'base64').toString('utf8') : '';
  if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----[\s\S]+-----END (NEW )?CERTIFICATE REQUEST-----/.test(pem)) {
    return [issue(['spec', 'request'], 'Invalid value: []byte{...}: PEM block type must be CERTIFICATE REQUEST')];
  }
  if (csr.spec.signerName === 'kubernetes.io/legacy-unknown') return [issue(['spec', 'signerName'], 'the legacy signerName is not allowed via this API version')];
  if (csr.spec.signerName === 'kubernetes.io/kube-apiserver-client') {
    // Kubernetes' CertificateSubjectRestriction: no cluster-admin certificate through a request.
    let organizations: string[] = [];
    try {
      organizations = new x509.Pkcs10CertificateRequest(pem).subjectName.getField('O');
    } catch {
      return [issue(['spec', 'request'], 'Invalid value: []byte{...}: not a valid PKCS#10 certificate request')];
    }
    if (organizations.includes('system:masters')) return [issue(['spec', 'signerName'], 'use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed')];
    const usages = csr.spec.usages ?? [];
    const allowed = ['digital signature', 'key encipherment', 'client auth'];
    const bad = usages.find((u) => !allowed.includes(u));
    if (bad) return [issue(['spec', 'usages'], `unsupported key usage: ${bad} (kubernetes.io/kube-apiserver-client allows ${allowed.join(', ')})`)];
    if (!usages.includes('client auth')) return [issue(['spec', 'usages'], 'missing required usages: client auth')];
  }
  return [];
}
