// gRPC handlers for the Builder service: convert, call the builder, map errors. A client that
// goes away (ctrl-C) cancels its build: running steps are killed and nothing half-made stays.

import type { BuilderHandlers } from '../../proto/gen/berth/agent/v1/Builder';
import type { BuildEvent as BuildEventMessage } from '../../proto/gen/berth/agent/v1/BuildEvent';
import { toServiceError } from '../../proto/grpc';
import type { BuildEvent, Builder } from '../build';
import { unary } from './unary';

function message(e: BuildEvent): BuildEventMessage {
  switch (e.kind) {
    case 'step':
      return { kind: e.kind, id: e.id, name: e.name, status: e.status, elapsedMs: String(e.elapsedMs ?? 0), error: e.error ?? '' };
    case 'output':
      return { kind: e.kind, id: e.id, stream: e.stream, data: e.data };
    case 'warning':
      return { kind: e.kind, message: e.message };
    case 'done':
      return { kind: e.kind, imageId: e.imageId, tags: e.tags };
  }
}

export function builderHandlers(builder: Builder): BuilderHandlers {
  return {
    Build(call) {
      const r = call.request;
      const cancel = new AbortController();
      call.on('cancelled', () => cancel.abort());
      Promise.resolve()
        .then(() => builder.build({
          contextDir: r.contextDir,
          dockerfile: r.dockerfile,
          dockerfileName: r.dockerfileName || 'Dockerfile',
          ...(r.ignore ? { ignore: r.ignore } : {}),
          tags: r.tags,
          buildArgs: r.buildArgs,
          ...(r.target ? { target: r.target } : {}),
          noCache: r.noCache,
          pull: r.pull,
          labels: r.labels,
          network: r.network === 'none' ? 'none' : 'default',
          ...(r.hasSourceDateEpoch ? { sourceDateEpoch: Number(r.sourceDateEpoch) } : {}),
          secrets: new Map(r.secrets.map((s) => [s.id, s.value])),
        }, (e) => {
          if (!call.cancelled) call.write(message(e));
        }, cancel.signal))
        .then(() => call.end(), (err) => call.emit('error', toServiceError(err)));
    },
    Prune: unary(async (req) => {
      const r = await builder.prune(req.all ? {} : { keepBytes: Number(req.keepBytes) });
      return { entries: r.entries, reclaimed: String(r.reclaimed) };
    }),
    DiskUsage: unary(() => {
      const u = builder.cache.usage();
      return { entries: u.entries, bytes: String(u.bytes) };
    }),
  };
}
