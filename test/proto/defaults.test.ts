// Defaulting: each of Kubernetes' defaults berth applies, for pods and for the pod templates of
// Deployments and ReplicaSets, and that the input is never changed.

import t from 'tap';
import { defaultPullPolicy, withDefaults } from '../../proto/resources';
import type { Deployment, Namespace, Node, Pod, ReplicaSet } from '../../proto/resources';
import { deepFreeze } from '../fixtures/frozen';


const pod = (): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: {
    containers: [{
      name: 'web',
      image: 'nginx:1.27',
      ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }],
      resources: { requests: { cpu: 2 as unknown as string, memory: 134217728 as unknown as string }, limits: { cpu: 0.5 as unknown as string, memory: '1Gi' } },
      readinessProbe: { httpGet: { port: 80 } },
      livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 3 },
    }],
  },
});

const template = () => ({ metadata: { labels: { app: 'web' } }, spec: pod().spec });

const deployment = (): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
});

t.test('pod: namespace, restart policy, grace period, pull policy, port protocol, probes, quantities', async (t) => {
  const out = withDefaults(pod());
  t.equal(out.metadata.namespace, 'default');
  t.equal(out.spec.restartPolicy, 'Always');
  t.equal(out.spec.terminationGracePeriodSeconds, 30);
  const c = out.spec.containers[0];
  t.equal(c.imagePullPolicy, 'IfNotPresent');
  t.same(c.ports, [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP' }]);
  t.same(c.readinessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' },
    initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
  });
  t.same(c.livenessProbe, {
    tcpSocket: { port: 80 },
    initialDelaySeconds: 0, periodSeconds: 3, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3,
  }, 'a set value is kept; tcpSocket gets no path');
  t.same(c.resources, { requests: { cpu: '2', memory: '134217728' }, limits: { cpu: '0.5', memory: '1Gi' } });
});

t.test('values that are set are kept', async (t) => {
  const p = pod();
  p.metadata.namespace = 'shop';
  p.spec.restartPolicy = 'Never';
  p.spec.terminationGracePeriodSeconds = 0;
  p.spec.containers[0].imagePullPolicy = 'Never';
  p.spec.containers[0].readinessProbe = { httpGet: { port: 80, path: '/healthz', scheme: 'HTTPS' }, failureThreshold: 1, initialDelaySeconds: 5 };
  const out = withDefaults(p);
  t.equal(out.metadata.namespace, 'shop');
  t.equal(out.spec.restartPolicy, 'Never');
  t.equal(out.spec.terminationGracePeriodSeconds, 0, 'zero is a value, not absence');
  t.equal(out.spec.containers[0].imagePullPolicy, 'Never');
  t.match(out.spec.containers[0].readinessProbe, { httpGet: { path: '/healthz', scheme: 'HTTPS' }, failureThreshold: 1, initialDelaySeconds: 5, periodSeconds: 10 });
});

t.test('image pull policy follows Kubernetes: Always for :latest or no tag, else IfNotPresent', async (t) => {
  const cases: [string, string][] = [
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['registry.berth.local:5000/berth/hello', 'Always'],
    ['registry.berth.local:5000/berth/hello:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['registry.berth.local:5000/berth/hello:1', 'IfNotPresent'],
    ['busybox@sha256:' + 'a'.repeat(64), 'IfNotPresent'],
    ['busybox:latest@sha256:' + 'a'.repeat(64), 'IfNotPresent'],
  ];
  for (const [image, policy] of cases) {
    t.equal(defaultPullPolicy(image), policy, image);
    const p = pod();
    p.spec.containers[0].image = image;
    t.equal(withDefaults(p).spec.containers[0].imagePullPolicy, policy, `${image} in a pod`);
  }
});

t.test('Deployment: replicas, strategy, history, deadlines, and its pod template', async (t) => {
  const out = withDefaults(deployment());
  t.equal(out.metadata.namespace, 'default');
  t.equal(out.spec.replicas, 1);
  t.same(out.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
  t.equal(out.spec.revisionHistoryLimit, 10);
  t.equal(out.spec.progressDeadlineSeconds, 600);
  t.equal(out.spec.minReadySeconds, 0);
  const spec = out.spec.template.spec;
  t.equal(spec.restartPolicy, 'Always');
  t.equal(spec.terminationGracePeriodSeconds, 30);
  t.equal(spec.containers[0].imagePullPolicy, 'IfNotPresent');
  t.equal(spec.containers[0].ports![0].protocol, 'TCP');
  t.match(spec.containers[0].readinessProbe, { periodSeconds: 10, httpGet: { path: '/', scheme: 'HTTP' } });
  t.equal(spec.containers[0].resources!.requests!.cpu, '2');
  t.same(out.spec.template.metadata, { labels: { app: 'web' } }, 'a template has no namespace');
});

t.test('Deployment: a partial strategy is completed; Recreate gets no rollingUpdate', async (t) => {
  const d = deployment();
  d.spec.replicas = 0;
  d.spec.strategy = { rollingUpdate: { maxSurge: 1 } };
  const out = withDefaults(d);
  t.equal(out.spec.replicas, 0, 'zero replicas is a value');
  t.same(out.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } });
  const r = deployment();
  r.spec.strategy = { type: 'Recreate' };
  t.same(withDefaults(r).spec.strategy, { type: 'Recreate' });
});

t.test('ReplicaSet: replicas and its pod template', async (t) => {
  const rs: ReplicaSet = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'shop' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template() } };
  const out = withDefaults(rs);
  t.equal(out.metadata.namespace, 'shop');
  t.equal(out.spec.replicas, 1);
  t.equal(out.spec.template.spec.restartPolicy, 'Always');
  t.equal(out.spec.template.spec.containers[0].livenessProbe!.failureThreshold, 3);
  t.notOk('strategy' in out.spec, 'no Deployment fields');
});

t.test('cluster-scoped kinds get no namespace', async (t) => {
  const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
  t.same(withDefaults(ns), ns);
  const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } };
  t.same(withDefaults(node), node);
});

t.test('the input is never mutated (frozen input works, and output is a separate copy)', async (t) => {
  for (const input of [pod(), deployment()]) {
    const before = structuredClone(input);
    const frozen = deepFreeze(input);
    const out = withDefaults(frozen);
    t.same(frozen, before, `${input.kind} unchanged`);
    t.not(out, frozen);
    t.not(out.metadata, frozen.metadata);
    t.not(out.spec, frozen.spec);
  }
  const twice = withDefaults(withDefaults(deployment()));
  t.same(twice, withDefaults(deployment()), 'idempotent');
});
