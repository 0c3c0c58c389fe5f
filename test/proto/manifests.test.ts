// Manifests: parsing with positions, validation with exact messages, loading files, directories
// and stdin. Every message is checked whole, since its exact wording and position are the feature.

import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import Ajv2020 from 'ajv/dist/2020';
import { issuesFromAjv } from '../../proto/manifests/ajv-issues';
import {
  ManifestError, loadManifests, resourceErrors, validateResource, validateSources, describeObject,
} from '../../proto/manifests';
import { APPLIABLE_KINDS } from '../../proto/manifests/schemas';

/** The kinds the unknown-kind message lists, in its order. */
const KNOWN_KINDS = APPLIABLE_KINDS.join(', ');
const EXAMPLES = join(__dirname, '..', '..', 'manifests', 'examples');
const DNS_LABEL = "must be a DNS-1123 name: lower-case letters, digits and '-', starting and ending with a letter or digit";
const DNS_SUBDOMAIN = "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";

/** The error lines of one text, as the CLI would print them. */
function errorsOf(text: string, name = 'app.yaml'): string[] {
  return validateSources([{ name, text }]).errors.map((e) => e.message);
}

/** A valid Deployment with `containerLines` as its container's fields (indented by the caller's text). */
function deployment(extra: { spec?: string; container?: string; template?: string } = {}): string {
  return [
    'apiVersion: apps/v1', //                                  1
    'kind: Deployment', //                                     2
    'metadata:', //                                            3
    '  name: web', //                                          4
    'spec:', //                                                5
    '  replicas: 2', //                                        6
    '  selector:', //                                          7
    '    matchLabels: {app: web}', //                          8
    ...(extra.spec ? [extra.spec] : []),
    '  template:',
    '    metadata:',
    '      labels: {app: web}',
    '    spec:',
    ...(extra.template ? [extra.template] : []),
    '      containers:',
    '        - name: web',
    '          image: nginx:1.27',
    ...(extra.container ? [extra.container] : []),
    '',
  ].join('\n');
}

t.test('a valid Deployment has no errors and is returned as written', async (t) => {
  const r = validateSources([{ name: 'app.yaml', text: deployment() }]);
  t.same(r.errors, []);
  t.equal(r.documents.length, 1);
  t.match(r.documents[0], { source: 'app.yaml', index: 0, position: { line: 1, column: 1 } });
  t.same(r.documents[0].object.metadata, { name: 'web' }, 'not defaulted');
});

t.test('invalid YAML: the parser message on one line, at its position', async (t) => {
  t.same(errorsOf('apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n'), [
    'app.yaml:4:9: Nested mappings are not allowed in compact mappings',
  ]);
  t.same(errorsOf('apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n'), ['app.yaml:4:1: Tabs are not allowed as indentation']);
  t.same(errorsOf('apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n'), ['app.yaml:5:3: Map keys must be unique']);
});

t.test('schema: wrong type, at the value', async (t) => {
  t.same(errorsOf(deployment({ container: '          workingDir: 5' })), [
    'app.yaml:16:23: spec.template.spec.containers[0].workingDir: must be a string',
  ]);
  t.same(errorsOf(deployment({ spec: '  paused: "yes"' })), ['app.yaml:9:11: spec.paused: must be a boolean (true or false)']);
  t.same(errorsOf(deployment({ container: '          command: echo hi' })), [
    'app.yaml:16:20: spec.template.spec.containers[0].command: must be a list',
  ]);
  const text = deployment().replace('  replicas: 2', '  replicas: two');
  t.same(errorsOf(text), ['app.yaml:6:13: spec.replicas: must be an integer']);
  t.same(errorsOf(deployment().replace('  replicas: 2', '  replicas: 1.5')), ['app.yaml:6:13: spec.replicas: must be an integer']);
});

t.test('schema: image of the wrong type (the issue\'s example)', async (t) => {
  const text = deployment().replace('image: nginx:1.27', 'image: 5');
  t.same(errorsOf(text), ['app.yaml:15:18: spec.template.spec.containers[0].image: must be a string']);
});

t.test('schema: an unknown field, at its key', async (t) => {
  const text = deployment().replace('image: nginx:1.27', 'imagee: nginx:1.27');
  t.same(errorsOf(text), [
    'app.yaml:14:11: spec.template.spec.containers[0].image: is required',
    'app.yaml:15:11: spec.template.spec.containers[0].imagee: unknown field "imagee"',
  ]);
  t.same(errorsOf('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labelz: {}\n'), [
    'app.yaml:5:3: metadata.labelz: unknown field "labelz"',
  ]);
  t.same(errorsOf('apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nspec: {finalizers: []}\n'), [
    'app.yaml:4:8: spec.finalizers: unknown field "finalizers"',
  ]);
});

t.test('schema: a missing required field, at the object that lacks it', async (t) => {
  const text = deployment().replace('          image: nginx:1.27\n', '');
  t.same(errorsOf(text), ['app.yaml:14:11: spec.template.spec.containers[0].image: is required']);
  t.same(errorsOf('apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\nspec:\n  containers: [{name: a, image: b}]\n'), [
    'app.yaml:4:3: metadata.name: is required',
  ]);
  t.same(errorsOf('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n'), ['app.yaml:1:1: spec: is required']);
  t.same(errorsOf('apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: []\n'), ['app.yaml:5:15: spec.containers: must not be empty']);
});

t.test('schema: enums list the allowed values', async (t) => {
  t.same(errorsOf(deployment({ container: '          imagePullPolicy: Sometimes' })), [
    'app.yaml:16:28: spec.template.spec.containers[0].imagePullPolicy: must be one of: Always, IfNotPresent, Never',
  ]);
  t.same(errorsOf(deployment({ template: '      restartPolicy: Sometimes' })), [
    'app.yaml:13:22: spec.template.spec.restartPolicy: must be one of: Always, OnFailure, Never',
  ]);
  t.same(errorsOf(deployment({ spec: '  strategy: {type: Rolling}' })), [
    'app.yaml:9:20: spec.strategy.type: must be one of: RollingUpdate, Recreate',
  ]);
  t.same(errorsOf(deployment({ container: '          ports: [{containerPort: 80, protocol: tcp}]' })), [
    'app.yaml:16:49: spec.template.spec.containers[0].ports[0].protocol: must be one of: TCP, UDP',
  ]);
  t.same(errorsOf(deployment({ container: '          readinessProbe: {httpGet: {port: 80, scheme: http}}' })), [
    'app.yaml:16:56: spec.template.spec.containers[0].readinessProbe.httpGet.scheme: must be one of: HTTP, HTTPS',
  ]);
  t.same(errorsOf(deployment().replace('matchLabels: {app: web}', 'matchExpressions: [{key: app, operator: Equals, values: [web]}]')), [
    'app.yaml:8:45: spec.selector.matchExpressions[0].operator: must be one of: In, NotIn, Exists, DoesNotExist',
  ]);
});

t.test('schema: a namespace\'s Pod Security labels name a level and a version', async (t) => {
  const ns = (labels: string) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {${labels}}\n`;
  t.same(errorsOf(ns('pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/enforce-version: v1.30')), []);
  t.same(errorsOf(ns('pod-security.kubernetes.io/enforce: privileged, pod-security.kubernetes.io/enforce-version: latest')), []);
  t.same(errorsOf(ns('pod-security.kubernetes.io/enforce: strict')), [
    'app.yaml:5:48: metadata.labels["pod-security.kubernetes.io/enforce"]: must be one of: privileged, baseline, restricted',
  ]);
  t.same(errorsOf(ns('pod-security.kubernetes.io/enforce-version: "1.30"')), [
    'app.yaml:5:56: metadata.labels["pod-security.kubernetes.io/enforce-version"]: must be "latest" or "v1.x"',
  ]);
  t.same(errorsOf(ns('team: pod-security')), [], 'other labels are free');
});

t.test('schema: names are DNS-1123', async (t) => {
  t.same(errorsOf(deployment().replace('- name: web', '- name: Web_1')), [
    `app.yaml:14:17: spec.template.spec.containers[0].name: ${DNS_LABEL}`,
  ]);
  t.same(errorsOf(deployment().replace('  name: web', '  name: Web')), [`app.yaml:4:9: metadata.name: ${DNS_SUBDOMAIN}`]);
  t.same(errorsOf(deployment().replace('  name: web', '  name: web.v1')), [], 'an object name may have dots');
  t.same(errorsOf('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop.eu\n'), [`app.yaml:4:9: metadata.name: ${DNS_LABEL}`]);
  t.same(errorsOf(deployment().replace('- name: web', `- name: ${'a'.repeat(64)}`)), [
    'app.yaml:14:17: spec.template.spec.containers[0].name: must be at most 63 characters long',
  ]);
  t.same(errorsOf(deployment().replace('  name: web', '  name: web\n  namespace: Shop')), [`app.yaml:5:14: metadata.namespace: ${DNS_LABEL}`]);
});

t.test('schema: label keys and values, a bad key at the key', async (t) => {
  t.same(errorsOf(deployment().replace('  name: web', '  name: web\n  labels:\n    "bad key": x\n    tier: "front end"')), [
    "app.yaml:6:5: metadata.labels[\"bad key\"]: must be a label key: an optional DNS subdomain prefix and '/', then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
    "app.yaml:7:11: metadata.labels.tier: must be a label value: letters, digits, '-', '_' and '.', starting and ending with a letter or digit, or empty",
  ]);
  t.same(errorsOf(deployment().replace('  name: web', '  name: web\n  labels:\n    app.kubernetes.io/name: web\n    empty: ""')), []);
});

t.test('schema: ports are 1..65535, probe ports a number or a port name', async (t) => {
  t.same(errorsOf(deployment({ container: '          ports: [{containerPort: 0}, {containerPort: 70000, hostPort: "80"}]' })), [
    'app.yaml:16:35: spec.template.spec.containers[0].ports[0].containerPort: must be a port number from 1 to 65535',
    'app.yaml:16:55: spec.template.spec.containers[0].ports[1].containerPort: must be a port number from 1 to 65535',
    'app.yaml:16:72: spec.template.spec.containers[0].ports[1].hostPort: must be an integer',
  ]);
  t.same(errorsOf(deployment({ container: '          livenessProbe: {tcpSocket: {port: 0}}' })), [
    "app.yaml:16:45: spec.template.spec.containers[0].livenessProbe.tcpSocket.port: must be a port number from 1 to 65535 or the name of one of the container's ports",
  ]);
  t.same(errorsOf(deployment({ container: '          livenessProbe: {tcpSocket: {port: Http}}' })), [
    "app.yaml:16:45: spec.template.spec.containers[0].livenessProbe.tcpSocket.port: must be a port number from 1 to 65535 or the name of one of the container's ports",
  ]);
  t.same(errorsOf(deployment({ container: '          ports: [{name: web_port, containerPort: 80}]' })), [
    "app.yaml:16:26: spec.template.spec.containers[0].ports[0].name: must be a port name: lower-case letters, digits and '-', at least one letter, starting and ending with a letter or digit, no '--'",
  ]);
});

t.test('schema: quantities', async (t) => {
  const resources = (cpu: string, memory: string) => deployment({ container: `          resources: {requests: {cpu: ${cpu}, memory: ${memory}}}` });
  for (const [cpu, memory] of [['500m', '128Mi'], ['2', '1G'], ['0.5', '134217728'], ['"2"', '"1Gi"'], ['1.5', '129e6']]) {
    t.same(errorsOf(resources(cpu, memory)), [], `cpu ${cpu}, memory ${memory}`);
  }
  t.same(errorsOf(resources('1Gi', 'lots')), [
    'app.yaml:16:39: spec.template.spec.containers[0].resources.requests.cpu: must be a CPU quantity: cores (2, "0.5") or millicores ("500m")',
    'app.yaml:16:52: spec.template.spec.containers[0].resources.requests.memory: must be a memory quantity: bytes (134217728) or a number with a suffix ("128Mi", "1Gi", "500M")',
  ]);
  t.same(errorsOf(resources('-1', 'true')), [
    'app.yaml:16:39: spec.template.spec.containers[0].resources.requests.cpu: must be a CPU quantity: cores (2, "0.5") or millicores ("500m")',
    'app.yaml:16:51: spec.template.spec.containers[0].resources.requests.memory: must be a memory quantity: bytes (134217728) or a number with a suffix ("128Mi", "1Gi", "500M")',
  ]);
});

t.test('schema: maxSurge and maxUnavailable are an integer >= 0 or a percentage', async (t) => {
  const strategy = (surge: string, unavailable: string) => deployment({ spec: `  strategy: {rollingUpdate: {maxSurge: ${surge}, maxUnavailable: ${unavailable}}}` });
  t.same(errorsOf(strategy('1', '"50%"')), []);
  const expected = 'must be an integer >= 0 or a percentage like "25%"';
  t.same(errorsOf(strategy('"25"', '-1')), [
    `app.yaml:9:40: spec.strategy.rollingUpdate.maxSurge: ${expected}`,
    `app.yaml:9:62: spec.strategy.rollingUpdate.maxUnavailable: ${expected}`,
  ]);
  t.same(errorsOf(strategy('1.5', 'true')), [
    `app.yaml:9:40: spec.strategy.rollingUpdate.maxSurge: ${expected}`,
    `app.yaml:9:61: spec.strategy.rollingUpdate.maxUnavailable: ${expected}`,
  ]);
});

t.test('schema: non-negative counts', async (t) => {
  t.same(errorsOf(deployment().replace('  replicas: 2', '  replicas: -1')), ['app.yaml:6:13: spec.replicas: must be >= 0']);
  t.same(errorsOf(deployment({ container: '          readinessProbe: {exec: {command: ["true"]}, periodSeconds: 0}' })), [
    'app.yaml:16:70: spec.template.spec.containers[0].readinessProbe.periodSeconds: must be >= 1',
  ]);
});

t.test('a List is its items, each validated and located as a document of its own', async (t) => {
  const text = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: settings}
  data: {a: "1"}
- apiVersion: v1
  kind: Pod
  metadata: {name: web}
  spec:
    containers:
    - name: main
      image: nginx
      restartPolicy: Sometimes
`;
  const { documents, errors } = validateSources([{ name: 'list.yaml', text }]);
  t.same(documents.map((d) => `${d.object.kind}/${d.object.metadata.name}`), ['ConfigMap/settings'], 'the valid item');
  t.same(documents.map((d) => d.position.line), [4]);
  t.same(errors.map((e) => e.message), ['list.yaml:15:22: spec.containers[0].restartPolicy: must be "Always"'], 'the bad item, at its line');
});

t.test('kind and apiVersion', async (t) => {
  t.same(errorsOf('apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n'), [
    `app.yaml:2:7: kind "Frobnicator" is not known (apiVersion v1); known kinds: ${KNOWN_KINDS}`,
  ]);
  t.same(errorsOf('apiVersion: apps/v1\nkind: deployment\n'), [
    `app.yaml:2:7: kind "deployment" is not known (apiVersion apps/v1); known kinds: ${KNOWN_KINDS}; did you mean Deployment?`,
  ]);
  t.same(errorsOf('apiVersion: apps/v2\nkind: Deployment\n'), ['app.yaml:1:13: apiVersion "apps/v2" is not served for kind Deployment; use apps/v1']);
  t.same(errorsOf('apiVersion: v1\nkind: Deployment\n'), ['app.yaml:1:13: apiVersion "v1" is not served for kind Deployment; use apps/v1']);
  t.same(errorsOf('apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n'), ['app.yaml:2:7: kind Node cannot be applied: nodes are registered by their agents']);
  t.same(errorsOf('apiVersion: coordination.k8s.io/v1\nkind: Lease\n'), ['app.yaml:2:7: kind Lease cannot be applied: leases are the heartbeats that agents renew']);
  t.same(errorsOf('apiVersion: v1\nkind: Event\n'), ['app.yaml:2:7: kind Event cannot be applied: events are recorded by the controller and the agents']);
  t.same(errorsOf('metadata: {name: x}\n'), ['app.yaml:1:1: apiVersion: is required', 'app.yaml:1:1: kind: is required']);
  t.same(errorsOf('apiVersion: v1\nkind: [Pod]\n'), ['app.yaml:2:7: kind: must be a string']);
  t.same(errorsOf('- a\n- b\n'), ['app.yaml:1:1: a manifest must be an object with apiVersion, kind, metadata and spec; this one is a list']);
});

t.test('semantics: the selector must select the template', async (t) => {
  const text = deployment().replace('      labels: {app: web}', '      labels: {app: api}');
  t.same(errorsOf(text), ["app.yaml:8:5: spec.selector: does not select the pod template's labels (spec.template.metadata.labels)"]);
  const expressions = deployment().replace('matchLabels: {app: web}', 'matchExpressions: [{key: app, operator: In, values: [web, api]}, {key: canary, operator: DoesNotExist}]');
  t.same(errorsOf(expressions), [], 'matchExpressions that hold');
  const notIn = deployment().replace('matchLabels: {app: web}', 'matchExpressions: [{key: app, operator: NotIn, values: [web]}]');
  t.same(errorsOf(notIn), ["app.yaml:8:5: spec.selector: does not select the pod template's labels (spec.template.metadata.labels)"]);
  const noValues = deployment().replace('matchLabels: {app: web}', 'matchExpressions: [{key: app, operator: In, values: []}]');
  t.same(errorsOf(noValues), ['app.yaml:8:57: spec.selector.matchExpressions[0].values: must not be empty when operator is In']);
  t.same(errorsOf(deployment().replace('matchLabels: {app: web}', 'matchLabels: {}')), [
    'app.yaml:8:5: spec.selector: must not be empty: a Deployment selects its pods by label (spec.selector.matchLabels)',
  ]);
  const noLabels = 'apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: rs}\nspec:\n  selector: {matchLabels: {app: x}}\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n';
  t.same(errorsOf(noLabels), ["app.yaml:5:13: spec.selector: does not select the pod template's labels (spec.template.metadata.labels)"]);
});

t.test('semantics: container names unique within a pod, and other cross-field rules', async (t) => {
  const text = deployment({ container: '        - name: web\n          image: busybox' });
  t.same(errorsOf(text), ['app.yaml:16:17: spec.template.spec.containers[1].name: duplicate container name "web": containers[0] has it too']);
  t.same(errorsOf(deployment({ template: '      restartPolicy: Never' })), [
    "app.yaml:13:22: spec.template.spec.restartPolicy: must be Always in a Deployment's pod template (its pods are replaced, not restarted in place)",
  ]);
  t.same(errorsOf(deployment({ container: '          readinessProbe: {periodSeconds: 3}' })), [
    'app.yaml:16:27: spec.template.spec.containers[0].readinessProbe: must have exactly one of exec, httpGet, tcpSocket, grpc (none is set)',
  ]);
  t.same(errorsOf(deployment({ container: '          readinessProbe: {httpGet: {port: http}}' })), [
    'app.yaml:16:44: spec.template.spec.containers[0].readinessProbe.httpGet.port: no port named "http" in this container\'s ports',
  ]);
  t.same(errorsOf(deployment({ container: '          ports: [{name: http, containerPort: 80}]\n          readinessProbe: {httpGet: {port: http}}' })), []);
  t.same(errorsOf(deployment({ spec: '  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}' })), [
    'app.yaml:9:45: spec.strategy.rollingUpdate: must not be set when spec.strategy.type is Recreate',
  ]);
  t.same(errorsOf(deployment({ spec: '  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: "0%"}}' })), [
    'app.yaml:9:59: spec.strategy.rollingUpdate.maxUnavailable: must not be 0 when maxSurge is 0: the rollout could never make progress',
  ]);
});

t.test('volumes: each mount names a volume of the pod, one path each, one source each, relative paths', async (t) => {
  const volumes = (lines: string) => deployment({ template: `      volumes:\n${lines}`, container: '          volumeMounts: [{name: conf, mountPath: /etc/app}, {name: gone, mountPath: /etc/app}, {name: conf, mountPath: /x, subPath: ../up}]' });
  t.same(errorsOf(volumes('        - {name: conf, configMap: {name: app, items: [{key: a, path: /abs}]}}\n        - {name: conf, emptyDir: {}, hostPath: {path: /tmp}}')), [
    'app.yaml:14:70: spec.template.spec.volumes[0].configMap.items[0].path: must be a relative path',
    'app.yaml:15:11: spec.template.spec.volumes[1]: may not specify more than 1 volume type (emptyDir, hostPath)',
    'app.yaml:15:18: spec.template.spec.volumes[1].name: duplicate volume name "conf": volumes[0] has it too',
    'app.yaml:19:68: spec.template.spec.containers[0].volumeMounts[1].name: volume "gone" not found: the pod\'s volumes are "conf"',
    'app.yaml:19:85: spec.template.spec.containers[0].volumeMounts[1].mountPath: must be unique: volumeMounts[0] mounts at "/etc/app" too',
    "app.yaml:19:133: spec.template.spec.containers[0].volumeMounts[2].subPath: must not contain '..'",
  ]);
});

t.test("YAML as kubectl reads it: 0400 is octal, yes is true, 12:30 and timestamps stay strings", async (t) => {
  const text = deployment({
    template: '      volumes: [{name: s, secret: {secretName: db, defaultMode: 0400}}]',
    container: '          env: [{name: AT, value: 12:30}, {name: WHEN, value: 2020-01-01T00:00:00Z}]\n          volumeMounts: [{name: s, mountPath: /s, readOnly: yes}]',
  });
  const { documents, errors } = validateSources([{ name: 'app.yaml', text }]);
  t.same(errors, []);
  const spec = (documents[0]!.object as unknown as { spec: { template: { spec: { volumes: { secret: { defaultMode: number } }[]; containers: { env: { value: string }[]; volumeMounts: { readOnly: boolean }[] }[] } } } }).spec.template.spec;
  t.equal(spec.volumes[0]!.secret.defaultMode, 0o400, '0400 as kubectl reads it: 256');
  t.same(spec.containers[0]!.env.map((e) => e.value), ['12:30', '2020-01-01T00:00:00Z']);
  t.equal(spec.containers[0]!.volumeMounts[0]!.readOnly, true);
});

t.test("securityContext: Kubernetes' seccompProfile and allowPrivilegeEscalation, and nothing berth does not honour", async (t) => {
  const ok = deployment({
    template: '      securityContext: {seccompProfile: {type: Unconfined}}',
    container: '          securityContext: {allowPrivilegeEscalation: false, seccompProfile: {type: Localhost, localhostProfile: team/p.json}}',
  });
  t.same(errorsOf(ok), []);
  t.same(errorsOf(deployment({
    template: '      securityContext: {seccompProfile: {type: Localhost, localhostProfile: ../../etc/shadow}}',
    container: '          securityContext: {seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}}',
  })), [
    "app.yaml:13:77: spec.template.spec.securityContext.seccompProfile.localhostProfile: must not contain '..'",
    'app.yaml:17:86: spec.template.spec.containers[0].securityContext.seccompProfile.localhostProfile: can only be set when seccomp type is Localhost',
  ]);
  t.same(errorsOf(deployment({ template: '      securityContext: {seccompProfile: {type: Localhost, localhostProfile: /etc/p.json}}' })), [
    "app.yaml:13:77: spec.template.spec.securityContext.seccompProfile.localhostProfile: must be a relative path (below the node's seccomp profile root)",
  ]);
  t.same(errorsOf(deployment({ template: '      securityContext: {seccompProfile: {type: Localhost}}' })), [
    'app.yaml:13:41: spec.template.spec.securityContext.seccompProfile: localhostProfile must be set when seccomp type is Localhost',
  ]);
  t.same(errorsOf(deployment({ container: '          securityContext: {procMount: Unmasked, seccompProfile: {type: Loose}}' })), [
    'app.yaml:16:29: spec.template.spec.containers[0].securityContext.procMount: unknown field "procMount"',
    'app.yaml:16:73: spec.template.spec.containers[0].securityContext.seccompProfile.type: must be one of: RuntimeDefault, Unconfined, Localhost',
  ]);
});

t.test('multi-document: errors of the 2nd document at their own lines; empty documents skipped', async (t) => {
  const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n';
  const text = `# leading comment\n---\n${ns}---\n# only a comment\n---\n${deployment().replace('image: nginx:1.27', 'image: 5')}---\n`;
  const r = validateSources([{ name: 'app.yaml', text }]);
  // The Deployment starts on line 9: its image is on its 16th line, so line 24.
  t.same(r.errors.map((e) => e.message), ['app.yaml:24:18: spec.template.spec.containers[0].image: must be a string']);
  t.equal(r.documents.length, 1, 'the valid Namespace');
  t.match(r.documents[0], { index: 0, position: { line: 3, column: 1 }, object: { kind: 'Namespace' } });
  for (const empty of ['', '\n\n', '# nothing here\n', '---\n---\n']) {
    t.same(validateSources([{ name: 'empty.yaml', text: empty }]), { documents: [], errors: [] }, JSON.stringify(empty));
  }
  const second = validateSources([{ name: 'app.yaml', text: `${ns}---\n${deployment()}` }]);
  t.same(second.documents.map((d) => [d.index, d.position.line, d.object.kind]), [[0, 1, 'Namespace'], [1, 6, 'Deployment']]);
});

t.test('a syntax error in one document does not hide the others', async (t) => {
  const text = 'apiVersion: v1\nkind: Pod\nmetadata: {name: [}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: Shop}\n';
  t.same(errorsOf(text), [
    'app.yaml:3:19: Flow sequence in block collection must be sufficiently indented and end with a ]',
    `app.yaml:7:18: metadata.name: ${DNS_LABEL}`,
  ]);
  const valid = `${text}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n`;
  t.same(validateSources([{ name: 'app.yaml', text: valid }]).documents.map((d) => [d.index, d.object.metadata.name]), [[2, 'shop']]);
});

t.test('several errors in one document are all reported, in line order', async (t) => {
  const text = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: Web',
    'spec:',
    '  replicas: -1',
    '  selector: {matchLabels: {app: web}}',
    '  template:',
    '    metadata: {labels: {app: web}}',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: 5',
    '          imagee: x',
    '          ports: [{containerPort: 70000}]',
    '        - image: nginx',
    '',
  ].join('\n');
  t.same(errorsOf(text), [
    `app.yaml:4:9: metadata.name: ${DNS_SUBDOMAIN}`,
    'app.yaml:6:13: spec.replicas: must be >= 0',
    'app.yaml:13:18: spec.template.spec.containers[0].image: must be a string',
    'app.yaml:14:11: spec.template.spec.containers[0].imagee: unknown field "imagee"',
    'app.yaml:15:35: spec.template.spec.containers[0].ports[0].containerPort: must be a port number from 1 to 65535',
    'app.yaml:16:11: spec.template.spec.containers[1].name: is required',
  ]);
});

t.test('JSON input, with positions', async (t) => {
  const obj = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'busybox', ports: [{ containerPort: '80' }] }] } };
  const text = JSON.stringify(obj, null, 2);
  t.same(errorsOf(text, 'pod.json'), ['pod.json:14:30: spec.containers[0].ports[0].containerPort: must be an integer']);
  obj.spec.containers[0].ports[0].containerPort = 80 as unknown as string;
  const r = validateSources([{ name: 'pod.json', text: JSON.stringify(obj, null, '\t') }]);
  t.same(r.errors, []);
  t.same(r.documents[0].object, obj);
});

t.test('a manifest from `get -o yaml` (server fields and status) can be applied again', async (t) => {
  const got = {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: {
      name: 'web', namespace: 'default', labels: { app: 'web' }, annotations: { 'deployment.kubernetes.io/revision': '2' },
      uid: '6c9d', resourceVersion: '42', generation: 2, creationTimestamp: '2024-05-01T10:00:00Z',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'default', uid: 'u1', controller: false }],
    },
    spec: {
      replicas: 3, selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
      minReadySeconds: 0, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, paused: false,
      template: {
        metadata: { labels: { app: 'web', tier: 'front' }, annotations: { note: 'x' } },
        spec: {
          restartPolicy: 'Always', terminationGracePeriodSeconds: 30, nodeSelector: { 'kubernetes.io/arch': 'amd64' },
          containers: [{
            name: 'web', image: 'nginx:1.27', imagePullPolicy: 'IfNotPresent', command: ['nginx'], args: ['-g', 'daemon off;'],
            workingDir: '/', env: [{ name: 'MODE', value: 'prod' }], ports: [{ name: 'http', containerPort: 80, hostPort: 8080, protocol: 'TCP' }],
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } },
            readinessProbe: { httpGet: { path: '/', port: 'http', host: '127.0.0.1', scheme: 'HTTP', httpHeaders: [{ name: 'X-A', value: 'b' }] }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
            livenessProbe: { tcpSocket: { port: 80, host: 'localhost' } },
          }],
        },
      },
    },
    status: {
      observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3, unavailableReplicas: 0,
      conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok', lastTransitionTime: '2024-05-01T10:00:00Z', lastUpdateTime: '2024-05-01T10:00:00Z' }],
    },
  };
  t.same(validateResource(got), []);
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', deletionTimestamp: '2024-05-01T10:00:00Z' },
    spec: { nodeName: 'node-1', containers: [{ name: 'a', image: 'b', livenessProbe: { exec: { command: ['true'] } } }] },
    status: {
      phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], reason: 'r', message: 'm', hostIP: '10.0.0.1', podIP: '10.1.0.2', startTime: 't',
      containerStatuses: [{
        name: 'a', image: 'b', imageID: 'sha256:1', containerID: 'berth://1', ready: true, started: true, restartCount: 1,
        state: { running: { startedAt: 't' } },
        lastState: { terminated: { exitCode: 1, signal: 9, reason: 'Error', message: 'm', startedAt: 't', finishedAt: 't', containerID: 'c' }, waiting: { reason: 'CrashLoopBackOff', message: 'm' } },
      }],
    },
  };
  t.same(validateResource(pod), []);
  t.same(validateResource({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' }, spec: {}, status: { phase: 'Active' } }), []);
  t.same(validateResource({
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d8' },
    spec: { replicas: 1, minReadySeconds: 0, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a', image: 'b' }] } } },
    status: { observedGeneration: 1, replicas: 1, readyReplicas: 1, availableReplicas: 1 },
  }), []);
  t.same(validateResource({ ...pod, status: { phase: 'Running', nodeName: 'x' } }).map((i) => i.message), [
    'Pod default/web-1: status.nodeName: unknown field "nodeName"',
  ]);
});

t.test('validation without positions, for the API', async (t) => {
  const doc = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 'x', selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'a', image: 'b' }] } } } };
  const issues = validateResource(doc);
  t.same(issues.map((i) => i.message), ['Deployment default/web: spec.replicas: must be an integer']);
  t.match(issues[0], { field: 'spec.replicas', detail: 'must be an integer', location: { path: ['spec', 'replicas'], part: 'value' } });
  const errors = resourceErrors({ ...doc, metadata: { name: 'web', namespace: 'shop' } });
  t.equal(errors.length, 1);
  t.ok(errors[0] instanceof ManifestError);
  t.equal(errors[0].code, 'invalid-argument');
  t.equal(errors[0].message, 'Deployment shop/web: spec.replicas: must be an integer');
  t.same(resourceErrors({ apiVersion: 'v1', kind: 'Frobnicator', metadata: { name: 'f' } }).map((e) => e.message), [
    `Frobnicator f: kind "Frobnicator" is not known (apiVersion v1); known kinds: ${KNOWN_KINDS}`,
  ]);
  t.equal(describeObject({ kind: 'Namespace', metadata: { name: 'shop' } }), 'Namespace shop');
  t.equal(describeObject({ kind: 'Pod', metadata: {} }), 'Pod default/(no name)');
  t.equal(describeObject('nonsense'), 'object (no name)');
});

t.test('loading files, directories and stdin', async (t) => {
  const dir = t.testdir({
    'b-web.yaml': deployment(),
    'a-ns.yml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n',
    'c-pod.json': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'b' }] } }),
    'notes.txt': 'not a manifest',
    nested: { 'ignored.yaml': 'apiVersion: v1\nkind: Frobnicator\n' },
  });
  const r = loadManifests([dir], () => t.fail('stdin is not read') as never);
  t.same(r.errors, []);
  t.same(r.documents.map((d) => [d.source, d.object.kind]), [
    [join(dir, 'a-ns.yml'), 'Namespace'], [join(dir, 'b-web.yaml'), 'Deployment'], [join(dir, 'c-pod.json'), 'Pod'],
  ]);

  let reads = 0;
  const stdin = () => { reads++; return 'apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad}\n'; };
  const mixed = loadManifests([join(dir, 'a-ns.yml'), '-', join(dir, 'missing.yaml'), '-'], stdin);
  t.equal(reads, 1, 'stdin is read once');
  t.same(mixed.errors.map((e) => e.message), [
    `${join(dir, 'missing.yaml')}: no such file or directory`,
    `<stdin>:3:18: metadata.name: ${DNS_LABEL}`,
    `<stdin>:3:18: metadata.name: ${DNS_LABEL}`,
  ]);
  t.same(mixed.documents.map((d) => d.object.kind), ['Namespace']);
  t.ok(mixed.errors.every((e) => e instanceof ManifestError && e.code === 'invalid-argument'));
});

t.test('errors of several files are all reported', async (t) => {
  const dir = t.testdir({
    'one.yaml': deployment().replace('  replicas: 2', '  replicas: -2'),
    'two.yaml': 'apiVersion: v1\nkind: Node\n',
  });
  const r = loadManifests([dir], () => '');
  t.same(r.errors.map((e) => e.message), [
    `${join(dir, 'one.yaml')}:6:13: spec.replicas: must be >= 0`,
    `${join(dir, 'two.yaml')}:2:7: kind Node cannot be applied: nodes are registered by their agents`,
  ]);
  t.same(r.documents, []);
  t.match(r.errors[0], { where: join(dir, 'one.yaml'), position: { line: 6, column: 13 }, field: 'spec.replicas', detail: 'must be >= 0' });
});

t.test('the examples validate', async (t) => {
  const r = loadManifests([EXAMPLES], () => '');
  t.same(r.errors.map((e) => e.message), []);
  const names = r.documents.map((d) => `${d.object.kind}/${d.object.metadata.name}`).sort();
  t.same(names, [
    'ConfigMap/shop-config', 'Deployment/cache', 'Deployment/frontend', 'Deployment/hello', 'Deployment/worker', 'Ingress/shop',
    'Secret/shop-db', 'Service/cache', 'Service/db', 'Service/frontend', 'Service/hello', 'StatefulSet/db',
  ]);
  const web = r.documents.find((d) => d.object.metadata.name === 'hello')!.object;
  t.match(web, { spec: { replicas: 3, selector: { matchLabels: { app: 'hello' } }, template: { spec: { containers: [{ image: 'registry.berth.local/berth/hello:1' }] } } } });
  t.notOk('namespace' in web.metadata, 'namespace-less');
  t.match(readFileSync(join(EXAMPLES, 'worker.yaml'), 'utf8'), /while true; do date; sleep 5; done/);
});

t.test('the schemas accept exactly the fields of proto/resources/types.ts', async (t) => {
  // Walks each appliable kind's TypeScript type and its schema side by side: the same property
  // names, the same required ones, the same enum members, all the way down. A field added to
  // resources/types.ts without its schema (or the reverse) fails here.
  const root = join(__dirname, '..', '..');
  const file = join(root, 'proto', 'resources', 'types.ts');
  const program = ts.createProgram([file], { strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const schemas = new Map<string, Record<string, unknown>>();
  for (const name of ['definitions', 'namespace', 'pod', 'deployment', 'replicaset', 'job', 'daemonset', 'cronjob']) {
    schemas.set(`${name}.json`, JSON.parse(readFileSync(join(root, 'manifests', 'schemas', `${name}.json`), 'utf8')));
  }
  type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; required?: string[]; $ref?: string; items?: Schema; enum?: unknown[]; const?: unknown };
  // A schema with its $ref resolved and merged with its siblings, and the file it came from.
  const resolve = (schema: Schema, inFile: string): { schema: Schema; file: string } => {
    if (!schema.$ref) return { schema, file: inFile };
    const [refFile, pointer] = schema.$ref.split('#');
    const target = refFile || inFile;
    let node: unknown = schemas.get(target);
    for (const part of pointer.split('/').slice(1)) node = (node as Record<string, unknown>)[part];
    const inner = resolve(node as Schema, target);
    const { $ref: _ref, ...siblings } = schema;
    return {
      schema: {
        ...inner.schema, ...siblings,
        properties: { ...inner.schema.properties, ...siblings.properties },
        required: [...(inner.schema.required ?? []), ...(siblings.required ?? [])],
      },
      file: inner.file,
    };
  };
  let compared = 0;
  const compare = (type: ts.Type, schemaIn: Schema, inFile: string, path: string): void => {
    const { schema, file: at } = resolve(schemaIn, inFile);
    const nonNull = checker.getNonNullableType(type);
    if (checker.isArrayType(nonNull)) {
      const element = checker.getTypeArguments(nonNull as ts.TypeReference)[0];
      compare(element, schema.items as Schema, at, `${path}[]`);
      return;
    }
    if (nonNull.isUnion() && nonNull.types.every((m) => m.isStringLiteral())) {
      const members = nonNull.types.map((m) => (m as ts.StringLiteralType).value).sort();
      const allowed = (schema.enum ?? (schema.const !== undefined ? [schema.const] : [])) as string[];
      t.same([...allowed].sort(), members, `${path}: enum`);
      compared++;
      return;
    }
    if (nonNull.isStringLiteral()) {
      t.same(schema.const, nonNull.value, `${path}: const`);
      return;
    }
    if (!(nonNull.flags & ts.TypeFlags.Object) || nonNull.getCallSignatures().length > 0) return;
    const index = checker.getIndexTypeOfType(nonNull, ts.IndexKind.String);
    if (index && checker.getPropertiesOfType(nonNull).length === 0 && !(index.flags & ts.TypeFlags.Never)) {
      // A map (labels, annotations, nodeSelector): any key, values of one type.
      t.same(Object.keys(schema.properties ?? {}), [], `${path}: a map`);
      t.equal(typeof schema.additionalProperties, 'object', `${path}: a map's values have a schema`);
      compared++;
      return;
    }
    const props = checker.getPropertiesOfType(nonNull);
    const schemaProps = schema.properties ?? {};
    t.same(Object.keys(schemaProps).sort(), props.map((p) => p.name).sort(), `${path}: fields`);
    t.equal(schema.additionalProperties, false, `${path}: unknown fields are errors`);
    const required = props.filter((p) => !(p.flags & ts.SymbolFlags.Optional)).map((p) => p.name);
    // metadata.name is optional in the type (a template's metadata has none) but required of a manifest.
    const extra = path.endsWith('.metadata') && !/template/i.test(path) ? ['name'] : [];
    t.same([...new Set(schema.required ?? [])].sort(), [...required, ...extra].sort(), `${path}: required fields`);
    compared++;
    for (const p of props) {
      if (schemaProps[p.name]) compare(checker.getTypeOfSymbolAtLocation(p, source), schemaProps[p.name], at, `${path}.${p.name}`);
    }
  };
  for (const [kind, file] of [['Namespace', 'namespace.json'], ['Pod', 'pod.json'], ['Deployment', 'deployment.json'], ['ReplicaSet', 'replicaset.json'], ['Job', 'job.json'], ['DaemonSet', 'daemonset.json'], ['CronJob', 'cronjob.json']]) {
    const declaration = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === kind)!;
    compare(checker.getTypeAtLocation(declaration.name), schemas.get(file) as Schema, file, kind);
  }
  t.ok(compared > 60, `compared ${compared} object types and enums`);
});

t.test('anyOf/oneOf: one message, from the branch the value fits', async (t) => {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true });
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  const validate = ajv.compile({
    type: 'object',
    properties: {
      // No x-expected: the message comes from the branches.
      port: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', minLength: 1 }] },
      target: {
        oneOf: [
          { type: 'object', additionalProperties: false, required: ['host'], properties: { host: { type: 'string' } } },
          { type: 'array', items: { type: 'string' } },
        ],
      },
      size: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^[0-9]+%$' }], 'x-expected': 'a count or a percentage' },
    },
  });
  const issuesOf = (doc: unknown) => {
    t.notOk(validate(doc));
    return issuesFromAjv(validate.errors ?? [], doc).map((i) => `${i.field}: ${i.detail}`);
  };
  t.same(issuesOf({ port: true }), ['port: must be an integer or a string'], 'no branch fits: the types');
  t.same(issuesOf({ port: 0 }), ['port: must be >= 1'], 'the integer branch fits');
  t.same(issuesOf({ port: '' }), ['port: must not be empty'], 'the string branch fits');
  t.same(issuesOf({ target: { hots: 'a' } }), ['target.host: is required', 'target.hots: unknown field "hots"'], 'inside the object branch');
  t.same(issuesOf({ target: ['a', 1] }), ['target[1]: must be a string'], 'inside the list branch');
  t.same(issuesOf({ size: 'x' }), ['size: must be a count or a percentage'], "the schema's own words");
});

t.test('tolerations: Kubernetes\' rules, and numeric operators', async (t) => {
  const podWith = (toleration: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n  tolerations: [${toleration}]\n`;
  const errs = (toleration: string) => errorsOf(podWith(toleration)).map((m) => m.replace(/^app\.yaml:\d+:\d+: /, ''));
  t.same(errs('{key: sla, operator: Gt, value: "900", effect: NoSchedule}'), [], 'Gt with a number');
  t.same(errs('{key: sla, operator: Lt, value: "-3"}'), [], 'Lt with a negative one');
  t.same(errs('{key: sla, operator: Gt, value: high}'), ['spec.tolerations[0].value: "high": must be an integer when `operator` is \'Gt\'']);
  t.same(errs('{operator: Equal, value: x}'), ['spec.tolerations[0].operator: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"']);
  t.same(errs('{key: k, operator: Exists, value: x}'), ["spec.tolerations[0].operator: value must be empty when `operator` is 'Exists'"]);
  t.same(errs('{key: k, operator: Exists, effect: NoSchedule, tolerationSeconds: 5}'), ["spec.tolerations[0].effect: effect must be 'NoExecute' when `tolerationSeconds` is set"]);
});

t.test('Windows paths only in pods for Windows nodes', async (t) => {
  const pod = (selector: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x, volumeMounts: [{name: h, mountPath: "C:\\\\etc\\\\foo"}]}]\n  volumes: [{name: h, hostPath: {path: "C:/data"}}]\n${selector}`;
  const errs = (text: string) => errorsOf(text).map((m) => m.replace(/^app\.yaml:\d+:\d+: /, ''));
  t.same(errs(pod('  nodeSelector: {kubernetes.io/os: windows}\n')), [], 'nodeSelector kubernetes.io/os');
  t.same(errs(pod('  os: {name: windows}\n')), [], 'spec.os');
  t.same(errs(pod('')), ['spec.containers[0].volumeMounts[0].mountPath: must be an absolute path in the container', 'spec.volumes[0].hostPath.path: must be an absolute path on the node'], 'a Linux pod');
});

t.test('v1alpha1 admission policies read as v1', async (t) => {
  t.same(errorsOf('apiVersion: admissionregistration.k8s.io/v1alpha1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  validations: [{expression: "true"}]\n'), []);
});
