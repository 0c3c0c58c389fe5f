// What admission must never let through, on a real SQLite store: a certificate request stored
// already approved, changed after it was made, or asking for system:masters; a webhook changing
// what only the server sets; and a failing webhook on pods stopping the scheduler's binding (a
// subresource write, as in Kubernetes) or status reports.

import t, { type Test } from 'tap';
import { apply, ensureNamespace, Registry } from '../../controller/objects';
import { openStore } from '../../controller/store';
import { decide } from '../../controller/controllers/csr/plan';
import { caSigner } from '../../controller/controllers';
import type { WebhookCall } from '../../controller/admission';
import type { CertificateSigningRequest, Pod } from '../../proto/resources';
import { createCsr, generateKeyPair } from '../../proto/trust/x509';

async function registryWith(t: Test, call?: WebhookCall): Promise<Registry> {
  const store = await openStore('sqlite', t.testdir());
  t.teardown(() => store.close());
  const registry = new Registry(store, () => new Date(), undefined, undefined, call);
  await ensureNamespace(registry, 'default');
  return registry;
}
const applyOne = (registry: Registry, doc: object) => apply(registry, [doc], { dryRun: false, applySet: '', prune: false });

const csrOf = async (name: string, subject: string, status?: object): Promise<object> => ({
  apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
  spec: { request: Buffer.from(await createCsr(await generateKeyPair(), subject)).toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] },
  ...(status ? { status } : {}),
});

t.test('certificate requests: born unapproved, never changed, never for system:masters', async (t) => {
  const registry = await registryWith(t);
  await applyOne(registry, await csrOf('sneaky', 'CN=mallory', { conditions: [{ type: 'Approved', status: 'True' }] }));
  const stored = await registry.get<CertificateSigningRequest>('CertificateSigningRequest', undefined, 'sneaky');
  t.equal(stored.status, undefined, 'a status in the document is dropped: approval is the approvers\'');
  t.same(decide(stored), { type: 'none' }, 'so the signer does not sign it');
  await t.rejects(registry.update({ ...stored, spec: { ...stored.spec, username: 'admin', groups: ['system:masters'] } }), { message: /spec: Forbidden: field is immutable/ }, 'no update changes what was asked or who asked');
  await t.rejects(applyOne(registry, await csrOf('admin', 'CN=mallory,O=system:masters')), { message: /use of kubernetes\.io\/kube-apiserver-client signer with system:masters group is not allowed/ });
  const sign = caSigner({ signClient: async () => 'CERT' }, () => ({ commonName: 'x', organizations: ['system:masters'] }));
  t.match(await sign('PEM', 1000), { failure: /system:masters group is not allowed/ }, 'the signer refuses it too');
});

t.test('webhooks: what only the server sets stays; binding and status writes do not go through them', async (t) => {
  let mode: 'rename' | 'fail' = 'rename';
  const call: WebhookCall = async (_webhook, review) => {
    if (mode === 'fail') throw new Error('connection refused');
    const patch = [
      { op: 'replace', path: '/metadata/name', value: 'renamed' },
      { op: 'replace', path: '/metadata/uid', value: 'forged' },
      { op: 'add', path: '/metadata/labels', value: { hooked: 'yes' } },
    ];
    return { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
  };
  const registry = await registryWith(t, call);
  await applyOne(registry, {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'm' },
    webhooks: [{ name: 'm.berth.test', clientConfig: { url: 'https://127.0.0.1:1/' }, sideEffects: 'None', admissionReviewVersions: ['v1'], rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'] }] }],
  });
  const [made] = await applyOne(registry, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'x' }] } });
  const pod = made!.object as Pod;
  t.equal(pod.metadata.name, 'web', 'the name is the server\'s');
  t.not(pod.metadata.uid, 'forged', 'and the uid');
  t.same(pod.metadata.labels, { hooked: 'yes' }, 'the rest of the patch is kept');
  mode = 'fail';
  const bound = await registry.update({ ...pod, spec: { ...pod.spec, nodeName: 'n1' } });
  t.equal(bound.spec.nodeName, 'n1', 'the scheduler binds while the webhook is down');
  const reported = await registry.update({ ...bound, status: { phase: 'Running' } });
  t.equal(reported.status?.phase, 'Running', 'and status reports get through');
  await t.rejects(registry.update({ ...reported, metadata: { ...reported.metadata, labels: { other: 'x' } } }), { message: /failed calling webhook "m\.berth\.test"/ }, 'a real update is asked about, and fails closed');
});
