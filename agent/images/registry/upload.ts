// The push side of the distribution client, always against the registry itself (never a
// mirror): blob existence, cross-repository mounts, uploads (monolithic, or PATCH chunks above
// the chunk size, verified as they stream), and manifests.

import { Transform, type Readable } from 'node:stream';
import { BerthError } from '../../../proto/errors';
import {
  checkDigest, type Descriptor, type Digest, formatReference, Hasher, manifestSelector, type Reference,
  sha256, sizeMismatch,
} from '../../oci';
import { repositoryScope } from './auth';
import { blobKind, type RegistryExchange } from './exchange';
import type { Endpoint } from './hosts';
import { drain, headerOf } from './http';

export async function hasBlob(x: RegistryExchange, ref: Reference, digest: Digest): Promise<boolean> {
  const ep = x.hosts.origin(ref.domain);
  const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${digest}`;
  const res = await x.exchange({ ep, method: 'HEAD', target: `/v2/${ref.path}/blobs/${digest}`, scopes: [repositoryScope(ref.path, 'pull')], subject });
  drain(res);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await x.statusError(ep, res, subject, 'blob');
}

export async function mountBlob(x: RegistryExchange, ref: Reference, digest: Digest, fromPath: string): Promise<boolean> {
  const ep = x.hosts.origin(ref.domain);
  const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${digest}`;
  const query = new URLSearchParams({ mount: digest, from: fromPath });
  const scopes = [repositoryScope(ref.path, 'pull,push'), repositoryScope(fromPath, 'pull')];
  const res = await x.exchange({ ep, method: 'POST', target: `/v2/${ref.path}/blobs/uploads/?${query}`, body: () => Buffer.alloc(0), scopes, subject });
  if (res.status === 201) {
    drain(res);
    return true;
  }
  if (res.status === 202) {
    // The registry could not mount and opened an upload session instead: give it back.
    drain(res);
    const location = headerOf(res, 'location');
    if (location) await cancelUpload(x, ep, new URL(location, res.url), scopes, subject);
    return false;
  }
  throw await x.statusError(ep, res, subject, 'blob');
}

export async function uploadBlob(x: RegistryExchange, ref: Reference, desc: Descriptor, open: () => Readable, options: { chunkSize?: number; onProgress?: (sent: number) => void } = {}): Promise<void> {
  const ep = x.hosts.origin(ref.domain);
  const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${desc.digest}`;
  const scopes = [repositoryScope(ref.path, 'pull,push')];
  const chunkSize = options.chunkSize ?? x.options.chunkSize;
  const what = blobKind(desc);
  let location = await startUpload(x, ep, ref, scopes, subject);

  try {
    if (desc.size <= chunkSize) {
      const res = await x.exchange({
        ep, method: 'PUT', target: withDigest(location, desc.digest), scopes, subject,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: () => open().pipe(verifyingCounter(what, desc, options.onProgress)),
      });
      if (res.status !== 201) throw await x.statusError(ep, res, subject, 'upload');
      drain(res);
      return;
    }

    const hasher = new Hasher();
    let pending: Buffer[] = [];
    let pendingSize = 0;
    let sent = 0;
    const flush = async (): Promise<void> => {
      const chunk = Buffer.concat(pending);
      pending = [];
      pendingSize = 0;
      const res = await x.exchange({
        ep, method: 'PATCH', target: location, scopes, subject,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${sent}-${sent + chunk.length - 1}` },
        body: () => chunk,
      });
      if (res.status !== 202) throw await x.statusError(ep, res, subject, 'upload');
      drain(res);
      sent += chunk.length;
      const next = headerOf(res, 'location');
      if (next) location = new URL(next, res.url);
      options.onProgress?.(sent);
    };
    for await (const data of open() as AsyncIterable<Buffer>) {
      hasher.update(data);
      if (hasher.size > desc.size) throw sizeMismatch(what, desc.digest, hasher.size, desc.size);
      let rest = data;
      while (pendingSize + rest.length >= chunkSize) {
        const take = chunkSize - pendingSize;
        pending.push(rest.subarray(0, take));
        pendingSize += take;
        rest = rest.subarray(take);
        await flush();
      }
      if (rest.length > 0) {
        pending.push(rest);
        pendingSize += rest.length;
      }
    }
    if (pendingSize > 0) await flush();
    const mismatch = checkDigest(what, desc, hasher.size, hasher.digest());
    if (mismatch) throw mismatch;
    const res = await x.exchange({ ep, method: 'PUT', target: withDigest(location, desc.digest), scopes, subject, body: () => Buffer.alloc(0) });
    if (res.status !== 201) throw await x.statusError(ep, res, subject, 'upload');
    drain(res);
  } catch (err) {
    await cancelUpload(x, ep, location, scopes, subject);
    throw err;
  }
}

export async function putManifest(x: RegistryExchange, ref: Reference, mediaType: string, bytes: Buffer): Promise<Digest> {
  const digest = sha256(bytes);
  if (ref.digest !== undefined && ref.digest !== digest) {
    throw new BerthError('invalid-argument', `manifest for ${formatReference(ref)} hashes to ${digest}, not the reference's digest`);
  }
  const ep = x.hosts.origin(ref.domain);
  const subject = formatReference(ref);
  const res = await x.exchange({
    ep, method: 'PUT', target: `/v2/${ref.path}/manifests/${manifestSelector(ref)}`,
    headers: { 'content-type': mediaType }, body: () => bytes, scopes: [repositoryScope(ref.path, 'pull,push')], subject,
  });
  if (res.status !== 201 && res.status !== 200) throw await x.statusError(ep, res, subject, 'manifest');
  drain(res);
  return digest;
}

async function startUpload(x: RegistryExchange, ep: Endpoint, ref: Reference, scopes: readonly string[], subject: string): Promise<URL> {
  const res = await x.exchange({ ep, method: 'POST', target: `/v2/${ref.path}/blobs/uploads/`, body: () => Buffer.alloc(0), scopes, subject });
  if (res.status !== 202) throw await x.statusError(ep, res, subject, 'upload');
  drain(res);
  const location = headerOf(res, 'location');
  if (!location) throw new BerthError('unavailable', `registry ${ep.host} opened an upload for ${subject} without a Location`);
  return new URL(location, res.url);
}

async function cancelUpload(x: RegistryExchange, ep: Endpoint, location: URL, scopes: readonly string[], subject: string): Promise<void> {
  try {
    const res = await x.exchange({ ep, method: 'DELETE', target: location, scopes, subject });
    drain(res);
  } catch {
    // Best effort: an abandoned session is collected by the registry.
  }
}

function withDigest(location: URL, digest: Digest): URL {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u;
}

/** Counts (onProgress) and verifies bytes being uploaded; a source that lies fails the upload. */
function verifyingCounter(what: string, desc: Descriptor, onProgress?: (sent: number) => void): Transform {
  const hasher = new Hasher();
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hasher.update(chunk);
      if (hasher.size > desc.size) return done(sizeMismatch(what, desc.digest, hasher.size, desc.size));
      onProgress?.(hasher.size);
      done(null, chunk);
    },
    flush(done) {
      done(checkDigest(what, desc, hasher.size, hasher.digest()));
    },
  });
}
