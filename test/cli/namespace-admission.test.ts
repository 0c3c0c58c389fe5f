// Admission through the CLI against a real controller (no agents: pods stay unscheduled, which is
// all these need): a namespace's ResourceQuota and LimitRange (a Deployment's ReplicaSet makes
// pods until the quota is full, the rest is a FailedCreate event in Kubernetes' words; the quota
// controller keeps status.used), a ValidatingAdmissionPolicy refusing an apply, and get
// quota / limits / pdb / vap with kubectl's columns.

import t from 'tap';
import type { Pod, ResourceQuota } from '../../proto/resources';
import { startTestController } from '../fixtures/controller';
import { eventually } from '../fixtures/wait';

t.test('a quota of two pods holds a Deployment of three to two; deleting one lets the third in', async (t) => {
  const dir = t.testdir({ home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const berth = (args: string[], input?: string) => ctl.berth(args, { env: { HOME: `${dir}/home`, BERTH_SERVER: '' }, ...(input !== undefined ? { input } : {}) });
  const applied = berth(['apply', '-f', '-'], `apiVersion: v1
kind: ResourceQuota
metadata: {name: pod-demo}
spec:
  hard: {pods: "2", requests.memory: 1Gi}
---
apiVersion: v1
kind: LimitRange
metadata: {name: mem-defaults}
spec:
  limits: [{type: Container, default: {memory: 256Mi}, defaultRequest: {memory: 128Mi}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: registry.example/web:1}]
`);
  t.equal(applied.status, 0, applied.stderr);
  const pods = () => (JSON.parse(berth(['get', 'pods', '-o', 'json']).stdout) as { items: Pod[] }).items;
  await eventually('two pods made', () => pods().length === 2, 30_000, 200);
  const event = await eventually('the third refused', () => /FailedCreate\s+replicaset\/web-[a-z0-9]+\s+Error creating: pods "web-[a-z0-9-]+" is forbidden: exceeded quota: pod-demo, requested: pods=1, used: pods=2, limited: pods=2/.exec(berth(['get', 'events']).stdout), 30_000, 300);
  t.ok(event);
  t.same(pods()[0]!.spec.containers[0]!.resources, { requests: { memory: '128Mi' }, limits: { memory: '256Mi' } }, 'the LimitRange defaults');
  await eventually('status.used', () => {
    const q = JSON.parse(berth(['get', 'quota', 'pod-demo', '-o', 'json']).stdout) as ResourceQuota;
    return q.status?.used?.pods === '2' && q.status.used['requests.memory'] === '256Mi';
  }, 30_000, 300);
  t.match(berth(['get', 'quota']).stdout, /^NAME\s+AGE\s+REQUEST\s+LIMIT\npod-demo\s+\S+\s+pods: 2\/2, requests.memory: 256Mi\/1Gi\s*\n$/);
  t.match(berth(['get', 'limits']).stdout, /^NAME\s+CREATED AT\nmem-defaults\s+\d{4}-/);
  // No pod is ready (no agents): the budget allows nothing.
  await eventually('the budget counted', () => /^web\s+N\/A\s+1\s+0\s/m.test(berth(['get', 'pdb']).stdout), 30_000, 300);
  const budget = JSON.parse(berth(['get', 'pdb', 'web', '-o', 'json']).stdout);
  t.match(budget.status, { expectedPods: 3, desiredHealthy: 2, currentHealthy: 0, disruptionsAllowed: 0 }, 'maxUnavailable of the Deployment\'s 3 replicas');

  const [gone, kept] = pods().map((p) => p.metadata.name!);
  t.equal(berth(['delete', 'pod', gone!]).status, 0);
  const after = await eventually('the third made once there is room', () => {
    const names = pods().map((p) => p.metadata.name!);
    return names.length === 2 && !names.includes(gone!) ? names : undefined;
  }, 30_000, 300);
  t.ok(after.includes(kept!), 'the other one stays');
});

t.test('a ValidatingAdmissionPolicy refuses an apply in Kubernetes\' words', async (t) => {
  const dir = t.testdir({ home: {}, 'controller-root': {} });
  const ctl = await startTestController(t, dir);
  const berth = (args: string[], input?: string) => ctl.berth(args, { env: { HOME: `${dir}/home`, BERTH_SERVER: '' }, ...(input !== undefined ? { input } : {}) });
  const policy = berth(['apply', '-f', '-'], `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "demo-policy.example.com"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
    - expression: "object.spec.replicas <= 5"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "demo-binding-test.example.com"
spec:
  policyName: "demo-policy.example.com"
  validationActions: [Deny]
`);
  t.equal(policy.status, 0, policy.stderr);
  const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: main, image: registry.example/web:1}]
`;
  const refused = berth(['apply', '-f', '-'], deployment(6));
  t.equal(refused.status, 1);
  t.match(refused.stderr, /deployments "web" is invalid: ValidatingAdmissionPolicy 'demo-policy\.example\.com' with binding 'demo-binding-test\.example\.com' denied request: failed expression: object\.spec\.replicas <= 5/);
  t.equal(berth(['apply', '-f', '-'], deployment(5)).status, 0);
  t.match(berth(['get', 'vap']).stdout, /^NAME\s+VALIDATIONS\s+PARAMKIND\s+AGE\ndemo-policy\.example\.com\s+1\s+<unset>\s/);
  t.match(berth(['get', 'validatingadmissionpolicybindings']).stdout, /^NAME\s+POLICYNAME\s+PARAMREF\s+AGE\ndemo-binding-test\.example\.com\s+demo-policy\.example\.com\s+<unset>\s/);
});
