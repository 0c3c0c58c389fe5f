// The revision history of DaemonSets and StatefulSets, pure: a revision per template rolled out,
// numbered in rollout order (an undo renumbers the old one), the oldest beyond the limit pruned
// unless pods still run them; and rollout undo's choice among them.

import t from 'tap';
import type { ControllerRevision, DaemonSet } from '../../proto/resources';
import { planHistory, revisionFor } from '../../controller/controllers/history';
import { planSetUndo, setRevisions } from '../../cli/cluster/rollout-history';

const ds = (image: string, limit?: number): DaemonSet => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet',
  metadata: { name: 'agent', namespace: 'default', uid: 'ds-uid', annotations: { 'kubernetes.io/change-cause': `to ${image}` } },
  spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image }] } }, ...(limit !== undefined ? { revisionHistoryLimit: limit } : {}) },
});
const rev = (set: DaemonSet, hash: string, revision: number): ControllerRevision => revisionFor(set, `agent-${hash}`, revision);

t.test('a revision per template, in rollout order; an undo renumbers; the oldest pruned', async (t) => {
  const v1 = ds('a:1');
  const first = planHistory(v1, [], 'agent-h1', new Set());
  t.equal(first.length, 1);
  const made = first[0]!.type === 'create-revision' ? first[0]!.revision : undefined;
  t.match(made, { metadata: { name: 'agent-h1', labels: { app: 'agent', 'controller-revision-hash': 'h1' }, annotations: { 'kubernetes.io/change-cause': 'to a:1' }, ownerReferences: [{ kind: 'DaemonSet', uid: 'ds-uid', controller: true }] }, revision: 1 });
  t.same(made?.data.spec.template, v1.spec.template);
  const history = [rev(v1, 'h1', 1), rev(ds('a:2'), 'h2', 2)];
  t.same(planHistory(ds('a:2'), history, 'agent-h2', new Set()), [], 'nothing to do');
  t.same(planHistory(v1, history, 'agent-h1', new Set()), [{ type: 'renumber-revision', name: 'agent-h1', revision: 3 }], 'rolled out again: the next number');
  const many = [1, 2, 3, 4].map((n) => rev(ds(`a:${n}`), `h${n}`, n));
  t.same(planHistory(ds('a:4', 1), many, 'agent-h4', new Set(['agent-h1'])), [{ type: 'delete-revision', name: 'agent-h2' }],
    'limit 1: h3 kept, h2 pruned; h1 kept while pods run it, h4 is current');
  const other = { ...rev(ds('x'), 'hx', 9), metadata: { ...rev(ds('x'), 'hx', 9).metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'other', uid: 'other-uid', controller: true }] } };
  t.same(planHistory(v1, [other], 'agent-h1', new Set()).map((a) => a.type === 'create-revision' && a.revision.revision), [1], "another set's revisions do not count");
});

t.test('rollout undo over a set\'s revisions', async (t) => {
  const history = [rev(ds('a:1'), 'h1', 1), rev(ds('a:2'), 'h2', 2)];
  t.same(setRevisions(ds('a:2'), [...history].reverse()).map((r) => [r.revision, r.changeCause]), [[1, 'to a:1'], [2, 'to a:2']]);
  t.same(planSetUndo(ds('a:2'), history, 0), { type: 'rollback', revision: 1, template: ds('a:1').spec.template });
  t.same(planSetUndo(ds('a:2'), history, 2), { type: 'skip', revision: 2 });
  t.same(planSetUndo(ds('a:2'), history, 7), { type: 'error', message: 'unable to find specified revision 7 in history' });
  t.same(planSetUndo(ds('a:2'), [], 0), { type: 'error', message: 'no rollout history found for daemonset "agent"' });
});
