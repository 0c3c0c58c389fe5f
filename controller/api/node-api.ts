// The Node service: what agents call. An agent registers (getting a new epoch), renews its
// lease with that epoch, watches the pods bound to it, and reports their status. Whatever an
// agent sends with a stale epoch is refused: its node was declared lost since, its pods were
// replaced, and it must register again and resync before it may report anything.

import type { NodeHandlers } from '../../proto';
import { NODE_LEASE_NAMESPACE, type Condition, type Event, type Lease, type Node, type Pod, type PodStatus } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { recordEvent, type Clock, type Registry } from '../objects';
import { failStream, parseJson, unary } from './grpc';
import type { Tunnels } from './tunnels';
import { serveWatch } from './watch-stream';

export interface NodeApiDeps {
  registry: Registry;
  tunnels: Tunnels;
  clock: Clock;
  /** How long a lease lasts without renewal before the node is NotReady. */
  leaseDurationMs: number;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function nodeHandlers({ registry, tunnels, clock, leaseDurationMs }: NodeApiDeps): NodeHandlers {
  const now = () => clock().toISOString();

  const requireEpoch = async (nodeName: string, epoch: string | number): Promise<Lease> => {
    const lease = await registry.tryGet<Lease>('Lease', NODE_LEASE_NAMESPACE, nodeName);
    if (!lease) throw new BerthError('failed-precondition', `node "${nodeName}" is not registered: register first`);
    const current = lease.spec.leaseTransitions ?? 0;
    if (Number(epoch) !== current) {
      throw new BerthError('failed-precondition', `node "${nodeName}": epoch ${epoch} is stale (current ${current}): register again and resync`);
    }
    return lease;
  };

  return {
    Register: unary(async (req) => {
      const sent = parseJson(req.node?.json ?? '', 'node') as Node;
      const name = sent?.metadata?.name ?? '';
      if (!NODE_NAME.test(name)) throw new BerthError('invalid-argument', `node name "${name}" is not a valid DNS-1123 subdomain`);
      const ready: Condition = { type: 'Ready', status: 'True', reason: 'AgentReady', message: 'berth agent is posting ready status', lastTransitionTime: now(), lastUpdateTime: now() };
      const existing = await registry.mutate<Node>('Node', undefined, name, (node) => ({
        ...node,
        metadata: { ...node.metadata, labels: sent.metadata.labels },
        status: { ...sent.status, conditions: [keepTransition(node.status?.conditions, ready)] },
      }));
      if (!existing) {
        await registry.create<Node>({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: sent.metadata.labels }, spec: {}, status: { ...sent.status, conditions: [ready] } });
      }
      const renewTime = now();
      let lease = await registry.mutate<Lease>('Lease', NODE_LEASE_NAMESPACE, name, (l) => ({
        ...l,
        spec: { ...l.spec, renewTime, acquireTime: renewTime, leaseTransitions: (l.spec.leaseTransitions ?? 0) + 1 },
      }));
      lease ??= await registry.create<Lease>({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: NODE_LEASE_NAMESPACE },
        spec: { holderIdentity: name, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000), acquireTime: renewTime, renewTime, leaseTransitions: 1 },
      });
      return {
        epoch: String(lease.spec.leaseTransitions ?? 1),
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        renewIntervalMs: Math.max(100, Math.floor(leaseDurationMs / 4)),
      };
    }),

    RenewLease: unary(async (req) => {
      await requireEpoch(req.nodeName, req.epoch);
      await registry.mutate<Lease>('Lease', NODE_LEASE_NAMESPACE, req.nodeName, (l) => {
        if (String(l.spec.leaseTransitions ?? 0) !== String(req.epoch)) throw new BerthError('failed-precondition', `node "${req.nodeName}": epoch ${req.epoch} is stale: register again and resync`);
        return { ...l, spec: { ...l.spec, renewTime: now() } };
      });
      return {};
    }),

    WatchPods: (call) => {
      const { nodeName, epoch, resourceVersion } = call.request;
      requireEpoch(nodeName, epoch).then(() => {
        const stream = serveWatch(registry, 'Pod', { filter: (o) => (o as Pod).spec?.nodeName === nodeName }, resourceVersion,
          (e) => call.write({ type: e.type, object: e.object ? { json: JSON.stringify(e.object) } : undefined, resourceVersion: e.resourceVersion }),
          (err) => failStream(call, err));
        call.on('cancelled', () => stream.close());
        call.on('close', () => stream.close());
      }).catch((err: unknown) => failStream(call, err));
    },

    UpdatePodStatus: unary(async (req) => {
      await requireEpoch(req.nodeName, req.epoch);
      const namespace = req.namespace || 'default';
      const pod = await registry.tryGet<Pod>('Pod', namespace, req.name);
      // A status for a pod that is gone, or for an earlier pod of the same name, is old news.
      if (!pod || pod.metadata.uid !== req.uid || pod.spec.nodeName !== req.nodeName) return {};
      if (req.terminated) {
        if (pod.metadata.deletionTimestamp) {
          await registry.delete('Pod', namespace, req.name, { force: true }).catch((err: unknown) => {
            if (!(err instanceof BerthError && err.code === 'not-found')) throw err;
          });
        }
        return {};
      }
      const status = parseJson(req.statusJson, `status of pod ${namespace}/${req.name}`) as PodStatus;
      await registry.mutate<Pod>('Pod', namespace, req.name, (p) => (p.metadata.uid === req.uid ? { ...p, status } : undefined));
      return {};
    }),

    RecordEvent: unary(async (req) => {
      const event = parseJson(req.event?.json ?? '', 'event') as Event;
      if (!event?.involvedObject?.name || !event.reason) throw new BerthError('invalid-argument', 'event: involvedObject.name and reason are required');
      await recordEvent(registry, {
        involvedObject: event.involvedObject,
        type: event.type === 'Warning' ? 'Warning' : 'Normal',
        reason: event.reason,
        message: event.message ?? '',
        source: { component: 'agent', host: req.nodeName },
      }, clock());
      return {};
    }),

    Tunnel: (call) => tunnels.attach(call),
  };
}

/** The condition as given, keeping the earlier transition time when its status did not change. */
function keepTransition(previous: Condition[] | undefined, next: Condition): Condition {
  const before = previous?.find((c) => c.type === next.type);
  return before && before.status === next.status ? { ...next, lastTransitionTime: before.lastTransitionTime } : next;
}
