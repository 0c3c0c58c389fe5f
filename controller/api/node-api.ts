// The Node service: what agents call. Every call but Join is made with the node's client
// certificate (system:node:NAME) and may only concern that node: its Node and Lease, the pods
// bound to it, events about them, its tunnel (auth/node-rules.ts). Join is the one call made with a
// bootstrap token instead; it buys the certificate. Convert, check, call the node sessions
// (controller/nodes: the epoch and lease rules live there), map errors.

import type { NodeHandlers } from '../../proto/grpc';
import { INGRESS_PORTS_ANNOTATION, podAddressView, servedByBerth, type Event, type NodeMetricsReport, type Ingress, type IngressClass, type Node, type PersistentVolume, type Pod, type Resource, type Secret, type ServiceAccount } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { NODES_GROUP, nodeUser, parseJoinToken } from '../../proto/trust';
import { callerNode, requireBoundPod, requireIdentity, requireOwnNode, requireReachableVolume, requireReferenced, type AuthenticatedCall, type BootstrapTokens } from '../auth';
import { boundTo, checkEventReport, checkPodStatus, requireValidNodeName, type NodeSessions } from '../nodes';
import type { MetricsStore } from '../metrics';
import type { Registry } from '../objects';
import type { ClusterCa, ServiceAccountTokens } from '../trust';
import { failStream, parseJson, unary } from './grpc';
import type { Tunnels } from './tunnels';
import { serveWatch } from './watch-stream';

export interface NodeApiDeps {
  registry: Registry;
  sessions: NodeSessions;
  tunnels: Tunnels;
  ca: ClusterCa;
  tokens: BootstrapTokens;
  /** How long a node's certificate is valid (it renews at two thirds of that). */
  nodeCertificateValidityMs: number;
  serviceAccountTokens: ServiceAccountTokens;
  /** The cluster's pod CIDR and backend, told to each agent at registration. */
  clusterCidr: string;
  podNetwork: string;
  /** Where the agents' usage reports go. */
  metrics: MetricsStore;
}

/** A pod's token lives an hour, as Kubernetes' bound tokens by default; the agent renews it at 80 %. */
export const SERVICE_ACCOUNT_TOKEN_SECONDS = 3600;

export function nodeHandlers({ registry, sessions, tunnels, ca, tokens, nodeCertificateValidityMs, serviceAccountTokens, clusterCidr, podNetwork, metrics }: NodeApiDeps): NodeHandlers {
  const caller = (call: AuthenticatedCall, method: string) => callerNode(requireIdentity(call), method);

  /** Every object of a kind a node may read whole (Nodes, Services, EndpointSlices), with Watch's semantics. */
  const watchEvery = (call: Parameters<NodeHandlers['WatchNodes']>[0], method: string, kind: string, what: string, view: (obj: Resource) => Resource = (obj) => obj) => {
    const { nodeName, epoch, resourceVersion } = call.request;
    Promise.resolve().then(async () => {
      requireOwnNode(caller(call, method), nodeName, what);
      await sessions.requireEpoch(nodeName, epoch);
      const stream = serveWatch(registry, kind, {}, resourceVersion,
        (e) => call.write({ type: e.type, object: e.object ? { json: JSON.stringify(view(e.object)) } : undefined, resourceVersion: e.resourceVersion }),
        (err) => failStream(call, err), () => call.writableLength);
      call.on('cancelled', () => stream.close());
      call.on('close', () => stream.close());
    }).catch((err: unknown) => failStream(call, err));
  };
  const servesIngressTls = async (node: string, namespace: string, secret: string): Promise<boolean> => {
    const self = await registry.tryGet<Node>('Node', undefined, node);
    if (!self?.metadata.annotations?.[INGRESS_PORTS_ANNOTATION]) return false;
    const classes = (await registry.list<IngressClass>('IngressClass')).items;
    const { items } = await registry.list<Ingress>('Ingress', { namespace });
    return items.some((i) => servedByBerth(i, classes) && (i.spec.tls ?? []).some((t) => t.secretName === secret));
  };
  const signNode = (node: string, csrPem: string) =>
    ca.signClient(csrPem, { commonName: nodeUser(node), organizations: [NODES_GROUP] }, { validityMs: nodeCertificateValidityMs });

  return {
    Join: unary(async (req) => {
      const token = parseJoinToken(req.token);
      if (token.caPin !== ca.pin) throw new BerthError('unauthenticated', `join token ${token.id}: made for another cluster (its CA hash is not this controller's)`);
      requireValidNodeName(req.nodeName);
      // Check the request before spending the token on it.
      const certificatePem = await signNode(req.nodeName, req.csrPem);
      const existing = await registry.tryGet<Node>('Node', undefined, req.nodeName);
      if (existing?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) {
        throw new BerthError('already-exists', `node "${req.nodeName}" is joined and Ready: a running node is not taken over by a join (berth delete node ${req.nodeName} first, or pick another --node-name)`);
      }
      await tokens.consume(token.id, token.secret, req.nodeName);
      return { certificatePem, caPem: ca.certPem };
    }),

    RenewCertificate: unary(async (req, call) => {
      const node = caller(call, 'RenewCertificate');
      return { certificatePem: await signNode(node, req.csrPem), caPem: ca.certPem };
    }),

    Register: unary(async (req, call) => {
      const node = caller(call, 'Register');
      const doc = parseJson(req.node?.json ?? '', 'node') as Node;
      requireOwnNode(node, doc?.metadata?.name ?? '', 'register');
      const { epoch, leaseDurationSeconds, renewIntervalMs, unschedulable } = await sessions.register(doc);
      return { epoch: String(epoch), leaseDurationSeconds, renewIntervalMs, unschedulable, clusterCidr, podNetwork };
    }),

    RenewLease: unary(async (req, call) => {
      requireOwnNode(caller(call, 'RenewLease'), req.nodeName, 'renew the lease of');
      return sessions.renew(req.nodeName, req.epoch);
    }),

    WatchPods: (call) => {
      const { nodeName, epoch, resourceVersion } = call.request;
      Promise.resolve().then(async () => {
        requireOwnNode(caller(call, 'WatchPods'), nodeName, 'watch the pods of');
        await sessions.requireEpoch(nodeName, epoch);
        const stream = serveWatch(registry, 'Pod', { filter: boundTo(nodeName) }, resourceVersion,
          (e) => call.write({ type: e.type, object: e.object ? { json: JSON.stringify(e.object) } : undefined, resourceVersion: e.resourceVersion }),
          (err) => failStream(call, err), () => call.writableLength);
        call.on('cancelled', () => stream.close());
        call.on('close', () => stream.close());
      }).catch((err: unknown) => failStream(call, err));
    },

    WatchNodes: (call) => watchEvery(call, 'WatchNodes', 'Node', 'watch the nodes as'),
    WatchServices: (call) => watchEvery(call, 'WatchServices', 'Service', 'watch the services as'),
    WatchEndpointSlices: (call) => watchEvery(call, 'WatchEndpointSlices', 'EndpointSlice', 'watch the endpoint slices as'),
    WatchNetworkPolicies: (call) => watchEvery(call, 'WatchNetworkPolicies', 'NetworkPolicy', 'watch the network policies as'),
    WatchNamespaces: (call) => watchEvery(call, 'WatchNamespaces', 'Namespace', 'watch the namespaces as'),
    // Every pod, cut down to what a policy can name: the rest of a pod is its own node's business.
    WatchIngresses: (call) => watchEvery(call, 'WatchIngresses', 'Ingress', 'watch the ingresses as'),
    WatchIngressClasses: (call) => watchEvery(call, 'WatchIngressClasses', 'IngressClass', 'watch the ingress classes as'),
    WatchPodAddresses: (call) => watchEvery(call, 'WatchPodAddresses', 'Pod', 'watch the pod addresses as', (obj) => podAddressView(obj as Pod)),

    UpdatePodStatus: unary(async (req, call) => {
      requireOwnNode(caller(call, 'UpdatePodStatus'), req.nodeName, 'update pod status for');
      const namespace = req.namespace || 'default';
      await sessions.reportPodStatus({
        nodeName: req.nodeName,
        epoch: req.epoch,
        namespace,
        name: req.name,
        uid: req.uid,
        terminated: req.terminated,
        status: () => checkPodStatus(req.statusJson, `status of pod ${namespace}/${req.name}`),
      });
      return {};
    }),

    ReportMetrics: unary(async (req, call) => {
      requireOwnNode(caller(call, 'ReportMetrics'), req.nodeName, 'report metrics for');
      await sessions.requireEpoch(req.nodeName, req.epoch);
      const report = checkMetricsReport(parseJson(req.json, 'metrics report'));
      // A node speaks for itself and for the pods bound to it, no others; when is the controller's
      // word (a node's clock running ahead would keep its report fresh after it went).
      const bound = new Set((await registry.list<Pod>('Pod', { filter: boundTo(req.nodeName) })).items.map((p) => p.metadata.uid));
      await metrics.put({ ...report, node: req.nodeName, timestamp: new Date().toISOString(), pods: report.pods.filter((p) => bound.has(p.uid)) });
      return {};
    }),

    RecordEvent: unary(async (req, call) => {
      const node = caller(call, 'RecordEvent');
      requireOwnNode(node, req.nodeName, 'record events for');
      const event = checkEventReport(parseJson(req.event?.json ?? '', 'event') as Event);
      const about = event?.involvedObject;
      if (about?.kind === 'Node') requireOwnNode(node, about.name ?? '', 'record events about');
      else if (about?.kind === 'Pod') {
        const namespace = about.namespace || 'default';
        const pod = await registry.tryGet<Pod>('Pod', namespace, about.name ?? '');
        // A pod already gone (its last events arrive after it): nothing to tell anyone about.
        if (!pod) return {};
        requireBoundPod(node, { namespace, name: about.name ?? '', nodeName: pod.spec.nodeName }, 'record events about');
      } else throw new BerthError('permission-denied', `node "${node}" may record events about its Node and its pods only (not ${about?.kind ?? 'nothing'})`);
      await sessions.recordEvent(req.nodeName, event);
      return {};
    }),

    ServiceAccountToken: unary(async (req, call) => {
      const node = caller(call, 'ServiceAccountToken');
      const namespace = req.namespace || 'default';
      const pod = await registry.tryGet<Pod>('Pod', namespace, req.podName);
      if (!pod || pod.metadata.uid !== req.podUid) throw new BerthError('not-found', `pod ${namespace}/${req.podName} (uid ${req.podUid}) not found`);
      requireBoundPod(node, { namespace, name: req.podName, nodeName: pod.spec.nodeName }, 'get a service account token for');
      const name = pod.spec.serviceAccountName || 'default';
      const account = await registry.tryGet<ServiceAccount>('ServiceAccount', namespace, name);
      const mount = pod.spec.automountServiceAccountToken ?? account?.automountServiceAccountToken ?? true;
      if (!mount) return { mount: false, token: '', expiresAt: '0', caPem: '', namespace };
      if (!account) throw new BerthError('not-found', `serviceaccount "${name}" not found in namespace "${namespace}" (pod ${req.podName})`);
      const { token, expiresAt } = await serviceAccountTokens.issue({
        namespace,
        serviceAccount: { name, uid: account.metadata.uid ?? '' },
        pod: { name: req.podName, uid: req.podUid },
        node,
      }, { ttlSeconds: SERVICE_ACCOUNT_TOKEN_SECONDS });
      return { mount: true, token, expiresAt: String(Math.floor(expiresAt.getTime() / 1000)), caPem: ca.certPem, namespace };
    }),

    GetPodConfig: unary(async (req, call) => {
      const node = caller(call, 'GetPodConfig');
      requireOwnNode(node, req.nodeName, 'read pod configuration for');
      await sessions.requireEpoch(req.nodeName, req.epoch);
      if (req.kind === 'PersistentVolume') {
        // Not found tells nothing a node should not know (it asks after volumes whose directories it holds).
        const pv = await registry.get<PersistentVolume>('PersistentVolume', undefined, req.name);
        const { items } = await registry.list<Pod>('Pod', { filter: boundTo(node) });
        requireReachableVolume(node, pv, items);
        return { json: JSON.stringify(pv) };
      }
      if (req.kind !== 'ConfigMap' && req.kind !== 'Secret' && req.kind !== 'PersistentVolumeClaim') {
        throw new BerthError('invalid-argument', `GetPodConfig reads ConfigMaps, Secrets, PersistentVolumeClaims and PersistentVolumes, not ${JSON.stringify(req.kind)}`);
      }
      const namespace = req.namespace || 'default';
      const { items } = await registry.list<Pod>('Pod', { namespace, filter: boundTo(node) });
      try {
        requireReferenced(node, req.kind, namespace, req.name, items);
      } catch (err) {
        // A node serving Ingresses also reads the tls Secrets berth's Ingresses name (as an ingress
        // controller does), and only certificates: an Ingress naming another Secret opens nothing.
        if (req.kind !== 'Secret' || !await servesIngressTls(node, namespace, req.name)) throw err;
        const secret = await registry.get<Secret>('Secret', namespace, req.name);
        if (secret.type !== 'kubernetes.io/tls') throw err;
        return { json: JSON.stringify(secret) };
      }
      return { json: JSON.stringify(await registry.get(req.kind, namespace, req.name)) };
    }),

    Tunnel: (call) => {
      let node: string;
      try {
        node = caller(call, 'Tunnel');
      } catch (err) {
        failStream(call, err);
        return;
      }
      tunnels.attach(call, node);
    },
  };
}

/** A NodeMetricsReport as an agent sends it, every number a finite non-negative one; else invalid-argument. */
function checkMetricsReport(value: unknown): NodeMetricsReport {
  const bad = (why: string) => new BerthError('invalid-argument', `metrics report: ${why}`);
  const amount = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  const r = value as Partial<NodeMetricsReport> | null;
  if (!r || typeof r !== 'object' || !Array.isArray(r.pods) || !r.usage || !amount(r.usage.cpuCores) || !amount(r.usage.memoryBytes) || !amount(r.windowSeconds)) throw bad('expected a NodeMetricsReport');
  for (const p of r.pods) {
    if (!p || typeof p.namespace !== 'string' || typeof p.name !== 'string' || typeof p.uid !== 'string' || !Array.isArray(p.containers)) throw bad('a pod needs namespace, name, uid and containers');
    for (const c of p.containers) {
      if (!c || typeof c.name !== 'string' || !amount(c.cpuCores) || !amount(c.memoryBytes)) throw bad(`pod ${p.namespace}/${p.name}: a container needs a name and non-negative usage`);
    }
  }
  return r as NodeMetricsReport;
}
