// A pod's token files: written as one change through ..data, renewed at 80 % of the token's life
// (the file a container holds open keeps its old content; a new open reads the new one), gone
// with the pod; a pod that opts out gets nothing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { PodTokens, type TokenGrant } from '../../agent/node/pod-tokens';

const ref = { namespace: 'shop', name: 'web', uid: 'uid-1' };

t.test('written atomically, renewed before expiry, removed with the pod', async (t) => {
  const root = t.testdir();
  let issued = 0;
  const tokens = new PodTokens({
    root,
    // Each token lives 1 s: renewed after 0.8 s.
    request: async (): Promise<TokenGrant> => ({ mount: true, token: `token-${++issued}`, expiresAt: Date.now() / 1000 + 1, caPem: 'CA', namespace: 'shop' }),
    now: () => Date.now(),
    log: () => undefined,
  });
  t.teardown(() => tokens.stop());
  const dir = (await tokens.ensure(ref))!;
  t.equal(dir, path.join(root, 'uid-1', 'serviceaccount'));
  t.equal(fs.readFileSync(path.join(dir, 'token'), 'utf8'), 'token-1');
  t.equal(fs.readFileSync(path.join(dir, 'namespace'), 'utf8'), 'shop');
  t.equal(fs.readlinkSync(path.join(dir, 'token')), path.join('..data', 'token'), 'names lead through ..data');
  const held = fs.openSync(path.join(dir, 'token'), 'r');
  t.equal(await tokens.ensure(ref), dir, 'a current token is not asked for again');
  t.equal(issued, 1);
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(fs.readFileSync(path.join(dir, 'token'), 'utf8'), 'token-2', 'renewed at 80 % of its life');
  t.equal(fs.readFileSync(held, 'utf8'), 'token-1', 'a reader of the old file finishes reading the old token, whole');
  fs.closeSync(held);
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('..') && n !== '..data').length, 1, 'the old version is removed');
  await tokens.release('uid-1');
  t.notOk(fs.existsSync(dir), "released: the token's directory is gone");
});

t.test('a pod that opts out gets no directory', async (t) => {
  const tokens = new PodTokens({ root: t.testdir(), request: async () => ({ mount: false, token: '', expiresAt: 0, caPem: '', namespace: '' }), now: () => Date.now(), log: () => undefined });
  t.equal(await tokens.ensure(ref), undefined);
});
