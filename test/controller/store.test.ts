// The state store contract (controller/store/types.ts), one suite run against both
// implementations, each test on a fresh store: embedded SQLite in a test directory, and a real
// etcd (test/fixtures/etcd.ts) with a namespace of its own. Then what only one of them has:
// SQLite's reopen and automatic compaction, etcd's namespaces and lost connections.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { openEtcdStore, openSqliteStore, openStore, StoreError, type Store, type StoreEvent, type WatchHandle } from '../../controller/store';
import { startEtcd } from '../fixtures/etcd';

const v = (s: string): Buffer => Buffer.from(s);
const uniquePrefix = (): string => `/berth-test-${process.pid}-${randomBytes(4).toString('hex')}/`;

/** Close the store when the test ends, pass or fail. */
function closing(t: Test, store: Store): Store {
  t.teardown(() => store.close());
  return store;
}

// ---- watching --------------------------------------------------------------------------------

/** Keys the tests write only to learn that a watch has delivered everything before them. */
const SYNC = '~sync';

/**
 * Records what a watch delivers and checks on the way that callbacks never overlap and that
 * nothing arrives after close() or after an error.
 */
class Recorder {
  readonly events: StoreEvent[] = [];
  readonly errors: StoreError[] = [];
  readonly violations: string[] = [];
  readonly handle: WatchHandle;
  private inside = false;
  private closed = false;
  private wake: () => void = () => {};

  constructor(private readonly store: Store, readonly prefix: string, readonly after: number) {
    const enter = (what: string): void => {
      if (this.inside) this.violations.push(`${what} while another callback ran`);
      if (this.closed) this.violations.push(`${what} after close()`);
      if (this.errors.length > 0) this.violations.push(`${what} after onError`);
    };
    this.handle = store.watch(prefix, after, {
      onEvent: (e) => {
        enter(`onEvent(${e.revision})`);
        this.inside = true;
        this.events.push(e);
        this.inside = false;
        this.wake();
      },
      onError: (err) => {
        enter(`onError(${err.message})`);
        this.errors.push(err as StoreError);
        this.wake();
      },
    });
  }

  close(): void {
    this.handle.close();
    this.closed = true;
  }

  revisions(): number[] {
    return this.events.map((e) => e.revision);
  }

  /** What was delivered, without the sync markers, as [type, key, revision]. */
  changes(): [string, string, number][] {
    return this.events.filter((e) => !e.key.includes(SYNC)).map((e) => [e.type, e.key, e.revision]);
  }

  async until(done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.events.map((e) => `${e.type} ${e.key}@${e.revision}`).join(', ');
        throw new Error(`watch "${this.prefix}" from ${this.after}: no ${what} after ${timeoutMs} ms; saw [${seen}], errors [${this.errors.map((e) => e.message).join('; ')}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  untilEvents(n: number): Promise<void> {
    return this.until(() => this.events.length >= n || this.errors.length > 0, `${n} events`);
  }

  untilError(): Promise<void> {
    return this.until(() => this.errors.length > 0, 'error');
  }

  /**
   * Write a marker under the prefix and wait for it: delivery is in order, so everything before
   * it has then arrived, and anything missing or repeated shows in `changes()`.
   */
  async sync(): Promise<void> {
    const rev = await this.store.create(`${this.prefix}${SYNC}-${randomBytes(4).toString('hex')}`, v(''));
    await this.until(() => this.events.some((e) => e.revision >= rev) || this.errors.length > 0, `marker at revision ${rev}`);
  }

  /** No errors, no broken callback rules. */
  clean(t: Test): void {
    t.same(this.errors.map((e) => e.message), [], `watch "${this.prefix}" from ${this.after}: no errors`);
    t.same(this.violations, [], `watch "${this.prefix}" from ${this.after}: callbacks kept the rules`);
  }
}

function recorder(t: Test, store: Store, prefix: string, after: number): Recorder {
  const r = new Recorder(store, prefix, after);
  t.teardown(() => r.close());
  return r;
}

// ---- the contract ----------------------------------------------------------------------------

type StoreFactory = (t: Test) => Promise<Store>;

function storeContract(t: Test, open: StoreFactory): void {
  t.test('fenced writes happen only while the fence key is at its revision', async (t) => {
    const s = await open(t);
    const held = await s.create('lease', v('mine'));
    const fence = { key: 'lease', modRevision: held };
    const r1 = await s.create('a', v('1'), fence);
    const r2 = await s.update('a', v('2'), r1, fence);
    t.ok(r2 > r1, 'writes under a current fence land');
    // Someone else takes the lease: every write under the old fence is refused, nothing changes.
    const taken = await s.update('lease', v('theirs'), held);
    const refused = { name: 'StoreError', code: 'failed-precondition', message: new RegExp(`fenced: lease is at revision ${taken}, not ${held} \\(this controller no longer holds it\\)$`) };
    await t.rejects(s.create('b', v('1'), fence), refused, 'create');
    await t.rejects(s.update('a', v('3'), r2, fence), refused, 'update');
    await t.rejects(s.delete('a', r2, fence), refused, 'delete');
    t.equal(await s.get('b'), undefined);
    t.strictSame((await s.get('a'))?.value, v('2'));
    t.equal(await s.revision(), taken, 'no revision was spent on a refused write');
    await t.rejects(s.update('a', v('3'), r1, { key: 'lease', modRevision: taken }), { code: 'conflict' }, 'a current fence still checks the write\'s own revision');
    await s.delete('lease', taken);
    await t.rejects(s.create('c', v('1'), { key: 'lease', modRevision: taken }), { code: 'failed-precondition', message: /lease is at revision \(deleted\)/ });
  });

  t.test('create, get, update and delete a key', async (t) => {
    const s = await open(t);
    const r1 = await s.create('k', v('one'));
    t.strictSame(await s.get('k'), { key: 'k', value: v('one'), createRevision: r1, modRevision: r1 });
    const r2 = await s.update('k', v('two'), r1);
    t.ok(r2 > r1, 'update takes a later revision');
    t.strictSame(await s.get('k'), { key: 'k', value: v('two'), createRevision: r1, modRevision: r2 });
    const r3 = await s.delete('k', r2);
    t.ok(r3 > r2, 'delete takes a later revision');
    t.equal(await s.get('k'), undefined);
    t.equal(await s.revision(), r3);
    const r4 = await s.create('k', v('again'));
    t.strictSame(await s.get('k'), { key: 'k', value: v('again'), createRevision: r4, modRevision: r4 }, 'a re-created key starts a new life');
    await s.create('empty', Buffer.alloc(0));
    t.strictSame((await s.get('empty'))?.value, Buffer.alloc(0), 'an empty value is kept');
    const r6 = await s.delete('empty');
    t.equal(await s.revision(), r6, 'delete without an expected revision');
    t.equal(await s.get('empty'), undefined);
  });

  t.test('writes are compare-and-swap', async (t) => {
    const s = await open(t);
    const r1 = await s.create('k', v('one'));
    await t.rejects(s.create('k', v('again')), { name: 'StoreError', code: 'already-exists', message: /"k"/ });
    const r2 = await s.update('k', v('two'), r1);
    await t.rejects(s.update('k', v('stale'), r1), { name: 'StoreError', code: 'conflict', message: /"k"/ });
    await t.rejects(s.delete('k', r1), { code: 'conflict', message: /"k"/ });
    await t.rejects(s.update('missing', v('x'), r1), { code: 'not-found', message: /"missing"/ });
    // etcd compares a missing key's mod revision as 0: that must not create it either.
    await t.rejects(s.update('missing', v('x'), 0), { code: 'not-found' });
    await t.rejects(s.delete('missing'), { code: 'not-found', message: /"missing"/ });
    await t.rejects(s.delete('missing', 0), { code: 'not-found' });
    t.equal(await s.get('missing'), undefined);
    t.strictSame(await s.get('k'), { key: 'k', value: v('two'), createRevision: r1, modRevision: r2 }, 'failed writes changed nothing');
    t.equal(await s.revision(), r2, 'failed writes take no revision');
  });

  t.test('every write takes a strictly greater revision', async (t) => {
    const s = await open(t);
    const before = await s.revision();
    const revs: number[] = [];
    for (let i = 0; i < 10; i++) revs.push(await s.create(`k${i}`, v(`${i}`)));
    for (let i = 0; i < 10; i++) revs.push(await s.update(`k${i}`, v(`${i}b`), revs[i]!));
    for (let i = 0; i < 10; i += 2) revs.push(await s.delete(`k${i}`));
    t.ok(revs[0]! > before);
    t.ok(revs.every((r, i) => i === 0 || r > revs[i - 1]!), `increasing: ${revs.join(',')}`);
    t.equal(await s.revision(), revs.at(-1));
    t.same((await s.list('')).items.map((i) => [i.key, i.modRevision]), [1, 3, 5, 7, 9].map((i) => [`k${i}`, revs[10 + i]]), 'each key keeps its last write');
  });

  t.test('list returns the keys under a prefix in byte order, at one revision', async (t) => {
    const s = await open(t);
    for (const k of ['a/2', 'a/1', 'a/é', 'ab/1', 'a', 'b/1', 'a%/x', 'a_/y', 'A/1']) await s.create(k, v(`value of ${k}`));
    const created = (await s.get('a/1'))!.createRevision;
    const rev = await s.update('a/1', v('new'), created);
    const keys = async (prefix: string): Promise<string[]> => (await s.list(prefix)).items.map((i) => i.key);
    t.same(await keys('a/'), ['a/1', 'a/2', 'a/é'], 'not "a" nor "ab/1"');
    t.same(await keys('ab/'), ['ab/1']);
    t.same(await keys('a%/'), ['a%/x'], 'a LIKE wildcard in a prefix is a plain character');
    t.same(await keys('a_/'), ['a_/y']);
    t.same(await keys('a/é'), ['a/é']);
    t.same(await keys('zzz/'), []);
    t.same(await keys(''), ['A/1', 'a', 'a%/x', 'a/1', 'a/2', 'a/é', 'a_/y', 'ab/1', 'b/1']);
    const list = await s.list('a/');
    t.equal(list.revision, rev, 'read at the current revision');
    t.strictSame(list.items[0], { key: 'a/1', value: v('new'), createRevision: created, modRevision: rev });
  });

  t.test('list, then watch from its revision: every later change once, in order', async (t) => {
    const s = await open(t);
    await s.create('w/old', v('old'));
    await s.create('w/gone', v('gone'));
    const { revision } = await s.list('w/');
    const rec = recorder(t, s, 'w/', revision);
    const expected: [string, string, number][] = [];
    expected.push(['put', 'w/new', await s.create('w/new', v('1'))]);
    await s.create('x/other', v('not watched'));
    expected.push(['put', 'w/old', await s.update('w/old', v('2'), (await s.get('w/old'))!.modRevision)]);
    expected.push(['delete', 'w/gone', await s.delete('w/gone')]);
    await rec.untilEvents(3);
    // Now the watch is live, not replaying.
    expected.push(['put', 'w/late', await s.create('w/late', v('3'))]);
    await rec.sync();
    t.same(rec.changes(), expected);
    rec.clean(t);
  });

  t.test('a watch sees many concurrent writes exactly once, in revision order', async (t) => {
    const s = await open(t);
    const start = await s.revision();
    const live = recorder(t, s, 'c/', start);
    const N = 200; // enough that a replay spans more than one page of the SQLite log
    type Change = [string, string, number];
    const creates = await Promise.all(Array.from({ length: N }, (_, i) => s.create(`c/${i}`, v('0')).then((r): Change => ['put', `c/${i}`, r])));
    const rest = Promise.all([
      ...creates.map(([, key, r], i) =>
        s.update(key, v('1'), r).then(async (r2): Promise<Change[]> => {
          const done: Change[] = [['put', key, r2]];
          // A turn later, so that (in SQLite, whose writes commit synchronously) deletes land
          // between the pages a watch reads.
          await new Promise((resolve) => setImmediate(resolve));
          if (i % 2 === 0) done.push(['delete', key, await s.delete(key, r2)]);
          return done;
        }),
      ),
      // Next door, not watched: 'cx/' is not under 'c/'.
      ...Array.from({ length: N }, (_, i) => s.create(`cx/${i}`, v('noise')).then((): Change[] => [])),
    ]);
    // Started while those writes are in flight: replays the creates, then follows live.
    const late = recorder(t, s, 'c/', start);
    const expected = [...creates, ...(await rest).flat()].sort((a, b) => a[2] - b[2]);
    t.equal(expected.length, N * 2 + N / 2);
    for (const rec of [live, late]) {
      await rec.sync();
      t.same(rec.changes(), expected, `watch from ${rec === live ? 'before the writes' : 'during the writes'}`);
      rec.clean(t);
    }
  });

  t.test('a watch from an old revision replays history, with previous values', async (t) => {
    const s = await open(t);
    const r0 = await s.revision();
    const r1 = await s.create('h/k', v('v1'));
    const r2 = await s.update('h/k', v('v2'), r1);
    const r3 = await s.delete('h/k', r2);
    const r4 = await s.create('h/k', v('v3'));
    const all = recorder(t, s, 'h/', r0);
    await all.untilEvents(4);
    t.strictSame(all.events, [
      { type: 'put', key: 'h/k', value: v('v1'), revision: r1, createRevision: r1 },
      { type: 'put', key: 'h/k', value: v('v2'), prevValue: v('v1'), revision: r2, createRevision: r1 },
      { type: 'delete', key: 'h/k', value: v('v2'), prevValue: v('v2'), revision: r3, createRevision: r1 },
      { type: 'put', key: 'h/k', value: v('v3'), revision: r4, createRevision: r4 },
    ]);
    const fromMiddle = recorder(t, s, 'h/', r2);
    await fromMiddle.sync();
    t.same(fromMiddle.changes(), [['delete', 'h/k', r3], ['put', 'h/k', r4]], 'only what came after r2');
    all.clean(t);
    fromMiddle.clean(t);
  });

  t.test('a watch from a revision not reached yet starts after it', async (t) => {
    const s = await open(t);
    const after = (await s.revision()) + 2;
    const rec = recorder(t, s, 'f/', after);
    const revs = [await s.create('f/1', v('1')), await s.create('f/2', v('2')), await s.create('f/3', v('3'))];
    await rec.sync();
    t.same(rec.changes().map((c) => c[2]), revs.filter((r) => r > after));
    t.ok(rec.events.length < 4, 'the writes up to that revision are not delivered');
    rec.clean(t);
  });

  t.test('delete events carry the deleted value', async (t) => {
    const s = await open(t);
    const rec = recorder(t, s, 'd/', await s.revision());
    const r1 = await s.create('d/k', v('first'));
    const r2 = await s.update('d/k', v('last'), r1);
    const r3 = await s.delete('d/k');
    await rec.untilEvents(3);
    t.strictSame(rec.events[2], { type: 'delete', key: 'd/k', value: v('last'), prevValue: v('last'), revision: r3, createRevision: r1 });
    t.equal(rec.events[0]!.prevValue, undefined, 'a create has no previous value');
    t.strictSame(rec.events[1]!.prevValue, v('first'));
    t.equal(rec.events[1]!.revision, r2);
    rec.clean(t);
  });

  t.test('a watch sees only keys under its prefix', async (t) => {
    const s = await open(t);
    const rec = recorder(t, s, 'a/', await s.revision());
    for (const k of ['a', 'ab/1', 'b/a/1', 'a%/1', 'A/1']) await s.create(k, v(k));
    const r = await s.create('a/1', v('mine'));
    await rec.sync();
    t.same(rec.changes(), [['put', 'a/1', r]]);
    rec.clean(t);
  });

  t.test('a watch from compacted history fails with gone', async (t) => {
    const s = await open(t);
    const before = await s.revision();
    const revs: number[] = [];
    for (let i = 0; i < 5; i++) revs.push(await s.create(`g/${i}`, v(`${i}`)));
    await s.compact(revs[2]!);
    for (const after of [before, revs[1]!]) {
      const rec = recorder(t, s, 'g/', after);
      await rec.untilError();
      t.match(rec.errors[0], { name: 'StoreError', code: 'gone' }, `from ${after}, before the compaction at ${revs[2]}`);
      t.same(rec.events, [], 'and delivers nothing');
      t.same(rec.violations, []);
    }
    const kept = recorder(t, s, 'g/', revs[2]!);
    await kept.sync();
    t.same(kept.changes(), [['put', 'g/3', revs[3]], ['put', 'g/4', revs[4]]], 'from the compaction revision itself: all that is kept');
    kept.clean(t);
    await s.compact(revs[1]!);
    t.pass('compacting again to an older revision is a no-op');
    await t.rejects(s.compact((await s.revision()) + 1000), { name: 'StoreError' }, 'compacting the future fails');
    t.strictSame(await s.get('g/0'), { key: 'g/0', value: v('0'), createRevision: revs[0], modRevision: revs[0] }, 'compaction keeps current values');
  });

  t.test('closing a watch stops its delivery', async (t) => {
    const s = await open(t);
    const r0 = await s.revision();
    const closed = recorder(t, s, 'q/', r0);
    const witness = recorder(t, s, 'q/', r0);
    const r1 = await s.create('q/1', v('1'));
    await closed.untilEvents(1);
    closed.close();
    closed.close();
    await s.create('q/2', v('2'));
    await s.create('q/3', v('3'));
    await witness.sync();
    // A watch closed before its first delivery gets nothing, not even its replay.
    const never = recorder(t, s, 'q/', r0);
    never.close();
    await witness.sync();
    t.same(closed.changes(), [['put', 'q/1', r1]]);
    t.same(witness.changes().length, 3);
    t.same(never.events, []);
    for (const rec of [closed, witness, never]) rec.clean(t);
  });

  t.test('a closed store ends its watches quietly and refuses calls', async (t) => {
    const s = await open(t);
    const rec = recorder(t, s, 'z/', await s.revision());
    await s.create('z/1', v('1'));
    await rec.untilEvents(1);
    await s.close();
    await t.rejects(s.get('z/1'), { code: 'unavailable', message: /"z\/1"/ });
    await t.rejects(s.create('z/2', v('2')), { code: 'unavailable' });
    await s.close();
    t.equal(rec.events.length, 1);
    rec.clean(t);
  });
}

// ---- SQLite ----------------------------------------------------------------------------------

t.test('sqlite', async (t) => {
  storeContract(t, async (t) => closing(t, openSqliteStore(path.join(t.testdir(), 'state.db'))));

  t.test('a new store is at revision 0', async (t) => {
    const s = closing(t, openSqliteStore(path.join(t.testdir(), 'state.db')));
    t.equal(await s.revision(), 0);
    t.same(await s.list(''), { items: [], revision: 0 });
  });

  t.test('keys, revisions and history survive reopening', async (t) => {
    const file = path.join(t.testdir(), 'state.db');
    const first = openSqliteStore(file);
    const r1 = await first.create('k/a', v('a'));
    const r2 = await first.update('k/a', v('a2'), r1);
    const r3 = await first.create('k/b', v('b'));
    await first.close();
    const s = closing(t, openSqliteStore(file));
    t.equal(await s.revision(), r3);
    t.strictSame(await s.list('k/'), {
      items: [
        { key: 'k/a', value: v('a2'), createRevision: r1, modRevision: r2 },
        { key: 'k/b', value: v('b'), createRevision: r3, modRevision: r3 },
      ],
      revision: r3,
    });
    t.equal(await s.create('k/c', v('c')), r3 + 1, 'the revision continues');
    const rec = recorder(t, s, 'k/', 0);
    await rec.sync();
    t.same(rec.changes(), [['put', 'k/a', r1], ['put', 'k/a', r2], ['put', 'k/b', r3], ['put', 'k/c', r3 + 1]], 'the log was kept');
    rec.clean(t);
    const peek = new Database(file, { readonly: true });
    t.teardown(() => peek.close());
    t.equal(peek.pragma('journal_mode', { simple: true }), 'wal');
  });

  t.test('automatic compaction keeps the last N revisions', async (t) => {
    const file = path.join(t.testdir(), 'state.db');
    const s = closing(t, openSqliteStore(file, { history: { revisions: 5 } }));
    for (let i = 1; i <= 20; i++) await s.create(`k/${i}`, v(`${i}`));
    const peek = new Database(file, { readonly: true });
    t.teardown(() => peek.close());
    t.same(peek.prepare('SELECT rev FROM log ORDER BY rev').pluck().all(), [16, 17, 18, 19, 20], 'the log holds 5 revisions');
    const gone = recorder(t, s, 'k/', 14);
    await gone.untilError();
    t.match(gone.errors[0], { code: 'gone' });
    const kept = recorder(t, s, 'k/', 15);
    await kept.untilEvents(5);
    t.same(kept.revisions(), [16, 17, 18, 19, 20]);
    t.equal((await s.list('k/')).items.length, 20, 'current keys are not history');
  });

  t.test('a watch on a quiet prefix outlives compaction driven by other keys', async (t) => {
    const s = closing(t, openSqliteStore(path.join(t.testdir(), 'state.db'), { history: { revisions: 5 } }));
    await s.create('quiet/0', v('0'));
    const rec = recorder(t, s, 'quiet/', await s.revision());
    for (let i = 0; i < 30; i++) await s.create(`busy/${i}`, v(`${i}`));
    const r = await s.create('quiet/1', v('1'));
    await rec.untilEvents(1);
    t.same(rec.changes(), [['put', 'quiet/1', r]]);
    rec.clean(t);
  });

  t.test('a watch that falls behind compaction with changes undelivered fails with gone', async (t) => {
    const s = closing(t, openSqliteStore(path.join(t.testdir(), 'state.db'), { history: { revisions: 5 } }));
    const rec = recorder(t, s, 'k/', await s.revision());
    // Not awaited one by one: all ten commit before the watch's first turn to read the log.
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.create(`k/${i}`, v(`${i}`))));
    await rec.untilError();
    t.match(rec.errors[0], { code: 'gone' });
    t.same(rec.events, []);
  });

  t.test('automatic compaction by age', async (t) => {
    let now = 1_000_000;
    const s = closing(t, openSqliteStore(path.join(t.testdir(), 'state.db'), { history: { maxAgeMs: 60_000 }, now: () => now }));
    const old = [await s.create('k/1', v('1')), await s.create('k/2', v('2'))];
    now += 30_000;
    const mid = await s.create('k/3', v('3'));
    now += 45_000; // k/1 and k/2 are now 75 s old, k/3 45 s
    const recent = await s.create('k/4', v('4'));
    const gone = recorder(t, s, 'k/', old[0]!);
    await gone.untilError();
    t.match(gone.errors[0], { code: 'gone' }, 'history older than a minute is gone');
    const kept = recorder(t, s, 'k/', old[1]!);
    await kept.untilEvents(2);
    t.same(kept.revisions(), [mid, recent], 'the last minute is kept');
  });

  t.test('openStore("sqlite") opens <dataRoot>/state.db', async (t) => {
    const dataRoot = t.testdir();
    const s = closing(t, await openStore('sqlite', dataRoot));
    await s.create('k', v('1'));
    t.ok(fs.existsSync(path.join(dataRoot, 'state.db')));
  });

  t.test('bad specs and options are refused by name', async (t) => {
    const dataRoot = t.testdir();
    for (const spec of ['', 'mysql://db:3306', 'etcd://', 'etcd://host-without-port', 'sqlite:/tmp/x']) {
      await t.rejects(openStore(spec, dataRoot), { name: 'StoreError', message: new RegExp(`"${spec.replace(/[/.:]/g, '\\$&')}"`) }, `spec "${spec}"`);
    }
    t.throws(() => openSqliteStore(path.join(dataRoot, 'x.db'), { history: { revisions: 0 } }), { name: 'StoreError', message: /history\.revisions/ });
  });
});

// ---- etcd ------------------------------------------------------------------------------------

t.test('etcd', async (t) => {
  const etcd = await startEtcd(t);
  storeContract(t, async (t) => closing(t, openEtcdStore([etcd.endpoint], { prefix: uniquePrefix() })));

  t.test('openStore("etcd://...") keeps every key under the path as prefix', async (t) => {
    const prefix = uniquePrefix();
    const s = closing(t, await openStore(`etcd://${etcd.endpoint}${prefix}`, t.testdir()));
    const r = await s.create('k', v('mine'));
    const whole = closing(t, openEtcdStore([etcd.endpoint]));
    t.strictSame(await whole.get(`${prefix}k`), { key: `${prefix}k`, value: v('mine'), createRevision: r, modRevision: r });
    t.same((await whole.list(prefix)).items.map((i) => i.key), [`${prefix}k`]);
    const other = closing(t, openEtcdStore([etcd.endpoint], { prefix: uniquePrefix() }));
    t.equal(await other.get('k'), undefined, 'another namespace does not see it');
    t.same((await other.list('')).items, []);
  });

  t.test('a list read in pages is one snapshot', async (t) => {
    const s = closing(t, openEtcdStore([etcd.endpoint], { prefix: uniquePrefix(), pageSize: 1 }));
    const state = new Map<string, number>();
    for (let i = 10; i < 30; i++) state.set(`p/${i}`, await s.create(`p/${i}`, v(`${i}`)));
    await s.create('q/0', v('next door'));
    // Writes, one after another, racing the list's twenty page reads; each is recorded with
    // its revision, so the state at any revision can be replayed.
    const listing = s.list('p/');
    const writes: [string, number | undefined, number][] = [];
    for (let i = 10; i < 30; i += 2) {
      writes.push([`p/${i}`, undefined, await s.delete(`p/${i}`)]);
      writes.push([`p/${i + 1}`, state.get(`p/${i + 1}`), await s.update(`p/${i + 1}`, v('b'), state.get(`p/${i + 1}`)!)]);
      writes.push([`p/${i + 40}`, 0, await s.create(`p/${i + 40}`, v('new'))]);
    }
    const { items, revision } = await listing;
    for (const [key, base, rev] of writes) {
      if (rev > revision) continue;
      if (base === undefined) state.delete(key);
      else state.set(key, rev);
    }
    t.ok(writes.some(([, , rev]) => rev > revision), `some writes came after the list's revision ${revision}`);
    t.same(items.map((i) => [i.key, i.modRevision]), [...state].sort((a, b) => (a[0] < b[0] ? -1 : 1)), `the state at revision ${revision}`);
    t.equal((await s.list('')).items.length, 1 + 20 - 10 + 10, 'an unbounded prefix pages to the end');
  });

  t.test('a lost connection is unavailable', async (t) => {
    const own = await startEtcd(t);
    const s = closing(t, openEtcdStore([own.endpoint], { prefix: uniquePrefix(), timeoutMs: 3000 }));
    const rec = recorder(t, s, '', await s.revision());
    await s.create('k', v('1'));
    await rec.untilEvents(1);
    await own.stop();
    await rec.untilError();
    t.match(rec.errors[0], { name: 'StoreError', code: 'unavailable' });
    await t.rejects(s.get('k'), { name: 'StoreError', code: 'unavailable', message: /"k"/ });
    await t.rejects(s.create('k2', v('2')), { code: 'unavailable', message: /"k2"/ });
  });
});

t.test('etcd over TLS: client certificates required by etcd; a remote etcd without TLS refused', async (t) => {
  const { openClusterCa } = await import('../../controller/trust');
  const dir = t.testdir();
  // Any CA will do for etcd's own certificates: the cluster CA's code makes one here.
  const ca = await openClusterCa(path.join(dir, 'etcd-pki'));
  const serving = await ca.issueServing(['127.0.0.1']);
  const client = await ca.issueClient({ commonName: 'berth-controller', organizations: [] });
  const file = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    return path.join(dir, name);
  };
  const tls = {
    caFile: path.join(dir, 'etcd-pki', 'ca.crt'),
    certFile: file('server.crt', serving.certPem), keyFile: file('server.key', serving.keyPem),
    clientCertFile: file('client.crt', client.certPem), clientKeyFile: file('client.key', client.keyPem),
  };
  const etcd = await startEtcd(t, { tls });
  const spec = `etcd://${etcd.endpoint}${uniquePrefix()}`;
  const s = closing(t, await openStore(spec, dir, { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile }));
  const r = await s.create('k', v('over tls'));
  t.equal((await s.get('k'))?.modRevision, r);

  const noCert = closing(t, await openStore(spec, dir, { caFile: tls.caFile }));
  await t.rejects(noCert.get('k'), { name: 'StoreError', code: 'unavailable' }, 'etcd asks for a client certificate');
  const plain = closing(t, await openStore(spec, dir));
  await t.rejects(plain.get('k'), { name: 'StoreError', code: 'unavailable' }, 'plaintext reaches nothing');

  await t.rejects(openStore('etcd://10.0.0.5:2379', dir), {
    name: 'StoreError',
    message: 'etcd endpoint 10.0.0.5:2379 is not on this host and the store has no TLS: give --etcd-cafile (and --etcd-certfile, --etcd-keyfile for a client certificate), or --etcd-insecure to send the cluster\'s state in the clear',
  });
  await t.rejects(openStore('etcd://127.0.0.1:2379,db.example:2379', dir), { message: /^etcd endpoint db\.example:2379 is not on this host/ });
  await t.rejects(openStore('etcd://10.0.0.5:2379', dir, { caFile: tls.caFile, certFile: tls.clientCertFile }), { message: '--etcd-certfile and --etcd-keyfile go together: a client certificate needs its key' });
  await t.rejects(openStore('etcd://10.0.0.5:2379', dir, { caFile: path.join(dir, 'nope.crt') }), { message: /^--etcd-cafile .*nope\.crt: ENOENT/ });
  const insecure = closing(t, await openStore('etcd://10.0.0.5:2379', dir, { insecure: true }));
  t.ok(insecure, '--etcd-insecure: the user chose plaintext');
});
