// The pull side of the distribution client: manifests by tag or digest, and blobs streamed with
// verification and resumption (Range requests) when a connection is cut.

import { Readable } from 'node:stream';
import { BerthError } from '../../../proto/errors';
import {
  bareMediaType, checkDigest, type Descriptor, formatReference, Hasher, isDigest, manifestSelector,
  MediaType, type Reference, sha256, sizeMismatch,
} from '../../oci';
import { repositoryScope } from './auth';
import { blobKind, type RegistryExchange } from './exchange';
import type { Endpoint } from './hosts';
import { headerOf, readBody, type HttpResponse } from './http';
import type { BlobReadOptions, ResolvedManifest } from './types';

export async function getManifest(x: RegistryExchange, ref: Reference, accept: readonly string[]): Promise<ResolvedManifest> {
  const subject = formatReference(ref);
  return x.onPullEndpoints(ref, async (ep) => {
    const res = await x.exchange({
      ep, method: 'GET', target: `/v2/${ref.path}/manifests/${manifestSelector(ref)}`,
      headers: { accept: accept.join(', ') }, scopes: [repositoryScope(ref.path, 'pull')], subject,
    });
    if (res.status !== 200) throw await x.statusError(ep, res, subject, 'manifest');
    const max = x.options.maxManifestBytes;
    const bytes = await readBody(res, max, (size) => new BerthError('resource-exhausted',
      `manifest ${subject} from ${ep.host} is ${size === undefined ? 'more than' : size} bytes, past the ${max} byte limit`));
    const digest = sha256(bytes);
    if (ref.digest !== undefined && digest !== ref.digest) {
      throw new BerthError('data-loss', `manifest ${subject} from ${ep.host}: digest mismatch: got ${digest}`);
    }
    const mediaType = documentMediaType(bytes, headerOf(res, 'content-type'), subject);
    if (!accept.includes(mediaType)) {
      throw new BerthError('data-loss', `manifest ${subject} from ${ep.host} is ${mediaType}, expected one of ${accept.join(', ')}`);
    }
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  });
}

export async function getBlob(x: RegistryExchange, ref: Reference, desc: Descriptor, maxBytes: number): Promise<Buffer> {
  if (desc.size > maxBytes) {
    throw new BerthError('resource-exhausted', `${blobKind(desc)} ${desc.digest} of ${formatReference(ref)} is ${desc.size} bytes, past the ${maxBytes} byte limit`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of openBlob(x, ref, desc) as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export function openBlob(x: RegistryExchange, ref: Reference, desc: Descriptor, options: BlobReadOptions = {}): Readable {
  return new BlobStream(x, ref, desc, options);
}

/**
 * GET a blob from the first pull endpoint that has it, from `offset` on (a Range request when
 * offset > 0). Used by BlobStream; answers 200 or 206, anything else is thrown.
 */
export async function fetchBlob(x: RegistryExchange, ref: Reference, desc: Descriptor, offset: number, ep?: Endpoint): Promise<{ ep: Endpoint; res: HttpResponse }> {
  const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${desc.digest}`;
  const once = async (e: Endpoint): Promise<{ ep: Endpoint; res: HttpResponse }> => {
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await x.exchange({ ep: e, method: 'GET', target: `/v2/${ref.path}/blobs/${desc.digest}`, headers, scopes: [repositoryScope(ref.path, 'pull')], subject });
    if (res.status === 200 || (res.status === 206 && offset > 0)) return { ep: e, res };
    throw await x.statusError(e, res, subject, 'blob');
  };
  return ep ? once(ep) : x.onPullEndpoints(ref, once);
}

/** The document's own mediaType; the Content-Type only when it has none; inferred for bare OCI documents. */
function documentMediaType(bytes: Buffer, contentType: string | undefined, subject: string): string {
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BerthError('data-loss', `manifest ${subject} is not valid JSON`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new BerthError('data-loss', `manifest ${subject} is not a JSON object`);
  if (typeof doc.mediaType === 'string' && doc.mediaType !== '') return doc.mediaType;
  const header = bareMediaType(contentType);
  if (header && header !== 'application/json' && header !== 'application/octet-stream' && header !== 'text/plain') return header;
  if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  if (doc.config !== undefined && Array.isArray(doc.layers)) return MediaType.ociManifest;
  return header || 'application/octet-stream';
}

/**
 * A blob download as one Readable. Bytes are hashed and counted as they pass; a connection cut
 * mid-body is resumed on the same endpoint with `Range: bytes=N-` (a 206 must start at N; a 200
 * restarts the body and its first N bytes are skipped). The stream ends only after size and
 * digest matched; otherwise it errors ('data-loss' for wrong bytes, 'unavailable' when it could
 * not be resumed). Backpressure: the response is paused whenever push() says the consumer is full.
 */
class BlobStream extends Readable {
  private readonly hasher = new Hasher();
  private readonly what: string;
  private res?: HttpResponse;
  private ep?: Endpoint;
  private connecting = false;
  private finished = false;
  private fruitless = 0;
  private lastCut = '';

  constructor(private readonly x: RegistryExchange, private readonly ref: Reference, private readonly desc: Descriptor, private readonly opts: BlobReadOptions) {
    super();
    this.what = blobKind(desc);
    if (!isDigest(desc.digest)) throw new BerthError('invalid-argument', `invalid digest "${desc.digest}" for ${formatReference(ref)}`);
  }

  override _read(): void {
    if (this.res) this.res.body.resume();
    else if (!this.connecting && !this.finished) void this.connect();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.finished = true;
    this.res?.body.destroy();
    this.res = undefined;
    cb(err);
  }

  private async connect(): Promise<void> {
    this.connecting = true;
    const offset = this.hasher.size;
    try {
      if (offset > 0) this.opts.onResume?.(offset);
      const { ep, res } = await fetchBlob(this.x, this.ref, this.desc, offset, this.ep);
      if (this.finished) {
        res.body.destroy();
        return;
      }
      this.ep = ep;
      let skip = 0;
      if (res.status === 206) {
        const m = /^bytes (\d+)-/.exec(headerOf(res, 'content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          res.body.destroy();
          throw new BerthError('data-loss', `${this.what} ${this.desc.digest}: registry ${ep.host} answered a range starting at ${m ? m[1] : '(none)'}, asked for ${offset}`);
        }
      } else {
        skip = offset;
      }
      this.attach(res, skip);
    } catch (err) {
      this.fail(err);
    } finally {
      this.connecting = false;
    }
  }

  private attach(res: HttpResponse, skip: number): void {
    this.res = res;
    const before = this.hasher.size;
    let settled = false;
    const settle = (cut: Error | undefined): void => {
      if (settled) return;
      settled = true;
      this.res = undefined;
      if (this.finished) return;
      if (this.hasher.size > before) this.fruitless = 0;
      else this.fruitless++;
      if (cut === undefined) this.complete();
      else this.scheduleResume(cut);
    };
    res.body.on('data', (data: Buffer) => {
      if (settled || this.finished) return;
      let chunk = data;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      this.hasher.update(chunk);
      if (this.hasher.size > this.desc.size) {
        this.fail(sizeMismatch(this.what, this.desc.digest, this.hasher.size, this.desc.size));
        return;
      }
      this.opts.onProgress?.(this.hasher.size);
      if (!this.push(chunk)) res.body.pause();
    });
    res.body.on('end', () => settle(skip > 0 ? new Error('response ended before the resume offset') : undefined));
    res.body.on('error', (err) => settle(err));
    res.body.on('close', () => settle(new Error('connection closed mid-body')));
  }

  private complete(): void {
    const err = checkDigest(this.what, this.desc, this.hasher.size, this.hasher.digest());
    if (err) return this.fail(err);
    this.finished = true;
    this.push(null);
  }

  private scheduleResume(cut: Error): void {
    this.lastCut = cut.message;
    const { maxAttempts } = this.x.options;
    if (this.fruitless >= maxAttempts) {
      this.fail(new BerthError('unavailable', `${this.what} ${this.desc.digest} from ${this.ep?.host ?? this.ref.domain}: connection cut at ${this.hasher.size} of ${this.desc.size} bytes (${this.lastCut}); could not resume after ${maxAttempts} attempts`));
      return;
    }
    const delay = this.fruitless === 0 ? 0 : Math.min(this.x.options.backoffMs * 2 ** (this.fruitless - 1), this.x.options.maxBackoffMs);
    this.connecting = true;
    setTimeout(() => {
      this.connecting = false;
      if (!this.finished) void this.connect();
    }, delay);
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.res?.body.destroy();
    this.res = undefined;
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
