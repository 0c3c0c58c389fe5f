// Status reports (only when changed, newest wins, retried, resent in a new session) and the log
// server's answers on the tunnel, with the controller side replaced by recording functions.

import t from 'tap';
import { LinkError, type StatusReport } from '../../agent/node/controller-link';
import { LogServer } from '../../agent/node/log-server';
import { StatusReporter } from '../../agent/node/status-reporter';
import { BerthError } from '../../proto/errors';
import type { TunnelReply } from '../../proto/gen/berth/cluster/v1/TunnelReply';

const report = (uid: string, phase: 'Pending' | 'Running', terminated = false): StatusReport => ({ namespace: 'default', name: uid, uid, status: { phase }, terminated });
const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

t.test('statuses: sent when changed, the newest wins, failures retried, all resent in a new session', async (t) => {
  const sent: string[] = [];
  let failing = false;
  let gate: (() => void) | undefined;
  const terminated: string[] = [];
  const reporter = new StatusReporter(async (r) => {
    if (gate) await new Promise<void>((resolve) => { const g = gate!; gate = () => { g(); resolve(); }; });
    if (failing) throw new LinkError('unavailable', 'down');
    sent.push(`${r.uid}:${r.status.phase}${r.terminated ? ':T' : ''}`);
  }, (uid) => terminated.push(uid));
  t.teardown(() => reporter.stop());

  reporter.report(report('a', 'Pending'));
  await tick();
  reporter.report(report('a', 'Pending'));
  await tick();
  t.same(sent, ['a:Pending'], 'the same status twice is sent once');

  // While a send is held, two newer statuses for one pod: only the newest goes after it.
  gate = () => {};
  reporter.report(report('b', 'Pending'));
  await tick();
  reporter.report(report('a', 'Running'));
  reporter.report(report('b', 'Running'));
  const release = gate;
  gate = undefined;
  release();
  await tick(50);
  t.same(sent, ['a:Pending', 'b:Pending', 'a:Running', 'b:Running']);

  failing = true;
  reporter.report(report('a', 'Pending'));
  await tick(50);
  t.equal(sent.length, 4, 'nothing accepted while the controller is away');
  failing = false;
  await tick(700);
  t.same(sent.slice(4), ['a:Pending'], 'retried after the back-off');

  reporter.resendAll();
  await tick(50);
  t.same(sent.slice(5).sort(), ['a:Pending', 'b:Running'], 'a new session: everything current again');

  reporter.report(report('b', 'Running', true));
  await tick(50);
  t.same(terminated, ['b'], 'an accepted terminated report lets the pod go');
  reporter.resendAll();
  await tick(50);
  t.notOk(sent.slice(8).some((s) => s.startsWith('b:')), 'a forgotten pod is not resent');
});

t.test('logs through the tunnel: data then end, errors as gRPC codes, cancel stops a follow', async (t) => {
  const replies: TunnelReply[] = [];
  const reply = (r: TunnelReply) => (replies.push(r), true);
  const server = new LogServer((ns, name, container) => {
    if (name !== 'web') throw new BerthError('not-found', `pod ${ns}/${name} is not on node n1`);
    if (container && container !== 'app') throw new BerthError('not-found', `pod ${ns}/${name} has no container ${container}`);
    return 'cid';
  }, async (id, options, onLine) => {
    const lines = [{ time: '2026-01-01T00:00:00.1Z', stream: 'stdout' as const, text: 'one' }, { time: '2026-01-01T00:00:00.2Z', stream: 'stderr' as const, text: 'two' }];
    for (const l of options.tail === undefined ? lines : lines.slice(-options.tail)) onLine(l);
    if (options.follow) await new Promise<void>((resolve) => options.signal!.addEventListener('abort', () => resolve()));
    t.equal(id, 'cid');
  });
  const logs = (id: number, over: Record<string, unknown> = {}) => server.handle({ id: String(id), request: 'logs', logs: { namespace: 'default', name: 'web', container: '', follow: false, tailLines: -1, timestamps: false, ...over } }, reply);

  logs(1);
  await tick();
  t.same(replies.filter((r) => r.id === '1').map((r) => (r.data ? r.data.toString() : r.end)), ['one\ntwo\n', { code: 0, message: '' }]);
  logs(2, { tailLines: 1, timestamps: true });
  await tick();
  t.same(replies.filter((r) => r.id === '2').map((r) => (r.data ? r.data.toString() : r.end)), ['2026-01-01T00:00:00.2Z two\n', { code: 0, message: '' }]);
  logs(3, { container: 'db' });
  await tick();
  t.same(replies.find((r) => r.id === '3')!.end, { code: 5, message: 'pod default/web has no container db' });
  logs(4, { name: 'nope' });
  await tick();
  t.same(replies.find((r) => r.id === '4')!.end, { code: 5, message: 'pod default/nope is not on node n1' });

  logs(5, { follow: true });
  await tick();
  t.notOk(replies.some((r) => r.id === '5' && r.end), 'a follow stays open');
  server.handle({ id: '5', request: 'cancel', cancel: {} }, reply);
  await tick();
  t.same(replies.find((r) => r.id === '5' && r.end)!.end, { code: 0, message: '' }, 'cancel ends it');
});
