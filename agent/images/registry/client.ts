// The distribution-spec client behind RegistryClient (see ./types.ts for the contract): the
// request machinery of exchange.ts with the pull side (fetch.ts) and the push side (upload.ts).

import type { Readable } from 'node:stream';
import type { Descriptor, Digest, Reference } from '../../oci';
import { RegistryExchange } from './exchange';
import { fetchBlob, getBlob, getManifest, openBlob } from './fetch';
import type { Endpoint } from './hosts';
import { drain, type HttpResponse } from './http';
import type { BlobReadOptions, RegistryClient, ResolvedManifest } from './types';
import { hasBlob, mountBlob, putManifest, uploadBlob } from './upload';

export class DistributionClient extends RegistryExchange implements RegistryClient {
  // ---- pull side (fetch.ts) ----

  getManifest(ref: Reference, accept: readonly string[]): Promise<ResolvedManifest> {
    return getManifest(this, ref, accept);
  }

  getBlob(ref: Reference, desc: Descriptor, maxBytes: number): Promise<Buffer> {
    return getBlob(this, ref, desc, maxBytes);
  }

  openBlob(ref: Reference, desc: Descriptor, options: BlobReadOptions = {}): Readable {
    return openBlob(this, ref, desc, options);
  }

  fetchBlob(ref: Reference, desc: Descriptor, offset: number, ep?: Endpoint): Promise<{ ep: Endpoint; res: HttpResponse }> {
    return fetchBlob(this, ref, desc, offset, ep);
  }

  // ---- push side (upload.ts) ----

  hasBlob(ref: Reference, digest: Digest): Promise<boolean> {
    return hasBlob(this, ref, digest);
  }

  mountBlob(ref: Reference, digest: Digest, fromPath: string): Promise<boolean> {
    return mountBlob(this, ref, digest, fromPath);
  }

  uploadBlob(ref: Reference, desc: Descriptor, open: () => Readable, options: { chunkSize?: number; onProgress?: (sent: number) => void } = {}): Promise<void> {
    return uploadBlob(this, ref, desc, open, options);
  }

  putManifest(ref: Reference, mediaType: string, bytes: Buffer): Promise<Digest> {
    return putManifest(this, ref, mediaType, bytes);
  }

  async login(domain: string, username: string, password: string): Promise<void> {
    const ep = this.hosts.origin(domain);
    const credentials = { username, password };
    const res = await this.exchange({ ep, method: 'GET', target: '/v2/', scopes: [], subject: domain, credentials });
    drain(res);
    if (res.status !== 200) throw await this.statusError(ep, res, domain, 'login', credentials);
  }
}
