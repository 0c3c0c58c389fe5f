// The Node service: what agents call. Convert, call the node sessions (controller/nodes: the
// epoch and lease rules live there), map errors; the pod watch and the tunnel are streams.

import type { NodeHandlers } from '../../proto/grpc';
import type { Event, Node, PodStatus } from '../../proto/resources';
import { boundTo, type NodeSessions } from '../nodes';
import type { Registry } from '../objects';
import { failStream, parseJson, unary } from './grpc';
import type { Tunnels } from './tunnels';
import { serveWatch } from './watch-stream';

export interface NodeApiDeps {
  registry: Registry;
  sessions: NodeSessions;
  tunnels: Tunnels;
}

export function nodeHandlers({ registry, sessions, tunnels }: NodeApiDeps): NodeHandlers {
  return {
    Register: unary(async (req) => {
      const { epoch, leaseDurationSeconds, renewIntervalMs, unschedulable } = await sessions.register(parseJson(req.node?.json ?? '', 'node') as Node);
      return { epoch: String(epoch), leaseDurationSeconds, renewIntervalMs, unschedulable };
    }),

    RenewLease: unary(async (req) => sessions.renew(req.nodeName, req.epoch)),

    WatchPods: (call) => {
      const { nodeName, epoch, resourceVersion } = call.request;
      sessions.requireEpoch(nodeName, epoch).then(() => {
        const stream = serveWatch(registry, 'Pod', { filter: boundTo(nodeName) }, resourceVersion,
          (e) => call.write({ type: e.type, object: e.object ? { json: JSON.stringify(e.object) } : undefined, resourceVersion: e.resourceVersion }),
          (err) => failStream(call, err));
        call.on('cancelled', () => stream.close());
        call.on('close', () => stream.close());
      }).catch((err: unknown) => failStream(call, err));
    },

    UpdatePodStatus: unary(async (req) => {
      const namespace = req.namespace || 'default';
      await sessions.reportPodStatus({
        nodeName: req.nodeName,
        epoch: req.epoch,
        namespace,
        name: req.name,
        uid: req.uid,
        terminated: req.terminated,
        status: () => parseJson(req.statusJson, `status of pod ${namespace}/${req.name}`) as PodStatus,
      });
      return {};
    }),

    RecordEvent: unary(async (req) => {
      await sessions.recordEvent(req.nodeName, parseJson(req.event?.json ?? '', 'event') as Event);
      return {};
    }),

    Tunnel: (call) => tunnels.attach(call),
  };
}
