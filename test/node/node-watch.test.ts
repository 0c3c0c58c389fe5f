// The Nodes as the agent's node watch tells them: a full list, changes, deletions, and a RESYNC
// after which a Node not listed again is gone; "changed" only when something did.

import t from 'tap';
import { NodeWatchState } from '../../agent/node/object-watch';

const ev = (type: string, name?: string, rv = '', podCIDR?: string) => ({
  type, resourceVersion: rv,
  ...(name ? { json: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: podCIDR ? { podCIDR } : {} }) } : {}),
});
const names = (w: NodeWatchState) => w.current().map((n) => n.metadata.name).sort();

t.test('a list, then changes, then a resync that drops what is not listed again', async (t) => {
  const w = new NodeWatchState();
  t.equal(w.resumeFrom(), '');
  w.begin('');
  t.ok(w.apply(ev('ADDED', 'a', '5')));
  t.ok(w.apply(ev('ADDED', 'b', '6')));
  t.notOk(w.isSynced(), 'not synced before SYNCED');
  t.ok(w.apply(ev('SYNCED', undefined, '6')), 'the first SYNCED is a change (routes can be planned now)');
  t.ok(w.isSynced());
  t.equal(w.resumeFrom(), '6');
  t.ok(w.apply(ev('MODIFIED', 'a', '7', '10.42.0.0/24')));
  t.equal(w.current().find((n) => n.metadata.name === 'a')!.spec!.podCIDR, '10.42.0.0/24');
  t.ok(w.apply(ev('ADDED', 'c', '8')));
  t.ok(w.apply(ev('DELETED', 'b', '9')));
  t.notOk(w.apply(ev('DELETED', 'zz', '10')), 'deleting an unknown node changes nothing');
  t.same(names(w), ['a', 'c']);
  t.notOk(w.apply(ev('RESYNC')), 'RESYNC alone changes nothing');
  t.equal(w.resumeFrom(), '', 'a list cut short now would start again from scratch');
  w.apply(ev('ADDED', 'a', '12'));
  t.ok(w.apply(ev('SYNCED', undefined, '12')), 'c was not listed again');
  t.same(names(w), ['a']);
  t.notOk(w.apply(ev('BOOKMARK')), 'unknown event types are ignored');
  t.notOk(w.apply({ type: 'ADDED', json: '{"kind":"Pod"}' }), 'not a Node: ignored');
  w.relist();
  t.equal(w.resumeFrom(), '', 'a new epoch lists everything again');
});
