// CustomResourceDefinitions against a real controller, as Kubernetes' "extend the API with
// CustomResourceDefinitions" task goes: a definition and its objects applied together, served
// under their names and short names with the definition's printer columns, checked by its
// schema (types, unknown fields, defaults) and CEL rules (transition rules on updates), other
// versions refused, names already taken refused in the definition's status, namespaces and
// owners honoured, and the objects gone with their definition.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import t from 'tap';
import type { CustomResourceDefinition } from '../../proto/resources';
import { CLI } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';
import { eventually } from '../fixtures/wait';

const CRONTAB_DEFINITION = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Image, type: string, jsonPath: .spec.image, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "self.replicas <= self.maxReplicas"
              message: "replicas should be smaller than or equal to maxReplicas"
            properties:
              cronSpec: {type: string, pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'}
              image: {type: string}
              replicas: {type: integer, minimum: 1, default: 1}
              maxReplicas: {type: integer, default: 10}
              owner:
                type: string
                x-kubernetes-validations: [{rule: "self == oldSelf", message: "owner is immutable"}]
              config: {type: object, x-kubernetes-preserve-unknown-fields: true}
            required: [cronSpec]
          status:
            type: object
            properties:
              lastRun: {type: string}
`;

const crontab = (name: string, spec: string, extra = '') => `apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: ${name}}
spec:
${spec}
${extra}`;

t.test('custom resources', async (t) => {
  const dir = t.testdir();
  const controller = await startTestController(t, dir);
  const berth = controller.berth;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  t.test('a definition and its objects in one apply, a dry run first', async (t) => {
    const both = file('crontab.yaml', `${CRONTAB_DEFINITION}---\n${crontab('my-new-cron-object', '  cronSpec: "* * * * */5"\n  image: my-awesome-cron-image\n  owner: ana\n  config: {anything: [1, 2]}')}`);
    const dry = berth(['apply', '--dry-run=server', '-f', both]);
    t.equal(dry.status, 0, dry.stderr);
    t.equal(dry.stdout, 'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created (server dry run)\ncrontab.stable.example.com/my-new-cron-object created (server dry run)\n');
    t.equal(berth(['get', 'crontabs']).status, 1, 'a dry run makes nothing');

    const applied = berth(['apply', '-f', both]);
    t.equal(applied.status, 0, applied.stderr);
    t.equal(applied.stdout, 'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\ncrontab.stable.example.com/my-new-cron-object created\n');
    t.equal(berth(['apply', '-f', both]).stdout, 'customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com unchanged\ncrontab.stable.example.com/my-new-cron-object unchanged\n');

    const crd = JSON.parse(berth(['get', 'crd', 'crontabs.stable.example.com', '-o', 'json']).stdout) as CustomResourceDefinition;
    t.match(crd.status?.conditions, [{ type: 'NamesAccepted', status: 'True' }, { type: 'Established', status: 'True' }]);
    t.same(crd.status?.storedVersions, ['v1']);
    t.match(crd.status?.acceptedNames, { kind: 'CronTab', plural: 'crontabs', listKind: 'CronTabList' });
    t.match(berth(['get', 'crd']).stdout, /NAME\s+CREATED AT\ncrontabs\.stable\.example\.com\s+\d{4}-/);
  });

  t.test('served under its names, with its columns and defaults', async (t) => {
    for (const name of ['crontabs', 'crontab', 'ct', 'CronTab', 'crontabs.stable.example.com']) {
      t.match(berth(['get', name]).stdout, /^NAME\s+SPEC\s+REPLICAS\s+AGE\nmy-new-cron-object\s+\* \* \* \* \*\/5\s+1\s+\d+s\n$/, `get ${name}`);
    }
    t.match(berth(['get', 'ct', '-o', 'wide']).stdout, /NAME\s+SPEC\s+REPLICAS\s+AGE\s+IMAGE\nmy-new-cron-object\s+.*\s+my-awesome-cron-image\n/);
    const obj = JSON.parse(berth(['get', 'ct/my-new-cron-object', '-o', 'json']).stdout) as { metadata: { namespace: string; uid: string; generation: number }; spec: Record<string, unknown> };
    t.equal(obj.metadata.namespace, 'default');
    t.equal(obj.metadata.generation, 1);
    t.match(obj.spec, { replicas: 1, maxReplicas: 10, config: { anything: [1, 2] } }, 'the schema\'s defaults are filled in, unknown fields kept where preserved');
    t.match(berth(['get', 'ct', '-A']).stdout, /NAMESPACE\s+NAME\s+SPEC/);
    const described = berth(['describe', 'ct', 'my-new-cron-object']);
    t.equal(described.status, 0, described.stderr);
    t.match(described.stdout, /Name:\s+my-new-cron-object\nNamespace:\s+default/);

    // get -w follows objects of the kind as they come.
    const watcher = spawn(process.execPath, [CLI, '--kubeconfig', controller.kubeconfig, '--server', controller.address, 'get', 'ct', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => void watcher.kill('SIGKILL'));
    let seen = '';
    watcher.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    await eventually('the table', () => (/my-new-cron-object/.test(seen) ? true : undefined), 10_000, 50);
    t.equal(berth(['apply', '-f', file('watched.yaml', crontab('watched', '  cronSpec: "*/5 * * * *"'))]).status, 0);
    await eventually('the new object in the watch', () => (/\nwatched\s+\*\/5 \* \* \* \*\s+1\s+/.test(seen) ? true : undefined), 10_000, 50);
    watcher.kill('SIGKILL');
    t.pass('get -w shows the new object');
  });

  t.test('the schema and the rules refuse what they do not allow', async (t) => {
    const refused = (name: string, spec: string, expected: RegExp) => {
      const r = berth(['apply', '-f', file(`${name}.yaml`, crontab(name, spec))]);
      t.equal(r.status, 1, `${name} is refused`);
      t.match(r.stderr, expected, name);
      t.equal(berth(['get', 'ct', name]).status, 1, `${name} was not stored`);
    };
    refused('wrong-type', '  cronSpec: "* * * * *"\n  replicas: "three"', /spec\.replicas: must be an integer/);
    refused('unknown-field', '  cronSpec: "* * * * *"\n  colour: blue', /spec\.colour: unknown field "colour"/);
    refused('missing-field', '  image: x', /spec\.cronSpec: is required/);
    refused('bad-pattern', '  cronSpec: "every minute"', /spec\.cronSpec: must match the pattern/);
    refused('too-small', '  cronSpec: "* * * * *"\n  replicas: 0', /spec\.replicas: must be >= 1/);
    refused('over-max', '  cronSpec: "* * * * *"\n  replicas: 20\n  maxReplicas: 5', /spec: Invalid value: "object": replicas should be smaller than or equal to maxReplicas/);
    const version = berth(['apply', '-f', file('v2.yaml', crontab('other-version', '  cronSpec: "* * * * *"').replace('stable.example.com/v1', 'stable.example.com/v2'))]);
    t.match(version.stderr, /apiVersion "stable\.example\.com\/v2" is not served for kind CronTab; served: stable\.example\.com\/v1/);

    // A transition rule: the stored owner cannot change, a new object may have any.
    const owned = file('owned.yaml', crontab('owned', '  cronSpec: "* * * * *"\n  owner: ana'));
    t.equal(berth(['apply', '-f', owned]).status, 0);
    const changed = berth(['apply', '-f', file('owned2.yaml', crontab('owned', '  cronSpec: "* * * * *"\n  owner: bo'))]);
    t.equal(changed.status, 1);
    t.match(changed.stderr, /spec\.owner: Invalid value: "bo": owner is immutable/);
    const scaled = berth(['apply', '-f', file('owned3.yaml', crontab('owned', '  cronSpec: "* * * * *"\n  owner: ana\n  replicas: 3'))]);
    t.equal(scaled.stdout, 'crontab.stable.example.com/owned configured\n', scaled.stderr);
    t.equal((JSON.parse(berth(['get', 'ct', 'owned', '-o', 'json']).stdout) as { metadata: { generation: number } }).metadata.generation, 2, 'a spec change moves the generation');

    // With a status subresource, an applied status is not the file's to set.
    t.equal(berth(['apply', '-f', file('status.yaml', crontab('with-status', '  cronSpec: "* * * * *"', 'status: {lastRun: yesterday}'))]).status, 0);
    t.notOk((JSON.parse(berth(['get', 'ct', 'with-status', '-o', 'json']).stdout) as { status?: unknown }).status, 'status dropped on create');
  });

  t.test('definitions that cannot be', async (t) => {
    const bad = (name: string, text: string, expected: RegExp) => {
      const r = berth(['apply', '-f', file(`${name}.yaml`, text)]);
      t.equal(r.status, 1, name);
      t.match(r.stderr, expected, name);
    };
    const base = CRONTAB_DEFINITION.replace(/crontabs/g, 'widgets').replace(/crontab/g, 'widget').replace('CronTab', 'Widget').replace('[ct]', '[wd]');
    bad('name', base.replace('name: widgets.stable.example.com', 'name: gadgets.stable.example.com'), /metadata\.name: must be spec\.names\.plural\+"\."\+spec\.group \(widgets\.stable\.example\.com\)/);
    bad('storage', base.replace('storage: true', 'storage: false'), /spec\.versions: must have exactly one version marked as storage version \(0 are\)/);
    bad('schema', base.replace(/    schema:\n[\s\S]*$/, ''), /spec\.versions\[0\]\.schema\.openAPIV3Schema: is required/);
    bad('rule', base.replace('self.replicas <= self.maxReplicas', 'self.replicas <='), /x-kubernetes-validations"\]\[0\]\.rule: compilation failed/);
    bad('untyped', base.replace('image: {type: string}', 'image: {description: x}'), /properties\.image\.type: must not be empty/);
    bad('custom kind before its definition', crontab('x', '  a: b').replace('stable.example.com/v1', 'other.example.com/v1').replace('CronTab', 'Gizmo'),
      /no matches for kind "Gizmo" in version "other\.example\.com\/v1": ensure CRDs are installed first/);

    // A kind whose names are taken: stored, but not established, and its objects not served.
    const taken = file('taken.yaml', base.replace(/widgets/g, 'pods').replace('Widget', 'Pod').replace('[wd]', '[pd]').replace(/widget/g, 'pod'));
    t.equal(berth(['apply', '-f', taken]).status, 0);
    const stored = JSON.parse(berth(['get', 'crd', 'pods.stable.example.com', '-o', 'json']).stdout) as CustomResourceDefinition;
    t.match(stored.status?.conditions, [{ type: 'NamesAccepted', status: 'False', reason: 'NameConflict', message: /"pod" is already in use by the built-in kind Pod/ }, { type: 'Established', status: 'False' }]);
    const pods = berth(['get', 'pods']);
    t.equal(pods.status, 0, 'pods are still the built-in pods');
    t.match(pods.stdout + pods.stderr, /No resources found|NAME\s+READY/);
    t.equal(berth(['delete', 'crd', 'pods.stable.example.com']).status, 0);
  });

  t.test('a custom kind as an admission policy\'s params', async (t) => {
    const r = berth(['apply', '-f', file('limits.yaml', `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: replicalimits.rules.example.com}
spec:
  group: rules.example.com
  scope: Namespaced
  names: {kind: ReplicaLimit, plural: replicalimits}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {maxReplicas: {type: integer}}}}
---
apiVersion: rules.example.com/v1
kind: ReplicaLimit
metadata: {name: limit}
maxReplicas: 3
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicalimit-policy.example.com}
spec:
  failurePolicy: Fail
  paramKind: {apiVersion: rules.example.com/v1, kind: ReplicaLimit}
  matchConstraints:
    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}]
  validations:
  - expression: "object.spec.replicas <= params.maxReplicas"
    messageExpression: "'replicas must be no greater than ' + string(params.maxReplicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replicalimit-binding}
spec:
  policyName: replicalimit-policy.example.com
  validationActions: [Deny]
  paramRef: {name: limit, namespace: default, parameterNotFoundAction: Deny}
`)]);
    t.equal(r.status, 0, r.stderr);
    const deployment = (replicas: number) => file(`d${replicas}.yaml`, `apiVersion: apps/v1
kind: Deployment
metadata: {name: limited}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: limited}}
  template:
    metadata: {labels: {app: limited}}
    spec: {containers: [{name: c, image: busybox}]}
`);
    const over = berth(['apply', '-f', deployment(5)]);
    t.equal(over.status, 1);
    t.match(over.stderr, /ValidatingAdmissionPolicy 'replicalimit-policy\.example\.com' with binding 'replicalimit-binding' denied request: replicas must be no greater than 3/);
    t.equal(berth(['apply', '-f', deployment(2)]).status, 0, 'within the limit the custom object sets');
    t.equal(berth(['delete', 'vapb', 'replicalimit-binding']).status, 0);
    t.equal(berth(['delete', 'deploy', 'limited']).status, 0);
  });

  t.test('a definition changes as Kubernetes lets it', async (t) => {
    const v1 = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gauges.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {kind: Gauge, plural: gauges}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {level: {type: integer}}}}}
`;
    t.equal(berth(['apply', '-f', file('g1.yaml', `${v1}---\napiVersion: stable.example.com/v1\nkind: Gauge\nmetadata: {name: fuel}\nlevel: 3\n`)]).status, 0);
    const scope = berth(['apply', '-f', file('g-scope.yaml', v1.replace('scope: Namespaced', 'scope: Cluster'))]);
    t.match(scope.stderr, /spec\.scope: Invalid value: field is immutable/);
    const taken = berth(['apply', '-f', file('g-short.yaml', v1.replace('names: {kind: Gauge, plural: gauges}', 'names: {kind: Gauge, plural: gauges, shortNames: [po]}'))]);
    t.match(taken.stderr, /spec\.names: Invalid value: "po" is already in use by the built-in kind Pod/, 'a served kind keeps its names');
    // A second version made the stored one, then the first no longer served: objects move on as applied.
    const v2 = v1.replace("  - {name: v1, served: true, storage: true,", "  - {name: v2, served: true, storage: true, schema: {openAPIV3Schema: {type: object, properties: {level: {type: integer}}}}}\n  - {name: v1, served: false, storage: false,");
    const moved = berth(['apply', '-f', file('g2.yaml', `${v2}---\napiVersion: stable.example.com/v2\nkind: Gauge\nmetadata: {name: fuel}\nlevel: 4\n`)]);
    t.equal(moved.status, 0, moved.stderr);
    const fuel = JSON.parse(berth(['get', 'gauge', 'fuel', '-o', 'json']).stdout) as { apiVersion: string; level: number };
    t.match(fuel, { apiVersion: 'stable.example.com/v2', level: 4 });
    const crd = JSON.parse(berth(['get', 'crd', 'gauges.stable.example.com', '-o', 'json']).stdout) as CustomResourceDefinition;
    t.same(crd.status?.storedVersions, ['v1', 'v2']);
    const dropped = berth(['apply', '-f', file('g3.yaml', v2.replace(/\n  - \{name: v1[^\n]*/, ''))]);
    t.match(dropped.stderr, /status\.storedVersions: Invalid value: "v1": must appear in spec\.versions/);
    // A definition whose names clash, with objects of it in the same apply: nothing is written.
    const clash = berth(['apply', '-f', file('g4.yaml', `${v1.replace(/gauges/g, 'meters').replace('Gauge', 'Meter').replace('plural: meters}', 'plural: meters, shortNames: [svc]}')}---\napiVersion: stable.example.com/v1\nkind: Meter\nmetadata: {name: m}\n`)]);
    t.equal(clash.status, 1);
    t.match(clash.stderr, /Meter objects cannot be applied: the names of CustomResourceDefinition meters\.stable\.example\.com are not accepted: "svc" is already in use by the built-in kind Service/);
    t.equal(berth(['get', 'crd', 'meters.stable.example.com']).status, 1, 'not even the definition');
    t.equal(berth(['delete', 'crd', 'gauges.stable.example.com']).status, 0);
  });

  t.test('owners, namespaces and deletion', async (t) => {
    t.equal(berth(['apply', '-f', file('crons.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: crons}\n')]).status, 0);
    const inNamespace = berth(['apply', '-n', 'crons', '-f', file('ns.yaml', crontab('nightly', '  cronSpec: "0 3 * * *"'))]);
    t.equal(inNamespace.status, 0, inNamespace.stderr);
    const owner = JSON.parse(berth(['get', 'ct', 'nightly', '-n', 'crons', '-o', 'json']).stdout) as { metadata: { uid: string } };
    // What an operator makes for its object goes with it.
    const dependent = berth(['apply', '-f', file('dep.yaml', `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nightly-runner
  namespace: crons
  ownerReferences: [{apiVersion: stable.example.com/v1, kind: CronTab, name: nightly, uid: ${owner.metadata.uid}, controller: true}]
spec:
  replicas: 0
  selector: {matchLabels: {app: nightly}}
  template:
    metadata: {labels: {app: nightly}}
    spec: {containers: [{name: c, image: busybox}]}
`)]);
    t.equal(dependent.status, 0, dependent.stderr);
    await new Promise((r) => setTimeout(r, 1500));
    t.equal(berth(['get', 'deploy', 'nightly-runner', '-n', 'crons']).status, 0, 'kept while its owner exists');
    t.equal(berth(['delete', 'ct', 'nightly', '-n', 'crons']).stdout, 'crontab.stable.example.com "nightly" deleted\n');
    await eventually('the owned deployment collected', () => (berth(['get', 'deploy', 'nightly-runner', '-n', 'crons']).status === 1 ? true : undefined), 20_000, 250);

    t.equal(berth(['apply', '-n', 'crons', '-f', file('ns2.yaml', crontab('weekly', '  cronSpec: "0 3 * * 0"'))]).status, 0);
    t.equal(berth(['delete', 'namespace', 'crons']).status, 0);
    const left = berth(['get', 'ct', '-A']);
    t.equal(left.status, 0, left.stderr);
    t.equal(left.stdout.includes('weekly'), false, 'a namespace takes its custom objects with it');

    // The definition takes its objects with it; the kind is then unknown.
    t.equal(berth(['delete', 'crd', 'crontabs.stable.example.com']).status, 0);
    const gone = berth(['get', 'crontabs']);
    t.equal(gone.status, 1);
    t.match(gone.stderr, /the server doesn't have a resource type "crontabs"/);
    t.equal(berth(['apply', '-f', file('again.yaml', CRONTAB_DEFINITION)]).status, 0);
    t.match(berth(['get', 'ct']).stdout + berth(['get', 'ct']).stderr, /No resources found/, 'made again, it has none of the old objects');
  });
});
