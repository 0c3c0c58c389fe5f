// The content store: blobs (layers, configs, manifests) by digest.
//
// Invariant: a blob is visible under a digest only if its bytes hash to that digest. Writers go
// through an Ingest: bytes land in a private file under ingest/, are hashed and counted as they
// arrive, fsynced, and renamed into blobs/ by `commit` only after the digest and size check. A
// crash at any moment leaves at most a stray ingest file, never a wrong blob; stray ingests are
// removed when the store opens. The agent's own spools (a layer it wrote and hashed as it wrote
// it) are handed over by `adopt`, which fsyncs and renames them in the same way instead of
// copying every byte again.

import type { Readable } from 'node:stream';
import type { Digest } from '../oci';

export interface ContentReader {
  /** Size of the blob, or undefined when absent. */
  size(digest: Digest): Promise<number | undefined>;
  /** Read a whole (small) blob. Throws not-found when absent. */
  read(digest: Digest): Promise<Buffer>;
  /** Stream a blob. Throws not-found when absent. */
  open(digest: Digest): Readable;
  /** Path of the committed blob on disk, for zero-copy consumers. */
  pathOf(digest: Digest): string;
}

export interface Ingest {
  /** Append bytes (hashing as they go). */
  write(chunk: Buffer): Promise<void>;
  /** Verify digest and size, fsync, and make the blob visible. Idempotent if the blob already exists. */
  commit(): Promise<void>;
  /** Discard the partial write. Safe to call after commit (no-op). */
  abort(): Promise<void>;
}

export interface ContentStore extends ContentReader {
  /** Start writing a blob that must hash to `digest` (and be `size` bytes when given). */
  ingest(digest: Digest, size?: number): Promise<Ingest>;
  /**
   * Make `file` the blob `digest`: a private file of the agent's whose bytes the caller hashed as
   * it wrote them (and does not touch again). Its size is checked, it is fsynced and renamed into
   * the store; from another filesystem it is copied through an ingest (hashed again). The file is
   * gone afterwards, also when this fails. A blob already there is kept.
   */
  adopt(file: string, digest: Digest, size: number): Promise<void>;
  /** Write a whole buffer as a blob, verified against `digest` when given. Returns the digest. */
  put(bytes: Buffer, digest?: Digest): Promise<Digest>;
  delete(digest: Digest): Promise<void>;
  list(): Promise<Digest[]>;
}
