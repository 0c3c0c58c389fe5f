// What `berth describe` prints for each kind, as kubectl describe prints it (pure: the object,
// the objects related to it and a clock in, text out). Every description ends with the events
// about the object.

import { formatTaint } from '../../proto/resources';
import type {
  Condition, ConfigMap, Container, ContainerState, DaemonSet, Deployment, EndpointSlice, Event, Job, Namespace, Node, Pod, ReplicaSet, Resource, Secret, Service, Toleration, Volume,
} from '../../proto/resources';
import { age, describeTime } from './age';
import { DescribeWriter } from './describe-writer';
import { toYaml } from './output';
import { podColumns } from './pod-status';
import { eventTime, formatSelector, jobDuration, nodeRoles } from './printers';
import { isOwnedBy, newReplicaSet, replicaSetsOf } from './rollout-state';

export interface Related {
  events: Event[];
  /** Deployment: its ReplicaSets. */
  replicaSets?: ReplicaSet[];
  /** ReplicaSet: its pods; Node: the pods bound to it. */
  pods?: Pod[];
  /** Service: its EndpointSlices. */
  endpointSlices?: EndpointSlice[];
}

const sortedEntries = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const labelLines = (m: Record<string, string> | undefined) => sortedEntries(m).map(([k, v]) => `${k}=${v}`);
const annotationLines = (m: Record<string, string> | undefined) => sortedEntries(m).map(([k, v]) => `${k}: ${v}`);

function meta(w: DescribeWriter, obj: Resource, namespaced: boolean): void {
  w.field(0, 'Name', obj.metadata.name);
  if (namespaced) w.field(0, 'Namespace', obj.metadata.namespace ?? 'default');
}

function controlledBy(obj: Resource): string | undefined {
  const owner = obj.metadata.ownerReferences?.find((r) => r.controller) ?? obj.metadata.ownerReferences?.[0];
  return owner ? `${owner.kind}/${owner.name}` : undefined;
}

/** The events table, or "Events: <none>". Oldest first; "10s (x3 over 2m)" for repeated ones. */
export function eventsSection(w: DescribeWriter, events: Event[], now: Date): void {
  if (events.length === 0) {
    w.field(0, 'Events', '<none>');
    return;
  }
  const sorted = [...events].sort((a, b) => (Date.parse(eventTime(a) ?? '') || 0) - (Date.parse(eventTime(b) ?? '') || 0));
  w.line(0, 'Events:');
  w.table(2, ['Type', 'Reason', 'Age', 'From', 'Message'], sorted.map((e) => {
    const last = age(eventTime(e), now);
    const count = e.count ?? 1;
    const when = count > 1 ? `${last} (x${count} over ${age(e.firstTimestamp || e.metadata.creationTimestamp, now)})` : last;
    return [e.type ?? '', e.reason ?? '', when, [e.source?.component, e.source?.host].filter(Boolean).join(', '), (e.message ?? '').trim()];
  }), ['----', '------', '----', '----', '-------']);
}

function conditionsTable(w: DescribeWriter, conditions: Condition[] | undefined, columns: 'pod' | 'reason' | 'node'): void {
  if (!conditions?.length) {
    w.field(0, 'Conditions', '<none>');
    return;
  }
  w.line(0, 'Conditions:');
  if (columns === 'pod') {
    w.table(2, ['Type', 'Status'], conditions.map((c) => [c.type, c.status]));
  } else if (columns === 'reason') {
    w.table(2, ['Type', 'Status', 'Reason'], conditions.map((c) => [c.type, c.status, c.reason ?? '']), true);
  } else {
    w.table(2, ['Type', 'Status', 'LastHeartbeatTime', 'LastTransitionTime', 'Reason', 'Message'],
      conditions.map((c) => [c.type, c.status, describeTime(c.lastUpdateTime), describeTime(c.lastTransitionTime), c.reason ?? '', c.message ?? '']), true);
  }
}

function stateLines(w: DescribeWriter, indent: number, key: string, state: ContainerState | undefined): void {
  if (state?.running) {
    w.field(indent, key, 'Running');
    w.field(indent + 2, 'Started', describeTime(state.running.startedAt));
  } else if (state?.waiting) {
    w.field(indent, key, 'Waiting');
    if (state.waiting.reason) w.field(indent + 2, 'Reason', state.waiting.reason);
    if (state.waiting.message) w.field(indent + 2, 'Message', state.waiting.message);
  } else if (state?.terminated) {
    const t = state.terminated;
    w.field(indent, key, 'Terminated');
    if (t.reason) w.field(indent + 2, 'Reason', t.reason);
    if (t.message) w.field(indent + 2, 'Message', t.message);
    w.field(indent + 2, 'Exit Code', t.exitCode);
    if (t.signal) w.field(indent + 2, 'Signal', t.signal);
    w.field(indent + 2, 'Started', describeTime(t.startedAt));
    w.field(indent + 2, 'Finished', describeTime(t.finishedAt));
  } else {
    w.field(indent, key, key === 'State' ? 'Waiting' : '<none>');
  }
}

/** A container of a pod template or a pod; with a status when the pod has one for it. */
function containerLines(w: DescribeWriter, indent: number, c: Container, status?: Pod['status']): void {
  w.line(indent, `${c.name}:`);
  const i = indent + 2;
  const cs = [...(status?.initContainerStatuses ?? []), ...(status?.containerStatuses ?? [])].find((s) => s.name === c.name);
  if (status) w.field(i, 'Container ID', cs?.containerID ?? '');
  w.field(i, 'Image', c.image);
  if (status) w.field(i, 'Image ID', cs?.imageID ?? '');
  const ports = c.ports ?? [];
  w.list(i, ports.length > 1 ? 'Ports' : 'Port', ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}`));
  w.list(i, ports.length > 1 ? 'Host Ports' : 'Host Port', ports.map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`));
  if (c.command?.length) {
    w.line(i, 'Command:');
    for (const a of c.command) w.line(i + 2, a);
  }
  if (c.args?.length) {
    w.line(i, 'Args:');
    for (const a of c.args) w.line(i + 2, a);
  }
  if (status) {
    stateLines(w, i, 'State', cs?.state);
    if (cs?.lastState && Object.keys(cs.lastState).length > 0) stateLines(w, i, 'Last State', cs.lastState);
    w.field(i, 'Ready', cs?.ready ? 'True' : 'False');
    w.field(i, 'Restart Count', cs?.restartCount ?? 0);
  }
  for (const [key, res] of [['Limits', c.resources?.limits], ['Requests', c.resources?.requests]] as const) {
    if (!res || Object.keys(res).length === 0) continue;
    w.line(i, `${key}:`);
    for (const [k, v] of sortedEntries(res as Record<string, string>)) w.field(i + 2, k, v);
  }
  if (c.readinessProbe) w.field(i, 'Readiness', probeText(c.readinessProbe));
  if (c.livenessProbe) w.field(i, 'Liveness', probeText(c.livenessProbe));
  if (!c.env?.length) w.field(i, 'Environment', '<none>');
  else {
    w.line(i, 'Environment:');
    for (const e of c.env) w.field(i + 2, e.name, envText(e));
  }
  for (const from of c.envFrom ?? []) {
    const source = from.configMapRef ? `${from.configMapRef.name}  ConfigMap` : `${from.secretRef?.name ?? ''}  Secret`;
    w.field(i, 'Environment Variables from', `${source}  Optional: ${(from.configMapRef ?? from.secretRef)?.optional ? 'true' : 'false'}`);
  }
  const mounts = c.volumeMounts ?? [];
  w.list(i, 'Mounts', mounts.map((m) => `${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'}${m.subPath ? `,path="${m.subPath}"` : ''})`));
}

/** An env var's value as kubectl describe shows it: where a reference points, never a Secret's value. */
function envText(e: NonNullable<Container['env']>[number]): string {
  const from = e.valueFrom;
  if (!from) return e.value ?? '';
  if (from.configMapKeyRef) return `<set to the key '${from.configMapKeyRef.key}' of config map '${from.configMapKeyRef.name}'>  Optional: ${from.configMapKeyRef.optional ? 'true' : 'false'}`;
  if (from.secretKeyRef) return `<set to the key '${from.secretKeyRef.key}' in secret '${from.secretKeyRef.name}'>  Optional: ${from.secretKeyRef.optional ? 'true' : 'false'}`;
  if (from.fieldRef) return ` (${from.fieldRef.apiVersion ?? 'v1'}:${from.fieldRef.fieldPath})`;
  if (from.resourceFieldRef) return `${from.resourceFieldRef.resource}`;
  return '';
}

/** The pod's volumes, as kubectl describe lists them. */
function volumeLines(w: DescribeWriter, volumes: Volume[] | undefined): void {
  if (!volumes?.length) {
    w.field(0, 'Volumes', '<none>');
    return;
  }
  w.line(0, 'Volumes:');
  for (const v of volumes) {
    w.line(2, `${v.name}:`);
    if (v.configMap) {
      w.field(4, 'Type', 'ConfigMap (a volume populated by a ConfigMap)');
      w.field(4, 'Name', v.configMap.name);
      w.field(4, 'Optional', v.configMap.optional ? 'true' : 'false');
    } else if (v.secret) {
      w.field(4, 'Type', 'Secret (a volume populated by a Secret)');
      w.field(4, 'SecretName', v.secret.secretName);
      w.field(4, 'Optional', v.secret.optional ? 'true' : 'false');
    } else if (v.hostPath) {
      w.field(4, 'Type', 'HostPath (bare host directory volume)');
      w.field(4, 'Path', v.hostPath.path);
      w.field(4, 'HostPathType', v.hostPath.type ?? '');
    } else if (v.downwardAPI) {
      w.field(4, 'Type', 'DownwardAPI (a volume populated by information about the pod)');
    } else if (v.projected) {
      w.field(4, 'Type', 'Projected (a volume that contains injected data from multiple sources)');
    } else if (v.persistentVolumeClaim) {
      w.field(4, 'Type', 'PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)');
      w.field(4, 'ClaimName', v.persistentVolumeClaim.claimName);
      w.field(4, 'ReadOnly', v.persistentVolumeClaim.readOnly ? 'true' : 'false');
    } else {
      w.field(4, 'Type', 'EmptyDir (a temporary directory that shares a pod\'s lifetime)');
      w.field(4, 'Medium', v.emptyDir?.medium ?? '');
      w.field(4, 'SizeLimit', v.emptyDir?.sizeLimit ?? '<unset>');
    }
  }
}

function probeText(p: NonNullable<Container['readinessProbe']>): string {
  const how = p.httpGet ? `http-get ${p.httpGet.scheme === 'HTTPS' ? 'https' : 'http'}://${p.httpGet.host ?? ''}:${p.httpGet.port}${p.httpGet.path ?? '/'}`
    : p.tcpSocket ? `tcp-socket ${p.tcpSocket.host ?? ''}:${p.tcpSocket.port}`
      : p.exec ? `exec [${p.exec.command.join(' ')}]` : 'unknown';
  return `${how} delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`;
}

/** "Pod Template:" and the template's labels and containers (describe, rollout history --revision). */
export function podTemplate(w: DescribeWriter, template: Deployment['spec']['template']): void {
  w.line(0, 'Pod Template:');
  w.list(2, 'Labels', labelLines(template.metadata?.labels));
  if (template.metadata?.annotations) w.list(2, 'Annotations', annotationLines(template.metadata.annotations));
  if (template.spec.initContainers?.length) {
    w.line(2, 'Init Containers:');
    for (const c of template.spec.initContainers) containerLines(w, 3, c);
  }
  w.line(2, 'Containers:');
  for (const c of template.spec.containers) containerLines(w, 3, c);
  if (template.spec.nodeSelector) w.list(2, 'Node-Selectors', labelLines(template.spec.nodeSelector));
}

export function describePod(pod: Pod, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const s = pod.status ?? {};
  meta(w, pod, true);
  w.field(0, 'Node', pod.spec.nodeName ? `${pod.spec.nodeName}${s.hostIP ? `/${s.hostIP}` : ''}` : '<none>');
  w.field(0, 'Start Time', s.startTime ? describeTime(s.startTime) : '<none>');
  w.list(0, 'Labels', labelLines(pod.metadata.labels));
  w.list(0, 'Annotations', annotationLines(pod.metadata.annotations));
  if (pod.metadata.deletionTimestamp) {
    w.field(0, 'Status', `Terminating (lasts ${age(pod.metadata.deletionTimestamp, now)})`);
    w.field(0, 'Termination Grace Period', `${pod.spec.terminationGracePeriodSeconds ?? 30}s`);
  } else {
    w.field(0, 'Status', s.phase ?? 'Pending');
  }
  if (s.reason) w.field(0, 'Reason', s.reason);
  if (s.message) w.field(0, 'Message', s.message);
  w.field(0, 'IP', s.podIP ?? '');
  w.field(0, 'Controlled By', controlledBy(pod));
  if (pod.spec.initContainers?.length) {
    w.line(0, 'Init Containers:');
    for (const c of pod.spec.initContainers) containerLines(w, 2, c, s);
  }
  w.line(0, 'Containers:');
  for (const c of pod.spec.containers) containerLines(w, 2, c, s);
  conditionsTable(w, s.conditions, 'pod');
  volumeLines(w, pod.spec.volumes);
  w.list(0, 'Node-Selectors', labelLines(pod.spec.nodeSelector));
  w.list(0, 'Tolerations', (pod.spec.tolerations ?? []).map(tolerationText));
  eventsSection(w, related.events, now);
  return w.toString();
}

/** kubectl's form: `node.kubernetes.io/unreachable:NoExecute op=Exists for 300s`. */
function tolerationText(t: Toleration): string {
  const key = t.key ?? '';
  const what = t.operator === 'Exists' ? `${key}${t.effect ? `:${t.effect}` : ''} op=Exists` : `${key}=${t.value ?? ''}${t.effect ? `:${t.effect}` : ''}`;
  return t.tolerationSeconds !== undefined ? `${what} for ${t.tolerationSeconds}s` : what;
}

function strategyText(d: Deployment): string {
  const ru = d.spec.strategy?.rollingUpdate;
  return `${ru?.maxUnavailable ?? '25%'} max unavailable, ${ru?.maxSurge ?? '25%'} max surge`;
}

const rsSummary = (rs: ReplicaSet) => `${rs.metadata.name} (${rs.status?.replicas ?? 0}/${rs.spec.replicas ?? 0} replicas created)`;

export function describeDeployment(d: Deployment, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const s = d.status ?? {};
  meta(w, d, true);
  w.field(0, 'CreationTimestamp', describeTime(d.metadata.creationTimestamp));
  w.list(0, 'Labels', labelLines(d.metadata.labels));
  w.list(0, 'Annotations', annotationLines(d.metadata.annotations));
  w.field(0, 'Selector', formatSelector(d.spec.selector));
  const desired = d.spec.replicas ?? 1;
  w.field(0, 'Replicas', `${desired} desired | ${s.updatedReplicas ?? 0} updated | ${s.replicas ?? 0} total | ${s.availableReplicas ?? 0} available | ${s.unavailableReplicas ?? 0} unavailable`);
  const type = d.spec.strategy?.type ?? 'RollingUpdate';
  w.field(0, 'StrategyType', type);
  w.field(0, 'MinReadySeconds', d.spec.minReadySeconds ?? 0);
  if (type === 'RollingUpdate') w.field(0, 'RollingUpdateStrategy', strategyText(d));
  if (d.spec.paused) w.field(0, 'Paused', 'true');
  podTemplate(w, d.spec.template);
  conditionsTable(w, s.conditions, 'reason');
  const owned = replicaSetsOf(d, related.replicaSets ?? []);
  const current = newReplicaSet(d, owned);
  const old = owned.filter((rs) => rs !== current && ((rs.spec.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0));
  w.list(0, 'OldReplicaSets', old.map(rsSummary));
  w.field(0, 'NewReplicaSet', current ? rsSummary(current) : '<none>');
  eventsSection(w, related.events, now);
  return w.toString();
}

export function describeReplicaSet(rs: ReplicaSet, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const s = rs.status ?? {};
  meta(w, rs, true);
  w.field(0, 'Selector', formatSelector(rs.spec.selector));
  w.list(0, 'Labels', labelLines(rs.metadata.labels));
  w.list(0, 'Annotations', annotationLines(rs.metadata.annotations));
  w.field(0, 'Controlled By', controlledBy(rs));
  w.field(0, 'Replicas', `${s.replicas ?? 0} current / ${rs.spec.replicas ?? 1} desired`);
  const pods = (related.pods ?? []).filter((p) => isOwnedBy(p, rs));
  const count = (phase: string) => pods.filter((p) => (p.status?.phase ?? 'Pending') === phase).length;
  w.field(0, 'Pods Status', `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`);
  podTemplate(w, rs.spec.template);
  eventsSection(w, related.events, now);
  return w.toString();
}

export function describeDaemonSet(ds: DaemonSet, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const s = ds.status ?? {};
  meta(w, ds, true);
  w.field(0, 'Selector', formatSelector(ds.spec.selector));
  w.field(0, 'Node-Selector', Object.entries(ds.spec.template.spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>');
  w.list(0, 'Labels', labelLines(ds.metadata.labels));
  w.list(0, 'Annotations', annotationLines(ds.metadata.annotations));
  w.field(0, 'Desired Number of Nodes Scheduled', s.desiredNumberScheduled ?? 0);
  w.field(0, 'Current Number of Nodes Scheduled', s.currentNumberScheduled ?? 0);
  w.field(0, 'Number of Nodes Scheduled with Up-to-date Pods', s.updatedNumberScheduled ?? 0);
  w.field(0, 'Number of Nodes Scheduled with Available Pods', s.numberAvailable ?? 0);
  w.field(0, 'Number of Nodes Misscheduled', s.numberMisscheduled ?? 0);
  const pods = (related.pods ?? []).filter((p) => isOwnedBy(p, ds));
  const count = (phase: string) => pods.filter((p) => (p.status?.phase ?? 'Pending') === phase).length;
  w.field(0, 'Pods Status', `${count('Running')} Running / ${count('Pending')} Waiting / ${count('Succeeded')} Succeeded / ${count('Failed')} Failed`);
  podTemplate(w, ds.spec.template);
  eventsSection(w, related.events, now);
  return w.toString();
}

export function describeJob(job: Job, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const s = job.status ?? {};
  meta(w, job, true);
  w.field(0, 'Selector', job.spec.selector ? formatSelector(job.spec.selector) : `batch.kubernetes.io/controller-uid=${job.metadata.uid ?? ''}`);
  w.list(0, 'Labels', labelLines(job.metadata.labels));
  w.list(0, 'Annotations', annotationLines(job.metadata.annotations));
  w.field(0, 'Parallelism', job.spec.parallelism ?? 1);
  w.field(0, 'Completions', job.spec.completions ?? '<unset>');
  w.field(0, 'Completion Mode', job.spec.completionMode ?? 'NonIndexed');
  w.field(0, 'Suspend', job.spec.suspend ? 'true' : 'false');
  w.field(0, 'Backoff Limit', job.spec.backoffLimit ?? 6);
  if (job.spec.activeDeadlineSeconds !== undefined) w.field(0, 'Active Deadline Seconds', `${job.spec.activeDeadlineSeconds}s`);
  if (job.spec.ttlSecondsAfterFinished !== undefined) w.field(0, 'TTL Seconds After Finished', job.spec.ttlSecondsAfterFinished);
  if (s.startTime) w.field(0, 'Start Time', describeTime(s.startTime));
  if (s.completionTime) w.field(0, 'Completed At', describeTime(s.completionTime));
  const duration = jobDuration(job, now);
  if (duration) w.field(0, 'Duration', duration);
  w.field(0, 'Pods Statuses', `${s.active ?? 0} Active (${s.ready ?? 0} Ready) / ${s.succeeded ?? 0} Succeeded / ${s.failed ?? 0} Failed`);
  if (job.spec.completionMode === 'Indexed') w.field(0, 'Completed Indexes', s.completedIndexes || '<none>');
  podTemplate(w, job.spec.template);
  conditionsTable(w, s.conditions, 'reason');
  eventsSection(w, related.events, now);
  return w.toString();
}

export function describeNode(node: Node, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const s = node.status ?? {};
  meta(w, node, false);
  w.field(0, 'Roles', nodeRoles(node));
  w.list(0, 'Labels', labelLines(node.metadata.labels));
  w.list(0, 'Annotations', annotationLines(node.metadata.annotations));
  w.field(0, 'CreationTimestamp', describeTime(node.metadata.creationTimestamp));
  w.list(0, 'Taints', (node.spec?.taints ?? []).map(formatTaint));
  w.field(0, 'Unschedulable', node.spec?.unschedulable ? 'true' : 'false');
  conditionsTable(w, s.conditions, 'node');
  w.line(0, 'Addresses:');
  for (const a of s.addresses ?? []) w.field(2, a.type, a.address);
  for (const [key, res] of [['Capacity', s.capacity], ['Allocatable', s.allocatable]] as const) {
    w.line(0, `${key}:`);
    for (const [k, v] of sortedEntries(res as Record<string, string> | undefined)) w.field(2, k, v);
  }
  const info = s.nodeInfo ?? {};
  w.line(0, 'System Info:');
  w.field(2, 'Kernel Version', info.kernelVersion ?? '');
  w.field(2, 'OS Image', info.osImage ?? '');
  w.field(2, 'Architecture', info.architecture ?? '');
  w.field(2, 'Container Runtime Version', info.containerRuntimeVersion ?? '');
  w.field(2, 'Agent Version', info.agentVersion ?? '');
  const pods = (related.pods ?? []).filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase ?? ''));
  w.line(0, `Non-terminated Pods:          (${pods.length} in total)`);
  w.table(2, ['Namespace', 'Name', 'CPU Requests', 'Memory Requests', 'Status', 'Age'], pods.map((p) => [
    p.metadata.namespace ?? 'default',
    p.metadata.name ?? '',
    p.spec.containers.map((c) => c.resources?.requests?.cpu).filter(Boolean).join('+') || '0',
    p.spec.containers.map((c) => c.resources?.requests?.memory).filter(Boolean).join('+') || '0',
    podColumns(p, now).status,
    age(p.metadata.creationTimestamp, now),
  ]), true);
  eventsSection(w, related.events, now);
  return w.toString();
}

export function describeNamespace(ns: Namespace, related: Related, now: Date): string {
  const w = new DescribeWriter();
  meta(w, ns, false);
  w.list(0, 'Labels', labelLines(ns.metadata.labels));
  w.list(0, 'Annotations', annotationLines(ns.metadata.annotations));
  w.field(0, 'Status', ns.metadata.deletionTimestamp ? 'Terminating' : ns.status?.phase ?? 'Active');
  eventsSection(w, related.events, now);
  return w.toString();
}

/** A Service as kubectl describes it: its addresses, each port with its target and node port, and the ready endpoints. */
export function describeService(svc: Service, related: Related, now: Date): string {
  const w = new DescribeWriter();
  const spec = svc.spec;
  meta(w, svc, true);
  w.list(0, 'Labels', labelLines(svc.metadata.labels));
  w.list(0, 'Annotations', annotationLines(svc.metadata.annotations));
  w.field(0, 'Selector', Object.keys(spec.selector ?? {}).length ? sortedEntries(spec.selector).map(([k, v]) => `${k}=${v}`).join(',') : '<none>');
  w.field(0, 'Type', spec.type ?? 'ClusterIP');
  if (spec.type === 'ExternalName') {
    w.field(0, 'External Name', spec.externalName);
  } else {
    w.field(0, 'IP Family Policy', spec.ipFamilyPolicy ?? 'SingleStack');
    w.field(0, 'IP Families', (spec.ipFamilies ?? ['IPv4']).join(','));
    w.field(0, 'IP', spec.clusterIP);
    w.field(0, 'IPs', (spec.clusterIPs ?? [spec.clusterIP ?? '']).join(','));
  }
  if (spec.type === 'LoadBalancer') w.field(0, 'LoadBalancer Ingress', (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname).join(', ') || '<pending>');
  const slices = related.endpointSlices ?? [];
  for (const port of spec.ports ?? []) {
    const name = port.name || '<unset>';
    const protocol = port.protocol ?? 'TCP';
    w.field(0, 'Port', `${name}  ${port.port}/${protocol}`);
    const target = port.targetPort ?? port.port;
    w.field(0, 'TargetPort', `${target}/${protocol}`);
    if (port.nodePort) w.field(0, 'NodePort', `${name}  ${port.nodePort}/${protocol}`);
    const ready = slices.flatMap((slice) => {
      const p = (slice.ports ?? []).find((sp) => (sp.name ?? '') === (port.name ?? '') && (sp.protocol ?? 'TCP') === protocol);
      if (!p?.port) return [];
      return (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses.map((a) => `${a}:${p.port}`));
    });
    w.field(0, 'Endpoints', ready.length === 0 ? '<none>' : ready.length > 3 ? `${ready.slice(0, 3).join(',')} + ${ready.length - 3} more...` : ready.join(','));
  }
  w.field(0, 'Session Affinity', spec.sessionAffinity ?? 'None');
  if (spec.externalTrafficPolicy) w.field(0, 'External Traffic Policy', spec.externalTrafficPolicy);
  if (spec.type !== 'ExternalName') w.field(0, 'Internal Traffic Policy', spec.internalTrafficPolicy ?? 'Cluster');
  eventsSection(w, related.events, now);
  return w.toString();
}

/** A ConfigMap as kubectl describes it: every value in full (configuration is not secret). */
export function describeConfigMap(cm: ConfigMap, related: Related, now: Date): string {
  const w = new DescribeWriter();
  meta(w, cm, true);
  w.list(0, 'Labels', labelLines(cm.metadata.labels));
  w.list(0, 'Annotations', annotationLines(cm.metadata.annotations));
  w.line(0, '');
  w.line(0, 'Data');
  w.line(0, '====');
  for (const [key, value] of sortedEntries(cm.data)) {
    w.line(0, `${key}:`);
    w.line(0, '----');
    w.line(0, value);
    w.line(0, '');
  }
  w.line(0, '');
  w.line(0, 'BinaryData');
  w.line(0, '====');
  for (const [key, value] of sortedEntries(cm.binaryData)) w.line(0, `${key}: ${Buffer.from(value, 'base64').length} bytes`);
  w.line(0, '');
  eventsSection(w, related.events, now);
  return w.toString();
}

/** A Secret as kubectl describes it: its keys and their sizes, never a value. */
export function describeSecret(secret: Secret, related: Related, now: Date): string {
  const w = new DescribeWriter();
  meta(w, secret, true);
  w.list(0, 'Labels', labelLines(secret.metadata.labels));
  w.list(0, 'Annotations', annotationLines(secret.metadata.annotations));
  w.line(0, '');
  w.field(0, 'Type', secret.type ?? 'Opaque');
  w.line(0, '');
  w.line(0, 'Data');
  w.line(0, '====');
  for (const [key, value] of sortedEntries(secret.data)) w.field(0, key, `${Buffer.from(value, 'base64').length} bytes`);
  eventsSection(w, related.events, now);
  return w.toString();
}

/** Kinds without a dedicated layout (Lease, Event): metadata, then the rest as YAML. */
export function describeGeneric(obj: Resource, namespaced: boolean, related: Related, now: Date): string {
  const w = new DescribeWriter();
  meta(w, obj, namespaced);
  w.list(0, 'Labels', labelLines(obj.metadata.labels));
  w.list(0, 'Annotations', annotationLines(obj.metadata.annotations));
  w.field(0, 'CreationTimestamp', describeTime(obj.metadata.creationTimestamp));
  const rest = Object.fromEntries(Object.entries(obj).filter(([k]) => !['apiVersion', 'kind', 'metadata'].includes(k)));
  if (Object.keys(rest).length > 0) {
    const text = toYaml(rest).trimEnd();
    for (const line of text.split('\n')) {
      const m = /^(\S[^:]*):\s*(.*)$/.exec(line);
      if (m && m[2]) w.field(0, capitalize(m[1]!), m[2]);
      else w.line(0, m ? `${capitalize(m[1]!)}:` : line);
    }
  }
  if (obj.kind !== 'Event') eventsSection(w, related.events, now);
  return w.toString();
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
