// Admission webhooks against a real controller and a real HTTPS webhook server (this test's, on
// loopback, with its own certificate as the caBundle): what they are sent, how their denials,
// patches, failures and timeouts decide a write, and which writes they are asked about (rules,
// namespaceSelector, matchConditions, DELETE with the old object).

import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { ConfigMap } from '../../proto/resources';
import { startTestController } from '../fixtures/controller';

interface Review {
  request: { uid: string; operation: string; kind: { kind: string }; resource: { resource: string }; namespace?: string; name: string; object: { metadata: { labels?: Record<string, string> } } | null; oldObject: unknown };
}

t.test('validating and mutating webhooks', async (t) => {
  const dir = t.testdir();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'hook.key'), '-out', path.join(dir, 'hook.crt'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { stdio: 'ignore' });
  const cert = fs.readFileSync(path.join(dir, 'hook.crt'));
  const reviews: Array<{ path: string; review: Review }> = [];
  const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'hook.key')), cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      const review = JSON.parse(body) as Review;
      const route = (req.url ?? '').split('?')[0]!;
      reviews.push({ path: route, review });
      if (route === '/slow') return; // never answers
      const labels = (review.request.object ?? review.request.oldObject as Review['request']['object'])?.metadata.labels ?? {};
      const response: Record<string, unknown> = { uid: review.request.uid, allowed: true };
      if (route === '/validate' && (labels.deny === 'true' || (review.request.operation === 'DELETE' && labels.protect === 'true'))) {
        Object.assign(response, { allowed: false, status: { code: 403, message: `no ${review.request.operation.toLowerCase()} of ${review.request.name}` } });
      }
      if (route === '/mutate') {
        const patch = labels && Object.keys(labels).length ? [{ op: 'add', path: '/metadata/labels/injected', value: 'yes' }] : [{ op: 'add', path: '/metadata/labels', value: { injected: 'yes' } }];
        Object.assign(response, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
      }
      if (route === '/break') Object.assign(response, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify([{ op: 'remove', path: '/data' }, { op: 'add', path: '/data', value: 'not a map' }])).toString('base64') });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));
  const url = (p: string) => `https://127.0.0.1:${(server.address() as AddressInfo).port}${p}`;
  const caBundle = cert.toString('base64');

  const controller = await startTestController(t, dir);
  // Asynchronously: the webhook server answers from this very process, which a synchronous spawn would block.
  const berth = (args: string[]) => controller.berthAsync(args);
  const apply = (name: string, text: string) => berth(['apply', '-f', writeFile(dir, name, text)]);
  const hook = (name: string, p: string, resources: string[], extra = '') => `  - name: ${name}
    clientConfig: {url: "${url(p)}", caBundle: ${caBundle}}
    rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE, DELETE], resources: ${JSON.stringify(resources)}}]
    namespaceSelector: {matchLabels: {webhooks: "on"}}
    sideEffects: None
    admissionReviewVersions: [v1]
${extra}`;
  const configs = `apiVersion: v1
kind: Namespace
metadata: {name: hooked, labels: {webhooks: "on"}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks:
${hook('deny.berth.test', '/validate', ['configmaps'], '    matchConditions: [{name: not-skipme, expression: "object == null || object.metadata.name != \'skipme\'"}]\n')}${hook('closed.berth.test', '/nowhere', ['limitranges'])}${hook('open.berth.test', '/nowhere', ['secrets'], '    failurePolicy: Ignore\n')}${hook('slow.berth.test', '/slow', ['resourcequotas'], '    timeoutSeconds: 1\n')}---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: labeller}
webhooks:
${hook('label.berth.test', '/mutate', ['configmaps'])}${hook('break.berth.test', '/break', ['configmaps'], '    objectSelector: {matchLabels: {break: "true"}}\n')}`;
  // The closed and open webhooks point at a port nothing listens on.
  const r = await apply('configs.yaml', configs.replaceAll(url('/nowhere'), 'https://127.0.0.1:1/nowhere'));
  t.equal(r.status, 0, r.stderr);

  const cm = (name: string, labels: Record<string, string>, namespace = 'hooked') => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)}}
data: {a: b}
`;
  const denied = await apply('deny.yaml', cm('bad', { deny: 'true' }));
  t.not(denied.status, 0);
  t.match(denied.stderr, /admission webhook "deny\.berth\.test" denied the request: no create of bad/, 'a denial, in Kubernetes\' words');
  t.equal((await berth(['get', 'cm', 'bad', '-n', 'hooked'])).status, 1, 'nothing stored');

  t.equal((await apply('ok.yaml', cm('good', { app: 'x' }))).status, 0);
  const good = JSON.parse((await berth(['get', 'cm', 'good', '-n', 'hooked', '-o', 'json'])).stdout) as ConfigMap;
  t.same(good.metadata.labels, { app: 'x', injected: 'yes' }, 'the mutating webhook\'s patch is stored');
  const created = reviews.find((x) => x.path === '/validate' && x.review.request.name === 'good');
  t.match(created?.review.request, { operation: 'CREATE', kind: { kind: 'ConfigMap' }, resource: { resource: 'configmaps' }, namespace: 'hooked', oldObject: null }, 'the AdmissionReview names the write');
  t.same(created?.review.request.object?.metadata.labels, { app: 'x', injected: 'yes' }, 'validating webhooks see the object as the mutating ones left it');

  t.equal((await apply('default.yaml', cm('elsewhere', { deny: 'true' }, 'default'))).status, 0, 'a namespace the selector does not pick is not covered');
  t.equal((await apply('skip.yaml', cm('skipme', { deny: 'true' }))).status, 0, 'a matchCondition that does not hold: not called');

  const update = await apply('ok.yaml', cm('good', { app: 'x', deny: 'true' }));
  t.match(update.stderr, /denied the request: no update of good/, 'updates too');
  t.ok(reviews.some((x) => x.review.request.operation === 'UPDATE' && x.review.request.oldObject), 'with the old object');

  t.equal((await apply('protect.yaml', cm('kept', { protect: 'true' }))).status, 0);
  const del = await berth(['delete', 'cm', 'kept', '-n', 'hooked']);
  t.match(del.stderr, /denied the request: no delete of kept/, 'a delete is asked about with the old object');
  t.equal((await berth(['get', 'cm', 'kept', '-n', 'hooked'])).status, 0, 'and stays');

  const broken = await apply('break.yaml', cm('broken', { break: 'true' }));
  t.match(broken.stderr, /the mutating admission webhooks made the object invalid: .*data/, 'a patch that makes the object invalid refuses the write');

  const closed = await apply('limits.yaml', 'apiVersion: v1\nkind: LimitRange\nmetadata: {name: l, namespace: hooked}\nspec: {limits: [{type: Container, max: {cpu: "1"}}]}\n');
  t.match(closed.stderr, /Internal error occurred: failed calling webhook "closed\.berth\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:1\/nowhere\?timeout=10s"/, 'failurePolicy Fail: a webhook that cannot be called refuses');
  t.equal((await apply('secret.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: hooked}\nstringData: {a: b}\n')).status, 0, 'failurePolicy Ignore: it is skipped');
  const slow = await apply('quota.yaml', 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: hooked}\nspec: {hard: {pods: "3"}}\n');
  t.match(slow.stderr, /failed calling webhook "slow\.berth\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/slow\?timeout=1s": context deadline exceeded \(1s\)/, 'timeoutSeconds bounds the call');
});

function writeFile(dir: string, name: string, text: string): string {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
}
