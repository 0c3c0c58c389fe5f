// The columns `berth get` prints for each kind, as kubectl prints them (pure: objects and a clock
// in, cells out).

import { isDefaultClass, storageVersion, type CustomKindInfo, type PrinterColumn } from '../../proto/resources';
import type {
  ClusterRoleBinding, ConfigMap, ControllerRevision, CronJob, DaemonSet, Deployment, EndpointSlice, Endpoints, Event, Job, KindInfo, LabelSelector, Lease, Namespace, Node,
  HorizontalPodAutoscaler, Ingress, IngressClass, CertificateSigningRequest, MutatingWebhookConfiguration, NetworkPolicy, ValidatingWebhookConfiguration, VolumeAttributesClass, PersistentVolume, PersistentVolumeAccessMode, PersistentVolumeClaim, LimitRange, Pod, PodDisruptionBudget, ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding, PriorityClass, ReplicaSet, ReplicationController, ResourceQuota, Resource, RoleBinding, Secret, Service, StatefulSet, StorageClass,
} from '../../proto/resources';
import { age, humanDuration } from './age';
import { podColumns } from './pod-status';

export interface Columns {
  header: string[];
  row(obj: Resource, now: Date): string[];
}

export interface ColumnOptions {
  wide: boolean;
  /** -A: a NAMESPACE column first (namespaced kinds only). */
  allNamespaces: boolean;
  showLabels: boolean;
  /** `get all`: names as `pod/web-1`. */
  prefixNames: boolean;
}

/** k=v,k2=v2 in key order, or <none>. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

/** A label selector in kubectl's text form: app=web,tier in (a,b),!canary. */
export function formatSelector(selector: LabelSelector | undefined): string {
  if (!selector) return '<none>';
  const parts = Object.entries(selector.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : '<none>';
}

const n = (v: number | undefined) => String(v ?? 0);

function templateColumns(spec: { template: { spec: { containers: Array<{ name: string; image: string }> } }; selector: LabelSelector }): string[] {
  const containers = spec.template?.spec?.containers ?? [];
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(','), formatSelector(spec.selector)];
}

/** kubectl's Job STATUS: the condition that holds (Complete, Failed, Suspended...), else Running. */
export function jobStatus(job: Job): string {
  if (job.metadata.deletionTimestamp) return 'Terminating';
  const holds = (type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  for (const type of ['Complete', 'Failed', 'FailureTarget', 'SuccessCriteriaMet', 'Suspended']) if (holds(type)) return type;
  return 'Running';
}

/** "3/5"; a work queue (no completions): "1/1 of 3". */
export function jobCompletions(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  return job.spec.completions !== undefined ? `${succeeded}/${job.spec.completions}` : `${succeeded}/1 of ${job.spec.parallelism ?? 1}`;
}

/** From the start to completion (or now while it runs); empty before it started. */
export function jobDuration(job: Job, now: Date): string {
  const start = Date.parse(job.status?.startTime ?? '');
  if (Number.isNaN(start)) return '';
  const end = Date.parse(job.status?.completionTime ?? '');
  return humanDuration((Number.isNaN(end) ? now.getTime() : end) - start);
}

/** Ready / NotReady / Unknown, plus SchedulingDisabled when cordoned. */
export function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [!ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

/** An event's most recent time: lastTimestamp, else firstTimestamp, else when it was stored. */
export const eventTime = (e: Event): string | undefined => e.lastTimestamp || e.firstTimestamp || e.metadata.creationTimestamp;

/** "pod/web-1": the object an event is about. */
export const involvedRef = (e: Event): string => `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`;

/** A kind's columns after NAME: the header, the extra ones of -o wide, and an object's cells. */
interface KindColumns {
  header: string[];
  wide: string[];
  cells(obj: Resource, now: Date): { base: string[]; wide: string[] };
}

/** Roles: kubectl shows when they were made, not how old they are. */
const ROLE_COLUMNS: KindColumns = {
  header: ['CREATED AT'],
  wide: [],
  cells: (obj) => ({ base: [obj.metadata.creationTimestamp ?? ''], wide: [] }),
};

/** Bindings: the role, and who it is granted to (wide), as kubectl prints them. */
const BINDING_COLUMNS: KindColumns = {
  header: ['ROLE', 'AGE'],
  wide: ['USERS', 'GROUPS', 'SERVICEACCOUNTS'],
  cells(obj, now) {
    const b = obj as RoleBinding | ClusterRoleBinding;
    const of = (kind: string) => (b.subjects ?? []).filter((x) => x.kind === kind).map((x) => (kind === 'ServiceAccount' ? `${x.namespace ?? b.metadata.namespace ?? ''}/${x.name}` : x.name)).join(', ');
    return { base: [`${b.roleRef.kind}/${b.roleRef.name}`, age(b.metadata.creationTimestamp, now)], wide: [of('User'), of('Group'), of('ServiceAccount')] };
  },
};

/** Both webhook configuration kinds: how many webhooks each has (kubectl's). */
const WEBHOOK_CONFIGURATION: KindColumns = {
  header: ['WEBHOOKS', 'AGE'],
  wide: [],
  cells(obj, now) {
    const c = obj as ValidatingWebhookConfiguration | MutatingWebhookConfiguration;
    return { base: [String(c.webhooks?.length ?? 0), age(c.metadata.creationTimestamp, now)], wide: [] };
  },
};

const KIND_COLUMNS: Record<string, KindColumns> = {
  CustomResourceDefinition: ROLE_COLUMNS,
  Endpoints: {
    header: ['ENDPOINTS', 'AGE'],
    wide: [],
    cells: (obj, now) => ({ base: [endpointsList(obj as Endpoints), age(obj.metadata.creationTimestamp, now)], wide: [] }),
  },
  Pod: {
    header: ['READY', 'STATUS', 'RESTARTS', 'AGE'],
    wide: ['IP', 'NODE'],
    cells(obj, now) {
      const pod = obj as Pod;
      const c = podColumns(pod, now);
      return { base: [c.ready, c.status, c.restarts, age(pod.metadata.creationTimestamp, now)], wide: [pod.status?.podIP || '<none>', pod.spec?.nodeName || '<none>'] };
    },
  },
  Deployment: {
    header: ['READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells(obj, now) {
      const d = obj as Deployment;
      const s = d.status ?? {};
      return { base: [`${n(s.readyReplicas)}/${d.spec.replicas ?? 1}`, n(s.updatedReplicas), n(s.availableReplicas), age(d.metadata.creationTimestamp, now)], wide: templateColumns(d.spec) };
    },
  },
  ReplicaSet: {
    header: ['DESIRED', 'CURRENT', 'READY', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells(obj, now) {
      // A ReplicationController's map selector, printed as the matchLabels it stands for.
      const rs = obj.kind === 'ReplicationController'
        ? { ...(obj as ReplicationController), spec: { ...(obj as ReplicationController).spec, selector: { matchLabels: (obj as ReplicationController).spec.selector ?? {} } } }
        : obj as ReplicaSet;
      const s = rs.status ?? {};
      return { base: [String(rs.spec.replicas ?? 1), n(s.replicas), n(s.readyReplicas), age(rs.metadata.creationTimestamp, now)], wide: templateColumns(rs.spec) };
    },
  },
  DaemonSet: {
    header: ['DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells(obj, now) {
      const ds = obj as DaemonSet;
      const s = ds.status ?? {};
      const selector = Object.entries(ds.spec.template.spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>';
      return {
        base: [n(s.desiredNumberScheduled), n(s.currentNumberScheduled), n(s.numberReady), n(s.updatedNumberScheduled), n(s.numberAvailable), selector, age(ds.metadata.creationTimestamp, now)],
        wide: templateColumns(ds.spec),
      };
    },
  },
  CronJob: {
    header: ['SCHEDULE', 'TIMEZONE', 'SUSPEND', 'ACTIVE', 'LAST SCHEDULE', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells(obj, now) {
      const cj = obj as CronJob;
      const last = cj.status?.lastScheduleTime;
      const template = cj.spec.jobTemplate.spec;
      return {
        base: [cj.spec.schedule, cj.spec.timeZone ?? '<none>', cj.spec.suspend ? 'True' : 'False', n(cj.status?.active?.length), last ? age(last, now) : '<none>', age(cj.metadata.creationTimestamp, now)],
        wide: templateColumns({ template: template.template, selector: template.selector ?? {} }),
      };
    },
  },
  Job: {
    header: ['STATUS', 'COMPLETIONS', 'DURATION', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells(obj, now) {
      const job = obj as Job;
      return {
        base: [jobStatus(job), jobCompletions(job), jobDuration(job, now), age(job.metadata.creationTimestamp, now)],
        wide: templateColumns({ template: job.spec.template, selector: job.spec.selector ?? {} }),
      };
    },
  },
  Node: {
    header: ['STATUS', 'ROLES', 'AGE', 'VERSION'],
    wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
    cells(obj, now) {
      const node = obj as Node;
      const info = node.status?.nodeInfo ?? {};
      const internal = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      return {
        base: [nodeStatus(node), nodeRoles(node), age(node.metadata.creationTimestamp, now), info.agentVersion || '<none>'],
        wide: [internal || '<none>', '<none>', info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>'],
      };
    },
  },
  Namespace: {
    header: ['STATUS', 'AGE'],
    wide: [],
    cells(obj, now) {
      const ns = obj as Namespace;
      return { base: [ns.metadata.deletionTimestamp ? 'Terminating' : ns.status?.phase ?? 'Active', age(ns.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  Lease: {
    header: ['HOLDER', 'AGE'],
    wide: [],
    cells(obj, now) {
      const lease = obj as Lease;
      return { base: [lease.spec?.holderIdentity ?? '', age(lease.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  Service: {
    header: ['TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
    wide: ['SELECTOR'],
    cells(obj, now) {
      const svc = obj as Service;
      const selector = Object.keys(svc.spec.selector ?? {}).length ? formatLabels(svc.spec.selector) : '<none>';
      return { base: [svc.spec.type ?? 'ClusterIP', svc.spec.clusterIP || '<none>', externalIP(svc), servicePorts(svc), age(svc.metadata.creationTimestamp, now)], wide: [selector] };
    },
  },
  EndpointSlice: {
    header: ['ADDRESSTYPE', 'PORTS', 'ENDPOINTS', 'AGE'],
    wide: [],
    cells(obj, now) {
      const slice = obj as EndpointSlice;
      const ports = (slice.ports ?? []).map((p) => p.port).filter((p) => p !== undefined);
      return { base: [slice.addressType, ports.length ? ports.join(',') : '<unset>', sliceEndpoints(slice), age(slice.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  StatefulSet: {
    header: ['READY', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES'],
    cells(obj, now) {
      const sts = obj as StatefulSet;
      return { base: [`${n(sts.status?.readyReplicas)}/${sts.spec.replicas ?? 1}`, age(sts.metadata.creationTimestamp, now)], wide: templateColumns(sts.spec).slice(0, 2) };
    },
  },
  PersistentVolumeClaim: {
    header: ['STATUS', 'VOLUME', 'CAPACITY', 'ACCESS MODES', 'STORAGECLASS', 'VOLUMEATTRIBUTESCLASS', 'AGE'],
    wide: ['VOLUMEMODE'],
    cells(obj, now) {
      const pvc = obj as PersistentVolumeClaim;
      const bound = pvc.status?.phase === 'Bound';
      return {
        base: [pvc.status?.phase ?? 'Pending', pvc.spec.volumeName ?? '', bound ? String(pvc.status?.capacity?.storage ?? '') : '', bound ? accessModes(pvc.status?.accessModes) : '',
          pvc.spec.storageClassName ?? '<unset>', pvc.status?.currentVolumeAttributesClassName ?? pvc.spec.volumeAttributesClassName ?? '<unset>', age(pvc.metadata.creationTimestamp, now)],
        wide: [pvc.spec.volumeMode ?? 'Filesystem'],
      };
    },
  },
  PersistentVolume: {
    header: ['CAPACITY', 'ACCESS MODES', 'RECLAIM POLICY', 'STATUS', 'CLAIM', 'STORAGECLASS', 'VOLUMEATTRIBUTESCLASS', 'REASON', 'AGE'],
    wide: ['VOLUMEMODE'],
    cells(obj, now) {
      const pv = obj as PersistentVolume;
      const claim = pv.spec.claimRef ? `${pv.spec.claimRef.namespace ?? 'default'}/${pv.spec.claimRef.name}` : '';
      return {
        base: [String(pv.spec.capacity?.storage ?? ''), accessModes(pv.spec.accessModes), pv.spec.persistentVolumeReclaimPolicy ?? 'Retain', pv.status?.phase ?? 'Pending', claim,
          pv.spec.storageClassName ?? '', pv.spec.volumeAttributesClassName ?? '<unset>', pv.status?.reason ?? '', age(pv.metadata.creationTimestamp, now)],
        wide: [pv.spec.volumeMode ?? 'Filesystem'],
      };
    },
  },
  CertificateSigningRequest: {
    // kubectl's: age first, who asked, for how long, and where it stands (Pending, Approved,Issued...).
    header: ['AGE', 'SIGNERNAME', 'REQUESTOR', 'REQUESTEDDURATION', 'CONDITION'],
    wide: [],
    cells(obj, now) {
      const csr = obj as CertificateSigningRequest;
      const conditions = (csr.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
      if (csr.status?.certificate) conditions.push('Issued');
      const seconds = csr.spec.expirationSeconds;
      const duration = seconds === undefined ? '<none>' : seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s`;
      return { base: [age(csr.metadata.creationTimestamp, now), csr.spec.signerName, csr.spec.username ?? '', duration, conditions.join(',') || 'Pending'], wide: [] };
    },
  },
  VolumeAttributesClass: {
    header: ['DRIVERNAME', 'AGE'],
    wide: [],
    cells(obj, now) {
      const vac = obj as VolumeAttributesClass;
      return { base: [vac.driverName, age(vac.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  StorageClass: {
    header: ['PROVISIONER', 'RECLAIMPOLICY', 'VOLUMEBINDINGMODE', 'ALLOWVOLUMEEXPANSION', 'AGE'],
    wide: [],
    cells(obj, now) {
      const sc = obj as StorageClass;
      return { base: [sc.provisioner, sc.reclaimPolicy ?? 'Delete', sc.volumeBindingMode ?? 'Immediate', String(sc.allowVolumeExpansion ?? false), age(sc.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  PriorityClass: {
    header: ['VALUE', 'GLOBAL-DEFAULT', 'AGE', 'PREEMPTIONPOLICY'],
    wide: [],
    cells(obj, now) {
      const pc = obj as PriorityClass;
      return { base: [String(pc.value), String(pc.globalDefault ?? false), age(pc.metadata.creationTimestamp, now), pc.preemptionPolicy ?? 'PreemptLowerPriority'], wide: [] };
    },
  },
  HorizontalPodAutoscaler: {
    // kubectl's: each metric as "cpu: 45%/80%" (current/target; <unknown> before the first measurement).
    header: ['REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE'],
    wide: [],
    cells(obj, now) {
      const hpa = obj as HorizontalPodAutoscaler;
      const metrics = hpa.spec.metrics?.length ? hpa.spec.metrics : [{ type: 'Resource' as const, resource: { name: 'cpu', target: { type: 'Utilization' as const, averageUtilization: 80 } } }];
      const targets = metrics.map((m) => {
        const source = m.resource ?? m.containerResource;
        if (!source) return `${m.type.toLowerCase()}: <unknown>`;
        const current = (hpa.status?.currentMetrics ?? []).find((c) => (c.resource ?? c.containerResource)?.name === source.name)?.[m.resource ? 'resource' : 'containerResource']?.current;
        const utilization = source.target.type === 'Utilization';
        const want = utilization ? `${source.target.averageUtilization}%` : String(source.target.averageValue ?? source.target.value ?? '');
        const have = utilization ? (current?.averageUtilization !== undefined ? `${current.averageUtilization}%` : '<unknown>') : current?.averageValue ?? '<unknown>';
        return `${source.name}: ${have}/${want}`;
      });
      const ref = hpa.spec.scaleTargetRef;
      return {
        base: [`${ref.kind}/${ref.name}`, targets.join(', '), String(hpa.spec.minReplicas ?? 1), String(hpa.spec.maxReplicas), String(hpa.status?.currentReplicas ?? 0), age(hpa.metadata.creationTimestamp, now)],
        wide: [],
      };
    },
  },
  Ingress: {
    // kubectl's: hosts of the rules (* for a rule without one), the load balancer's addresses, 443 too with tls.
    header: ['CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE'],
    wide: [],
    cells(obj, now) {
      const ing = obj as Ingress;
      const hosts = [...new Set((ing.spec.rules ?? []).map((r) => r.host ?? '*'))];
      const addresses = (ing.status?.loadBalancer?.ingress ?? []).map((a) => a.ip ?? a.hostname ?? '').filter(Boolean);
      return {
        base: [ing.spec.ingressClassName ?? '<none>', hosts.join(',') || '*', addresses.join(','), ing.spec.tls?.length ? '80, 443' : '80', age(ing.metadata.creationTimestamp, now)],
        wide: [],
      };
    },
  },
  IngressClass: {
    header: ['CONTROLLER', 'PARAMETERS', 'AGE'],
    wide: [],
    cells(obj, now) {
      const cls = obj as IngressClass;
      const p = cls.spec.parameters;
      return { base: [cls.spec.controller, p ? `${p.kind}/${p.name}` : '<none>', age(cls.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  ValidatingWebhookConfiguration: WEBHOOK_CONFIGURATION,
  MutatingWebhookConfiguration: WEBHOOK_CONFIGURATION,
  NetworkPolicy: {
    // kubectl's: the selector, with an empty one shown as <none> (it selects every pod).
    header: ['POD-SELECTOR', 'AGE'],
    wide: [],
    cells(obj, now) {
      const policy = obj as NetworkPolicy;
      return { base: [formatSelector(policy.spec.podSelector), age(policy.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  PodDisruptionBudget: {
    header: ['MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE'],
    wide: [],
    cells(obj, now) {
      const pdb = obj as PodDisruptionBudget;
      const { minAvailable, maxUnavailable } = pdb.spec;
      return { base: [minAvailable === undefined ? 'N/A' : String(minAvailable), maxUnavailable === undefined ? 'N/A' : String(maxUnavailable), String(pdb.status?.disruptionsAllowed ?? 0), age(pdb.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  ResourceQuota: {
    // kubectl's: used/hard of each resource, the limits.* ones apart.
    header: ['AGE', 'REQUEST', 'LIMIT'],
    wide: [],
    cells(obj, now) {
      const q = obj as ResourceQuota;
      const used = q.status?.used ?? {};
      const show = (keys: string[]) => keys.sort().map((k) => `${k}: ${used[k] ?? 0}/${q.spec.hard![k]}`).join(', ');
      const keys = Object.keys(q.spec.hard ?? {});
      return { base: [age(q.metadata.creationTimestamp, now), show(keys.filter((k) => !k.startsWith('limits.'))), show(keys.filter((k) => k.startsWith('limits.')))], wide: [] };
    },
  },
  ValidatingAdmissionPolicy: {
    header: ['VALIDATIONS', 'PARAMKIND', 'AGE'],
    wide: [],
    cells(obj, now) {
      const p = obj as ValidatingAdmissionPolicy;
      const param = p.spec.paramKind ? `${p.spec.paramKind.apiVersion}/${p.spec.paramKind.kind}` : '<unset>';
      return { base: [String(p.spec.validations?.length ?? 0), param, age(p.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  ValidatingAdmissionPolicyBinding: {
    header: ['POLICYNAME', 'PARAMREF', 'AGE'],
    wide: [],
    cells(obj, now) {
      const b = obj as ValidatingAdmissionPolicyBinding;
      const ref = b.spec.paramRef;
      const param = ref ? `${ref.namespace ? `${ref.namespace}/` : ''}${ref.name ?? '*'}` : '<unset>';
      return { base: [b.spec.policyName, param, age(b.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  ControllerRevision: {
    header: ['CONTROLLER', 'REVISION', 'AGE'],
    wide: [],
    cells(obj, now) {
      const r = obj as ControllerRevision;
      const owner = r.metadata.ownerReferences?.find((o) => o.controller);
      return { base: [owner ? `${owner.kind.toLowerCase()}.apps/${owner.name}` : '<none>', String(r.revision), age(r.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  LimitRange: {
    header: ['CREATED AT'],
    wide: [],
    cells(obj) {
      return { base: [(obj as LimitRange).metadata.creationTimestamp ?? ''], wide: [] };
    },
  },
  ConfigMap: {
    header: ['DATA', 'AGE'],
    wide: [],
    cells(obj, now) {
      const cm = obj as ConfigMap;
      return { base: [String(Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length), age(cm.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  Secret: {
    header: ['TYPE', 'DATA', 'AGE'],
    wide: [],
    cells(obj, now) {
      const secret = obj as Secret;
      return { base: [secret.type ?? 'Opaque', String(Object.keys(secret.data ?? {}).length), age(secret.metadata.creationTimestamp, now)], wide: [] };
    },
  },
  ServiceAccount: {
    // Kubernetes 1.24+ makes no token Secrets: SECRETS is 0, as kubectl shows it.
    header: ['SECRETS', 'AGE'],
    wide: [],
    cells: (obj, now) => ({ base: ['0', age(obj.metadata.creationTimestamp, now)], wide: [] }),
  },
  Role: ROLE_COLUMNS,
  ClusterRole: ROLE_COLUMNS,
  RoleBinding: BINDING_COLUMNS,
  ClusterRoleBinding: BINDING_COLUMNS,
};

/** kubectl's ACCESS MODES: RWO,ROX,RWX,RWOP. */
function accessModes(modes: readonly PersistentVolumeAccessMode[] | undefined): string {
  const short: Record<PersistentVolumeAccessMode, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };
  return (modes ?? []).map((m) => short[m] ?? m).join(',');
}

/** kubectl's PORT(S): 80/TCP, with the node port as 80:30080/TCP. */
export function servicePorts(svc: Service): string {
  const ports = (svc.spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`);
  return ports.length ? ports.join(',') : '<none>';
}

/** kubectl's EXTERNAL-IP: the alias of an ExternalName, a load balancer's address or <pending>, external IPs, or <none>. */
function externalIP(svc: Service): string {
  if (svc.spec.type === 'ExternalName') return svc.spec.externalName ?? '<none>';
  const external = [...(svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? ''), ...(svc.spec.externalIPs ?? [])].filter(Boolean);
  if (external.length) return external.join(',');
  return svc.spec.type === 'LoadBalancer' ? '<pending>' : '<none>';
}

/** The first three addresses, then how many more, as kubectl shows a slice. */
function sliceEndpoints(slice: EndpointSlice): string {
  const addresses = (slice.endpoints ?? []).flatMap((e) => e.addresses);
  if (addresses.length === 0) return '<unset>';
  return addresses.length > 3 ? `${addresses.slice(0, 3).join(',')} + ${addresses.length - 3} more...` : addresses.join(',');
}

const EVENT_HEADER = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
const EVENT_WIDE = ['SOURCE', 'FIRST SEEN', 'COUNT', 'NAME'];

function eventCells(e: Event, now: Date, wide: boolean): string[] {
  const source = [e.source?.component, e.source?.host].filter(Boolean).join(', ');
  const cells = [age(eventTime(e), now), e.type ?? '', e.reason ?? '', involvedRef(e), (e.message ?? '').trim()];
  return wide ? [...cells, source, age(e.firstTimestamp || e.metadata.creationTimestamp, now), String(e.count ?? 1), e.metadata.name ?? ''] : cells;
}

/**
 * A custom kind's columns: its definition's additionalPrinterColumns (priority 0 always, the others
 * with -o wide), each value found by its JSONPath, dates as ages; none defined: AGE, as Kubernetes.
 */
function customColumns(info: CustomKindInfo): KindColumns | undefined {
  const columns = storageVersion(info.definition).additionalPrinterColumns ?? [];
  if (columns.length === 0) return undefined;
  const base = columns.filter((c) => !c.priority);
  const wide = columns.filter((c) => c.priority);
  const cell = (c: PrinterColumn, obj: Resource, now: Date): string => {
    // 'safe': jsonpath-plus' own evaluator for filters (never JavaScript's eval), as a definition's author writes them.
    // Loaded here: only custom kinds' tables need it, and every `get` imports this file.
    const { JSONPath } = require('jsonpath-plus') as typeof import('jsonpath-plus');
    const found = JSONPath({ path: `$${c.jsonPath}`, json: obj as object, wrap: true, eval: 'safe' }) as unknown[];
    const value = found[0];
    if (value === undefined || value === null) return '<none>';
    if (c.type === 'date' && typeof value === 'string') return age(value, now);
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  };
  return {
    header: base.map((c) => c.name.toUpperCase()),
    wide: wide.map((c) => c.name.toUpperCase()),
    cells: (obj, now) => ({ base: base.map((c) => cell(c, obj, now)), wide: wide.map((c) => cell(c, obj, now)) }),
  };
}

/** kubectl's ENDPOINTS column: the first three ready address:port pairs, then how many more. */
function endpointsList(ep: Endpoints): string {
  const pairs = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).flatMap((a) => ((s.ports ?? []).length > 0 ? s.ports!.map((p) => `${a.ip}:${p.port}`) : [a.ip])));
  if (pairs.length === 0) return '<none>';
  return pairs.length > 3 ? `${pairs.slice(0, 3).join(',')} + ${pairs.length - 3} more...` : pairs.join(',');
}

/** The table columns for a kind. */
export function columnsFor(info: KindInfo, options: ColumnOptions): Columns {
  const ns = options.allNamespaces && info.namespaced;
  const labels = options.showLabels;
  // The default StorageClass is marked, as kubectl marks it.
  const marked = (obj: Resource) => `${obj.metadata.name ?? ''}${obj.kind === 'StorageClass' && isDefaultClass(obj) ? ' (default)' : ''}`;
  const nameOf = (obj: Resource) => (options.prefixNames ? `${info.kind.toLowerCase()}${info.apiVersion.includes('/') ? `.${info.apiVersion.split('/')[0]}` : ''}/${obj.metadata.name}` : marked(obj));
  if (info.kind === 'Event') {
    // Events lead with their time, not a name.
    return {
      header: [...(ns ? ['NAMESPACE'] : []), ...EVENT_HEADER, ...(options.wide ? EVENT_WIDE : []), ...(labels ? ['LABELS'] : [])],
      row: (obj, now) => [...(ns ? [obj.metadata.namespace ?? ''] : []), ...eventCells(obj as Event, now, options.wide), ...(labels ? [formatLabels(obj.metadata.labels)] : [])],
    };
  }
  const k = ('definition' in info ? customColumns(info as CustomKindInfo) : undefined)
    ?? KIND_COLUMNS[info.kind === 'ReplicationController' ? 'ReplicaSet' : info.kind]
    ?? { header: ['AGE'], wide: [], cells: (obj: Resource, now: Date) => ({ base: [age(obj.metadata.creationTimestamp, now)], wide: [] }) };
  return {
    header: [...(ns ? ['NAMESPACE'] : []), 'NAME', ...k.header, ...(options.wide ? k.wide : []), ...(labels ? ['LABELS'] : [])],
    row(obj, now) {
      const c = k.cells(obj, now);
      return [...(ns ? [obj.metadata.namespace ?? ''] : []), nameOf(obj), ...c.base, ...(options.wide ? c.wide : []), ...(labels ? [formatLabels(obj.metadata.labels)] : [])];
    },
  };
}

/** Events oldest first, as kubectl sorts them for reading. */
export function sortEvents(events: Event[]): Event[] {
  return [...events].sort((a, b) => (Date.parse(eventTime(a) ?? '') || 0) - (Date.parse(eventTime(b) ?? '') || 0));
}
