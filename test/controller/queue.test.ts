// The work queue: coalescing, one worker per key at a time, delayed adds, per-key exponential
// back-off with a cap, handler outcomes, and shutdown. Time is a ManualTimers: nothing waits.

import t from 'tap';
import { ManualTimers } from '../../controller/controllers/timers';
import { WorkQueue } from '../../controller/controllers/queue';

/** Let promise callbacks run (workers pick keys up asynchronously). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const quiet = { onError: () => {} };

t.test('repeated adds coalesce; order is first-added first', async (t) => {
  const q = new WorkQueue({ timers: new ManualTimers(), ...quiet });
  q.add('a');
  q.add('b');
  q.add('a');
  q.add('a');
  t.equal(q.length, 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
  t.equal(q.length, 0);
  q.shutdown();
});

t.test('a key being processed is not handed out again; an add meanwhile requeues it once after done', async (t) => {
  const q = new WorkQueue({ timers: new ManualTimers(), ...quiet });
  q.add('a');
  const key = await q.get();
  t.equal(key, 'a');
  q.add('a');
  q.add('a');
  t.equal(q.length, 0, 'not queued while processing');
  q.add('b');
  t.equal(await q.get(), 'b', 'another worker gets b, not a');
  q.done('b');
  q.done('a');
  t.equal(q.length, 1, 'a queued again, once');
  t.equal(await q.get(), 'a');
  q.done('a');
  t.equal(q.length, 0);
  q.shutdown();
});

t.test('run: never two workers on one key, even with many workers and many adds', async (t) => {
  const q = new WorkQueue({ timers: new ManualTimers(), ...quiet });
  const running = new Map<string, number>();
  let maxSame = 0;
  const calls: string[] = [];
  const gates: (() => void)[] = [];
  const done = q.run(4, async (key) => {
    running.set(key, (running.get(key) ?? 0) + 1);
    maxSame = Math.max(maxSame, running.get(key)!);
    calls.push(key);
    const g = deferred();
    gates.push(g.resolve);
    await g.promise;
    running.set(key, running.get(key)! - 1);
  });
  q.add('a');
  await settle();
  t.same(calls, ['a']);
  for (let i = 0; i < 10; i++) q.add('a');
  q.add('b');
  await settle();
  t.same(calls, ['a', 'b'], 'a not started twice; b started on another worker');
  gates.splice(0).forEach((open) => open());
  await settle();
  t.same(calls, ['a', 'b', 'a'], 'a handled once more for the ten adds made while it ran');
  gates.splice(0).forEach((open) => open());
  await settle();
  t.equal(maxSame, 1);
  t.equal(calls.length, 3);
  q.shutdown();
  await done;
});

t.test('addAfter: added when the delay passes; the earliest pending delay wins', async (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers, ...quiet });
  q.addAfter('a', 100);
  t.equal(q.length, 0);
  timers.advance(99);
  t.equal(q.length, 0, 'not before 100 ms');
  timers.advance(1);
  t.equal(q.length, 1, 'at 100 ms');
  t.equal(await q.get(), 'a');
  q.done('a');

  q.addAfter('b', 50);
  q.addAfter('b', 500); // later: ignored
  q.addAfter('b', 20); // earlier: replaces
  t.equal(timers.count, 1, 'one timer per key');
  timers.advance(20);
  t.equal(q.length, 1);
  timers.advance(1000);
  t.equal(q.length, 1, 'b added once');

  q.addAfter('c', 0);
  t.equal(q.length, 2, 'no delay: added now');
  q.addAfter('c', -5);
  t.equal(q.length, 2, 'and coalesced');
  q.shutdown();
});

t.test('addRateLimited: per-key back-off doubles from 5 ms and stops at 60 s; forget resets it', async (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers, ...quiet });
  const delays: number[] = [];
  for (let i = 0; i < 16; i++) {
    const before = timers.now();
    q.addRateLimited('a');
    delays.push(timers.next! - before);
    timers.advance(timers.next! - before);
    t.equal(await q.get(), 'a');
    q.done('a');
  }
  t.same(delays, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 60000, 60000]);
  t.equal(q.numRequeues('a'), 16);
  t.equal(q.backoff(1000), 60_000, 'no overflow past the cap');

  q.addRateLimited('b');
  t.equal(timers.next! - timers.now(), 5, "keys back off independently: b starts at 5 ms");
  timers.advance(5);
  await q.get();
  q.done('b');

  q.forget('a');
  t.equal(q.numRequeues('a'), 0);
  q.addRateLimited('a');
  t.equal(timers.next! - timers.now(), 5, 'after forget: 5 ms again');
  q.shutdown();

  const custom = new WorkQueue({ timers, baseDelayMs: 100, maxDelayMs: 250, ...quiet });
  t.same([0, 1, 2, 3].map((n) => custom.backoff(n)), [100, 200, 250, 250]);
  custom.shutdown();
  t.throws(() => new WorkQueue({ baseDelayMs: 0 }), RangeError);
  t.throws(() => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 5 }), RangeError);
});

t.test('run: a throwing handler is retried with back-off; a returning one is forgotten', async (t) => {
  const timers = new ManualTimers();
  const errors: string[] = [];
  const q = new WorkQueue({ timers, onError: (key, err) => errors.push(`${key}: ${(err as Error).message}`) });
  let attempts = 0;
  const done = q.run(2, (key) => {
    attempts++;
    if (attempts <= 3) throw new Error(`attempt ${attempts}`);
    t.equal(key, 'a');
  });
  q.add('a');
  await settle();
  t.equal(attempts, 1);
  t.equal(q.numRequeues('a'), 1);
  timers.advance(4);
  await settle();
  t.equal(attempts, 1, 'not before 5 ms');
  timers.advance(1);
  await settle();
  t.equal(attempts, 2);
  timers.advance(10);
  await settle();
  t.equal(attempts, 3, 'then after 10 ms');
  timers.advance(20);
  await settle();
  t.equal(attempts, 4, 'then after 20 ms, and it succeeds');
  t.equal(q.numRequeues('a'), 0, 'success forgets the back-off');
  t.same(errors, ['a: attempt 1', 'a: attempt 2', 'a: attempt 3']);
  t.equal(timers.count, 0, 'nothing pending');
  q.shutdown();
  await done;
});

t.test('run: requeueAfterMs and requeue results', async (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers, ...quiet });
  const seen: string[] = [];
  const done = q.run(1, (key) => {
    seen.push(`${key}@${timers.now()}`);
    if (key === 'later' && seen.length === 1) return { requeueAfterMs: 1000 };
    if (key === 'again' && seen.filter((s) => s.startsWith('again')).length < 3) return { requeue: true };
    return undefined;
  });
  q.add('later');
  await settle();
  timers.advance(999);
  await settle();
  t.same(seen, ['later@0']);
  timers.advance(1);
  await settle();
  t.same(seen, ['later@0', 'later@1000']);

  q.add('again');
  await settle();
  timers.advance(5);
  await settle();
  timers.advance(10);
  await settle();
  t.same(seen.slice(2), ['again@1000', 'again@1005', 'again@1015'], 'requeue uses the back-off (5 ms, then 10 ms)');
  t.equal(q.numRequeues('again'), 0, 'forgotten once it returned plainly');
  q.shutdown();
  await done;
});

t.test('shutdown: idle workers stop, busy ones finish their key, later adds are ignored', async (t) => {
  const timers = new ManualTimers();
  const q = new WorkQueue({ timers, ...quiet });
  const gate = deferred();
  const handled: string[] = [];
  const done = q.run(3, async (key) => {
    await gate.promise;
    handled.push(key);
  });
  q.add('a');
  await settle();
  q.add('b');
  q.addAfter('c', 100);
  q.addRateLimited('d');
  await settle();
  q.shutdown();
  t.ok(q.shuttingDown);
  t.equal(timers.count, 0, 'delayed adds cancelled');
  q.add('e');
  q.addAfter('f', 1);
  t.equal(q.length, 0);
  let finished = false;
  void done.then(() => (finished = true));
  await settle();
  t.notOk(finished, 'run waits for the busy workers');
  gate.resolve();
  await done;
  t.same(handled.sort(), ['a', 'b'], 'the keys in hand were finished; nothing else ran');
  t.equal(await q.get(), undefined, 'get after shutdown: undefined');
  await t.rejects(q.run(0, () => {}), RangeError);
});
