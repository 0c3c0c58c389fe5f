// A restarted container's message file: what the previous run left is not the next run's message,
// told by the file's version (size and modification time) before the run's end time, whose
// precision may be coarser than the file's.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { messageFileOf, readMessageFile } from '../../agent/node/termination-message';

t.test('a run\'s message is only what it wrote', async (t) => {
  const podDir = t.testdir();
  const file = messageFileOf(podDir, 'main');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'first');
  const first = await readMessageFile(podDir, 'main');
  t.equal(first.message, 'first');
  // The next run ended without writing; its end time is recorded to the second, before the file's time.
  const coarse = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
  t.equal((await readMessageFile(podDir, 'main', coarse, first.stamp)).message, '', 'the same file version as last time: not this run\'s');
  t.equal((await readMessageFile(podDir, 'main', new Date(Date.now() + 60_000).toISOString())).message, '', 'written before the previous run ended: not this run\'s');
  fs.writeFileSync(file, 'second, longer');
  t.equal((await readMessageFile(podDir, 'main', coarse, first.stamp)).message, 'second, longer', 'a new version is the new run\'s');
  t.same(await readMessageFile(podDir, 'gone'), { message: '' }, 'no file: no message');
});
