// A container's environment as the kubelet builds it, pure: envFrom with prefixes, env in order
// with $(VAR) expansion, ConfigMap and Secret keys (optional or not, Kubernetes' messages when
// missing), the downward API's fields and a container's resources.

import t from 'tap';
import { containerEnv, expand, type ConfigLookup } from '../../agent/node/pod-env';
import type { ConfigMap, Container, Pod, Secret } from '../../proto/resources';

const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'shop' }, data: { MODE: 'fast', 'log.level': 'debug', '1bad': 'x' } };
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: Buffer.from('s3cret').toString('base64') } };
const lookup: ConfigLookup = { configMap: (n) => (n === 'app' ? cm : undefined), secret: (n) => (n === 'db' ? secret : undefined) };

const pod = (container: Partial<Container>): Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', labels: { app: 'web' }, annotations: { team: 'a' } },
  spec: { nodeName: 'n1', serviceAccountName: 'builder', containers: [{ name: 'c', image: 'x', ...container }] },
});
const envOf = (container: Partial<Container>, services: string[] = []) => {
  const p = pod(container);
  return containerEnv(p, p.spec.containers[0]!, lookup, { podIP: '10.42.0.7', hostIP: '192.168.1.10', allocatable: { cpu: '4', memory: '8Gi' } }, services);
};

t.test('envFrom with prefixes, then env in order, later names winning, values expanded', async (t) => {
  const r = envOf({
    envFrom: [{ configMapRef: { name: 'app' } }, { prefix: 'DB_', secretRef: { name: 'db' } }],
    env: [{ name: 'MODE', value: 'safe' }, { name: 'URL', value: 'http://$(BACKEND_SERVICE_HOST):80/$(MODE)?p=$(DB_password)&x=$(NOPE)&$$' }],
  }, ['BACKEND_SERVICE_HOST=10.43.0.9']);
  t.same(r, {
    ok: true,
    env: ['BACKEND_SERVICE_HOST=10.43.0.9', 'MODE=safe', 'log.level=debug', 'DB_password=s3cret', 'URL=http://10.43.0.9:80/safe?p=s3cret&x=$(NOPE)&$'],
    skipped: ['1bad'],
  }, "a key that is no variable name is skipped (the kubelet's event says so)");
});

t.test('keys and objects that are missing: Kubernetes\' messages, unless optional', async (t) => {
  t.same(envOf({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'app', key: 'NOPE' } } }] }), { ok: false, message: "couldn't find key NOPE in ConfigMap shop/app" });
  t.same(envOf({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'gone', key: 'K' } } }] }), { ok: false, message: 'configmap "gone" not found' });
  t.same(envOf({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'db', key: 'user' } } }] }), { ok: false, message: "couldn't find key user in Secret shop/db" });
  t.same(envOf({ envFrom: [{ secretRef: { name: 'gone' } }] }), { ok: false, message: 'secret "gone" not found' });
  const optional = envOf({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'gone', key: 'K', optional: true } } }], envFrom: [{ secretRef: { name: 'gone', optional: true } }] });
  t.same(optional, { ok: true, env: [], skipped: [] }, 'optional: nothing set, no error');
  t.same(envOf({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }), { ok: true, env: ['P=s3cret'], skipped: [] });
});

t.test('the downward API and resources', async (t) => {
  const field = (fieldPath: string) => ({ name: 'V', valueFrom: { fieldRef: { fieldPath } } });
  const one = (e: object) => { const r = envOf({ env: [e as never], resources: { limits: { cpu: '250m', memory: '64Mi' } } }); return r.ok ? r.env[0] : r.message; };
  t.equal(one(field('metadata.name')), 'V=web-1');
  t.equal(one(field('metadata.namespace')), 'V=shop');
  t.equal(one(field('metadata.uid')), 'V=u-1');
  t.equal(one(field("metadata.labels['app']")), 'V=web');
  t.equal(one(field("metadata.annotations['team']")), 'V=a');
  t.equal(one(field('spec.nodeName')), 'V=n1');
  t.equal(one(field('spec.serviceAccountName')), 'V=builder');
  t.equal(one(field('status.podIP')), 'V=10.42.0.7');
  t.equal(one(field('status.hostIP')), 'V=192.168.1.10');
  t.equal(one(field('spec.bogus')), 'unsupported fieldPath: spec.bogus');
  const res = (resource: string, divisor?: string) => ({ name: 'V', valueFrom: { resourceFieldRef: { resource, ...(divisor ? { divisor } : {}) } } });
  t.equal(one(res('limits.cpu')), 'V=1', 'cpu in cores, rounded up');
  t.equal(one(res('limits.cpu', '1m')), 'V=250');
  t.equal(one(res('limits.memory', '1Mi')), 'V=64');
  t.equal(one(res('requests.memory')), `V=${64 * 1024 * 1024}`, 'a request not set is the limit');
  const noLimit = envOf({ env: [res('limits.memory', '1Gi') as never] });
  t.same(noLimit.ok && noLimit.env, ['V=8'], "no limit: the node's allocatable");
});

t.test('expansion: only defined names, $$ is a literal $', async (t) => {
  const vars = new Map([['A', 'x']]);
  t.equal(expand('$(A)-$(B)-$$(A)-$', vars), 'x-$(B)-$(A)-$');
});
