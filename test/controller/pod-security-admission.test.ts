// Pod Security enforced where pods are created, on a real SQLite store: a user's apply (refused
// whole, nothing stored, the pod named), the registry's own create, and the ReplicaSet
// controller's creates (a FailedCreate event on the ReplicaSet, as Kubernetes), with the
// namespace's label choosing the level and running pods left alone when it changes.

import t, { type Test } from 'tap';
import { startController } from '../../controller';
import { apply, ensureNamespace, Registry, updateByUser } from '../../controller/objects';
import { openStore } from '../../controller/store';
import type { Deployment, Event, Namespace, Pod, ReplicaSet, Resource } from '../../proto/resources';
import { eventually } from '../fixtures/wait';

const ENFORCE = 'pod-security.kubernetes.io/enforce';

async function openRegistry(t: Test): Promise<Registry> {
  const store = await openStore('sqlite', t.testdir());
  t.teardown(() => store.close());
  const registry = new Registry(store);
  await ensureNamespace(registry, 'default');
  return registry;
}

const namespace = (name: string, level?: string): Namespace => ({
  apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(level ? { labels: { [ENFORCE]: level } } : {}) },
});

const pod = (name: string, ns: string | undefined, container: Pod['spec']['containers'][number]): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, ...(ns ? { namespace: ns } : {}) }, spec: { containers: [container] },
});

const sshd = (name = 'web', ns?: string) => pod(name, ns, { name: 'web', image: 'sshd:1', ports: [{ containerPort: 22, hostPort: 22 }] });

const deployment = (name: string, ns: string, hostPort: number): Deployment => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1', ports: [{ containerPort: 80, hostPort }] }] } },
  },
});

const run = (registry: Registry, docs: Resource[], dryRun = false) => apply(registry, docs, { dryRun, applySet: '', prune: false });

const HOSTPORT_22 = 'violates PodSecurity "baseline:latest": hostPort (container "web" uses hostPort 22)';

t.test('an apply with a pod its namespace forbids is refused whole, naming the pod; nothing is stored', async (t) => {
  const registry = await openRegistry(t);
  const ok = pod('api', 'shop', { name: 'api', image: 'api:1' });
  await t.rejects(run(registry, [namespace('shop'), ok, sshd('web', 'shop')]), {
    code: 'permission-denied',
    message: `pods "web" is forbidden: ${HOSTPORT_22}`,
  });
  t.equal(await registry.tryGet('Namespace', undefined, 'shop'), undefined, 'not even the namespace');
  t.equal(await registry.tryGet('Pod', 'shop', 'api'), undefined, 'nor the pod that was fine');

  await t.rejects(run(registry, [sshd('web'), sshd('db')], true), {
    code: 'permission-denied',
    message: `pods "web" is forbidden: ${HOSTPORT_22}\npods "db" is forbidden: ${HOSTPORT_22}`,
  }, 'a dry run is admitted too; every refused pod is named');

  const probe = pod('probe', undefined, { name: 'web', image: 'web:1', livenessProbe: { httpGet: { port: 80, host: '169.254.169.254' } } });
  await t.rejects(run(registry, [probe]), {
    message: 'pods "probe" is forbidden: violates PodSecurity "baseline:latest": probe or lifecycle host (container "web" uses probe or lifecycle host "169.254.169.254")',
  }, 'a probe aimed at another host');
  t.same((await registry.list('Pod')).items, []);
});

t.test('the namespace label chooses the level, as it is in the same apply', async (t) => {
  const registry = await openRegistry(t);
  const [, created] = await run(registry, [namespace('edge', 'privileged'), sshd('web', 'edge')]);
  t.equal(created!.action, 'created', 'a privileged namespace allows hostPort');

  await run(registry, [namespace('secure', 'restricted')]);
  await t.rejects(run(registry, [pod('plain', 'secure', { name: 'app', image: 'app:1' })]), {
    code: 'permission-denied',
    message: 'pods "plain" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ' +
      'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ' +
      'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  });
  // The same apply lowers the level and brings the pod: the pod counts with the new labels.
  const outcomes = await run(registry, [namespace('secure', 'baseline'), pod('plain', 'secure', { name: 'app', image: 'app:1' })]);
  t.same(outcomes.map((o) => o.action), ['configured', 'created']);

  await t.rejects(run(registry, [sshd('web', 'nowhere')]), { code: 'not-found', message: 'namespaces "nowhere" not found' }, 'a missing namespace is said first');
});

t.test('relabelling a namespace leaves its pods alone; a pod already there is not admitted again', async (t) => {
  const registry = await openRegistry(t);
  await run(registry, [namespace('edge', 'privileged'), sshd('web', 'edge')]);
  await run(registry, [namespace('edge')]);
  t.ok(await registry.tryGet('Pod', 'edge', 'web'), 'the running pod stays');
  const [, again] = await run(registry, [namespace('edge'), sshd('web', 'edge')]);
  t.equal(again!.action, 'unchanged', 'applying it again is no create');
  await t.rejects(run(registry, [sshd('web2', 'edge')]), { message: `pods "web2" is forbidden: ${HOSTPORT_22}` }, 'a new one is refused');
});

t.test('a user\'s update that changes a pod\'s spec is admitted like a create', async (t) => {
  const registry = await openRegistry(t);
  const [created] = await run(registry, [pod('web', undefined, { name: 'web', image: 'web:1' })]);
  const stored = created!.object as Pod;
  const widened: Pod = { ...stored, spec: { ...stored.spec, containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 22, hostPort: 22 }] }] } };
  await t.rejects(updateByUser(registry, widened), { code: 'permission-denied', message: `pods "web" is forbidden: ${HOSTPORT_22}` });
  t.same((await registry.get<Pod>('Pod', 'default', 'web')).spec, stored.spec, 'nothing changed');
  const relabelled = await updateByUser(registry, { ...stored, metadata: { ...stored.metadata, labels: { tier: 'front' } } });
  t.same(relabelled.metadata.labels, { tier: 'front' }, 'an update of its metadata is no new request');
});

t.test('the registry admits every pod it creates, whoever asks; a label that is no level means restricted', async (t) => {
  const registry = await openRegistry(t);
  await t.rejects(registry.create(sshd()), { code: 'permission-denied', message: `pods "web" is forbidden: ${HOSTPORT_22}` });
  // A label no apply would accept (the schema refuses it), written underneath: fail closed.
  const ns = await registry.get<Namespace>('Namespace', undefined, 'default');
  await registry.update({ ...ns, metadata: { ...ns.metadata, labels: { [ENFORCE]: 'relaxed' } } });
  await t.rejects(registry.create(pod('plain', undefined, { name: 'app', image: 'app:1' })), { message: /^pods "plain" is forbidden: violates PodSecurity "restricted:latest": / });
  t.same((await registry.list('Pod')).items, []);
  t.ok(await registry.create({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'x' }, reason: 'R', message: 'm', type: 'Normal' }), 'other kinds are not pods');
});

t.test('a Deployment whose template is forbidden is stored; its ReplicaSet reports FailedCreate until the namespace allows it', async (t) => {
  const controller = await startController({ dataRoot: t.testdir(), listen: '127.0.0.1:0' });
  t.teardown(() => controller.stop());
  const registry = controller.registry;
  await run(registry, [namespace('shop'), deployment('web', 'shop', 8080)]);
  const rs = await eventually('the ReplicaSet', async () => (await registry.list<ReplicaSet>('ReplicaSet', { namespace: 'shop' })).items[0]);
  const events = async () => (await registry.list<Event>('Event', { namespace: 'shop' })).items.filter((e) => e.involvedObject.name === rs.metadata.name);
  const failed = await eventually('a FailedCreate event', async () => (await events()).find((e) => e.reason === 'FailedCreate'));
  t.match(failed, {
    type: 'Warning',
    involvedObject: { kind: 'ReplicaSet', name: rs.metadata.name, namespace: 'shop' },
    source: { component: 'replicaset-controller' },
  });
  t.match(failed.message, new RegExp(`^Error creating: pods "${rs.metadata.name}-[a-z0-9]{5}" is forbidden: violates PodSecurity "baseline:latest": hostPort \\(container "web" uses hostPort 8080\\)$`));
  t.same((await registry.list('Pod', { namespace: 'shop' })).items, [], 'no pod');
  t.notOk((await events()).some((e) => e.reason === 'SuccessfulCreate'), 'no SuccessfulCreate for a pod never made');

  await run(registry, [namespace('shop', 'privileged')]);
  const pods = await eventually('both pods, once the namespace allows them', async () => {
    const items = (await registry.list<Pod>('Pod', { namespace: 'shop' })).items;
    return items.length === 2 ? items : undefined;
  }, 90_000);
  t.same(pods.map((p) => p.spec.containers[0]!.ports![0]!.hostPort), [8080, 8080]);
  t.ok((await events()).some((e) => e.reason === 'SuccessfulCreate'), 'then SuccessfulCreate');
});
