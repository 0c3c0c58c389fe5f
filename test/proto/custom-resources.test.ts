// The pure rules of custom resources: structural schemas turned into JSON Schema (nullable,
// int-or-string, exclusive bounds, preserved and embedded objects), a batch's definitions
// checking its objects, schema defaults, CEL rules, and which definitions' names are accepted.

import t from 'tap';
import { validateResource, validateSources, withSchemaDefaults } from '../../proto/manifests';
import { toJsonSchema } from '../../proto/manifests/custom-resources';
import { acceptedDefinitions, customKindInfo, KINDS, type CustomObject, type CustomResourceDefinition, type JsonSchemaProps } from '../../proto/resources';

const definition = (kind: string, schema: JsonSchemaProps, created = '2026-01-01T00:00:00Z', extra: Partial<CustomResourceDefinition['spec']> = {}): CustomResourceDefinition => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${kind.toLowerCase()}s.example.com`, creationTimestamp: created },
  spec: { group: 'example.com', scope: 'Namespaced', names: { kind, plural: `${kind.toLowerCase()}s` }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }], ...extra },
});

const object = (kind: string, body: Record<string, unknown>): CustomObject => ({ apiVersion: 'example.com/v1', kind, metadata: { name: 'x' }, ...body });

t.test('structural schemas as JSON Schema', async (t) => {
  t.same(toJsonSchema({ type: 'string', nullable: true }), { type: ['string', 'null'] });
  t.match(toJsonSchema({ 'x-kubernetes-int-or-string': true }), { anyOf: [{ type: 'integer' }, { type: 'string' }] });
  t.same(toJsonSchema({ type: 'integer', minimum: 1, exclusiveMinimum: true, maximum: 5 }), { type: 'integer', exclusiveMinimum: 1, maximum: 5 });
  t.same(toJsonSchema({ type: 'object', properties: { a: { type: 'string' } } }), { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }, 'unknown fields refused');
  t.same(toJsonSchema({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } }), { type: 'object', properties: { a: { type: 'string' } } }, 'unless preserved');
  t.same(toJsonSchema({ type: 'object', additionalProperties: { type: 'integer' } }), { type: 'object', additionalProperties: { type: 'integer' } }, 'maps');
  t.match(toJsonSchema({ type: 'object', 'x-kubernetes-embedded-resource': true, properties: {} }), { properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' } } });
});

t.test('a batch\'s definition checks its objects', async (t) => {
  const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {kind: Gadget, plural: gadgets}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, default: 3}
              port: {x-kubernetes-int-or-string: true}
`;
  const load = (spec: string) => validateSources([{ name: 'g.yaml', text: `${crd}---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: ${spec}\n` }]);
  t.same(load('{size: 2, port: http}').errors, []);
  t.same(load('{port: 8080}').errors, []);
  t.match(load('{size: big}').errors.map((e) => e.message), [/^g\.yaml:\d+:\d+: spec\.size: must be an integer$/]);
  t.match(load('{port: 1.5}').errors.map((e) => e.message), [/spec\.port: must be an integer or a string/]);
  t.match(validateSources([{ name: 'alone.yaml', text: 'apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n' }]).errors.map((e) => e.message),
    [/no matches for kind "Gadget" in version "example\.com\/v1": ensure CRDs are installed first/], 'without its definition, one clear line');
});

t.test('defaults and rules', async (t) => {
  const crd = definition('Widget', {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: { replicas: { type: 'integer', default: 1 }, max: { type: 'integer', default: 3 }, tags: { type: 'array', items: { type: 'object', properties: { n: { type: 'string', default: 'none' } } } } },
        'x-kubernetes-validations': [{ rule: 'self.replicas <= self.max', messageExpression: "'replicas ' + string(self.replicas) + ' above ' + string(self.max)" }],
      },
    },
  });
  t.same(withSchemaDefaults(object('Widget', { spec: { tags: [{}] } }), crd).spec, { tags: [{ n: 'none' }], replicas: 1, max: 3 });
  t.same(validateResource(object('Widget', { spec: {} }), { definitions: [crd] }), []);
  t.match(validateResource(object('Widget', { spec: { replicas: 5 } }), { definitions: [crd] }).map((i) => i.message), ['Widget default/x: spec: Invalid value: "object": replicas 5 above 3']);
  const transition = definition('Lock', { type: 'object', properties: { spec: { type: 'object', properties: { key: { type: 'string', 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'is immutable' }] } } } } });
  t.same(validateResource(object('Lock', { spec: { key: 'a' } }), { definitions: [transition] }), [], 'a transition rule does not run on a create');
  t.same(validateResource(object('Lock', { spec: { key: 'a' } }), { definitions: [transition], old: object('Lock', { spec: { key: 'a' } }) }), []);
  t.match(validateResource(object('Lock', { spec: { key: 'b' } }), { definitions: [transition], old: object('Lock', { spec: { key: 'a' } }) }).map((i) => i.message), ['Lock default/x: spec.key: Invalid value: "b": is immutable']);
});

t.test('names accepted oldest first', async (t) => {
  const older = definition('Gear', { type: 'object' }, '2026-01-01T00:00:00Z');
  const newer = { ...definition('Gear', { type: 'object' }, '2026-02-01T00:00:00Z'), metadata: { name: 'gears.other.com', creationTimestamp: '2026-02-01T00:00:00Z' }, spec: { ...older.spec, group: 'other.com' } };
  const builtin = definition('Service', { type: 'object' });
  const short = definition('Cog', { type: 'object' }, '2026-03-01T00:00:00Z', { names: { kind: 'Cog', plural: 'cogs', shortNames: ['svc'] } });
  const { accepted, refused } = acceptedDefinitions([newer, builtin, older, short], KINDS);
  t.same(accepted.map((d) => d.metadata.name), ['gears.example.com']);
  t.match(Object.fromEntries(refused), {
    'gears.other.com': /"gear" is already in use by CustomResourceDefinition gears\.example\.com/,
    'services.example.com': /"service" is already in use by the built-in kind Service/,
    'cogs.example.com': /"svc" is already in use by the built-in kind Service/,
  });
  t.match(customKindInfo(older), { kind: 'Gear', apiVersion: 'example.com/v1', plural: 'gears', namespaced: true });
  t.ok(customKindInfo(older).aliases.includes('gears.example.com'), 'plural.group names it too');
});

t.test('schemas Kubernetes accepts are usable, and checked in linear time', async (t) => {
  const crd = definition('Quota', {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          // controller-gen's Quantity: int-or-string with a pattern.
          size: { 'x-kubernetes-int-or-string': true, pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$' },
          either: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, oneOf: [{ required: ['a'] }, { required: ['b'] }] },
          short: { type: 'object', properties: { c: { type: 'string' } }, allOf: [{ properties: { c: { maxLength: 2 } } }] },
          name: { type: 'string', pattern: '^(a+)+$' },
          note: { type: 'string', nullable: true, 'x-kubernetes-validations': [{ rule: 'size(self) < 5' }] },
          tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
          ports: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' }, protocol: { type: 'string' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port', 'protocol'] },
        },
      },
    },
  });
  t.same(validateSources([{ name: 'crd.yaml', text: JSON.stringify(crd) }]).errors, [], 'the definition is accepted');
  const issues = (spec: Record<string, unknown>) => validateResource(object('Quota', { spec }), { definitions: [crd] }).map((i) => i.message.replace('Quota default/x: ', ''));
  t.same(issues({ size: '10Gi', either: { a: 'x' }, short: { c: 'ok' }, name: 'aaa', note: null }), []);
  t.same(issues({ size: 3 }), [], 'an integer where int-or-string');
  t.match(issues({ size: 'lots' }), [/spec\.size: must match the pattern/]);
  t.match(issues({ either: { a: 'x', b: 'y' } }), [/spec\.either: must match exactly one/]);
  t.match(issues({ short: { c: 'long' } }), [/spec\.short\.c: must be at most 2 characters long/]);
  const started = Date.now();
  t.match(issues({ name: `${'a'.repeat(5000)}b` }), [/spec\.name: must match the pattern/]);
  t.ok(Date.now() - started < 1000, `a pattern that backtracks in JavaScript's engine is linear in RE2 (${Date.now() - started} ms)`);
  t.match(issues({ note: 'too long' }), [/spec\.note: Invalid value: "too long": failed rule: size\(self\) < 5/], 'a rule on a nullable field runs on a value');
  t.match(issues({ tags: ['a', 'a'] }), [/spec\.tags: must not contain duplicates/]);
  t.match(issues({ ports: [{ port: 80, protocol: 'TCP' }, { port: 80, protocol: 'TCP' }] }), [/spec\.ports\[1\]: Duplicate value: \{"port":80,"protocol":"TCP"\}/]);
  t.same(issues({ ports: [{ port: 80, protocol: 'TCP' }, { port: 80, protocol: 'UDP' }] }), [], 'map keys are the key fields together');
});

t.test('definitions berth refuses to serve', async (t) => {
  const errs = (schema: JsonSchemaProps) => validateSources([{ name: 'crd.yaml', text: JSON.stringify(definition('Bad', schema)) }]).errors.map((e) => e.message.replace(/^crd\.yaml:\d+:\d+: /, ''));
  t.match(errs({ type: 'object', properties: { a: { type: 'string', pattern: '(?=x)' } } }), [/properties\.a\.pattern: must be a valid RE2 regular expression/]);
  t.match(errs({ type: 'object', properties: { l: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.all(x, self.all(y, x <= y || y <= x))' }] } } }),
    [/x-kubernetes-validations"\]\[0\]\.rule: nests a list macro/]);
  t.same(errs({ type: 'object', properties: { l: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.all(x, x > 0)' }] } } }), [], 'one macro is fine');
});
