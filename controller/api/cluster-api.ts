// The Cluster service: what the CLI calls. Who calls is the user its client certificate names;
// each call is authorized as Kubernetes authorizes the request it stands for (verb, resource,
// namespace, name: auth/), then converted, called, errors mapped; the work is elsewhere.

import type * as grpc from '@grpc/grpc-js';
import type { ClusterHandlers } from '../../proto/grpc';
import type { PortForwardFrame, PortForwardFrame__Output } from '../../proto/gen/berth/cluster/v1/PortForwardFrame';
import type { PortForwardTarget__Output } from '../../proto/gen/berth/cluster/v1/PortForwardTarget';
import { CLIENT_SIGNER, nodeMetricsOf, podMetricsOf, type CertificateSigningRequest, type Node, type NodeMetrics, type Pod, type PodMetrics, type Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { customKinds, kindInfo, type KindInfo } from '../../proto/resources';
import { parseJoinToken, formatJoinToken } from '../../proto/trust';
import { versionInfo } from '../../proto/version';
import { AUTHENTICATED_GROUP, MASTERS_GROUP, requireAllowed, type Authenticate, type Authorizer, type BootstrapTokens, type CallWithMetadata, type Identity, type RequestAttributes } from '../auth';
import { evictPod } from '../controllers';
import { apply, compileFilter, deleteWithDependents, infoOf, updateByUser, type Clock, type Registry } from '../objects';
import type { MetricsReader } from '../metrics';
import type { ClusterCa } from '../trust';
import { failStream, parseJson, unary } from './grpc';
import type { Tunnels } from './tunnels';
import { MAX_BACKLOG, serveWatch } from './watch-stream';
import { podExec } from './pod-exec';
import { serveTunnelSession } from './tunnel-session';

export interface ClusterApiDeps {
  registry: Registry;
  tunnels: Tunnels;
  /** Applies run one at a time: each sees the previous one's result. */
  serialize: <T>(fn: () => Promise<T>) => Promise<T>;
  authenticate: Authenticate;
  authorizer: Authorizer;
  tokens: BootstrapTokens;
  ca: ClusterCa;
  clock: Clock;
  metrics: MetricsReader;
}

const groupOf = (info: KindInfo) => (info.apiVersion.includes('/') ? info.apiVersion.split('/')[0]! : '');

/** The request a call on objects of `info` stands for. */
function attributesOf(info: KindInfo, verb: string, namespace: string | undefined, name?: string, subresource?: string): RequestAttributes {
  return {
    verb,
    resource: info.plural,
    apiGroup: groupOf(info),
    ...(info.namespaced && namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
    ...(subresource ? { subresource } : {}),
  };
}

/** Bootstrap tokens are Secrets in kube-system in Kubernetes; the same rights govern them here. */
const tokenAttributes = (verb: string, name?: string): RequestAttributes => ({ verb, resource: 'secrets', apiGroup: '', namespace: 'kube-system', ...(name ? { name } : {}) });

/** A certificate request says who asked: the caller, whatever the document claims (Kubernetes sets these). */
function asRequestedBy(doc: unknown, identity: Identity): unknown {
  const d = doc as { kind?: unknown; spec?: Record<string, unknown> } | null;
  if (d?.kind !== 'CertificateSigningRequest' || typeof d.spec !== 'object' || d.spec === null) return doc;
  const { uid: _uid, extra: _extra, ...spec } = d.spec;
  return { ...d, spec: { ...spec, username: identity.user, groups: [...new Set([...identity.groups, AUTHENTICATED_GROUP])] } };
}

const toWire = (object: Resource | PodMetrics | NodeMetrics) => ({ json: JSON.stringify(object) });

export function clusterHandlers({ registry, tunnels, serialize, authenticate, authorizer, tokens, ca, clock, metrics }: ClusterApiDeps): ClusterHandlers {
  /** The caller, allowed to make the request `attributes` describes; else UNAUTHENTICATED or PERMISSION_DENIED. */
  const allowed = async (call: CallWithMetadata, attributes: RequestAttributes): Promise<Identity> => {
    const identity = await authenticate(call);
    await requireAllowed(authorizer, identity, attributes);
    return identity;
  };

  /**
   * The kind a call names, resolved once the caller is known (who may not call learns nothing of
   * the kinds there are), and the caller allowed the request `attributes` makes of it.
   */
  const allowedOn = async (call: CallWithMetadata, kind: string, attributes: (info: KindInfo) => RequestAttributes): Promise<KindInfo> => {
    const identity = await authenticate(call);
    const info = await registry.resolveKind(kind);
    await requireAllowed(authorizer, identity, attributes(info));
    return info;
  };

  return {
    Apply: unary(async (req, call) => {
      const identity = await authenticate(call);
      const documents = req.objects.map((o, i) => asRequestedBy(parseJson(o.json, `document ${i + 1}`), identity));
      const authorize = (verb: string, { info, namespace, name }: { info: KindInfo; namespace?: string | undefined; name: string }) =>
        requireAllowed(authorizer, identity, attributesOf(info, verb, namespace ?? (info.namespaced ? 'default' : undefined), name));
      const outcomes = await serialize(() => apply(registry, documents, { dryRun: req.dryRun, applySet: req.applySet, prune: req.prune, authorize }));
      return {
        results: outcomes.map(({ action, object }) => ({
          kind: object.kind,
          namespace: object.metadata.namespace ?? '',
          name: object.metadata.name ?? '',
          action,
          object: toWire(object),
        })),
      };
    }),

    Get: unary(async (req, call) => {
      const info = await allowedOn(call, req.kind, (i) => attributesOf(i, 'get', req.namespace || 'default', req.name));
      return toWire(await registry.get(info.kind, req.namespace || undefined, req.name));
    }),

    List: unary(async (req, call) => {
      const info = await allowedOn(call, req.kind, (i) => attributesOf(i, 'list', req.namespace || undefined));
      const { items, resourceVersion } = await registry.list(info.kind, {
        namespace: req.namespace || undefined,
        filter: compileFilter(req.labelSelector, req.fieldSelector),
      });
      return { items: items.map(toWire), resourceVersion };
    }),

    Update: unary(async (req, call) => {
      const obj = parseJson(req.json, 'object') as Resource;
      await allowedOn(call, obj?.kind ?? '', (i) => attributesOf(i, 'update', obj.metadata?.namespace || 'default', obj.metadata?.name));
      const update = () => updateByUser(registry, obj);
      // A node's cordon does not wait behind applies (it never did).
      return toWire(await (obj?.kind === 'Node' ? update() : serialize(update)));
    }),

    Delete: unary(async (req, call) => {
      const info = await allowedOn(call, req.kind, (i) => attributesOf(i, 'delete', req.namespace || 'default', req.name));
      const deleted = await serialize(() => deleteWithDependents(registry, info.kind, req.namespace || undefined, req.name));
      return { deleted: deleted.map(toWire) };
    }),

    Evict: unary(async (req, call) => {
      const namespace = req.namespace || 'default';
      await allowed(call, attributesOf(infoOf('Pod'), 'create', namespace, req.name, 'eviction'));
      return { deleted: [toWire(await evictPod(registry, namespace, req.name, clock))] };
    }),

    Metrics: unary(async (req, call) => {
      const nodes = req.kind === 'nodes';
      if (!nodes && req.kind !== 'pods') throw new BerthError('invalid-argument', `metrics of ${JSON.stringify(req.kind)}: pods or nodes`);
      const namespace = req.namespace || undefined;
      await allowed(call, { verb: 'list', resource: req.kind, apiGroup: 'metrics.k8s.io', ...(!nodes && namespace ? { namespace } : {}) });
      const filter = compileFilter(req.labelSelector, '');
      const reports = await metrics.reports();
      if (nodes) {
        const byName = new Map((await registry.list<Node>('Node', { filter })).items.map((n) => [n.metadata.name, n]));
        return { items: reports.filter((r) => byName.has(r.node)).map((r) => toWire(nodeMetricsOf(r))), resourceVersion: '' };
      }
      // Pods as they are now: a report of a pod deleted since (or of another uid) is dropped; labels come with them.
      const pods = new Map((await registry.list<Pod>('Pod', { ...(namespace ? { namespace } : {}), filter })).items.map((p) => [p.metadata.uid, p]));
      const items = reports.flatMap((r) => {
        const known = r.pods.filter((p) => pods.has(p.uid));
        return podMetricsOf({ ...r, pods: known }).map((m, i) => {
          const labels = pods.get(known[i]!.uid)?.metadata.labels;
          return toWire({ ...m, metadata: { ...m.metadata, ...(labels ? { labels } : {}) } });
        });
      });
      return { items, resourceVersion: '' };
    }),

    ApproveCertificate: unary(async (req, call) => {
      const identity = await allowed(call, { verb: 'update', resource: 'certificatesigningrequests', subresource: 'approval', apiGroup: 'certificates.k8s.io', name: req.name });
      // Kubernetes' CertificateApproval: also `approve` on the request's signer.
      const current = await registry.get<CertificateSigningRequest>('CertificateSigningRequest', undefined, req.name);
      await requireAllowed(authorizer, identity, { verb: 'approve', resource: 'signers', apiGroup: 'certificates.k8s.io', name: current.spec.signerName });
      const type = req.approve ? 'Approved' : 'Denied';
      const other = req.approve ? 'Denied' : 'Approved';
      const now = clock().toISOString();
      const updated = await registry.mutate<CertificateSigningRequest>('CertificateSigningRequest', undefined, req.name, (csr) => {
        const conditions = csr.status?.conditions ?? [];
        if (conditions.some((c) => c.type === other && c.status === 'True')) {
          throw new BerthError('invalid-argument', `certificatesigningrequests.certificates.k8s.io "${req.name}" is invalid: status.conditions: Invalid value: "${type}": Approved and Denied conditions are mutually exclusive`);
        }
        if (conditions.some((c) => c.type === type && c.status === 'True')) return undefined;
        const condition = { type, status: 'True' as const, reason: req.reason || (req.approve ? 'KubectlApprove' : 'KubectlDeny'), message: req.message || `This CSR was ${req.approve ? 'approved' : 'denied'} by berth certificate ${req.approve ? 'approve' : 'deny'}.`, lastTransitionTime: now, lastUpdateTime: now };
        return { ...csr, status: { ...csr.status, conditions: [...conditions, condition] } };
      });
      if (!updated) throw new BerthError('not-found', `certificatesigningrequests.certificates.k8s.io "${req.name}" not found`);
      return toWire(updated);
    }),

    Watch: (call) => {
      let filter: ReturnType<typeof compileFilter>;
      try {
        filter = compileFilter(call.request.labelSelector, call.request.fieldSelector);
      } catch (err) {
        failStream(call, err);
        return;
      }
      allowedOn(call, call.request.kind, (i) => attributesOf(i, 'watch', call.request.namespace || undefined)).then((info) => {
        const stream = serveWatch(registry, info.kind, { namespace: call.request.namespace || undefined, filter }, call.request.resourceVersion,
          (e) => call.write({ type: e.type, object: e.object ? toWire(e.object) : undefined, resourceVersion: e.resourceVersion }),
          (err) => failStream(call, err), () => call.writableLength);
        call.on('cancelled', () => stream.close());
        call.on('close', () => stream.close());
      }, (err: unknown) => failStream(call, err));
    },

    Logs: (call: grpc.ServerWritableStream<import('../../proto/gen/berth/cluster/v1/LogsRequest').LogsRequest__Output, { data: Buffer }>) => {
      const req = call.request;
      allowed(call, attributesOf(infoOf('Pod'), 'get', req.namespace || 'default', req.name, 'log'))
        .then(() => registry.get<Pod>('Pod', req.namespace || 'default', req.name)).then((pod) => {
          const node = pod.spec.nodeName;
          if (!node) throw new BerthError('failed-precondition', `pod "${req.name}" is not scheduled to a node yet: no logs`);
          if (req.container && !pod.spec.containers.some((c) => c.name === req.container)) {
            throw new BerthError('invalid-argument', `container ${req.container} is not valid for pod ${req.name}`);
          }
          if (!req.container && pod.spec.containers.length > 1) {
            throw new BerthError('invalid-argument', `a container name must be specified for pod ${req.name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(' ')}]`);
          }
          const cancel = tunnels.logs(node, { ...req, namespace: pod.metadata.namespace, container: req.container || pod.spec.containers[0]!.name },
            (data) => {
              call.write({ data });
              // A reader that stopped costs bounded memory: the agent's stream is cut, not buffered here.
              if (call.writableLength > MAX_BACKLOG) {
                cancel();
                failStream(call, new BerthError('resource-exhausted', `logs of pod ${req.name}: the client is not reading (${call.writableLength} chunks waiting)`));
              }
            },
            (err) => (err ? failStream(call, err) : call.end()));
          call.on('cancelled', cancel);
          call.on('close', cancel);
        }).catch((err: unknown) => failStream(call, err));
    },

    PortForward: (call: grpc.ServerDuplexStream<PortForwardFrame__Output, PortForwardFrame>) => serveTunnelSession(call, {
      firstFrame: 'port-forward: the first frame must name the pod and the port',
      openOf: (frame) => (frame.frame === 'open' && frame.open ? frame.open : undefined),
      inputOf: (frame) => (frame.frame === 'data' ? frame.data ?? undefined : undefined),
      async prepare(target: PortForwardTarget__Output, fail) {
        const namespace = target.namespace || 'default';
        await allowed(call, attributesOf(infoOf('Pod'), 'create', namespace, target.name, 'portforward'));
        const pod = await registry.get<Pod>('Pod', namespace, target.name);
        const node = pod.spec.nodeName;
        if (!node || pod.status?.phase !== 'Running') {
          throw new BerthError('failed-precondition', `unable to forward port because pod is not running. Current status=${pod.status?.phase ?? 'Pending'}`);
        }
        if (!(target.port >= 1 && target.port <= 65535)) throw new BerthError('invalid-argument', `port ${target.port}: not a port number`);
        return () => tunnels.portForward(node, { namespace, name: target.name, port: target.port }, (data) => {
          call.write({ data });
          if (call.writableLength > MAX_BACKLOG) fail(new BerthError('resource-exhausted', `port-forward to pod ${target.name}: the client is not reading`));
        }, (err) => (err ? failStream(call, err) : call.end()));
      },
    }),

    Exec: podExec({ registry, tunnels, allowed }),

    CreateToken: unary(async (req, call) => {
      await allowed(call, tokenAttributes('create'));
      const ttlMs = Number(req.ttlSeconds) * 1000;
      const made = await tokens.create({ ...(ttlMs > 0 ? { ttlMs } : {}), description: req.description });
      return { token: formatJoinToken({ caPin: ca.pin, id: made.id, secret: made.secret }), id: made.id, expires: made.record.expires };
    }),

    ListTokens: unary(async (_req, call) => {
      await allowed(call, tokenAttributes('list'));
      const list = await tokens.list();
      return { tokens: list.map((r) => ({ id: r.id, description: r.description, expires: r.expires, created: r.created, usedBy: r.usedBy ?? '' })) };
    }),

    DeleteToken: unary(async (req, call) => {
      // A whole token is accepted too: what `token list` does not show, the user may still hold.
      const id = req.id.includes('::') ? parseJoinToken(req.id).id : req.id;
      await allowed(call, tokenAttributes('delete', id));
      await tokens.delete(id);
      return {};
    }),

    IssueUserCertificate: unary(async (req, call) => {
      // A request made, approved and signed in one call: the caller needs the rights of all three steps.
      const identity = await allowed(call, { verb: 'create', resource: 'certificatesigningrequests', apiGroup: 'certificates.k8s.io', name: req.name });
      await requireAllowed(authorizer, identity, { verb: 'update', resource: 'certificatesigningrequests', subresource: 'approval', apiGroup: 'certificates.k8s.io', name: req.name });
      await requireAllowed(authorizer, identity, { verb: 'approve', resource: 'signers', apiGroup: 'certificates.k8s.io', name: CLIENT_SIGNER });
      if (!req.name || req.name.startsWith('system:')) throw new BerthError('invalid-argument', `user name "${req.name}": give a name that does not start with "system:" (those are the cluster's own identities)`);
      if (req.groups.includes(MASTERS_GROUP)) throw new BerthError('permission-denied', `use of ${CLIENT_SIGNER} signer with ${MASTERS_GROUP} group is not allowed (bind a user to cluster-admin instead)`);
      const validityMs = Number(req.validitySeconds) * 1000;
      const certificatePem = await ca.signClient(req.csrPem, { commonName: req.name, organizations: req.groups }, validityMs > 0 ? { validityMs } : {});
      return { certificatePem, caPem: ca.certPem };
    }),

    Version: unary(async () => versionInfo()),

    Discover: unary(async (_req, call) => {
      await authenticate(call);
      // The catalog follows the store's definitions (server.ts); what a client needs to name and check a kind's objects: the spec, not the object's history.
      const served = customKinds().map(({ definition: d }) => ({ apiVersion: d.apiVersion, kind: d.kind, metadata: { name: d.metadata.name }, spec: d.spec }));
      return { items: served.map((d) => ({ json: JSON.stringify(d) })), resourceVersion: String(await registry.revision()) };
    }),

    ReviewAccess: unary(async (req, call) => {
      const caller = await authenticate(call);
      let subject = caller;
      if (req.user) {
        // kubectl auth can-i --as: the caller must be allowed to impersonate the user and each group.
        await requireAllowed(authorizer, caller, { verb: 'impersonate', resource: 'users', apiGroup: '', name: req.user });
        for (const group of req.groups) await requireAllowed(authorizer, caller, { verb: 'impersonate', resource: 'groups', apiGroup: '', name: group });
        subject = { user: req.user, groups: [...req.groups, AUTHENTICATED_GROUP] };
      }
      const decision = await authorizer.authorize(subject, reviewAttributes(req));
      return { allowed: decision.allowed, reason: decision.reason, user: subject.user };
    }),
  };
}

/** "pods", "pods/log", "deployments.apps", "*" → request attributes, as `kubectl auth can-i` reads them. */
function reviewAttributes(req: { verb: string; resource: string; namespace: string; name: string }): RequestAttributes {
  const [resourceAndGroup = '', subresource] = req.resource.split('/');
  const dot = resourceAndGroup.indexOf('.');
  let resource = dot < 0 ? resourceAndGroup : resourceAndGroup.slice(0, dot);
  let apiGroup = dot < 0 ? '' : resourceAndGroup.slice(dot + 1);
  // A kind's name or alias as berth get takes it ("deploy", "po") means that kind's resource.
  const known = resource === '*' ? undefined : kindInfo(resource);
  if (known) {
    resource = known.plural;
    if (dot < 0) apiGroup = groupOf(known);
  }
  return {
    verb: req.verb,
    resource,
    apiGroup,
    ...(req.namespace ? { namespace: req.namespace } : {}),
    ...(req.name ? { name: req.name } : {}),
    ...(subresource ? { subresource } : {}),
  };
}
