// berth diff's unified diff: diff -u's format, minimal edits, hunks merged when close.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { diffLines, unifiedDiff } from '../../cli/cluster/unified-diff';
import { objectDiff, diffName } from '../../cli/cluster/diff';
import type { Deployment } from '../../proto/resources';

const lines = (n: number, f = (i: number) => `line ${i}`) => Array.from({ length: n }, (_, i) => f(i + 1));

t.test('equal texts: no diff', async (t) => {
  t.equal(unifiedDiff('a\nb\n', 'a\nb\n', 'A', 'B'), '');
  t.equal(unifiedDiff('', '', 'A', 'B'), '');
});

t.test('one changed line among many: one hunk with three lines of context', async (t) => {
  const a = lines(10);
  const b = [...a];
  b[4] = 'changed';
  t.equal(unifiedDiff(`${a.join('\n')}\n`, `${b.join('\n')}\n`, 'LIVE/x', 'MERGED/x'), [
    '--- LIVE/x', '+++ MERGED/x', '@@ -2,7 +2,7 @@', ' line 2', ' line 3', ' line 4', '-line 5', '+changed', ' line 6', ' line 7', ' line 8', '',
  ].join('\n'));
});

t.test('a new object: everything added, from line 0', async (t) => {
  t.equal(unifiedDiff('', 'a\nb\n', 'L', 'M'), '--- L\n+++ M\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  t.equal(unifiedDiff('a\n', '', 'L', 'M'), '--- L\n+++ M\n@@ -1,1 +0,0 @@\n-a\n');
});

t.test('the edit script is minimal', async (t) => {
  const ops = diffLines(['a', 'b', 'c', 'a', 'b', 'b', 'a'], ['c', 'b', 'a', 'b', 'a', 'c']);
  t.equal(ops.filter((o) => o.type !== ' ').length, 5, 'Myers\' example: D = 5');
  t.same(ops.filter((o) => o.type !== '+').map((o) => o.line), ['a', 'b', 'c', 'a', 'b', 'b', 'a'], 'deletions and context spell the old text');
  t.same(ops.filter((o) => o.type !== '-').map((o) => o.line), ['c', 'b', 'a', 'b', 'a', 'c'], 'insertions and context spell the new text');
});

t.test('agrees with diff(1) on random edits', { skip: spawnSync('diff', ['--version']).status !== 0 && 'no diff(1)' }, async (t) => {
  const dir = t.testdir();
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let round = 0; round < 30; round++) {
    const a = lines(5 + rand(40), () => `l${rand(6)}`);
    const b = a.filter(() => rand(5) !== 0).flatMap((l) => (rand(6) === 0 ? [l, `new ${rand(3)}`] : [l]));
    const fa = path.join(dir, 'a');
    const fb = path.join(dir, 'b');
    fs.writeFileSync(fa, a.length ? `${a.join('\n')}\n` : '');
    fs.writeFileSync(fb, b.length ? `${b.join('\n')}\n` : '');
    const ours = unifiedDiff(fs.readFileSync(fa, 'utf8'), fs.readFileSync(fb, 'utf8'), 'a', 'b');
    // Hunk boundaries may differ between equally short scripts: compare what each side keeps.
    const count = (text: string, sign: string) => text.split('\n').filter((l) => l.startsWith(sign) && !l.startsWith(`${sign}${sign}${sign} `)).length;
    const theirs = spawnSync('diff', ['-u', fa, fb], { encoding: 'utf8' }).stdout;
    t.equal(count(ours, '-'), count(theirs, '-'), `round ${round}: as many deletions as diff -u`);
    t.equal(count(ours, '+'), count(theirs, '+'), `round ${round}: as many insertions as diff -u`);
  }
});

t.test('objectDiff: kubectl\'s file names, resource version ignored', async (t) => {
  const live: Deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', resourceVersion: '7' }, spec: { replicas: 2, selector: {}, template: { spec: { containers: [] } } } };
  t.equal(diffName(live), 'apps.v1.Deployment.shop.web');
  t.equal(diffName({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }), 'v1.Namespace.shop');
  t.equal(objectDiff(live, { ...live, metadata: { ...live.metadata, resourceVersion: '9' } }), '', 'only the resource version differs: no diff');
  const merged = { ...live, spec: { ...live.spec, replicas: 5 } };
  t.equal(objectDiff(live, merged), [
    'diff -u -N LIVE/apps.v1.Deployment.shop.web MERGED/apps.v1.Deployment.shop.web',
    '--- LIVE/apps.v1.Deployment.shop.web', '+++ MERGED/apps.v1.Deployment.shop.web',
    '@@ -4,7 +4,7 @@', '   name: web', '   namespace: shop', ' spec:', '-  replicas: 2', '+  replicas: 5', '   selector: {}', '   template:', '     spec:', '',
  ].join('\n'));
});

t.test("diff masks a Secret's values as kubectl diff does", async (t) => {
  const { objectDiff } = await import('../../cli/cluster/diff');
  const secret = (data: Record<string, string>) => ({ apiVersion: 'v1' as const, kind: 'Secret' as const, metadata: { name: 'db', namespace: 'default' }, type: 'Opaque', data });
  const text = objectDiff(secret({ user: 'YWRtaW4=', password: 'b2xk' }), secret({ user: 'YWRtaW4=', password: 'bmV3' }));
  t.match(text, /-  password: "\*\*\* \(before\)"\n\+  password: "\*\*\* \(after\)"/);
  t.match(text, / {3}user: "\*\*\*"/);
  t.notMatch(text, /b2xk|bmV3|YWRtaW4=/, 'no value, old or new, in the output');
  t.equal(objectDiff(secret({ a: 'eA==' }), secret({ a: 'eA==' })), '', 'unchanged: no diff');
});
