// Log rotation as docker's json-file driver does it (--log-opt max-size, max-file, compress): the
// options checked one by one, then real containers under conmon writing past max-size while
// `logs` and `logs -f` read them.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import t, { type Test } from 'tap';
import { parseLogOptions } from '../../agent/runtime/options';
import { DEFAULT_LOG } from '../../agent/runtime/types';
import { readLogs, type LogLine } from '../../agent/runtime/logs';
import { rotate, rotateWhileRunning } from '../../agent/runtime/log-rotation';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';
import { CLI, startTestAgent } from '../fixtures/agent';

t.test('--log-opt: docker\'s json-file options, and each bad one named', async (t) => {
  t.same(parseLogOptions('', [], DEFAULT_LOG), DEFAULT_LOG, 'none given: the default');
  t.same(parseLogOptions('json-file', ['max-size=10m', 'max-file=3'], DEFAULT_LOG), { maxBytes: 10_000_000, maxFiles: 3 }, 'decimal units, as docker\'s');
  t.same(parseLogOptions('', ['max-size=1.5k'], DEFAULT_LOG), { maxBytes: 1500, maxFiles: 1 });
  t.same(parseLogOptions('', ['max-size=2KB'], DEFAULT_LOG), { maxBytes: 2000, maxFiles: 1 });
  t.same(parseLogOptions('', ['max-size=1g', 'max-file=2', 'compress=true'], DEFAULT_LOG), { maxBytes: 1e9, maxFiles: 2, compress: true });
  t.same(parseLogOptions('', ['max-file=4'], DEFAULT_LOG), { maxFiles: 4 }, 'max-file alone: no size, so nothing rotates (as docker)');
  t.same(parseLogOptions('', ['compress=false', 'max-size=1k'], DEFAULT_LOG), { maxBytes: 1000, maxFiles: 1 });

  const bad: Array<[string, string[], RegExp]> = [
    ['syslog', [], /invalid --log-driver "syslog": berth has the json-file driver only/],
    ['', ['max-size'], /invalid --log-opt "max-size": expected KEY=VALUE/],
    ['', ['=1'], /invalid --log-opt "=1"/],
    ['', ['tag=x'], /unknown log opt 'tag' for json-file log driver/],
    ['', ['max-sise=1m'], /unknown log opt 'max-sise'/],
    ['', ['max-size=abc'], /invalid --log-opt max-size "abc"/],
    ['', ['max-size=10x'], /invalid --log-opt max-size "10x"/],
    ['', ['max-size=0'], /max-size must be a positive number/],
    ['', ['max-size=-1m'], /invalid --log-opt max-size "-1m"/],
    ['', ['max-file=0'], /max-file cannot be less than 1/],
    ['', ['max-file=two'], /invalid --log-opt max-file "two": expected an integer/],
    ['', ['compress=yes', 'max-size=1m', 'max-file=2'], /invalid --log-opt compress "yes"/],
    ['', ['compress=true', 'max-size=1m'], /compress cannot be true when max-file is less than 2 or max-size is not set/],
    ['', ['compress=true', 'max-file=3'], /compress cannot be true when max-file is less than 2 or max-size is not set/],
  ];
  for (const [driver, opts, message] of bad) {
    t.throws(() => parseLogOptions(driver, opts, DEFAULT_LOG), { code: 'invalid-argument', message }, `${driver} ${opts.join(' ')}`);
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('readLogs: rotated files plain and gzipped, records split across chunks and files, --tail across them', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'container.log');
  const record = (i: number, tag = 'F') => `2026-12-05T00:00:00.${String(i).padStart(9, '0')}Z stdout ${tag} héllo-${i}-${'é'.repeat(300)}\n`;
  // Oldest first: .3.gz (1..1000), .2 plain (1001..2000, ending with a partial record), .1.gz, current.
  fs.writeFileSync(`${file}.3.gz`, gzipSync(Array.from({ length: 1000 }, (_, i) => record(i + 1)).join('')));
  fs.writeFileSync(`${file}.2`, Array.from({ length: 1000 }, (_, i) => record(i + 1001)).join('') + record(2001, 'P').replace(/héllo-2001-é+\n$/, 'part-\n'));
  fs.writeFileSync(`${file}.1.gz`, gzipSync(`2026-12-05T00:00:01Z stdout F one\n${Array.from({ length: 3000 }, (_, i) => record(i + 2002)).join('')}`));
  fs.writeFileSync(file, Array.from({ length: 4000 }, (_, i) => record(i + 5002)).join(''));
  const all: LogLine[] = [];
  await readLogs(file, { follow: false }, (l) => all.push(l));
  const numbers = all.map((l) => Number(/^héllo-(\d+)-/.exec(l.text)?.[1] ?? -1));
  t.equal(all.length, 9001, 'every record of every file, once');
  t.same(numbers.slice(0, 3), [1, 2, 3], 'oldest first');
  t.equal(all[2000]!.text, 'part-one', 'a partial record continued in the next file is one line');
  t.ok(all.every((l) => l.text === 'part-one' || /^héllo-\d+-é{300}$/.test(l.text)), 'multi-byte characters whole across chunk boundaries');
  const tail: LogLine[] = [];
  await readLogs(file, { follow: false, tail: 5 }, (l) => tail.push(l));
  t.same(tail.map((l) => l.text.slice(0, 11)), ['héllo-8997-', 'héllo-8998-', 'héllo-8999-', 'héllo-9000-', 'héllo-9001-'], '--tail: the last lines across the files');
  const none: LogLine[] = [];
  await readLogs(file, { follow: false, tail: 0 }, (l) => none.push(l));
  t.equal(none.length, 0, '--tail 0');
});

t.test('rotation: a missing log (an agent died between rename and reopen) has the writer make it again', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'container.log');
  fs.writeFileSync(`${file}.1`, 'old\n');
  let reopened = 0;
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  rotateWhileRunning(file, { maxBytes: 1000, maxFiles: 3 }, async () => {
    reopened++;
    fs.writeFileSync(file, '');
  }, abort.signal);
  for (let i = 0; i < 50 && !fs.existsSync(file); i++) await sleep(20);
  t.ok(fs.existsSync(file), 'the file is back');
  t.equal(reopened, 1, 'by one reopen');
  t.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'old\n', 'the rotated file untouched');
});



async function setup(t: Test) {
  const registry = await startRegistry(t);
  await pushImage(registry.host, 'box:1', await buildImage({ layers: [busyboxLayer()] }));
  const agent = await startTestAgent(t, t.testdir());
  const ref = `${registry.host}/box:1`;
  const pulled = await agent.berthAsync(['pull', '-q', ref]);
  if (pulled.status !== 0) throw new Error(pulled.stderr);
  return { agent, ref, b: (...args: string[]) => agent.berthAsync(args) };
}

/** N numbered lines, a few milliseconds apart (so the rotations fall between them). */
const writeLines = (n: number) => `i=1; while [ $i -le ${n} ]; do echo line-$i; i=$((i+1)); sleep 0.005; done`;

/** The numbers of `line-N` lines, in the order shown. */
const numbers = (text: string) => text.split('\n').filter((l) => l.startsWith('line-')).map((l) => Number(l.slice(5)));

/** Consecutive from its first to its last. */
const consecutive = (ns: number[]) => ns.every((n, i) => i === 0 || n === ns[i - 1]! + 1);

t.test('rotation: a writer slow to reopen is asked once (a second reopen would replace its new file)', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'container.log');
  fs.writeFileSync(file, 'x'.repeat(1500));
  let reopened = 0;
  const abort = new AbortController();
  t.teardown(() => abort.abort());
  rotateWhileRunning(file, { maxBytes: 1000, maxFiles: 3 }, async () => {
    reopened++;
    // conmon makes the new file a while after it read the request.
    setTimeout(() => fs.writeFileSync(file, 'new\n'), 400);
  }, abort.signal);
  await sleep(1200);
  t.equal(reopened, 1, 'one reopen, though the file was missing for a while');
  t.equal(fs.readFileSync(file, 'utf8'), 'new\n', 'the new file kept');
  t.equal(fs.readFileSync(`${file}.1`, 'utf8').length, 1500, 'the old one rotated');
});

t.test('rotation: a writer gone before the reopen undoes every rename, the oldest file included', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'container.log');
  fs.writeFileSync(file, 'current\n');
  fs.writeFileSync(`${file}.1`, 'one\n');
  fs.writeFileSync(`${file}.2.gz`, gzipSync('two\n'));
  const before = fs.readdirSync(dir).sort();
  await t.rejects(rotate(file, { maxBytes: 5, maxFiles: 3, compress: true }, async () => {
    throw new Error('cannot reopen the log: ENXIO');
  }), /ENXIO/);
  t.same(fs.readdirSync(dir).sort(), before, 'the same files');
  t.equal(fs.readFileSync(file, 'utf8'), 'current\n');
  t.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'one\n');
  t.equal(gunzipSync(fs.readFileSync(`${file}.2.gz`)).toString(), 'two\n', 'the oldest, which a rotation drops, kept');
});

t.test('rotation under a real container: files kept, logs across them, logs -f carries on', async (t) => {
  const { agent, ref, b } = await setup(t);
  const N = 400;
  const run = await b('run', '-d', '--name', 'chatty', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=3', ref, 'sh', '-c', `sleep 1; ${writeLines(N)}`);
  t.equal(run.status, 0, run.stderr);
  const id = run.stdout.trim();
  const dir = path.join(agent.dataRoot, 'containers', id);

  // Followed from the start: every line, in order, across every rotation.
  const follower = spawn(process.execPath, [CLI, '--agent', agent.socket, 'logs', '-f', 'chatty'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => follower.kill());
  let followed = '';
  follower.stdout.on('data', (d: Buffer) => (followed += d.toString()));
  const followerDone = new Promise<number | null>((resolve) => follower.on('exit', resolve));

  t.equal((await b('wait', 'chatty')).stdout.trim(), '0');
  t.equal(await followerDone, 0, 'logs -f ends with the container');
  t.same(numbers(followed), Array.from({ length: N }, (_, i) => i + 1), 'logs -f: every line once, in order, through the rotations');

  // Read through the agent first: a rotation still under way as the container ended is through then.
  const logs = await b('logs', 'chatty');
  t.equal(logs.status, 0, logs.stderr);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('container.log')).sort();
  t.same(files, ['container.log', 'container.log.1', 'container.log.2'], 'max-file=3: the current file and two rotated ones');
  for (const f of ['container.log.1', 'container.log.2']) {
    const size = fs.statSync(path.join(dir, f)).size;
    t.ok(size >= 2000 && size < 2000 + 1500, `${f} rotated once past max-size (${size} bytes)`);
  }
  const shown = numbers(logs.stdout);
  t.ok(consecutive(shown), 'logs: the kept lines, oldest file first, none missing between files');
  t.equal(shown.at(-1), N, 'up to the last line');
  t.ok(shown[0]! > 1, `the oldest lines went with the oldest file (first shown: ${shown[0]})`);
  const onDisk = ['container.log.2', 'container.log.1', 'container.log'].map((f) => numbers(fs.readFileSync(path.join(dir, f), 'utf8').replace(/^\S+ \S+ \S /gm, '')));
  t.same(shown, onDisk.flat(), 'exactly what the three files hold');
  t.same(numbers((await b('logs', '--tail', '50', 'chatty')).stdout), shown.slice(-50), '--tail counts across the files');

  const inspect = JSON.parse((await b('inspect', 'chatty')).stdout)[0];
  t.same(inspect.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '2000', 'max-file': '3' } });
  t.equal((await b('rm', 'chatty')).status, 0);
  t.notOk(fs.existsSync(dir), 'rm removes the rotated files with the rest');
});

t.test('compress=true gzips the rotated files; max-file=1 starts the file over; bad options refused by the CLI', async (t) => {
  const { agent, ref, b } = await setup(t);
  const N = 300;
  const run = await b('run', '--name', 'zipped', '--log-opt', 'max-size=2k', '--log-opt', 'max-file=2', '--log-opt', 'compress=true', ref, 'sh', '-c', writeLines(N));
  t.equal(run.status, 0, run.stderr);
  const id = JSON.parse((await b('inspect', 'zipped')).stdout)[0].Id;
  const dir = path.join(agent.dataRoot, 'containers', id);
  // The last rotation's compression may still be under way as the container ends.
  for (let i = 0; i < 50 && !fs.existsSync(path.join(dir, 'container.log.1.gz')); i++) await sleep(100);
  const files = fs.readdirSync(dir).filter((f) => f.startsWith('container.log')).sort();
  t.same(files, ['container.log', 'container.log.1.gz'], 'the rotated file gzipped, one kept');
  const gz = gunzipSync(fs.readFileSync(path.join(dir, 'container.log.1.gz'))).toString();
  t.match(gz, /^\S+ stdout F line-\d+\n/, 'a whole log file inside');
  const shown = numbers((await b('logs', 'zipped')).stdout);
  t.ok(consecutive(shown) && shown.at(-1) === N && shown[0]! > 1, `logs reads the gzipped file and the current one (${shown[0]}..${shown.at(-1)})`);

  // The file starts over after the write that took it past max-size (docker's starts over before
  // it), so the file may be new and empty after line 200: a last line, once any rotation is
  // through, is there in every case.
  const one = await b('run', '--name', 'single', '--log-opt', 'max-size=1k', ref, 'sh', '-c', `${writeLines(200)}; sleep 1; echo end`);
  t.equal(one.status, 0, one.stderr);
  const singleDir = path.join(agent.dataRoot, 'containers', JSON.parse((await b('inspect', 'single')).stdout)[0].Id);
  t.same(fs.readdirSync(singleDir).filter((f) => f.startsWith('container.log')), ['container.log'], 'max-file=1: no rotated file kept');
  const singleOut = (await b('logs', 'single')).stdout;
  const single = numbers(singleOut);
  t.ok(singleOut.endsWith('end\n'), 'the last line is there');
  t.ok(consecutive(single) && (single.length === 0 || (single.at(-1) === 200 && single[0]! > 1)), `only the newest lines (${single[0]}..${single.at(-1)})`);

  for (const [opts, message] of [
    [['--log-opt', 'max-size=ten'], /invalid --log-opt max-size "ten"/],
    [['--log-opt', 'tag={{.Name}}'], /unknown log opt 'tag' for json-file log driver/],
    [['--log-opt', 'max-file=0'], /max-file cannot be less than 1/],
    [['--log-driver', 'journald'], /invalid --log-driver "journald"/],
  ] as const) {
    const r = await b('run', '--name', 'never', ...opts, ref, 'true');
    t.not(r.status, 0, `${opts.join(' ')}: refused`);
    t.match(r.stderr, message);
  }
  t.notMatch((await b('ps', '-a')).stdout, /never/, 'nothing was created by a refused run');
});
