// Node sessions carried out against the registry: the rules of rules.ts, read and written with
// compare-and-swap so that a registration and the node lifecycle controller's epoch bump never
// overwrite each other.

import { NODE_LEASE_NAMESPACE, type Event, type Lease, type Node, type Pod } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { ignoreNotFound, recordEvent } from '../objects';
import {
  checkEpoch, newLease, newNode, registeredReady, registration, renewedLease, reportConcerns, reregisteredLease,
  reregisteredNode, requireValidNodeName,
} from './rules';
import type { NodeSessionOptions, NodeSessions, PodStatusReport, Registration } from './types';

export function nodeSessions({ registry, clock, leaseDurationMs }: NodeSessionOptions): NodeSessions {
  const now = () => clock().toISOString();

  const requireEpoch = async (nodeName: string, epoch: string | number): Promise<Lease> =>
    checkEpoch(nodeName, await registry.tryGet<Lease>('Lease', NODE_LEASE_NAMESPACE, nodeName), epoch);

  return {
    async register(sent: Node): Promise<Registration> {
      const name = sent?.metadata?.name ?? '';
      requireValidNodeName(name);
      const ready = registeredReady(now());
      const node = await registry.mutate<Node>('Node', undefined, name, (n) => reregisteredNode(n, sent, ready))
        ?? await registry.create<Node>(newNode(name, sent, ready));
      const renewTime = now();
      const lease = await registry.mutate<Lease>('Lease', NODE_LEASE_NAMESPACE, name, (l) => reregisteredLease(l, renewTime))
        ?? await registry.create<Lease>(newLease(name, renewTime, leaseDurationMs));
      return registration(lease, leaseDurationMs, node);
    },

    async renew(nodeName, epoch) {
      await requireEpoch(nodeName, epoch);
      // Checked again inside the write: a bump may land between the read and the write.
      await registry.mutate<Lease>('Lease', NODE_LEASE_NAMESPACE, nodeName, (l) => renewedLease(nodeName, l, epoch, now()));
      const node = await registry.tryGet<Node>('Node', undefined, nodeName);
      const ready = node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return { unschedulable: node?.spec?.unschedulable === true, resendPodStatus: !ready };
    },

    async requireEpoch(nodeName, epoch) {
      await requireEpoch(nodeName, epoch);
    },

    async reportPodStatus(report: PodStatusReport) {
      await requireEpoch(report.nodeName, report.epoch);
      const namespace = report.namespace || 'default';
      const pod = await registry.tryGet<Pod>('Pod', namespace, report.name);
      if (!reportConcerns(pod, report.nodeName, report.uid)) return;
      if (report.terminated) {
        // The containers are gone: a pod being deleted goes now (graceful deletion ends here).
        if (pod.metadata.deletionTimestamp) await registry.delete('Pod', namespace, report.name, { force: true }).catch(ignoreNotFound);
        return;
      }
      const status = report.status();
      await registry.mutate<Pod>('Pod', namespace, report.name, (p) => (p.metadata.uid === report.uid ? { ...p, status } : undefined));
    },

    async recordEvent(nodeName: string, event: Event) {
      if (!event?.involvedObject?.name || !event.reason) throw new BerthError('invalid-argument', 'event: involvedObject.name and reason are required');
      await recordEvent(registry, {
        involvedObject: event.involvedObject,
        type: event.type === 'Warning' ? 'Warning' : 'Normal',
        reason: event.reason,
        message: event.message ?? '',
        source: { component: 'agent', host: nodeName },
      }, clock());
    },
  };
}
