// The SQLite store's tables and the statements over them. Keys are stored as BLOBs of their
// UTF-8 bytes so that SQLite orders and ranges them byte-wise, exactly as etcd does (a TEXT
// column would compare equally but BLOB bounds are needed for the prefix end, which need not
// be valid UTF-8).

import type { Database, Statement } from 'better-sqlite3';
import { StoreError } from './types';

export const SCHEMA_VERSION = 1;

const SCHEMA = `
  -- The current value of every key.
  CREATE TABLE kv (
    key        BLOB PRIMARY KEY,
    value      BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev    INTEGER NOT NULL
  ) WITHOUT ROWID;
  -- One row per revision: what watches replay. For a delete, value is the deleted value and
  -- prev_value is NULL (it would be the same bytes twice).
  CREATE TABLE log (
    rev        INTEGER PRIMARY KEY,
    type       TEXT NOT NULL CHECK (type IN ('put', 'delete')),
    key        BLOB NOT NULL,
    value      BLOB NOT NULL,
    prev_value BLOB,
    create_rev INTEGER NOT NULL,
    at         INTEGER NOT NULL
  );
  -- Only for age-based compaction: finds the revisions older than the window without a scan.
  CREATE INDEX log_at ON log (at);
  -- The store revision lives here rather than being max(log.rev): the log is compacted away.
  CREATE TABLE meta (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    revision  INTEGER NOT NULL,
    compacted INTEGER NOT NULL
  );
  INSERT INTO meta (id, revision, compacted) VALUES (1, 0, 0);
`;

export interface KvRow {
  key: Buffer;
  value: Buffer;
  create_rev: number;
  mod_rev: number;
}

export interface LogRow {
  rev: number;
  type: 'put' | 'delete';
  key: Buffer;
  value: Buffer;
  prev_value: Buffer | null;
  create_rev: number;
}

export interface Meta {
  revision: number;
  compacted: number;
}

/** Keys under a prefix: `lo <= key < hi`, with no upper bound when `hi` is null. */
export interface KeyRange {
  lo: Buffer;
  hi: Buffer | null;
}

/** The byte range of a prefix: the end is the prefix with its last byte below 0xff incremented. */
export function prefixRange(prefix: string): KeyRange {
  const lo = Buffer.from(prefix, 'utf8');
  for (let i = lo.length - 1; i >= 0; i--) {
    if (lo[i]! < 0xff) {
      const hi = Buffer.from(lo.subarray(0, i + 1));
      hi[i]!++;
      return { lo, hi };
    }
  }
  return { lo, hi: null };
}

/** A statement in two forms, with and without the upper key bound, picked per range. */
class Ranged<T> {
  private readonly bounded: Statement<Record<string, unknown>, T>;
  private readonly open: Statement<Record<string, unknown>, T>;
  constructor(db: Database, sql: (keyFilter: string) => string) {
    this.bounded = db.prepare(sql('key >= @lo AND key < @hi'));
    this.open = db.prepare(sql('key >= @lo'));
  }
  all(range: KeyRange, params: Record<string, number> = {}): T[] {
    return range.hi ? this.bounded.all({ ...params, lo: range.lo, hi: range.hi }) : this.open.all({ ...params, lo: range.lo });
  }
}

export class Statements {
  readonly getKv: Statement<[Buffer], KvRow>;
  readonly insertKv: Statement<[Buffer, Buffer, number, number]>;
  readonly updateKv: Statement<[Buffer, number, Buffer]>;
  readonly deleteKv: Statement<[Buffer]>;
  readonly appendLog: Statement<[number, string, Buffer, Buffer, Buffer | null, number, number]>;
  readonly getMeta: Statement<[], Meta>;
  readonly setRevision: Statement<[number]>;
  readonly setCompacted: Statement<[number]>;
  readonly deleteLogUpTo: Statement<[number]>;
  readonly lastRevBefore: Statement<[number], { rev: number | null }>;
  readonly countLog: Statement<[], { n: number }>;
  readonly list: Ranged<KvRow>;
  /** Log rows after @after under the range, oldest first, at most @limit. */
  readonly logPage: Ranged<LogRow>;
  /** Whether any log row in (@after, @upto] falls under the range. */
  readonly anyLogIn: Ranged<{ one: number }>;

  constructor(db: Database) {
    this.getKv = db.prepare('SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?');
    this.insertKv = db.prepare('INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?, ?, ?, ?)');
    this.updateKv = db.prepare('UPDATE kv SET value = ?, mod_rev = ? WHERE key = ?');
    this.deleteKv = db.prepare('DELETE FROM kv WHERE key = ?');
    this.appendLog = db.prepare('INSERT INTO log (rev, type, key, value, prev_value, create_rev, at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.getMeta = db.prepare('SELECT revision, compacted FROM meta WHERE id = 1');
    this.setRevision = db.prepare('UPDATE meta SET revision = ? WHERE id = 1');
    this.setCompacted = db.prepare('UPDATE meta SET compacted = ? WHERE id = 1');
    this.deleteLogUpTo = db.prepare('DELETE FROM log WHERE rev <= ?');
    this.lastRevBefore = db.prepare('SELECT max(rev) AS rev FROM log WHERE at < ?');
    this.countLog = db.prepare('SELECT count(*) AS n FROM log');
    this.list = new Ranged(db, (f) => `SELECT key, value, create_rev, mod_rev FROM kv WHERE ${f} ORDER BY key`);
    this.logPage = new Ranged(db, (f) => `SELECT rev, type, key, value, prev_value, create_rev FROM log WHERE rev > @after AND ${f} ORDER BY rev LIMIT @limit`);
    this.anyLogIn = new Ranged(db, (f) => `SELECT 1 AS one FROM log WHERE rev > @after AND rev <= @upto AND ${f} LIMIT 1`);
  }
}

/** Create the tables on a new file; refuse a file written by a newer berth. */
export function migrate(db: Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version !== 0) {
    throw new StoreError('internal', `${file} has state store schema ${version}; this berth knows only ${SCHEMA_VERSION}`);
  }
  db.transaction(() => {
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
