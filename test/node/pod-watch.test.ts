// The pod watch's bookkeeping: lists, SYNCED, RESYNC, deletes, unbinding, resume points.

import t from 'tap';
import type { Pod } from '../../proto/resources';
import { PodWatchState, type PodChange } from '../../agent/node/pod-watch';

const pod = (name: string, uid: string, rv: string, over: Partial<Pod['spec']> = {}): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid, resourceVersion: rv }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }], ...over },
} satisfies Pod);

const summary = (changes: PodChange[]) => changes.map((c) => (c.type === 'desired' ? `desired ${c.pod.metadata.uid}` : c.type === 'gone' ? `gone ${c.ref.uid}` : 'synced'));

t.test('a full list, then changes; the resume point follows the events', async (t) => {
  const w = new PodWatchState('n1');
  t.equal(w.resumeFrom(), '', 'at first: a full list');
  w.begin('');
  t.same(summary(w.apply({ type: 'ADDED', json: pod('a', 'u1', '5') })), ['desired u1']);
  t.equal(w.resumeFrom(), '', 'a list cut short starts over');
  t.same(summary(w.apply({ type: 'ADDED', json: pod('b', 'u2', '7') })), ['desired u2']);
  t.same(summary(w.apply({ type: 'SYNCED', resourceVersion: '9' })), ['synced']);
  t.equal(w.resumeFrom(), '9');
  t.same(summary(w.apply({ type: 'MODIFIED', json: pod('a', 'u1', '10'), resourceVersion: '10' })), ['desired u1']);
  t.same(summary(w.apply({ type: 'DELETED', json: pod('b', 'u2', '11'), resourceVersion: '11' })), ['gone u2']);
  t.equal(w.resumeFrom(), '11');
  t.same(w.current().map((p) => p.metadata.uid), ['u1']);
  t.ok(Object.isFrozen(w.current()[0]), 'documents are frozen');
  w.begin('11');
  t.same(summary(w.apply({ type: 'MODIFIED', json: pod('a', 'u1', '12', { nodeName: 'n2' }) })), ['gone u1'], 'bound elsewhere: gone from here');
  t.same(summary(w.apply({ type: 'ADDED', json: 'not json' })), [], 'garbage is ignored');
});

t.test('RESYNC: what is not listed again is gone; a new epoch relists from scratch', async (t) => {
  const w = new PodWatchState('n1');
  w.begin('');
  w.apply({ type: 'ADDED', json: pod('a', 'u1', '1') });
  w.apply({ type: 'ADDED', json: pod('b', 'u2', '2') });
  w.apply({ type: 'SYNCED', resourceVersion: '2' });
  t.same(summary(w.apply({ type: 'RESYNC', resourceVersion: '20' })), []);
  t.same(summary(w.apply({ type: 'ADDED', json: pod('b', 'u2', '15') })), ['desired u2']);
  t.same(summary(w.apply({ type: 'SYNCED', resourceVersion: '20' })), ['gone u1', 'synced']);
  w.relist();
  t.equal(w.resumeFrom(), '');
  w.begin('');
  t.same(summary(w.apply({ type: 'SYNCED', resourceVersion: '30' })), ['gone u2', 'synced'], 'an empty list: everything goes');
});

t.test('a new pod under an old name replaces the old one', async (t) => {
  const w = new PodWatchState('n1');
  w.begin('');
  w.apply({ type: 'ADDED', json: pod('a', 'u1', '1') });
  t.same(summary(w.apply({ type: 'ADDED', json: pod('a', 'u9', '4') })), ['gone u1', 'desired u9']);
});
