// Termination messages on a real agent: what a container writes to /dev/termination-log (or its
// own terminationMessagePath, as a non-root user) is its terminated state's message; under
// FallbackToLogsOnError a failed container that wrote nothing gets its log's tail; File does not.

import t from 'tap';
import type { Pod } from '../../proto/resources';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';
import { terminationMessage } from '../../agent/node/termination-message';

const pod = (image: string, name: string, container: string) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: ${image}
${container}`;

t.test('the message a container leaves, from its file or its log', async (t) => {
  const { image, berth, file } = await startOneNodeCluster(t, 'tool:1');
  const docs = [
    pod(image, 'wrote', `    command: [sh, -c, "echo 'disk full' > /dev/termination-log; exit 3"]\n`),
    pod(image, 'own-path', `    command: [sh, -c, "echo done > /tmp/why; exit 0"]\n    terminationMessagePath: /tmp/why\n    securityContext: {runAsUser: 1000}\n`),
    pod(image, 'fallback', `    command: [sh, -c, "echo first; echo last words; exit 2"]\n    terminationMessagePolicy: FallbackToLogsOnError\n`),
    pod(image, 'silent', `    command: [sh, -c, "echo only in the log; exit 2"]\n`),
  ];
  const applied = berth(['apply', '-f', file('pods.yaml', docs.join('---\n'))]);
  t.equal(applied.status, 0, applied.stderr);
  const terminated = (name: string) => eventually(`${name} ended`, () => {
    const p = JSON.parse(berth(['get', 'pod', name, '-o', 'json']).stdout) as Pod;
    return p.status?.containerStatuses?.[0]?.state?.terminated;
  }, 90_000, 300);
  t.match(await terminated('wrote'), { exitCode: 3, reason: 'Error', message: 'disk full\n' });
  t.match(await terminated('own-path'), { exitCode: 0, reason: 'Completed', message: 'done\n' }, 'its own path, written by a non-root user');
  t.match(await terminated('fallback'), { exitCode: 2, message: 'first\nlast words' }, "the log's tail");
  const silent = await terminated('silent');
  t.equal(silent.message, undefined, 'File: no message when none was written');
  // A run that writes nothing after one that did: its message is not the earlier run's.
  t.equal(berth(['apply', '-f', file('again.yaml', `apiVersion: v1
kind: Pod
metadata: {name: again}
spec:
  restartPolicy: OnFailure
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: main
    image: ${image}
    command: [sh, -c, "if [ ! -f /data/ran ]; then echo > /data/ran; echo first > /dev/termination-log; fi; exit 1"]
    volumeMounts: [{name: data, mountPath: /data}]
`)]).status, 0);
  const first = await eventually('the first run ended', () => (JSON.parse(berth(['get', 'pod', 'again', '-o', 'json']).stdout) as Pod).status?.containerStatuses?.[0]?.lastState?.terminated, 60_000, 300);
  t.equal(first.message, 'first\n');
  const second = await eventually('the second run ended', () => {
    const s = (JSON.parse(berth(['get', 'pod', 'again', '-o', 'json']).stdout) as Pod).status?.containerStatuses?.[0];
    // The run that ended last is another than the first (the status may show the first one's end
    // a little longer, while the restart is on its way).
    const last = s?.lastState?.terminated;
    return last && (last.startedAt !== first.startedAt || last.finishedAt !== first.finishedAt) ? last : undefined;
  }, 60_000, 300);
  t.equal(second.message, undefined, "the second run wrote nothing: no message, not the first run's");
  t.equal(berth(['delete', 'pod', 'wrote', 'own-path', 'fallback', 'silent', 'again']).status, 0);
});

t.test('the fallback: only for a failure with nothing written; the last 80 lines, at most 2 KiB', async (t) => {
  const spec = { name: 'c', image: 'x', terminationMessagePolicy: 'FallbackToLogsOnError' as const };
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  t.equal(terminationMessage(spec, 1, 'written', () => lines), 'written');
  t.equal(terminationMessage(spec, 0, '', () => lines), '', 'a success has no fallback');
  t.equal(terminationMessage({ ...spec, terminationMessagePolicy: 'File' }, 1, '', () => lines), '');
  t.equal(terminationMessage(spec, 1, '', () => lines), lines.slice(20).join('\n'));
  const long = Array.from({ length: 80 }, () => 'x'.repeat(100));
  t.equal(Buffer.byteLength(terminationMessage(spec, 1, '', () => long)), 2048);
});
