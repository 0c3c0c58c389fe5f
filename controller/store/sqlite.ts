// The embedded state store: one SQLite file (better-sqlite3, WAL) with the current keys and an
// event log keyed by revision. Watches read that log: a watch replays it from its revision and
// is woken after each committed write to read on, so replay and live delivery are one path and
// nothing is skipped or seen twice at the hand-over.
//
// One process owns the file: watches are woken in-process, so writes made by another process
// would reach this one's watchers only when a later local write wakes them.

import Database from 'better-sqlite3';
import { migrate, prefixRange, Statements, type KeyRange, type KvRow, type LogRow } from './sqlite-schema';
import { fencedOut, StoreError, type Fence, type KeyValue, type Store, type StoreEvent, type WatchCallbacks, type WatchHandle } from './types';
import { WatchSink } from './watch-sink';

export interface SqliteStoreOptions {
  /**
   * How much history watches can resume from; older history is compacted as writes arrive, so
   * the log does not grow forever. Default: the last 10000 revisions, whatever their age.
   * An object sets either or both limits (an unset one is unlimited); 'all' keeps everything.
   */
  history?: { revisions?: number; maxAgeMs?: number } | 'all';
  /** The clock for `maxAgeMs`. Default Date.now. */
  now?: () => number;
}

interface Config {
  keepRevisions: number;
  maxAgeMs: number;
  now: () => number;
}

export const DEFAULT_HISTORY_REVISIONS = 10_000;
/** Log rows a watch reads per turn of the event loop, so a long replay does not starve writers. */
const PAGE = 256;

function compile(options: SqliteStoreOptions): Config {
  const h = options.history ?? { revisions: DEFAULT_HISTORY_REVISIONS };
  const limit = (name: string, v: number | undefined): number => {
    if (v === undefined) return Infinity;
    if (!Number.isInteger(v) || v < 1) throw new StoreError('internal', `sqlite store option history.${name} must be a positive integer, not ${v}`);
    return v;
  };
  return {
    keepRevisions: h === 'all' ? Infinity : limit('revisions', h.revisions),
    maxAgeMs: h === 'all' ? Infinity : limit('maxAgeMs', h.maxAgeMs),
    now: options.now ?? Date.now,
  };
}

/** Open (creating if needed) the store in the SQLite file at `path`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  const config = compile(options);
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // FULL: a write the API acknowledged must survive power loss, not only a crash.
    db.pragma('synchronous = FULL');
    migrate(db, path);
    return new SqliteStore(db, path, config);
  } catch (err) {
    db?.close();
    throw sqliteError(err, `open ${path}`);
  }
}

interface SqliteWatch {
  sink: WatchSink;
  prefix: Buffer;
  range: KeyRange;
  /** Every change under the prefix up to this revision has been delivered (or there was none). */
  cursor: number;
  /** A change under the prefix may be in the log after `cursor`; false only once caught up. */
  pending: boolean;
  scheduled: boolean;
}

class SqliteStore implements Store {
  private readonly sql: Statements;
  private readonly watches = new Set<SqliteWatch>();
  /** Mirrors of meta, refreshed after every commit, for the watches' reads between writes. */
  private rev: number;
  private compacted: number;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly config: Config,
  ) {
    this.sql = new Statements(db);
    ({ revision: this.rev, compacted: this.compacted } = this.sql.getMeta.get()!);
  }

  async revision(): Promise<number> {
    this.checkOpen('revision');
    return this.rev;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return this.run(`get "${key}"`, () => {
      const row = this.sql.getKv.get(Buffer.from(key));
      return row && toKeyValue(row);
    });
  }

  async list(prefix: string): Promise<{ items: KeyValue[]; revision: number }> {
    return this.run(`list "${prefix}"`, () =>
      this.db.transaction(() => ({
        items: this.sql.list.all(prefixRange(prefix)).map(toKeyValue),
        revision: this.sql.getMeta.get()!.revision,
      }))(),
    );
  }

  async create(key: string, value: Buffer, fence?: Fence): Promise<number> {
    return this.write(`create "${key}"`, key, fence, (kb, rev, cur) => {
      if (cur) throw new StoreError('already-exists', `key "${key}" already exists (created at revision ${cur.create_rev})`);
      this.sql.insertKv.run(kb, value, rev, rev);
      return { type: 'put', value, prev: null, createRev: rev };
    });
  }

  async update(key: string, value: Buffer, expectedModRevision: number, fence?: Fence): Promise<number> {
    return this.write(`update "${key}"`, key, fence, (kb, rev, cur) => {
      if (!cur) throw new StoreError('not-found', `key "${key}" not found`);
      checkModRevision(key, cur, expectedModRevision);
      this.sql.updateKv.run(value, rev, kb);
      return { type: 'put', value, prev: cur.value, createRev: cur.create_rev };
    });
  }

  async delete(key: string, expectedModRevision?: number, fence?: Fence): Promise<number> {
    return this.write(`delete "${key}"`, key, fence, (kb, _rev, cur) => {
      if (!cur) throw new StoreError('not-found', `key "${key}" not found`);
      if (expectedModRevision !== undefined) checkModRevision(key, cur, expectedModRevision);
      this.sql.deleteKv.run(kb);
      return { type: 'delete', value: cur.value, prev: null, createRev: cur.create_rev };
    });
  }

  watch(prefix: string, afterRevision: number, callbacks: WatchCallbacks): WatchHandle {
    const w: SqliteWatch = {
      sink: new WatchSink(prefix, callbacks, () => this.watches.delete(w)),
      prefix: Buffer.from(prefix),
      range: prefixRange(prefix),
      cursor: afterRevision,
      pending: true,
      scheduled: false,
    };
    this.watches.add(w);
    if (this.closed) setImmediate(() => w.sink.fail(new StoreError('unavailable', `watch "${prefix}": the store ${this.path} is closed`)));
    else this.schedule(w);
    return w.sink;
  }

  async compact(revision: number): Promise<void> {
    return this.run(`compact to revision ${revision}`, () => {
      const compacted = this.db.transaction(() => {
        const meta = this.sql.getMeta.get()!;
        if (revision > meta.revision) {
          throw new StoreError('internal', `cannot compact to revision ${revision}: the store is only at ${meta.revision}`);
        }
        if (revision > meta.compacted) this.compactInTx(revision);
        return Math.max(revision, meta.compacted);
      }).immediate();
      this.compacted = compacted;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The owner is shutting down: its watches end without an error (they are not `unavailable`).
    for (const w of [...this.watches]) w.sink.close();
    this.db.close();
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * One write in one transaction: `apply` checks the current row and changes kv; the log row,
   * the revision and any automatic compaction go in with it. Watches are woken after commit.
   */
  private write(what: string, key: string, fence: Fence | undefined, apply: (kb: Buffer, rev: number, cur: KvRow | undefined) => { type: 'put' | 'delete'; value: Buffer; prev: Buffer | null; createRev: number }): Promise<number> {
    return this.run(what, () => {
      const kb = Buffer.from(key);
      const { rev, compacted } = this.db.transaction(() => {
        if (fence) {
          const held = this.sql.getKv.get(Buffer.from(fence.key))?.mod_rev;
          if (held !== fence.modRevision) throw fencedOut(what, fence, held);
        }
        const meta = this.sql.getMeta.get()!;
        const rev = meta.revision + 1;
        const e = apply(kb, rev, this.sql.getKv.get(kb));
        const now = this.config.now();
        this.sql.appendLog.run(rev, e.type, kb, e.value, e.prev, e.createRev, now);
        this.sql.setRevision.run(rev);
        const target = this.autoCompactTarget(rev, now);
        if (target > meta.compacted) this.compactInTx(target);
        return { rev, compacted: Math.max(target, meta.compacted) };
      }).immediate();
      this.rev = rev;
      this.compacted = compacted;
      for (const w of this.watches) {
        if (kb.subarray(0, w.prefix.length).equals(w.prefix)) {
          w.pending = true;
          this.schedule(w);
        }
      }
      return rev;
    });
  }

  private autoCompactTarget(rev: number, now: number): number {
    let target = rev - this.config.keepRevisions;
    if (this.config.maxAgeMs !== Infinity) target = Math.max(target, this.sql.lastRevBefore.get(now - this.config.maxAgeMs)?.rev ?? 0);
    return target;
  }

  /**
   * Drop the log up to `target`. A watch still behind it stays behind (and fails with `gone` on
   * its next read) only if it really has undelivered changes there; one whose prefix was quiet
   * moves past, so a watch on a rarely written prefix is not failed by other prefixes' traffic.
   */
  private compactInTx(target: number): void {
    for (const w of this.watches) {
      if (w.cursor >= target) continue;
      if (!w.pending || this.sql.anyLogIn.all(w.range, { after: w.cursor, upto: target }).length === 0) w.cursor = target;
    }
    this.sql.deleteLogUpTo.run(target);
    this.sql.setCompacted.run(target);
  }

  // ---- watches -------------------------------------------------------------------------------

  private schedule(w: SqliteWatch): void {
    if (w.scheduled || w.sink.closed) return;
    w.scheduled = true;
    // Always a later turn: onEvent never runs inside the caller's write or watch() call.
    setImmediate(() => this.pump(w));
  }

  /** Deliver the next page of the log under the watch's prefix. */
  private pump(w: SqliteWatch): void {
    w.scheduled = false;
    if (w.sink.closed) return;
    if (w.cursor < this.compacted) {
      w.sink.fail(new StoreError('gone', `watch "${w.sink.prefix}" from revision ${w.cursor}: history up to revision ${this.compacted} was compacted`));
      return;
    }
    let rows: LogRow[];
    const readAt = this.rev;
    try {
      rows = this.sql.logPage.all(w.range, { after: w.cursor, limit: PAGE });
    } catch (err) {
      w.sink.fail(sqliteError(err, `watch "${w.sink.prefix}"`));
      return;
    }
    const caughtUp = rows.length < PAGE;
    // Cleared before delivering: a write made from inside onEvent sets it again.
    if (caughtUp) w.pending = false;
    else this.schedule(w);
    for (const row of rows) {
      // max: a compaction run by a write from inside onEvent may have moved the cursor on.
      w.cursor = Math.max(w.cursor, row.rev);
      if (!w.sink.deliver(toEvent(row))) return;
    }
    if (caughtUp) w.cursor = Math.max(w.cursor, readAt);
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private checkOpen(what: string): void {
    if (this.closed) throw new StoreError('unavailable', `${what}: the store ${this.path} is closed`);
  }

  private async run<T>(what: string, fn: () => T): Promise<T> {
    this.checkOpen(what);
    try {
      return fn();
    } catch (err) {
      throw sqliteError(err, what);
    }
  }
}

function checkModRevision(key: string, cur: KvRow, expected: number): void {
  if (cur.mod_rev !== expected) {
    throw new StoreError('conflict', `key "${key}" was modified at revision ${cur.mod_rev}, not ${expected}`);
  }
}

function toKeyValue(row: KvRow): KeyValue {
  return { key: row.key.toString('utf8'), value: row.value, createRevision: row.create_rev, modRevision: row.mod_rev };
}

function toEvent(row: LogRow): StoreEvent {
  const event: StoreEvent = { type: row.type, key: row.key.toString('utf8'), value: row.value, revision: row.rev, createRevision: row.create_rev };
  if (row.type === 'delete') event.prevValue = row.value;
  else if (row.prev_value) event.prevValue = row.prev_value;
  return event;
}

/** StoreErrors pass through; a busy database is `unavailable` (retry), anything else `internal`. */
function sqliteError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return new StoreError('unavailable', `${what}: database busy (${message})`, { cause: err });
  return new StoreError('internal', `${what}: ${message}`, { cause: err });
}
