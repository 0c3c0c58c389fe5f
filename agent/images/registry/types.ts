// The registry client: an OCI distribution-spec client for one agent.
//
// It turns a Reference into HTTP requests against the right endpoint (mirrors first, then the
// registry itself), authenticates (Bearer token from the WWW-Authenticate challenge, or Basic),
// retries 429/5xx with back-off, and verifies every byte it returns against the digest the caller
// asked for - never a digest a response header claims. Credentials are sent only to the host they
// belong to, never across a redirect to another host.

import type { Readable } from 'node:stream';
import type { Descriptor, Digest, Reference } from '../../oci';
import type { Credentials } from './credentials';

export interface RegistryOptions {
  /** Hosts (host[:port]) that may be spoken to over plain HTTP, besides loopback. */
  insecureRegistries?: string[];
  /** Path of a k3s-format registries.yaml (mirrors, and per-host auth/tls). Optional. */
  registriesConfig?: string;
  /** Extra docker config.json files to read `auths` from, in order (berth login's file first). */
  authFiles?: string[];
  /** Largest manifest or index accepted, bytes. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Attempts for one request on 429/5xx/connection errors before giving up. Default 5. */
  maxAttempts?: number;
  /** First back-off delay in ms (doubles each attempt, with jitter). Default 200. */
  backoffMs?: number;
}

export interface ResolvedManifest {
  /** Descriptor of the document: digest computed over the bytes received, media type from the document. */
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface BlobReadOptions {
  /** Called when a cut connection is being resumed with a Range request. */
  onResume?: (offset: number) => void;
  /** Called with the number of bytes received so far. */
  onProgress?: (received: number) => void;
}

export interface RegistryClient {
  /**
   * GET the manifest or index a reference names (by tag or digest), with an Accept header for
   * `accept`. A reference with a digest is verified against it. The document's mediaType must be
   * one of `accept`; a size past maxManifestBytes is refused.
   */
  getManifest(ref: Reference, accept: readonly string[]): Promise<ResolvedManifest>;
  /** GET a small blob (a config) whole, verified against desc.digest and desc.size. */
  getBlob(ref: Reference, desc: Descriptor, maxBytes: number): Promise<Buffer>;
  /**
   * Stream a blob. The stream resumes with HTTP Range after a cut connection (in the same
   * stream, transparently), and errors with 'data-loss' if the bytes do not hash to desc.digest
   * or their count is not desc.size. Consumers must not trust data until the stream ends cleanly.
   */
  openBlob(ref: Reference, desc: Descriptor, options?: BlobReadOptions): Readable;
  /** HEAD a blob in ref's repository. */
  hasBlob(ref: Reference, digest: Digest): Promise<boolean>;
  /** Try a cross-repository mount from `fromPath` (same registry); true if the registry mounted it. */
  mountBlob(ref: Reference, digest: Digest, fromPath: string): Promise<boolean>;
  /** Upload a blob: monolithic for small blobs, chunked (PATCH) above chunkSize. */
  uploadBlob(ref: Reference, desc: Descriptor, open: () => Readable, options?: { chunkSize?: number; onProgress?: (sent: number) => void }): Promise<void>;
  /** PUT a manifest under ref's tag (or digest). Returns the digest of the bytes sent. */
  putManifest(ref: Reference, mediaType: string, bytes: Buffer): Promise<Digest>;
  /** Check credentials against the registry's /v2/ endpoint (berth login). */
  login(domain: string, username: string, password: string): Promise<void>;
  /**
   * The same client for one pull, trying these credentials (by registry host) before the
   * configured ones: a pod's imagePullSecrets, used for its pulls only.
   */
  withCredentials(credentials: ReadonlyMap<string, Credentials>): RegistryClient;
}
