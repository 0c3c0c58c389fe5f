// The controller's state store: a key-value store with one global, monotonically increasing
// revision, in the shape of etcd's v3 API (which Kubernetes' resourceVersion is built on).
//
// Lifecycle and contract, the same for every implementation (SQLite embedded, etcd):
// - Every successful write (create, update, delete) gets the next revision; a key's
//   `modRevision` is the revision of its last write and `createRevision` of its creation.
// - Writes are compare-and-swap: `update` and `delete` name the `modRevision` they were based on
//   and fail with a `conflict` StoreError when the key has moved on, `create` fails with
//   `already-exists` when the key is there. Nothing is ever overwritten blindly.
// - `watch(prefix, afterRevision)` delivers every change to keys under the prefix whose revision
//   is greater than `afterRevision`, each exactly once, in revision order, then keeps delivering
//   live changes until closed. When `afterRevision` is older than the oldest revision kept
//   (compacted), the watch fails with a `gone` StoreError and the caller relists.
// - `list(prefix)` returns the keys under the prefix and the store revision it was read at, so
//   list-then-watch-from-that-revision misses nothing and sees nothing twice.
// - Values are opaque bytes to the store (the API layer keeps JSON documents in them).
// - A write may carry a fence: it happens only if the fence key's modRevision is still the one
//   given, in the same transaction, else it fails with `failed-precondition`. The leader fences
//   its controllers' writes with its lease, so that a deposed leader's late write is refused by
//   the store itself, whatever its own clock believes.

import { BerthError, type ErrorCode } from '../../proto/errors';

export interface KeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

export type WatchEventType = 'put' | 'delete';

export interface StoreEvent {
  type: WatchEventType;
  key: string;
  /** The value after the change; for a delete, the value before it. */
  value: Buffer;
  /** For a put of an existing key, and for a delete: the value before the change. */
  prevValue?: Buffer;
  /** The revision of this change (for a delete: the revision of the deletion). */
  revision: number;
  createRevision: number;
}

export interface WatchHandle {
  /** Stop delivering events; idempotent. */
  close(): void;
}

export interface WatchCallbacks {
  /** Called once per change, in revision order, never concurrently. */
  onEvent(event: StoreEvent): void;
  /** The watch ended for a reason other than close(): `gone` (compacted) or `unavailable`. */
  onError(err: Error): void;
}

/** Write only while `key` still has `modRevision` (the leader's lease as it last renewed it). */
export interface Fence {
  key: string;
  modRevision: number;
}

export interface Store {
  /** The current revision of the whole store (0 when nothing was ever written). */
  revision(): Promise<number>;
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys under `prefix` in key order, read at one revision. */
  list(prefix: string): Promise<{ items: KeyValue[]; revision: number }>;
  /** Fails with `already-exists` when the key exists. Returns the new revision. */
  create(key: string, value: Buffer, fence?: Fence): Promise<number>;
  /** Fails with `not-found` when absent, `conflict` when modRevision moved on. Returns the new revision. */
  update(key: string, value: Buffer, expectedModRevision: number, fence?: Fence): Promise<number>;
  /**
   * Deletes the key; with `expectedModRevision`, only if it still has it (else `conflict`).
   * Fails with `not-found` when absent. Returns the revision of the deletion.
   */
  delete(key: string, expectedModRevision?: number, fence?: Fence): Promise<number>;
  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): WatchHandle;
  /** Forget history up to and including `revision`: watches from before it then fail with `gone`. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type StoreErrorCode = Extract<ErrorCode, 'already-exists' | 'not-found' | 'conflict' | 'failed-precondition' | 'gone' | 'unavailable' | 'internal'>;

/** The refusal of a fenced write. */
export function fencedOut(what: string, fence: Fence, current: number | undefined): StoreError {
  return new StoreError('failed-precondition', `${what}: fenced: ${fence.key} is at revision ${current ?? '(deleted)'}, not ${fence.modRevision} (this controller no longer holds it)`);
}

/** A store failure, in the shared vocabulary: `unavailable` reaches a client as UNAVAILABLE as it is. */
export class StoreError extends BerthError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}
