// The bootstrap roles on a real SQLite store: made when missing, their rules brought up to date on
// each start unless the user took a role over (label removed, or autoupdate "false").

import t from 'tap';
import { ensureBootstrapPolicy } from '../../controller/auth';
import type { ClusterRole } from '../../proto/resources';
import { openRegistry } from '../fixtures/sqlite-registry';

t.test('bootstrap roles: made, reconciled, left alone when taken over', async (t) => {
  const registry = await openRegistry(t);
  await ensureBootstrapPolicy(registry);
  const view = await registry.get<ClusterRole>('ClusterRole', undefined, 'view');
  t.ok(view.rules?.some((r) => r.resources?.includes('resourcequotas')), 'view reads quotas');
  // An older version's rules, and one the user added: what is missing is added, the user's kept.
  const own = { apiGroups: [''], resources: ['secrets'], verbs: ['get'] };
  await registry.update({ ...view, rules: [own, ...(view.rules ?? []).slice(1)] });
  await ensureBootstrapPolicy(registry);
  const after = (await registry.get<ClusterRole>('ClusterRole', undefined, 'view')).rules ?? [];
  t.ok((view.rules ?? []).every((r) => after.some((a) => JSON.stringify(a) === JSON.stringify(r))), 'every bootstrap rule is there');
  t.ok(after.some((a) => JSON.stringify(a) === JSON.stringify(own)), "the user's rule stays");
  // Taken over: kept as the user left it.
  const edit = await registry.get<ClusterRole>('ClusterRole', undefined, 'edit');
  const mine = [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }];
  await registry.update({ ...edit, metadata: { ...edit.metadata, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'false' } }, rules: mine });
  await ensureBootstrapPolicy(registry);
  t.same((await registry.get<ClusterRole>('ClusterRole', undefined, 'edit')).rules, mine);
});
