// gRPC handlers for the Images service: convert, call the image service, map errors.

import type * as grpc from '@grpc/grpc-js';
import { PassThrough, Readable } from 'node:stream';
import type { ImagesHandlers } from '../../proto/gen/berth/agent/v1/Images';
import type { Progress } from '../../proto/gen/berth/agent/v1/Progress';
import type { ImageRecord, ImageService, ProgressEvent } from '../images';
import { parsePlatform } from '../oci';
import { toServiceError } from '../../proto/grpc';
import { unary } from './unary';

const summary = (i: ImageRecord) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, created: i.created, size: String(i.size) });

function progressMessage(e: ProgressEvent): Progress {
  switch (e.kind) {
    case 'resolved':
      return { kind: e.kind, reference: e.reference, digest: e.digest };
    case 'layer':
      return { kind: e.kind, digest: e.digest, status: e.status, current: String(e.current ?? 0), total: String(e.total ?? 0) };
    case 'done':
      return { kind: e.kind, reference: e.reference, digest: e.digest, imageId: e.imageId, status: e.status };
  }
}

/** Progress events go out as they happen; throttled per layer so a fast pull does not flood the socket. */
function progressStream(call: grpc.ServerWritableStream<unknown, Progress>) {
  const last = new Map<string, number>();
  return (e: ProgressEvent) => {
    if (e.kind === 'layer' && (e.status === 'downloading' || e.status === 'uploading')) {
      const now = Date.now();
      if (now - (last.get(e.digest) ?? 0) < 100) return;
      last.set(e.digest, now);
    }
    call.write(progressMessage(e));
  };
}

export function imagesHandlers(images: ImageService): ImagesHandlers {
  return {
    Pull(call) {
      const { reference, platform } = call.request;
      Promise.resolve()
        .then(() => images.pull(reference, { ...(platform ? { platform: parsePlatform(platform) } : {}), onProgress: progressStream(call) }))
        .then(() => call.end(), (err) => call.emit('error', toServiceError(err)));
    },
    List: unary((req) => {
      const dangling = req.filters.find((f) => f.startsWith('dangling='));
      const images_ = images.list(dangling ? { dangling: dangling === 'dangling=true' } : {});
      return { images: images_.map(summary) };
    }),
    Inspect: unary(async (req) => ({ json: JSON.stringify(await images.inspect(req.name)) })),
    History: unary(async (req) => ({
      rows: (await images.history(req.name)).map((r) => ({ id: r.id ?? '', created: r.created ?? '', createdBy: r.createdBy, size: String(r.size), comment: r.comment })),
    })),
    Tag: unary(async (req) => {
      await images.tag(req.source, req.target);
      return {};
    }),
    Remove: unary((req) => images.remove(req.name, { force: req.force })),
    Prune: unary(async (req) => {
      const r = await images.prune({ all: req.all });
      return { deleted: r.deleted, reclaimed: String(r.reclaimed) };
    }),
    Push(call) {
      Promise.resolve()
        .then(() => images.push(call.request.reference, { onProgress: progressStream(call) }))
        .then(() => call.end(), (err) => call.emit('error', toServiceError(err)));
    },
    Save(call) {
      const out = new PassThrough();
      out.on('data', (data: Buffer) => {
        if (!call.write({ data })) {
          out.pause();
          call.once('drain', () => out.resume());
        }
      });
      out.on('end', () => call.end());
      images.save(call.request.names, out).catch((err) => call.emit('error', toServiceError(err)));
    },
    Load(call, callback) {
      const input = Readable.from((async function* () {
        for await (const chunk of call) yield (chunk as { data: Buffer }).data;
      })());
      images.load(input).then((loaded) => callback(null, { loaded }), (err) => callback(toServiceError(err)));
    },
    Login: unary(async (req) => {
      await images.login(req.registry, req.username, req.password);
      return { status: 'Login Succeeded' };
    }),
  };
}
