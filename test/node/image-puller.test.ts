// Pulls for pods: different images in parallel, one pull per image however many ask, back-off
// after failures; and the default pull policy. The image service is replaced by a function that
// pulls nothing (the real one is exercised end to end in agent-node.test.ts).

import t from 'tap';
import { BerthError } from '../../proto/errors';
import type { ImageRecord } from '../../agent/images/types';
import { canonicalImage, ImagePuller, pullPolicyOf, STALE_FAILURE_MS } from '../../agent/node/image-puller';

function fakeImages() {
  const pending = new Map<string, { resolve: (r: ImageRecord) => void; reject: (e: Error) => void }>();
  const calls: string[] = [];
  const present = new Set<string>();
  return {
    calls,
    present,
    finish(ref: string, error?: string) {
      const p = pending.get(ref)!;
      pending.delete(ref);
      if (error) p.reject(new BerthError('not-found', error));
      else {
        present.add(ref);
        p.resolve({ id: `sha256:${ref.length}` } as unknown as ImageRecord);
      }
    },
    service: {
      pull: (ref: string) => {
        calls.push(ref);
        return new Promise<ImageRecord>((resolve, reject) => pending.set(ref, { resolve, reject }));
      },
      resolve: (ref: string) => {
        if (!present.has(ref)) throw new BerthError('not-found', `No such image: ${ref}`);
        return { id: 'sha256:here' } as unknown as ImageRecord;
      },
    },
  };
}

t.test('different images pull in parallel; the same image once', async (t) => {
  const images = fakeImages();
  let now = 1000;
  const puller = new ImagePuller(images.service as never, { now: () => now });
  const big = puller.pull('reg/big:1');
  const small = puller.pull('reg/small:1');
  const smallAgain = puller.pull('reg/small:1');
  t.same(images.calls, ['reg/big:1', 'reg/small:1'], 'both started at once, the second ask for small joined the first');
  t.ok(puller.isPulling('reg/small:1'));
  images.finish('reg/small:1');
  t.equal((await small).id, (await smallAgain).id);
  t.ok(puller.isPulling('reg/big:1'), 'the small one finished while the big one still pulls');
  images.finish('reg/big:1');
  await big;
  t.notOk(puller.isPulling('reg/big:1'));
  t.ok(puller.present('reg/big:1'));
  t.equal(puller.present('reg/other:1'), undefined);
  t.equal(puller.present('Not A Reference'), undefined, 'an invalid name is simply not present');

  const failing = puller.pull('reg/nope:1');
  images.finish('reg/nope:1', 'manifest unknown');
  await t.rejects(failing, /manifest unknown/);
  t.same(puller.failure('reg/nope:1'), { message: 'manifest unknown', failedAt: 1000, retryAt: 2000, failures: 1 });
  now = 2000;
  const again = puller.pull('reg/nope:1');
  images.finish('reg/nope:1', 'manifest unknown');
  await t.rejects(again);
  t.equal(puller.failure('reg/nope:1')!.retryAt, 4000, 'the back-off doubles');
  now = 200_000;
  for (let i = 0; i < 10; i++) {
    const p = puller.pull('reg/nope:1');
    images.finish('reg/nope:1', 'manifest unknown');
    await p.catch(() => {});
  }
  t.equal(puller.failure('reg/nope:1')!.retryAt - now, 60_000, 'capped at a minute');
  const ok = puller.pull('reg/nope:1');
  images.finish('reg/nope:1');
  await ok;
  t.equal(puller.failure('reg/nope:1'), undefined, 'a success clears the back-off');

  // Records of images nobody asks for any more go: a mistyped name's, once its pods are gone.
  const typo = puller.pull('reg/tpyo:1');
  images.finish('reg/tpyo:1', 'manifest unknown');
  await typo.catch(() => {});
  now += STALE_FAILURE_MS;
  const other = puller.pull('reg/small:2');
  t.ok(puller.failure('reg/tpyo:1'), 'kept while a retry may still come');
  images.finish('reg/small:2');
  await other;
  now += 1;
  const another = puller.pull('reg/small:3');
  t.equal(puller.failure('reg/tpyo:1'), undefined, 'dropped once nobody retried it for STALE_FAILURE_MS');
  images.finish('reg/small:3');
  await another;
});

t.test('names and the default pull policy', async (t) => {
  t.equal(canonicalImage('busybox'), 'busybox:latest');
  t.equal(canonicalImage('docker.io/library/busybox:1'), 'busybox:1');
  t.equal(canonicalImage('reg:5000/a/b'), 'reg:5000/a/b:latest');
  t.throws(() => canonicalImage('UPPER/case'));
  t.equal(pullPolicyOf({ name: 'c', image: 'busybox' }), 'Always');
  t.equal(pullPolicyOf({ name: 'c', image: 'busybox:latest' }), 'Always');
  t.equal(pullPolicyOf({ name: 'c', image: 'busybox:1.36' }), 'IfNotPresent');
  t.equal(pullPolicyOf({ name: 'c', image: `busybox@sha256:${'a'.repeat(64)}` }), 'IfNotPresent');
  t.equal(pullPolicyOf({ name: 'c', image: 'busybox', imagePullPolicy: 'Never' }), 'Never');
});
