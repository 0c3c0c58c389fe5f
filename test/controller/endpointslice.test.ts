// The EndpointSlice controller's decision, pure: which endpoints a Service's slices hold and with
// which conditions, how named target ports split slices, 100 per slice, and that one pod's change
// rewrites one slice only.

import t from 'tap';
import { MANAGED_BY, MIRROR_MANAGED_BY, SKIP_MIRROR_LABEL, mirrorPlan, plan, type EndpointSliceAction } from '../../controller/controllers/endpointslice';
import type { EndpointSlice, Endpoints, Pod, Service } from '../../proto/resources';

const service = (spec: Partial<Service['spec']> = {}, name = 'web'): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: 'svc-uid' },
  spec: { type: 'ClusterIP', selector: { app: 'web' }, ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }], ...spec },
});

function pod(name: string, ip: string | undefined, options: { ready?: boolean; deleting?: boolean; phase?: 'Running' | 'Succeeded'; labels?: Record<string, string>; portName?: string; port?: number; hostname?: string; subdomain?: string } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `${name}-uid`, labels: options.labels ?? { app: 'web' }, ...(options.deleting ? { deletionTimestamp: '2026-12-04T00:00:00Z' } : {}) },
    spec: {
      nodeName: 'n1',
      ...(options.hostname ? { hostname: options.hostname } : {}), ...(options.subdomain ? { subdomain: options.subdomain } : {}),
      containers: [{ name: 'c', image: 'x', ports: [{ name: options.portName ?? 'web', containerPort: options.port ?? 8080, protocol: 'TCP' }] }],
    },
    status: {
      phase: options.phase ?? 'Running',
      ...(ip ? { podIP: ip } : {}),
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

const created = (actions: EndpointSliceAction[]) => actions.filter((a): a is Extract<EndpointSliceAction, { type: 'create' }> => a.type === 'create').map((a) => a.slice);
const updated = (actions: EndpointSliceAction[]) => actions.filter((a): a is Extract<EndpointSliceAction, { type: 'update' }> => a.type === 'update').map((a) => a.slice);
/** The slices as stored after the actions (created ones get a uid). */
function applied(slices: EndpointSlice[], actions: EndpointSliceAction[]): EndpointSlice[] {
  const byName = new Map(slices.map((s) => [s.metadata.name!, s]));
  for (const a of actions) {
    if (a.type === 'delete') byName.delete(a.name);
    else byName.set(a.slice.metadata.name!, { ...a.slice, metadata: { ...a.slice.metadata, uid: a.slice.metadata.uid ?? `${a.slice.metadata.name}-uid` } });
  }
  return [...byName.values()];
}

t.test('ready, not ready, terminating and terminated pods; pods of other labels and without an IP', async (t) => {
  const pods = [
    pod('a', '10.42.0.2'), pod('b', '10.42.0.3', { ready: false }), pod('c', '10.42.0.4', { deleting: true }),
    pod('d', '10.42.0.5', { phase: 'Succeeded' }), pod('e', '10.42.0.6', { labels: { app: 'db' } }), pod('f', undefined),
  ];
  const [slice, ...more] = created(plan(service(), pods, []).actions);
  t.same(more, [], 'one slice');
  t.equal(slice!.metadata.labels!['kubernetes.io/service-name'], 'web');
  t.equal(slice!.metadata.labels!['endpointslice.kubernetes.io/managed-by'], MANAGED_BY);
  t.same(slice!.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true }]);
  t.same(slice!.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
  t.same(slice!.endpoints.map((e) => [e.addresses[0], e.conditions]), [
    ['10.42.0.2', { ready: true, serving: true, terminating: false }],
    ['10.42.0.3', { ready: false, serving: false, terminating: false }],
    ['10.42.0.4', { ready: false, serving: true, terminating: true }],
  ], 'only a ready pod not being deleted is ready; a deleted one still serving is terminating');
  t.same(slice!.endpoints[0]!.targetRef, { kind: 'Pod', namespace: 'default', name: 'a', uid: 'a-uid' });
  t.equal(slice!.endpoints[0]!.nodeName, 'n1');
  const published = created(plan(service({ publishNotReadyAddresses: true }), [pod('b', '10.42.0.3', { ready: false })], []).actions)[0]!;
  t.same(published.endpoints[0]!.conditions, { ready: true, serving: true, terminating: false }, 'publishNotReadyAddresses: ready regardless');
});

t.test('a named target port resolves per pod: different numbers make different slices, a pod without it has no port', async (t) => {
  const svc = service({ ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' }] });
  const slices = created(plan(svc, [pod('a', '10.42.0.2', { port: 8080 }), pod('b', '10.42.0.3', { port: 9090 }), pod('c', '10.42.0.4', { portName: 'other' })], []).actions);
  t.same(slices.map((s) => [s.ports, s.endpoints.map((e) => e.addresses[0])]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))), [
    [[], ['10.42.0.4']],
    [[{ name: 'http', protocol: 'TCP', port: 8080 }], ['10.42.0.2']],
    [[{ name: 'http', protocol: 'TCP', port: 9090 }], ['10.42.0.3']],
  ]);
});

t.test('at most 100 per slice; one pod changing rewrites only its slice; a gone pod leaves', async (t) => {
  const pods = Array.from({ length: 250 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, `10.42.${Math.floor(i / 200)}.${(i % 200) + 2}`));
  const first = plan(service(), pods, []).actions;
  const slices = applied([], first);
  t.same(slices.map((s) => s.endpoints.length).sort(), [100, 100, 50]);
  t.equal(new Set(slices.map((s) => s.metadata.name)).size, 3, 'distinct names');
  t.same(plan(service(), pods, slices).actions, [], 'level: nothing more to do');

  const changed = pods.map((p) => (p.metadata.name === 'p120' ? pod('p120', p.status!.podIP, { ready: false }) : p));
  const second = plan(service(), changed, slices).actions;
  t.equal(second.length, 1, 'one action');
  t.equal(updated(second)[0]?.endpoints.find((e) => e.targetRef?.name === 'p120')?.conditions?.ready, false, 'in the slice that holds the pod');

  const fewer = pods.filter((p) => p.metadata.name !== 'p010');
  const third = plan(service(), fewer, slices).actions;
  t.equal(third.length, 1);
  t.equal(updated(third)[0]!.endpoints.length, 99);

  const more = [...pods, pod('p999', '10.42.9.9')];
  const fourth = plan(service(), more, slices).actions;
  t.equal(fourth.length, 1, 'a new pod fills the slice with room');
  t.equal(updated(fourth)[0]!.endpoints.length, 51);
});

t.test('no endpoints: one empty placeholder slice; a Service gone or without a selector: its slices go', async (t) => {
  const [placeholder] = created(plan(service(), [], []).actions);
  t.same([placeholder!.endpoints, placeholder!.ports], [[], []]);
  const stored = applied([], plan(service(), [pod('a', '10.42.0.2')], []).actions);
  const emptied = plan(service(), [], stored).actions;
  t.same(emptied.map((a) => a.type), ['update'], 'the slice becomes the placeholder');
  t.same(plan(undefined, [], stored).actions.map((a) => a.type), ['delete'], 'the Service is gone');
  t.same(plan(service({ selector: undefined }), [pod('a', '10.42.0.2')], stored).actions.map((a) => a.type), ['delete'], 'selectorless: endpoints are someone else\'s');
  const foreign: EndpointSlice = { ...stored[0]!, metadata: { ...stored[0]!.metadata, name: 'manual', labels: { 'kubernetes.io/service-name': 'web' } } };
  t.same(plan(undefined, [], [foreign]).actions, [], "a slice someone else manages is left alone");
});

t.test('a pod with hostname and subdomain naming the Service gets a hostname in its endpoint', async (t) => {
  const svc = service({ clusterIP: 'None' });
  const slice = created(plan(svc, [pod('a', '10.42.0.2', { hostname: 'db-0', subdomain: 'web' }), pod('b', '10.42.0.3', { hostname: 'db-1', subdomain: 'other' })], []).actions)[0]!;
  t.same(slice.endpoints.map((e) => e.hostname), ['db-0', undefined]);
});

t.test('mirroring: a selectorless Service\'s Endpoints copied into slices, and taken back', async (t) => {
  const external = service({ selector: undefined, ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] }, 'db');
  const endpoints: Endpoints = {
    apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db', namespace: 'default', uid: 'ep-uid', labels: { team: 'data' } },
    subsets: [
      { addresses: [{ ip: '192.0.2.10', hostname: 'primary' }], notReadyAddresses: [{ ip: '192.0.2.11' }], ports: [{ name: 'pg', port: 5432 }] },
      { addresses: [{ ip: '192.0.2.20' }], ports: [{ name: 'metrics', port: 9187 }] },
    ],
  };
  const first = mirrorPlan(external, endpoints, []).actions;
  const slices = created(first);
  t.equal(slices.length, 2, 'one slice per port list');
  const pg = slices.find((s) => s.ports?.[0]?.port === 5432)!;
  t.match(pg, {
    metadata: { namespace: 'default', labels: { team: 'data', 'kubernetes.io/service-name': 'db', 'endpointslice.kubernetes.io/managed-by': MIRROR_MANAGED_BY }, ownerReferences: [{ kind: 'Endpoints', name: 'db', uid: 'ep-uid', controller: true }] },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['192.0.2.10'], hostname: 'primary', conditions: { ready: true } }, { addresses: ['192.0.2.11'], conditions: { ready: false } }],
    ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }],
  });
  t.match(pg.metadata.name, /^db-[0-9a-f]{5}$/);
  const stored = applied([], first);
  t.same(mirrorPlan(external, endpoints, stored).actions, [], 'nothing to do once mirrored');

  const moved = { ...endpoints, subsets: [{ addresses: [{ ip: '192.0.2.12' }], ports: [{ name: 'pg', port: 5432 }] }] };
  const change = mirrorPlan(external, moved, stored).actions;
  t.match(updated(change), [{ metadata: { name: pg.metadata.name }, endpoints: [{ addresses: ['192.0.2.12'] }] }], 'a changed address updates its slice');
  t.match(change.filter((a) => a.type === 'delete'), [{ type: 'delete' }], 'a port list gone takes its slice');

  const deleteAll = (actions: EndpointSliceAction[]) => actions.every((a) => a.type === 'delete') && actions.length === 2;
  t.ok(deleteAll(mirrorPlan({ ...external, spec: { ...external.spec, selector: { app: 'db' } } }, endpoints, stored).actions), 'a Service that selects pods: its slices are the EndpointSlice controller\'s');
  t.ok(deleteAll(mirrorPlan(undefined, endpoints, stored).actions), 'the Service gone');
  t.ok(deleteAll(mirrorPlan(external, undefined, stored).actions), 'the Endpoints gone');
  t.ok(deleteAll(mirrorPlan(external, { ...endpoints, metadata: { ...endpoints.metadata, labels: { [SKIP_MIRROR_LABEL]: 'true' } } }, stored).actions), 'skip-mirror');
  t.same(plan(external, [], stored).actions, [], 'the EndpointSlice controller leaves mirrored slices alone');
});
