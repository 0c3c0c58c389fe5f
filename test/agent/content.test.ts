// The content store: a blob is visible under a digest only if its bytes hash to it. Ingests check
// as they write; adopt takes a spool the agent hashed itself, renamed in (the same inode, no copy),
// or copied through an ingest from another filesystem.

import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openContentStore } from '../../agent/content';
import type { Digest } from '../../agent/oci';

const digestOf = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

function tempDir(t: Test, under = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(under, 'berth-content-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('an ingest whose bytes do not hash to its digest leaves no blob', async (t) => {
  const store = await openContentStore(tempDir(t));
  const bytes = Buffer.from('layer bytes');
  const wrong = digestOf(Buffer.from('other bytes'));
  const ingest = await store.ingest(wrong, bytes.length);
  await ingest.write(bytes);
  await t.rejects(ingest.commit(), /digest mismatch, content is sha256:/);
  t.equal(await store.size(wrong), undefined);
});

t.test('adopt renames the spool in: the same inode, readable under its digest, the spool gone', async (t) => {
  const dir = tempDir(t);
  const store = await openContentStore(path.join(dir, 'content'));
  const bytes = Buffer.from('a tar the agent wrote and hashed as it wrote it');
  const spool = path.join(dir, 'spool.tar');
  fs.writeFileSync(spool, bytes);
  const inode = fs.statSync(spool).ino;
  const digest = digestOf(bytes);
  await store.adopt(spool, digest, bytes.length);
  t.same(await store.read(digest), bytes);
  t.equal(fs.statSync(store.pathOf(digest)).ino, inode, 'renamed, not copied');
  t.notOk(fs.existsSync(spool));
});

t.test('adopt refuses a spool of another size and removes it', async (t) => {
  const dir = tempDir(t);
  const store = await openContentStore(path.join(dir, 'content'));
  const bytes = Buffer.from('twelve bytes');
  const spool = path.join(dir, 'spool.tar');
  fs.writeFileSync(spool, bytes);
  const digest = digestOf(bytes);
  await t.rejects(store.adopt(spool, digest, bytes.length + 1), /has 12 bytes, expected 13/);
  t.equal(await store.size(digest), undefined);
  t.notOk(fs.existsSync(spool));
});

t.test('adopt keeps a blob already there and drops the spool', async (t) => {
  const dir = tempDir(t);
  const store = await openContentStore(path.join(dir, 'content'));
  const bytes = Buffer.from('the same layer twice');
  const digest = await store.put(bytes);
  const inode = fs.statSync(store.pathOf(digest)).ino;
  const spool = path.join(dir, 'spool.tar');
  fs.writeFileSync(spool, bytes);
  await store.adopt(spool, digest, bytes.length);
  t.equal(fs.statSync(store.pathOf(digest)).ino, inode, 'the stored blob is untouched');
  t.notOk(fs.existsSync(spool));
});

t.test('adopt from another filesystem copies through an ingest, which checks the digest', async (t) => {
  const dir = tempDir(t);
  const store = await openContentStore(path.join(dir, 'content'));
  const elsewhere = tempDir(t, '/dev/shm'); // tmpfs on Debian
  t.not(fs.statSync(elsewhere).dev, fs.statSync(dir).dev, 'the spool is on another filesystem');
  const bytes = Buffer.alloc(3 << 20, 7); // several read chunks
  const spool = path.join(elsewhere, 'spool.tar');
  fs.writeFileSync(spool, bytes);
  const digest = digestOf(bytes);
  await store.adopt(spool, digest, bytes.length);
  t.same(await store.read(digest), bytes);
  t.notOk(fs.existsSync(spool));

  // A spool that is not what the caller says is caught by the copy.
  const bad = path.join(elsewhere, 'bad.tar');
  fs.writeFileSync(bad, Buffer.alloc(10, 1));
  const claimed = digestOf(Buffer.alloc(10, 2));
  await t.rejects(store.adopt(bad, claimed, 10), /digest mismatch/);
  t.equal(await store.size(claimed), undefined);
  t.notOk(fs.existsSync(bad));
});
