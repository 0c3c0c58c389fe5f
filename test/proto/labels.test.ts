// Label and field selectors: parsing (with the position of the bad part), matching against
// labels and LabelSelector objects, and the round trip back to text.

import t from 'tap';
import {
  SelectorError, formatLabelSelector, formatRequirements, isEmptySelector, matchesFieldSelector, matchesLabelSelector,
  matchesRequirements, matchesSelectorText, parseFieldSelector, parseLabelSelector, selectorRequirements,
} from '../../proto/resources';
import type { Event, Pod } from '../../proto/resources';

t.test('parses every form into requirements', async (t) => {
  const cases: [string, ReturnType<typeof parseLabelSelector>][] = [
    ['', []],
    ['   ', []],
    ['app=web', [{ key: 'app', operator: 'In', values: ['web'] }]],
    ['app==web', [{ key: 'app', operator: 'In', values: ['web'] }]],
    ['app!=web', [{ key: 'app', operator: 'NotIn', values: ['web'] }]],
    ['app', [{ key: 'app', operator: 'Exists' }]],
    ['!app', [{ key: 'app', operator: 'DoesNotExist' }]],
    ['tier in (a,b)', [{ key: 'tier', operator: 'In', values: ['a', 'b'] }]],
    ['tier notin (x)', [{ key: 'tier', operator: 'NotIn', values: ['x'] }]],
    ['tier in (a, b, a)', [{ key: 'tier', operator: 'In', values: ['a', 'b'] }]],
    ['tier in (a,)', [{ key: 'tier', operator: 'In', values: ['a', ''] }]],
    ['app=', [{ key: 'app', operator: 'In', values: [''] }]],
    ['app=in', [{ key: 'app', operator: 'In', values: ['in'] }]],
    [' app = web , !canary ,env in (prod,staging),tier', [
      { key: 'app', operator: 'In', values: ['web'] },
      { key: 'canary', operator: 'DoesNotExist' },
      { key: 'env', operator: 'In', values: ['prod', 'staging'] },
      { key: 'tier', operator: 'Exists' },
    ]],
    ['example.com/role=db', [{ key: 'example.com/role', operator: 'In', values: ['db'] }]],
  ];
  for (const [text, want] of cases) t.same(parseLabelSelector(text), want, JSON.stringify(text));
});

t.test('bad selectors fail with the position of the bad part', async (t) => {
  const cases: [string, string, number][] = [
    ['a in x', 'invalid label selector "a in x": expected "(" after "in", found "x" at position 6', 6],
    ['a=b c', 'invalid label selector "a=b c": expected "," or end of string, found "c" at position 5', 5],
    ['a=b,', 'invalid label selector "a=b,": expected a requirement after "," at position 5', 5],
    [',a', 'invalid label selector ",a": expected a label key, found "," at position 1', 1],
    ['a in ()', 'invalid label selector "a in ()": the set of values for in/notin must not be empty at position 6', 6],
    ['a in (b', 'invalid label selector "a in (b": expected "," or ")", found end of string at position 8', 8],
    ['a>1', 'invalid label selector "a>1": operator ">" is not supported (use =, ==, !=, in, notin, exists or !) at position 2', 2],
    ['a=b=c', 'invalid label selector "a=b=c": expected "," or end of string, found "=" at position 4', 4],
    ['-bad=x', 'invalid label selector "-bad=x": label key "-bad": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character at position 1', 1],
    ['a=-x', 'invalid label selector "a=-x": label value "-x": must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character at position 3', 3],
    ['!', 'invalid label selector "!": expected a label key, found end of string at position 2', 2],
    ['a (b)', 'invalid label selector "a (b)": expected one of =, ==, !=, in, notin, "," or end of string after key "a", found "(" at position 3', 3],
    ['Bad_Prefix/x=1', 'invalid label selector "Bad_Prefix/x=1": label key "Bad_Prefix/x": prefix "Bad_Prefix" must be a DNS-1123 subdomain (lower-case letters, digits, \'-\' and \'.\') at position 1', 1],
  ];
  for (const [text, message, position] of cases) {
    t.throws(() => parseLabelSelector(text), { message, position, code: 'invalid-argument' }, text);
  }
  t.throws(() => parseLabelSelector(`a=${'x'.repeat(64)}`), /must be no more than 63 characters/);
  t.ok(new SelectorError('x') instanceof Error);
});

t.test('matching labels against selector text', async (t) => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app=api', labels, false],
    ['app!=api', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['missing=x', labels, false],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['tier in (front,back)', labels, true],
    ['tier in (back)', labels, false],
    ['missing in (x)', labels, false],
    ['tier notin (back)', labels, true],
    ['tier notin (front)', labels, false],
    ['missing notin (x)', labels, true],
    ['app=web,env=prod', labels, true],
    ['app=web,env=dev', labels, false],
    ['app=', { app: '' }, true],
    ['app=', labels, false],
    ['app', undefined, false],
    ['!app', undefined, true],
  ];
  for (const [text, l, want] of cases) t.equal(matchesSelectorText(l, text), want, `${text} on ${JSON.stringify(l)}`);
  // A label named like an Object.prototype member is not there unless set.
  t.equal(matchesRequirements({}, [{ key: 'constructor', operator: 'Exists' }]), false);
});

t.test('LabelSelector objects: matchLabels and matchExpressions, all must hold', async (t) => {
  const sel = {
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In' as const, values: ['front', 'edge'] },
      { key: 'canary', operator: 'DoesNotExist' as const },
      { key: 'env', operator: 'NotIn' as const, values: ['dev'] },
      { key: 'team', operator: 'Exists' as const },
    ],
  };
  t.ok(matchesLabelSelector({ app: 'web', tier: 'edge', team: 'a' }, sel));
  t.notOk(matchesLabelSelector({ app: 'web', tier: 'edge' }, sel), 'team missing');
  t.notOk(matchesLabelSelector({ app: 'web', tier: 'edge', team: 'a', canary: 'y' }, sel), 'canary present');
  t.notOk(matchesLabelSelector({ app: 'web', tier: 'edge', team: 'a', env: 'dev' }, sel), 'env excluded');
  t.notOk(matchesLabelSelector({ app: 'api', tier: 'edge', team: 'a' }, sel), 'matchLabels differ');
  t.ok(matchesLabelSelector({ anything: 'x' }, {}), 'an empty selector selects everything');
  t.notOk(matchesLabelSelector({ anything: 'x' }, undefined), 'an absent selector selects nothing');
  t.equal(formatLabelSelector(sel), 'app=web,tier in (front,edge),!canary,env!=dev,team');
  t.equal(formatLabelSelector(undefined), '<none>');
  t.equal(formatRequirements(parseLabelSelector('a notin (x,y),b==c')), 'a notin (x,y),b=c');
});

t.test('invalid LabelSelector objects are refused with the field named', async (t) => {
  t.throws(() => selectorRequirements({ matchExpressions: [{ key: 'a', operator: 'In' }] }),
    { message: 'invalid selector: matchExpressions[0].values must not be empty for operator In' });
  t.throws(() => selectorRequirements({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }),
    { message: 'invalid selector: matchExpressions[0].values must be empty for operator Exists' });
  t.throws(() => selectorRequirements({ matchExpressions: [{ key: 'a', operator: 'Gt' as 'In', values: ['1'] }] }),
    { message: 'invalid selector: matchExpressions[0].operator "Gt" is not one of In, NotIn, Exists, DoesNotExist' });
  t.throws(() => selectorRequirements({ matchLabels: { 'a b': 'x' } }), /invalid selector: matchLabels "a b": name part must consist/);
  t.throws(() => selectorRequirements({ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'not ok'] }] }),
    /matchExpressions\[0\]\.values "not ok"/);
});

t.test('isEmptySelector', async (t) => {
  t.ok(isEmptySelector(undefined));
  t.ok(isEmptySelector({}));
  t.ok(isEmptySelector({ matchLabels: {}, matchExpressions: [] }));
  t.notOk(isEmptySelector({ matchLabels: { a: 'b' } }));
  t.notOk(isEmptySelector({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }));
});

const pod = (name: string, nodeName: string | undefined, phase: 'Pending' | 'Running'): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [], ...(nodeName ? { nodeName } : {}) }, status: { phase },
});

t.test('field selectors', async (t) => {
  t.same(parseFieldSelector(''), []);
  t.same(parseFieldSelector('spec.nodeName=n1,status.phase!=Running'), [
    { path: 'spec.nodeName', operator: '=', value: 'n1' },
    { path: 'status.phase', operator: '!=', value: 'Running' },
  ]);
  t.same(parseFieldSelector('metadata.name==a\\,b'), [{ path: 'metadata.name', operator: '=', value: 'a,b' }]);
  const pods = [pod('a', 'n1', 'Running'), pod('b', 'n2', 'Running'), pod('c', undefined, 'Pending')];
  const select = (text: string) => pods.filter((p) => matchesFieldSelector(p, parseFieldSelector(text))).map((p) => p.metadata.name);
  t.same(select('spec.nodeName=n1'), ['a']);
  t.same(select('spec.nodeName='), ['c'], 'an absent field reads as ""');
  t.same(select('spec.nodeName!=n1'), ['b', 'c']);
  t.same(select('status.phase=Running,metadata.namespace=default'), ['a', 'b']);
  t.same(select('metadata.name!=a,metadata.name!=b'), ['c']);
  const ev: Event = {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' }, reason: 'Scheduled', message: '', type: 'Normal',
    involvedObject: { kind: 'Pod', name: 'web-1', uid: 'u1' },
  };
  t.ok(matchesFieldSelector(ev, parseFieldSelector('involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1')));
  t.notOk(matchesFieldSelector(ev, parseFieldSelector('involvedObject.name=web-2')));
});

t.test('bad field selectors name the position', async (t) => {
  t.throws(() => parseFieldSelector('spec.foo=x'), {
    message: 'invalid field selector "spec.foo=x": field label not supported: spec.foo (supported: metadata.name, metadata.namespace, spec.nodeName, status.phase, involvedObject.kind, involvedObject.name, involvedObject.uid) at position 1',
    position: 1,
  });
  t.throws(() => parseFieldSelector('metadata.name=a,status.phase'), {
    message: 'invalid field selector "metadata.name=a,status.phase": expected "path=value" or "path!=value", found "status.phase" at position 17',
    position: 17,
  });
  t.throws(() => parseFieldSelector('metadata.name=a,,x=y'), { message: /expected a requirement, found nothing at position 17/ });
  t.throws(() => parseFieldSelector('=x'), { message: 'invalid field selector "=x": expected a field path before "=" at position 1' });
});
