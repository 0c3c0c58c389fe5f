// Kubernetes' defaults, applied once when a document enters the cluster, so that everything after
// (the store, the deployment controller, the scheduler, the agents) reads fully-specified objects.
// Pure: returns a new object and never touches its input (which may be a frozen cache entry).

import {
  KINDS, type Container, type CronJob, type DaemonSet, type Deployment, type Job, type JobSpec, type PodSpec, type PodTemplateSpec, type Probe, type PullPolicy,
  type PersistentVolume, type PersistentVolumeClaimSpec, type ReplicaSet, type Resource, type ResourceRequirements, type Secret, type Service,
  type StatefulSet, type StorageClass, type LimitRangeItem, type ResourceList,
} from './types';

export const DEFAULT_NAMESPACE = 'default';

export function withDefaults<R extends Resource>(resource: R): R {
  const out = structuredClone(resource);
  const info = KINDS.find((k) => k.kind === out.kind);
  if (info?.namespaced) {
    out.metadata = { ...out.metadata, namespace: out.metadata?.namespace || DEFAULT_NAMESPACE };
  }
  switch (out.kind) {
    case 'Pod':
      defaultPodSpec(out.spec);
      // As Kubernetes' ServiceAccount admission: a pod runs as a service account, "default" unless
      // named (templates are left alone, so their hash does not move).
      if (out.spec) out.spec.serviceAccountName ||= out.spec.serviceAccount || 'default';
      break;
    case 'Deployment':
      defaultDeployment(out);
      break;
    case 'ReplicaSet':
      defaultReplicaSet(out);
      break;
    case 'ReplicationController':
      // Kubernetes' defaults: the selector is the template's labels, one replica.
      if (out.spec) {
        out.spec.replicas ??= 1;
        if (!out.spec.selector || Object.keys(out.spec.selector).length === 0) out.spec.selector = { ...out.spec.template?.metadata?.labels };
        if (out.spec.template) defaultTemplate(out.spec.template);
      }
      break;
    case 'Job':
      defaultJob(out);
      break;
    case 'DaemonSet':
      defaultDaemonSet(out);
      break;
    case 'CronJob':
      defaultCronJob(out);
      break;
    case 'StatefulSet':
      defaultStatefulSet(out);
      break;
    case 'PersistentVolumeClaim':
      defaultClaimSpec(out.spec);
      break;
    case 'PersistentVolume':
      defaultPersistentVolume(out);
      break;
    case 'StorageClass':
      defaultStorageClass(out);
      break;
    case 'Service':
      defaultService(out);
      break;
    case 'Secret':
      defaultSecret(out);
      break;
    case 'LimitRange':
      for (const item of out.spec?.limits ?? []) defaultLimitRangeItem(item);
      break;
    case 'HorizontalPodAutoscaler':
      // Kubernetes' autoscaling/v2 defaults: at least one replica, cpu at 80% of requests.
      if (out.spec) {
        out.spec.minReplicas ??= 1;
        if (!out.spec.metrics?.length) out.spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
      }
      break;
    case 'NetworkPolicy':
      // Kubernetes' defaults: Ingress always, Egress when there are egress rules; ports are TCP.
      if (out.spec) {
        if (!out.spec.policyTypes?.length) out.spec.policyTypes = out.spec.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
        for (const rule of [...(out.spec.ingress ?? []), ...(out.spec.egress ?? [])]) for (const port of rule.ports ?? []) port.protocol ??= 'TCP';
      }
      break;
    default:
      break;
  }
  return out;
}

/**
 * Kubernetes' LimitRangeItem defaults for containers: a limit left out defaults to the max, a
 * default request to the default limit, else to the min.
 */
function defaultLimitRangeItem(item: LimitRangeItem): void {
  if (item.type !== 'Container') return;
  const fill = (into: ResourceList | undefined, from: ResourceList | undefined): ResourceList | undefined => {
    const out = { ...into };
    for (const [k, v] of Object.entries(from ?? {})) if (out[k] === undefined) out[k] = v;
    return Object.keys(out).length ? out : undefined;
  };
  const dflt = fill(item.default, item.max);
  if (dflt) item.default = dflt;
  const request = fill(fill(item.defaultRequest, dflt), item.min);
  if (request) item.defaultRequest = request;
}

function defaultDeployment(d: Deployment): void {
  const spec = d.spec;
  spec.replicas ??= 1;
  spec.minReadySeconds ??= 0;
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  spec.strategy ??= {};
  spec.strategy.type ??= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
  }
  defaultTemplate(spec.template);
}

/** Kubernetes' DaemonSet defaults: a rolling update one node at a time. */
function defaultDaemonSet(ds: DaemonSet): void {
  const spec = ds.spec;
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  spec.minReadySeconds ??= 0;
  spec.revisionHistoryLimit ??= 10;
  defaultTemplate(spec.template);
}

/** Kubernetes' CronJob defaults, and its job template's. */
/** Kubernetes' StatefulSet defaults: one pod, made in order, a rolling update of every ordinal, claims kept. */
function defaultStatefulSet(sts: StatefulSet): void {
  const spec = sts.spec;
  spec.replicas ??= 1;
  spec.podManagementPolicy ??= 'OrderedReady';
  spec.updateStrategy ??= {};
  spec.updateStrategy.type ??= 'RollingUpdate';
  if (spec.updateStrategy.type === 'RollingUpdate') {
    spec.updateStrategy.rollingUpdate ??= {};
    spec.updateStrategy.rollingUpdate.partition ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  spec.minReadySeconds ??= 0;
  spec.persistentVolumeClaimRetentionPolicy ??= {};
  spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= 'Retain';
  spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= 'Retain';
  for (const t of spec.volumeClaimTemplates ?? []) {
    t.apiVersion ??= 'v1';
    t.kind ??= 'PersistentVolumeClaim';
    defaultClaimSpec(t.spec);
  }
  defaultTemplate(spec.template);
}

function defaultClaimSpec(spec: PersistentVolumeClaimSpec | undefined): void {
  if (spec) spec.volumeMode ??= 'Filesystem';
}

/** A volume made by hand is kept when its claim goes, unless it says otherwise. */
function defaultPersistentVolume(pv: PersistentVolume): void {
  pv.spec.persistentVolumeReclaimPolicy ??= 'Retain';
  pv.spec.volumeMode ??= 'Filesystem';
}

function defaultStorageClass(sc: StorageClass): void {
  sc.reclaimPolicy ??= 'Delete';
  sc.volumeBindingMode ??= 'Immediate';
}

function defaultCronJob(cj: CronJob): void {
  const spec = cj.spec;
  spec.concurrencyPolicy ??= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  if (spec.jobTemplate?.spec) defaultJobSpec(spec.jobTemplate.spec);
}

/** Kubernetes' Job defaults: one pod to one success unless told, 6 retries, not suspended. */
function defaultJob(job: Job): void {
  defaultJobSpec(job.spec);
}

function defaultJobSpec(spec: JobSpec): void {
  if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
  spec.parallelism ??= 1;
  // Counting per index, the Job-wide limit is out of the way unless given (Kubernetes' default).
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  defaultTemplate(spec.template);
}

function defaultReplicaSet(rs: ReplicaSet): void {
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
}

/** Type Opaque; stringData is folded into data (base64), as the API server stores a Secret. */
function defaultSecret(secret: Secret): void {
  secret.type ||= 'Opaque';
  if (secret.stringData) {
    const data = { ...secret.data };
    for (const [key, value] of Object.entries(secret.stringData)) data[key] = Buffer.from(value, 'utf8').toString('base64');
    secret.data = data;
    delete secret.stringData;
  }
}

/** Kubernetes' Service defaults (the cluster IP and node ports are the server's to choose). */
function defaultService(service: Service): void {
  const spec = (service.spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  for (const port of spec.ports ?? []) {
    port.protocol ??= 'TCP';
    port.targetPort ??= port.port;
  }
  if (spec.type === 'ExternalName') return;
  if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP];
  if (!spec.clusterIP && spec.clusterIPs?.[0]) spec.clusterIP = spec.clusterIPs[0];
  spec.ipFamilies ??= ['IPv4'];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
}

function defaultTemplate(template: PodTemplateSpec | undefined): void {
  if (template?.spec) defaultPodSpec(template.spec);
}

function defaultPodSpec(spec: PodSpec | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) defaultContainer(c);
}

function defaultContainer(c: Container): void {
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  if (c.resources) normalizeResources(c.resources);
  if (c.livenessProbe) defaultProbe(c.livenessProbe);
  if (c.readinessProbe) defaultProbe(c.readinessProbe);
}

/**
 * Kubernetes' rule: Always for ":latest" or no tag (the tag may move), IfNotPresent for any other
 * tag or a digest (the name says exactly what it is).
 */
export function defaultPullPolicy(image: string): PullPolicy {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon === -1) return 'Always';
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Probe): void {
  p.initialDelaySeconds ??= 0;
  p.periodSeconds ??= 10;
  p.timeoutSeconds ??= 1;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet) {
    p.httpGet.path ??= '/';
    p.httpGet.scheme ??= 'HTTP';
  }
}

/** Quantities written as numbers (cpu: 2) become strings ("2"), as Kubernetes prints them. */
function normalizeResources(r: ResourceRequirements): void {
  for (const list of [r.requests, r.limits]) {
    if (!list) continue;
    for (const key of ['cpu', 'memory'] as const) {
      const v: unknown = list[key];
      if (typeof v === 'number') list[key] = String(v);
    }
  }
}
