// The Cluster service: what the CLI calls. Convert, call, map errors; the work is elsewhere.

import type * as grpc from '@grpc/grpc-js';
import type { ClusterHandlers } from '../../proto/grpc';
import type { Pod, Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import { apply, compileFilter, deleteWithDependents, infoOf, updateByUser, type Registry } from '../objects';
import { failStream, parseJson, unary } from './grpc';
import type { Tunnels } from './tunnels';
import { serveWatch } from './watch-stream';

export interface ClusterApiDeps {
  registry: Registry;
  tunnels: Tunnels;
  /** Applies run one at a time: each sees the previous one's result. */
  serialize: <T>(fn: () => Promise<T>) => Promise<T>;
}

const toWire = (object: Resource) => ({ json: JSON.stringify(object) });

export function clusterHandlers({ registry, tunnels, serialize }: ClusterApiDeps): ClusterHandlers {
  return {
    Apply: unary(async (req) => {
      const documents = req.objects.map((o, i) => parseJson(o.json, `document ${i + 1}`));
      const outcomes = await serialize(() => apply(registry, documents, { dryRun: req.dryRun, applySet: req.applySet, prune: req.prune }));
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

    Get: unary(async (req) => toWire(await registry.get(infoOf(req.kind).kind, req.namespace || undefined, req.name))),

    List: unary(async (req) => {
      const info = infoOf(req.kind);
      const { items, resourceVersion } = await registry.list(info.kind, {
        namespace: req.namespace || undefined,
        filter: compileFilter(req.labelSelector, req.fieldSelector),
      });
      return { items: items.map(toWire), resourceVersion };
    }),

    Update: unary(async (req) => {
      const obj = parseJson(req.json, 'object') as Resource;
      const update = () => updateByUser(registry, obj);
      // A node's cordon does not wait behind applies (it never did).
      return toWire(await (obj?.kind === 'Node' ? update() : serialize(update)));
    }),

    Delete: unary(async (req) => {
      const info = infoOf(req.kind);
      const deleted = await serialize(() => deleteWithDependents(registry, info.kind, req.namespace || undefined, req.name));
      return { deleted: deleted.map(toWire) };
    }),

    Watch: (call) => {
      const info = infoOf(call.request.kind);
      let filter;
      try {
        filter = compileFilter(call.request.labelSelector, call.request.fieldSelector);
      } catch (err) {
        failStream(call, err);
        return;
      }
      const stream = serveWatch(registry, info.kind, { namespace: call.request.namespace || undefined, filter }, call.request.resourceVersion,
        (e) => call.write({ type: e.type, object: e.object ? toWire(e.object) : undefined, resourceVersion: e.resourceVersion }),
        (err) => failStream(call, err));
      call.on('cancelled', () => stream.close());
      call.on('close', () => stream.close());
    },

    Logs: (call: grpc.ServerWritableStream<import('../../proto/gen/berth/cluster/v1/LogsRequest').LogsRequest__Output, { data: Buffer }>) => {
      const req = call.request;
      registry.get<Pod>('Pod', req.namespace || 'default', req.name).then((pod) => {
        const node = pod.spec.nodeName;
        if (!node) throw new BerthError('failed-precondition', `pod "${req.name}" is not scheduled to a node yet: no logs`);
        if (req.container && !pod.spec.containers.some((c) => c.name === req.container)) {
          throw new BerthError('invalid-argument', `container ${req.container} is not valid for pod ${req.name}`);
        }
        if (!req.container && pod.spec.containers.length > 1) {
          throw new BerthError('invalid-argument', `a container name must be specified for pod ${req.name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(' ')}]`);
        }
        const cancel = tunnels.logs(node, { ...req, namespace: pod.metadata.namespace, container: req.container || pod.spec.containers[0]!.name },
          (data) => call.write({ data }),
          (err) => (err ? failStream(call, err) : call.end()));
        call.on('cancelled', cancel);
        call.on('close', cancel);
      }).catch((err: unknown) => failStream(call, err));
    },
  };
}
