// ValidatingAdmissionPolicy on a real SQLite store, with the cases of Kubernetes' documentation:
// the replicas limit (creates and updates refused in Kubernetes' words, status writes not
// covered), params from a ConfigMap (and a binding whose params are missing), a binding narrowed by
// a namespace selector, variables and messageExpression, failurePolicy Fail and Ignore, Warn-only
// bindings, reasons, and a policy whose expression does not parse refused when written.

import t from 'tap';
import type { Deployment } from '../../proto/resources';
import { applyOne, openRegistry } from '../fixtures/sqlite-registry';

const deployment = (name: string, replicas: number, o: { namespace?: string; image?: string; labels?: Record<string, string> } = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}), ...(o.labels ? { labels: o.labels } : {}) },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: o.image ?? 'nginx' }] } } },
});
const rules = [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }];
const policy = (name: string, spec: object) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name }, spec: { matchConstraints: { resourceRules: rules }, ...spec } });
const binding = (name: string, policyName: string, spec: object = {}) => ({
  apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name }, spec: { policyName, validationActions: ['Deny'], ...spec },
});

t.test('a replicas limit: creates and updates above it refused, status writes not covered', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, deployment('before', 9));
  await applyOne(registry, policy('demo-policy.example.com', { failurePolicy: 'Fail', validations: [{ expression: 'object.spec.replicas <= 5' }] }));
  t.equal((await applyOne(registry, deployment('small', 3)))[0]!.action, 'created', 'no binding: not in force');
  await applyOne(registry, binding('demo-binding-test.example.com', 'demo-policy.example.com'));
  await t.rejects(applyOne(registry, deployment('big', 6)), {
    code: 'invalid-argument',
    message: "deployments \"big\" is invalid: ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5",
  });
  t.equal(await registry.tryGet('Deployment', 'default', 'big'), undefined, 'nothing stored');
  await t.rejects(applyOne(registry, deployment('small', 7)), { message: /deployments "small" is invalid: ValidatingAdmissionPolicy/ }, 'an update too');
  t.equal((await applyOne(registry, deployment('small', 5)))[0]!.action, 'configured');
  // The deployment made before the policy: its status may still be written; its spec not above 5.
  const written = await registry.mutate<Deployment>('Deployment', 'default', 'before', (d) => ({ ...d, status: { ...d.status, replicas: 9, observedGeneration: 1 } }));
  t.equal(written?.status?.replicas, 9, 'a status write passes');
  t.equal((await applyOne(registry, deployment('before', 4)))[0]!.action, 'configured', 'an update that complies');
});

t.test('params from a ConfigMap; a binding whose params are missing denies', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, policy('replicalimit-policy.example.com', {
    paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
    validations: [{ expression: 'object.spec.replicas <= int(params.data.maxReplicas)', messageExpression: "'object.spec.replicas must be no greater than ' + params.data.maxReplicas", reason: 'Forbidden' }],
  }));
  await applyOne(registry, binding('replicalimit-binding', 'replicalimit-policy.example.com', { paramRef: { name: 'replica-limit', namespace: 'default', parameterNotFoundAction: 'Deny' } }));
  await t.rejects(applyOne(registry, deployment('web', 1)), {
    message: "deployments \"web\" is invalid: ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
  });
  await applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'replica-limit' }, data: { maxReplicas: '3' } });
  t.equal((await applyOne(registry, deployment('web', 3)))[0]!.action, 'created');
  await t.rejects(applyOne(registry, deployment('web', 4)), {
    code: 'permission-denied',
    message: "deployments \"web\" is forbidden: ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding' denied request: object.spec.replicas must be no greater than 3",
  });
});

t.test('a binding narrowed to namespaces by label; variables and messageExpression', async (t) => {
  const registry = await openRegistry(t);
  await applyOne(registry, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'staging', labels: { environment: 'staging' } } });
  await applyOne(registry, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  await applyOne(registry, policy('image-matches-namespace-environment.policy.example.com', {
    variables: [
      { name: 'environment', expression: "'environment' in namespaceObject.metadata.labels ? namespaceObject.metadata.labels['environment'] : 'prod'" },
      { name: 'exempt', expression: "has(object.metadata.labels) && 'exempt' in object.metadata.labels && object.metadata.labels['exempt'] == 'true'" },
      { name: 'containers', expression: 'object.spec.template.spec.containers' },
      { name: 'containersToCheck', expression: "variables.containers.filter(c, c.image.contains('example.com'))" },
    ],
    validations: [{
      expression: "variables.exempt || variables.containersToCheck.all(c, c.image.startsWith(variables.environment + '.'))",
      messageExpression: "'only ' + variables.environment + ' images are allowed in namespace ' + namespaceObject.metadata.name",
    }],
  }));
  await applyOne(registry, binding('image-env', 'image-matches-namespace-environment.policy.example.com', { matchResources: { namespaceSelector: { matchExpressions: [{ key: 'environment', operator: 'Exists' }] } } }));
  await t.rejects(applyOne(registry, deployment('app', 1, { namespace: 'staging', image: 'prod.example.com/app:1' })), {
    message: "deployments \"app\" is invalid: ValidatingAdmissionPolicy 'image-matches-namespace-environment.policy.example.com' with binding 'image-env' denied request: only staging images are allowed in namespace staging",
  });
  t.equal((await applyOne(registry, deployment('app', 1, { namespace: 'staging', image: 'staging.example.com/app:1' })))[0]!.action, 'created');
  t.equal((await applyOne(registry, deployment('exempt', 1, { namespace: 'staging', image: 'prod.example.com/app:1', labels: { exempt: 'true' } })))[0]!.action, 'created', 'a variable exempts it');
  t.equal((await applyOne(registry, deployment('app', 1, { namespace: 'other', image: 'prod.example.com/app:1' })))[0]!.action, 'created', 'a namespace the binding does not select');
});

t.test('failurePolicy, Warn-only bindings, and a policy that does not parse', async (t) => {
  const registry = await openRegistry(t);
  // cidr() is one of Kubernetes' own CEL libraries, which berth's evaluator does not have.
  await applyOne(registry, policy('needs-cidr', { failurePolicy: 'Fail', validations: [{ expression: "cidr('10.0.0.0/8').containsIP('10.1.1.1')" }] }));
  await applyOne(registry, binding('needs-cidr', 'needs-cidr'));
  await t.rejects(applyOne(registry, deployment('web', 1)), { message: /denied request: expression 'cidr\('10\.0\.0\.0\/8'\)\.containsIP\('10\.1\.1\.1'\)' resulted in error: unbound function: / });
  await applyOne(registry, policy('needs-cidr', { failurePolicy: 'Ignore', validations: [{ expression: "cidr('10.0.0.0/8').containsIP('10.1.1.1')" }] }));
  t.equal((await applyOne(registry, deployment('web', 1)))[0]!.action, 'created', 'Ignore lets it through');

  await applyOne(registry, policy('never', { validations: [{ expression: 'false', message: 'never' }] }));
  await applyOne(registry, binding('never-warn', 'never', { validationActions: ['Warn', 'Audit'] }));
  t.equal((await applyOne(registry, deployment('web2', 1)))[0]!.action, 'created', 'Warn and Audit do not refuse');

  // DELETE: the object is null, the one stored is oldObject.
  await applyOne(registry, policy('keep-protected', {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['DELETE'], resources: ['configmaps'] }] },
    validations: [{ expression: "!has(oldObject.metadata.labels) || !('protected' in oldObject.metadata.labels)", message: 'this ConfigMap is protected' }],
  }));
  await applyOne(registry, binding('keep-protected', 'keep-protected'));
  await applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guarded', labels: { protected: 'yes' } }, data: {} });
  await applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'free' }, data: {} });
  await t.rejects(registry.delete('ConfigMap', 'default', 'guarded'), { message: /configmaps "guarded" is invalid: .*denied request: this ConfigMap is protected/ });
  await registry.delete('ConfigMap', 'default', 'free');
  t.equal(await registry.tryGet('ConfigMap', 'default', 'free'), undefined);

  // A policy refusing every write does not lock itself in: policies and bindings are exempt.
  await applyOne(registry, policy('deny-all', { matchConstraints: { resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*'] }] }, validations: [{ expression: 'false', message: 'nothing goes' }] }));
  await applyOne(registry, binding('deny-all', 'deny-all'));
  await t.rejects(applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'blocked' }, data: {} }), { message: /denied request: nothing goes/ });
  await registry.delete('ValidatingAdmissionPolicyBinding', undefined, 'deny-all');
  t.equal((await applyOne(registry, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'blocked' }, data: {} }))[0]!.action, 'created', 'the binding could be removed');

  await t.rejects(applyOne(registry, policy('broken', { validations: [{ expression: 'object.spec.replicas <' }] })), { message: /spec\.validations\[0\]\.expression: compilation failed: <input>:1:22: / });
  await t.rejects(applyOne(registry, binding('both', 'never', { validationActions: ['Deny', 'Warn'] })), { message: /spec\.validationActions: may not contain both "Deny" and "Warn"/ });
});
