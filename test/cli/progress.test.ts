// The CLI's pull/push progress: redrawn bars on a terminal, one line per change otherwise.

import t from 'tap';
import { ProgressPrinter } from '../../cli/node/progress';
import type { ProgressMessage } from '../../proto/grpc';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const msg = (m: Partial<ProgressMessage>): ProgressMessage => ({ kind: 'layer', digest: '', status: '', current: '0', total: '0', reference: '', imageId: '', ...m });

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

t.test('a terminal gets bars redrawn in place', async (t) => {
  const { writes, stream } = sink(true);
  const p = new ProgressPrinter('pull', stream);
  p.handle(msg({ digest: digest('a'), status: 'waiting' }));
  p.handle(msg({ digest: digest('b'), status: 'waiting' }));
  p.handle(msg({ digest: digest('a'), status: 'downloading', current: '500000', total: '1000000' }));
  const last = writes.slice(-3).join('');
  t.match(writes.join(''), '\x1b[2A', 'moves the cursor back over the two layer lines');
  t.match(last, /aaaaaaaaaaaa: Downloading \[=+>\s+\] 500kB\/1MB/);
  t.match(last, 'bbbbbbbbbbbb: Waiting');
});

t.test('anything else gets one plain line per state change', async (t) => {
  const { writes, stream } = sink(false);
  const p = new ProgressPrinter('pull', stream);
  p.handle(msg({ kind: 'resolved', reference: '127.0.0.1:5000/team/app:1.0', digest: digest('c') }));
  p.handle(msg({ digest: digest('a'), status: 'downloading', current: '1', total: '10' }));
  p.handle(msg({ digest: digest('a'), status: 'downloading', current: '5', total: '10' }));
  p.handle(msg({ digest: digest('a'), status: 'complete', current: '10', total: '10' }));
  p.handle(msg({ kind: 'done', reference: '127.0.0.1:5000/team/app:1.0', digest: digest('c'), status: 'Downloaded newer image for 127.0.0.1:5000/team/app:1.0' }));
  t.same(writes.join('').split('\n').filter(Boolean), [
    '1.0: Pulling from team/app',
    'aaaaaaaaaaaa: Downloading',
    'aaaaaaaaaaaa: Pull complete',
    `Digest: ${digest('c')}`,
    'Status: Downloaded newer image for 127.0.0.1:5000/team/app:1.0',
    '127.0.0.1:5000/team/app:1.0',
  ]);
});
