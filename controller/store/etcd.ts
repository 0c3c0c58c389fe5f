// The distributed state store: etcd v3 through the `etcd3` client. etcd already has the store's
// shape (one revision, mod/create revisions, watch from a revision with the previous value), so
// this is a thin mapping: compare-and-swap writes are transactions, errors become StoreErrors.
//
// etcd's revision belongs to the whole cluster: with a namespace prefix, other namespaces'
// writes advance it too (revisions still only increase), a fresh cluster is at 1, not 0, and
// compact() forgets history for every namespace.

import { Etcd3, isRecoverableError, Range, type IEvent, type IKeyValue, type IOperation, type IOptions, type Namespace, type Watcher } from 'etcd3';
import { fencedOut, StoreError, type Fence, type KeyValue, type Store, type StoreEvent, type WatchCallbacks, type WatchHandle } from './types';
import { WatchSink } from './watch-sink';

export interface EtcdStoreOptions {
  /** Every key lives under this prefix in etcd (e.g. "/berth/"); the store's keys exclude it. */
  prefix?: string;
  /** Deadline of each request in ms. Default 10000. */
  timeoutMs?: number;
  /** Keys per request when listing. Default 500. */
  pageSize?: number;
  /** TLS to etcd: the CA that signed its serving certificate, and a client certificate if it asks for one. */
  tls?: { caPem: Buffer; certPem?: Buffer; keyPem?: Buffer };
}

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * etcd3 retries failed calls three times by default. A compare-and-swap that reached etcd but
 * lost its answer would then come back as `conflict` or `already-exists` for our own write;
 * without the retry it is `unavailable`, and the caller re-reads. (cockatiel's own `noop` would
 * do, but cockatiel is etcd3's dependency, not ours.)
 */
const noRetry = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown) => Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
  onSuccess: () => ({ dispose() {} }),
  onFailure: () => ({ dispose() {} }),
} as unknown as Policy;

export function openEtcdStore(endpoints: string[], options: EtcdStoreOptions = {}): Store {
  if (endpoints.length === 0) throw new StoreError('internal', 'etcd store: no endpoints given');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new StoreError('internal', `etcd store option pageSize must be a positive integer, not ${pageSize}`);
  const client = new Etcd3({
    hosts: endpoints,
    ...(options.tls ? { credentials: { rootCertificate: options.tls.caPem, ...(options.tls.keyPem ? { privateKey: options.tls.keyPem, certChain: options.tls.certPem! } : {}) } } : {}),
    // Streams (watches) live until closed; only unary calls get a deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    faultHandling: { global: noRetry },
  });
  return new EtcdStore(client, options.prefix ? client.namespace(options.prefix) : client, pageSize);
}

class EtcdStore implements Store {
  private readonly watches = new Set<WatchSink>();
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly ns: Namespace,
    private readonly pageSize: number,
  ) {}

  async revision(): Promise<number> {
    // Any read answers with the cluster revision in its header; a point read is the cheapest.
    const res = await this.call('revision', () => this.ns.get('\0').exec());
    return Number(res.header.revision);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(`get "${key}"`, () => this.ns.get(key).exec());
    const kv = res.kvs[0];
    return kv && toKeyValue(key, kv);
  }

  /**
   * In pages (one answer must stay under gRPC's 4 MiB message limit), each page read at the
   * first page's revision so the whole list is one snapshot. Should compaction pass that
   * revision between pages, the list starts over at the new current revision.
   */
  async list(prefix: string): Promise<{ items: KeyValue[]; revision: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.listOnce(prefix);
      } catch (err) {
        if (!(err instanceof StoreError && err.code === 'gone' && attempt < 3)) throw err;
      }
    }
  }

  private async listOnce(prefix: string): Promise<{ items: KeyValue[]; revision: number }> {
    const { start, end } = Range.prefix(prefix);
    const items: KeyValue[] = [];
    let from = start;
    let revision: string | undefined;
    for (;;) {
      const res = await this.call(`list "${prefix}"`, () => {
        const page = this.ns.getAll().inRange({ start: from, end }).limit(this.pageSize);
        return (revision ? page.revision(revision) : page).exec();
      });
      revision ??= res.header.revision;
      for (const kv of res.kvs) items.push(toKeyValue(kv.key.toString('utf8'), kv));
      const last = res.kvs.at(-1);
      if (!res.more || !last) return { items, revision: Number(revision) };
      // The smallest key after the last one seen.
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  async create(key: string, value: Buffer, fence?: Fence): Promise<number> {
    const what = `create "${key}"`;
    const res = await this.call(what, () => {
      let txn = this.ns.if(key, 'Create', '==', 0);
      if (fence) txn = txn.and(fence.key, 'Mod', '==', fence.modRevision);
      return txn.then(this.ns.put(key).value(value)).else(this.ns.get(key), ...(fence ? [this.ns.get(fence.key)] : [])).commit();
    });
    if (!res.succeeded) {
      if (fence) this.checkFence(what, fence, res.responses[1]?.response_range.kvs[0]);
      const cur = res.responses[0]?.response_range.kvs[0];
      throw new StoreError('already-exists', `key "${key}" already exists (created at revision ${cur?.create_revision ?? '?'})`);
    }
    return Number(res.header.revision);
  }

  async update(key: string, value: Buffer, expectedModRevision: number, fence?: Fence): Promise<number> {
    return this.casWrite(`update "${key}"`, key, expectedModRevision, fence, () => this.ns.put(key).value(value));
  }

  async delete(key: string, expectedModRevision?: number, fence?: Fence): Promise<number> {
    return this.casWrite(`delete "${key}"`, key, expectedModRevision, fence, () => this.ns.delete().key(key));
  }

  /** A failed fenced transaction: was it the fence? (Its compare is checked in the same transaction.) */
  private checkFence(what: string, fence: Fence, held: IKeyValue | undefined): void {
    const rev = held ? Number(held.mod_revision) : undefined;
    if (rev !== fence.modRevision) throw fencedOut(what, fence, rev);
  }

  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): WatchHandle {
    let watcher: Watcher | undefined;
    const sink: WatchSink = new WatchSink(prefix, callbacks, () => {
      this.watches.delete(sink);
      watcher?.cancel().catch(() => undefined);
    });
    this.watches.add(sink);
    let last = afterRevision;
    const start = async (): Promise<void> => {
      if (this.closed) throw new StoreError('unavailable', `watch "${prefix}": the store is closed`);
      await this.checkHistory(prefix, afterRevision);
      if (sink.closed) return;
      // watcher(), not create(): create() resolves a turn after etcd's "created" answer, and
      // events that arrive in that turn would reach no listener of ours.
      watcher = this.ns.watch().prefix(prefix).withPreviousKV().startRevision(String(afterRevision + 1)).watcher();
      watcher.on('data', (res) => {
        for (const ev of res.events) {
          const event = toEvent(ev);
          last = event.revision;
          if (!sink.deliver(event)) return;
        }
      });
      // etcd3 would reconnect and resume by itself, but it resumes from the last *header*
      // revision, which can run ahead of the events of a replay: not exactly-once. End the
      // watch instead; the caller resumes from the last revision it saw.
      watcher.on('disconnected', (err) => sink.fail(new StoreError('unavailable', `watch "${prefix}": lost the connection to etcd (${err.message})`, { cause: err })));
      // etcd cancels a watch whose start is compacted but etcd3 drops the reason: ask again.
      watcher.on('error', (err) => {
        watcher = undefined; // etcd3 has already dropped it: cancelling again would confuse it
        this.checkHistory(prefix, last)
          .then(() => sink.fail(new StoreError('internal', `watch "${prefix}": etcd ended it (${err.message})`, { cause: err })))
          .catch((e: unknown) => sink.fail(etcdError(e, `watch "${prefix}"`)));
      });
    };
    start().catch((err: unknown) => sink.fail(etcdError(err, `watch "${prefix}"`)));
    return sink;
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.call(`compact to revision ${revision}`, () => this.client.kv.compact({ revision, physical: false }));
    } catch (err) {
      // Already compacted that far: compaction is idempotent here, as in the SQLite store.
      if (err instanceof StoreError && err.code === 'gone') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const sink of [...this.watches]) sink.close();
    this.client.close();
  }

  // ---- helpers -------------------------------------------------------------------------------

  /**
   * Fails with `gone` when revisions after `after` are no longer all kept. etcd accepts a watch
   * starting at the compaction revision itself, but the contract says history up to and
   * including it is gone; a read at `after` fails exactly when `after` is below it. (A read at
   * a revision not yet reached fails too, harmlessly: nothing after it can have been compacted.)
   */
  private async checkHistory(prefix: string, after: number): Promise<void> {
    try {
      await this.call(`watch "${prefix}" from revision ${after}`, () => this.ns.get('\0').revision(Math.max(after, 1)).exec());
    } catch (err) {
      if (err instanceof StoreError && err.code === 'internal' && /future revision/.test(err.message)) return;
      throw err;
    }
  }

  /** update/delete: only if the key exists and, when given, still has `expected` as mod revision. */
  private async casWrite(what: string, key: string, expected: number | undefined, fence: Fence | undefined, op: () => IOperation): Promise<number> {
    const res = await this.call(what, () => {
      // Without the Create > 0 guard a missing key would pass "Mod == 0" and be created.
      let txn = this.ns.if(key, 'Create', '>', 0);
      if (expected !== undefined) txn = txn.and(key, 'Mod', '==', expected);
      if (fence) txn = txn.and(fence.key, 'Mod', '==', fence.modRevision);
      return txn.then(op()).else(this.ns.get(key), ...(fence ? [this.ns.get(fence.key)] : [])).commit();
    });
    if (res.succeeded) return Number(res.header.revision);
    if (fence) this.checkFence(what, fence, res.responses[1]?.response_range.kvs[0]);
    const cur = res.responses[0]?.response_range.kvs[0];
    if (!cur) throw new StoreError('not-found', `key "${key}" not found`);
    throw new StoreError('conflict', `key "${key}" was modified at revision ${cur.mod_revision}, not ${expected}`);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('unavailable', `${what}: the store is closed`);
    try {
      return await fn();
    } catch (err) {
      throw etcdError(err, what);
    }
  }
}

function toKeyValue(key: string, kv: IKeyValue): KeyValue {
  return { key, value: kv.value, createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision) };
}

function toEvent(ev: IEvent): StoreEvent {
  const prev = ev.prev_kv;
  if (ev.type === 'Delete') {
    // A delete's kv is a tombstone (no value, create revision 0); the deleted state is prev_kv.
    return { type: 'delete', key: ev.kv.key.toString('utf8'), value: prev?.value ?? Buffer.alloc(0), ...(prev && { prevValue: prev.value }), revision: Number(ev.kv.mod_revision), createRevision: Number(prev?.create_revision ?? 0) };
  }
  return { type: 'put', key: ev.kv.key.toString('utf8'), value: ev.kv.value, ...(prev && { prevValue: prev.value }), revision: Number(ev.kv.mod_revision), createRevision: Number(ev.kv.create_revision) };
}

/** Compacted history is `gone`; no answer from etcd (down, unreachable, too slow) is `unavailable`. */
function etcdError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  if (/required revision has been compacted/.test(e.message)) return new StoreError('gone', `${what}: etcd history was compacted`, { cause: e });
  if (isRecoverableError(e) || e.name === 'BrokenCircuitError' || /UNAVAILABLE|DEADLINE_EXCEEDED|No connection established|deadline/i.test(e.message)) {
    return new StoreError('unavailable', `${what}: etcd unavailable (${e.message})`, { cause: e });
  }
  return new StoreError('internal', `${what}: ${e.message}`, { cause: e });
}
