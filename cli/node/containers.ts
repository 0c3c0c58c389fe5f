// Node verbs for containers, with docker's names and flags: create, start, run, stop, kill,
// restart, pause, unpause, rm, ps, logs, exec, inspect, diff, commit, wait, container prune,
// system df|prune.

import * as fs from 'node:fs';
import { BerthError } from '../../proto/errors';
import type { ContainersClient, ImagesClient } from '../../proto/grpc';
import type { ContainerSummary__Output } from '../../proto/gen/berth/agent/v1/ContainerSummary';
import type { CreateContainerRequest } from '../../proto/gen/berth/agent/v1/CreateContainerRequest';
import { call, consume, fromAgentStatus } from './agent-client';
import { parseFlags, requireArgs, type Options } from '../common/args';
import { renderTable } from '../common/table';
import { ago, humanSize } from './format';
import { DetachWatcher, localSize, parseDetachKeys, rawTerminal } from '../common/terminal';
import { CliError } from '../common/errors';
import { cp } from './copy';

export interface Clients {
  containers: ContainersClient;
  images: ImagesClient;
}

type Verb = (c: Clients, argv: string[]) => Promise<void>;

const out = (s: string) => process.stdout.write(s);

/**
 * Options up to the first positional (the image or container), the rest verbatim: in
 * `berth run busybox ls -la`, "-la" belongs to ls.
 */
function splitAtCommand(argv: string[], options: Options): { flags: string[]; rest: string[] } {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type === 'string') {
      takesValue.add(`--${name}`);
      if (o.short) takesValue.add(`-${o.short}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { flags: argv.slice(0, i), rest: argv.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') return { flags: argv.slice(0, i), rest: argv.slice(i) };
    if (takesValue.has(a)) i++;
  }
  return { flags: argv, rest: [] };
}


const CREATE_OPTIONS = {
  name: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  'env-file': { type: 'string', multiple: true },
  entrypoint: { type: 'string' },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  publish: { type: 'string', short: 'p', multiple: true },
  volume: { type: 'string', short: 'v', multiple: true },
  memory: { type: 'string', short: 'm' },
  cpus: { type: 'string' },
  'pids-limit': { type: 'string' },
  restart: { type: 'string' },
  'security-opt': { type: 'string', multiple: true },
  privileged: { type: 'boolean' },
  pid: { type: 'string' },
  ipc: { type: 'string' },
  network: { type: 'string' },
  label: { type: 'string', short: 'l', multiple: true },
  rm: { type: 'boolean' },
  detach: { type: 'boolean', short: 'd' },
  interactive: { type: 'boolean', short: 'i' },
  tty: { type: 'boolean', short: 't' },
  'detach-keys': { type: 'string' },
  'log-driver': { type: 'string' },
  'log-opt': { type: 'string', multiple: true },
} as const satisfies Options;

/**
 * --security-opt: a seccomp profile named by its path is read here, on the user's side, and sent
 * as its JSON (as docker's CLI does): the agent never opens a path a client names. The agent
 * checks everything else.
 */
export function readSecurityOpts(values: string[], read: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): { opts: string[]; files: Map<string, string> } {
  const files = new Map<string, string>();
  const opts = values.map((opt) => {
    const m = /^seccomp[=:](.*)$/s.exec(opt);
    const value = m?.[1];
    if (value === undefined || value === 'unconfined' || value.trimStart().startsWith('{')) return opt;
    if (value === '') throw new BerthError('invalid-argument', `invalid --security-opt "${opt}": expected seccomp=unconfined or seccomp=PROFILE.json`);
    let text: string;
    try {
      text = read(value);
    } catch (err) {
      throw new BerthError('invalid-argument', `invalid --security-opt "${opt}": cannot read the seccomp profile ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    let sent: string;
    try {
      sent = `seccomp=${JSON.stringify(JSON.parse(text))}`;
    } catch (err) {
      throw new BerthError('invalid-argument', `invalid --security-opt "${opt}": the seccomp profile ${value} is not JSON (${(err as Error).message})`);
    }
    files.set(sent, opt);
    return sent;
  });
  return { opts, files };
}

/** The agent names the --security-opt value it got: for a profile file, its JSON. The user gave a path. */
async function inUserWords<T>(files: Map<string, string>, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof Error) for (const [sent, given] of files) err.message = err.message.replace(`"${sent}"`, `"${given}"`);
    throw err;
  }
}

/** --env-file: KEY=VALUE lines; comments and blank lines skipped; a bare KEY takes the CLI's value. */
function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new BerthError('invalid-argument', `cannot read env file ${file}: ${(err as Error).message}`);
  }
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => (l.includes('=') ? l : `${l}=${process.env[l] ?? ''}`));
}

function createRequest(argv: string[], usage: string): { req: CreateContainerRequest; detach: boolean; autoRemove: boolean; profiles: Map<string, string>; detachKeys?: string } {
  const { flags, rest } = splitAtCommand(argv, CREATE_OPTIONS);
  const { values } = parseFlags(flags, CREATE_OPTIONS);
  requireArgs(rest, 1, usage, true);
  const env = [...(values['env-file'] ?? []).flatMap(readEnvFile), ...(values.env ?? []).map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`))];
  const labels = Object.fromEntries((values.label ?? []).map((l) => [l.split('=')[0]!, l.split(/=(.*)/s)[1] ?? '']));
  const security = readSecurityOpts(values['security-opt'] ?? []);
  return {
    req: {
      image: rest[0]!,
      name: values.name ?? '',
      hasEntrypoint: values.entrypoint !== undefined,
      entrypoint: values.entrypoint ?? '',
      cmd: rest.slice(1),
      env,
      workdir: values.workdir ?? '',
      user: values.user ?? '',
      ports: values.publish ?? [],
      volumes: values.volume ?? [],
      memory: values.memory ?? '',
      cpus: values.cpus ?? '',
      pidsLimit: values['pids-limit'] ?? '',
      restart: values.restart ?? '',
      network: values.network ?? '',
      autoRemove: Boolean(values.rm),
      labels,
      securityOpt: security.opts,
      privileged: Boolean(values.privileged),
      pid: values.pid ?? '',
      ipc: values.ipc ?? '',
      tty: Boolean(values.tty),
      openStdin: Boolean(values.interactive),
      logDriver: values['log-driver'] ?? '',
      logOpt: values['log-opt'] ?? [],
    },
    detach: Boolean(values.detach),
    autoRemove: Boolean(values.rm),
    profiles: security.files,
    ...(values['detach-keys'] !== undefined ? { detachKeys: values['detach-keys'] } : {}),
  };
}

const create: Verb = async ({ containers }, argv) => {
  const { req, profiles } = createRequest(argv, 'berth create IMAGE [COMMAND] [ARG...]');
  const res = await inUserWords(profiles, call(containers.Create.bind(containers), req));
  out(`${res.id}\n`);
};

/** After a failed start: the container's exit code when docker would give one (126, 127). */
async function startFailureCode(containers: ContainersClient, id: string): Promise<number | undefined> {
  try {
    const [doc] = [JSON.parse((await call(containers.Inspect.bind(containers), { id })).json) as { State: { ExitCode: number; Status: string } }];
    return doc.State.Status === 'exited' && doc.State.ExitCode > 0 ? doc.State.ExitCode : undefined;
  } catch {
    return undefined;
  }
}

async function startOrFail(containers: ContainersClient, id: string): Promise<void> {
  try {
    await call(containers.Start.bind(containers), { id });
  } catch (err) {
    const code = await startFailureCode(containers, id);
    if (code !== undefined) (err as { exitStatus?: number }).exitStatus = code;
    throw err;
  }
}

const start: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, { attach: { type: 'boolean', short: 'a' }, interactive: { type: 'boolean', short: 'i' }, 'detach-keys': { type: 'string' } });
  requireArgs(positionals, 1, 'berth start CONTAINER', true);
  if (values.attach || values.interactive) {
    if (positionals.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
    const config = await containerConfig(containers, positionals[0]!);
    process.exitCode = await attached(containers, {
      id: positionals[0]!, start: true, tty: config.Tty, stdin: Boolean(values.interactive) && config.OpenStdin,
      ...(values['detach-keys'] !== undefined ? { detachKeys: values['detach-keys'] } : {}),
    });
    return;
  }
  for (const id of positionals) {
    await startOrFail(containers, id);
    out(`${id}\n`);
  }
};

const run: Verb = async ({ containers }, argv) => {
  const { req, detach, profiles, detachKeys } = createRequest(argv, 'berth run IMAGE [COMMAND] [ARG...]');
  if (!detach && (req.tty || req.openStdin)) {
    // Interactive: create, attach (before the process starts: nothing it writes is missed), start.
    if (req.tty && req.openStdin && !process.stdin.isTTY) throw Object.assign(new CliError('the input device is not a TTY'), { exitStatus: 1 });
    const { id } = await inUserWords(profiles, call(containers.Create.bind(containers), req));
    try {
      process.exitCode = await attached(containers, { id, start: true, tty: Boolean(req.tty), stdin: Boolean(req.openStdin), ...(detachKeys !== undefined ? { detachKeys } : {}) });
    } catch (err) {
      // The command could not run: docker's 126 or 127, as a detached run gives.
      const code = await startFailureCode(containers, id);
      if (code !== undefined) (err as { exitStatus?: number }).exitStatus = code;
      throw err;
    }
    return;
  }
  // One call: create, start, then (attached) the log from its start until the container is done,
  // restarts included, and its exit code.
  let failed: Error | undefined;
  let id = '';
  await inUserWords(profiles, consume(containers.Run({ create: req, detach }), (e) => {
    if (e.event === 'id') {
      id = e.id!;
    } else if (e.event === 'log' && e.log) {
      (e.log.stream === 'stderr' ? process.stderr : process.stdout).write(e.log.partial ? e.log.text : `${e.log.text}\n`);
    } else if (e.event === 'exit' && e.exit) {
      // The command could not run: docker's message and its 126 or 127.
      if (e.exit.error) failed = Object.assign(new BerthError('failed-precondition', e.exit.error), { exitStatus: e.exit.code });
      else process.exitCode = e.exit.code;
    }
  }));
  if (failed) throw failed;
  if (detach) out(`${id}\n`);
};

const stop: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, { time: { type: 'string', short: 't' } });
  requireArgs(positionals, 1, 'berth stop CONTAINER', true);
  const timeout = values.time === undefined ? -1 : Number(values.time);
  if (!Number.isInteger(timeout) || (values.time !== undefined && timeout < 0)) throw new BerthError('invalid-argument', `invalid -t "${values.time}": expected seconds`);
  for (const id of positionals) {
    await call(containers.Stop.bind(containers), { id, timeout });
    out(`${id}\n`);
  }
};

const restart: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, { time: { type: 'string', short: 't' } });
  requireArgs(positionals, 1, 'berth restart CONTAINER', true);
  for (const id of positionals) {
    await call(containers.Restart.bind(containers), { id, timeout: values.time === undefined ? -1 : Number(values.time) });
    out(`${id}\n`);
  }
};

const kill: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, { signal: { type: 'string', short: 's' } });
  requireArgs(positionals, 1, 'berth kill CONTAINER', true);
  for (const id of positionals) {
    await call(containers.Kill.bind(containers), { id, signal: values.signal ?? 'KILL' });
    out(`${id}\n`);
  }
};

/** pause and unpause: each container in turn; one that fails is reported and the rest go on, as docker does. */
const freezeVerb = (verb: 'pause' | 'unpause'): Verb => async ({ containers }, argv) => {
  const { positionals } = parseFlags(argv, {});
  requireArgs(positionals, 1, `berth ${verb} CONTAINER`, true);
  const rpc = verb === 'pause' ? containers.Pause.bind(containers) : containers.Unpause.bind(containers);
  for (const id of positionals) {
    try {
      await call(rpc, { id });
      out(`${id}\n`);
    } catch (err) {
      process.stderr.write(`Error response from agent: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }
};
const pause = freezeVerb('pause');
const unpause = freezeVerb('unpause');

const rm: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, { force: { type: 'boolean', short: 'f' } });
  requireArgs(positionals, 1, 'berth rm CONTAINER', true);
  let failed: Error | undefined;
  for (const id of positionals) {
    try {
      await call(containers.Remove.bind(containers), { id, force: Boolean(values.force) });
      out(`${id}\n`);
    } catch (err) {
      process.stderr.write(`Error response from agent: ${(err as Error).message}\n`);
      failed = err as Error;
    }
  }
  if (failed) process.exitCode = 1;
};

function statusText(c: ContainerSummary__Output, now = Date.now()): string {
  const since = (iso: string) => ago(iso, now).replace(/ ago$/, '');
  switch (c.status) {
    case 'running':
      return `Up ${since(c.startedAt)}`;
    case 'paused':
      return `Up ${since(c.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${c.exitCode}) ${ago(c.finishedAt, now)}`;
    case 'exited':
      return `Exited (${c.exitCode}) ${ago(c.finishedAt, now)}`;
    default:
      return 'Created';
  }
}

const ps: Verb = async ({ containers }, argv) => {
  const { values } = parseFlags(argv, {
    all: { type: 'boolean', short: 'a' },
    quiet: { type: 'boolean', short: 'q' },
    size: { type: 'boolean', short: 's' },
    'no-trunc': { type: 'boolean' },
    filter: { type: 'string', short: 'f', multiple: true },
  });
  const res = await call(containers.List.bind(containers), { all: Boolean(values.all), size: Boolean(values.size), filters: values.filter ?? [] });
  const id = (s: string) => (values['no-trunc'] ? s : s.slice(0, 12));
  if (values.quiet) {
    out(res.containers.map((c) => `${id(c.id)}\n`).join(''));
    return;
  }
  const command = (args: string[]) => {
    const text = args.join(' ');
    return JSON.stringify(values['no-trunc'] || text.length <= 20 ? text : `${text.slice(0, 19)}…`);
  };
  out(renderTable(
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES', ...(values.size ? ['SIZE'] : [])],
    res.containers.map((c) => [
      id(c.id), c.image, command(c.command), ago(c.created), statusText(c), c.ports.join(', '), c.name,
      ...(values.size ? [`${humanSize(Number(c.sizeRw))} (virtual ${humanSize(Number(c.sizeRootFs))})`] : []),
    ]),
  ));
};

const logs: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, {
    follow: { type: 'boolean', short: 'f' },
    tail: { type: 'string', short: 'n' },
    timestamps: { type: 'boolean', short: 't' },
  });
  requireArgs(positionals, 1, 'berth logs CONTAINER', true);
  const tail = values.tail === undefined || values.tail === 'all' ? -1 : Number(values.tail);
  if (!Number.isInteger(tail)) throw new BerthError('invalid-argument', `invalid --tail "${values.tail}": expected a number or "all"`);
  await consume(containers.Logs({ id: positionals[0]!, follow: Boolean(values.follow), tail }), (r) =>
    (r.stream === 'stderr' ? process.stderr : process.stdout).write(`${values.timestamps ? `${r.time} ` : ''}${r.text}${r.partial ? '' : '\n'}`));
};

const exec: Verb = async ({ containers }, argv) => {
  const options = {
    interactive: { type: 'boolean', short: 'i' },
    tty: { type: 'boolean', short: 't' },
    detach: { type: 'boolean', short: 'd' },
    env: { type: 'string', short: 'e', multiple: true },
    workdir: { type: 'string', short: 'w' },
    user: { type: 'string', short: 'u' },
  } as const satisfies Options;
  const { flags, rest } = splitAtCommand(argv, options);
  const { values } = parseFlags(flags, options);
  requireArgs(rest, 2, 'berth exec CONTAINER COMMAND [ARG...]', true);
  const stream = containers.Exec();
  const done = relayOutput(stream);
  if (values.tty && values.interactive && !process.stdin.isTTY) throw Object.assign(new CliError('the input device is not a TTY'), { exitStatus: 1 });
  const size = localSize() ?? { rows: 24, cols: 80 };
  stream.write({ id: rest[0]!, args: rest.slice(1), env: values.env ?? [], workdir: values.workdir ?? '', user: values.user ?? '', interactive: Boolean(values.interactive), tty: Boolean(values.tty), size });
  const restore = values.tty && values.interactive ? rawTerminal((s) => stream.write({ size: s })) : () => undefined;
  try {
    if (values.interactive) {
      process.stdin.on('data', (stdin: Buffer) => stream.write({ stdin }));
      process.stdin.on('end', () => {
        stream.write({ closeStdin: true });
        stream.end();
      });
    } else {
      stream.end();
    }
    process.exitCode = await done;
  } finally {
    restore();
    process.stdin.destroy();
  }
};

/**
 * An exec's or attach's output written here as it comes; resolves to the exit code its last
 * message carries. `ended`: an error after which the call counts as ended well (a detach).
 */
function relayOutput(stream: NodeJS.EventEmitter, ended: () => boolean = () => false): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let code = 0;
    stream.on('data', (m: { stdout: Buffer; stderr: Buffer; exited: boolean; exitCode: number }) => {
      if (m.stdout.length) process.stdout.write(m.stdout);
      if (m.stderr.length) process.stderr.write(m.stderr);
      if (m.exited) code = m.exitCode;
    });
    stream.on('error', (err) => (ended() ? resolve(0) : reject(fromAgentStatus(err as never))));
    stream.on('end', () => resolve(code));
  });
}

/** The container's Tty and OpenStdin, from inspect. */
async function containerConfig(containers: ContainersClient, id: string): Promise<{ Tty: boolean; OpenStdin: boolean }> {
  const doc = JSON.parse((await call(containers.Inspect.bind(containers), { id })).json) as { Config: { Tty?: boolean; OpenStdin?: boolean } };
  return { Tty: Boolean(doc.Config.Tty), OpenStdin: Boolean(doc.Config.OpenStdin) };
}

/**
 * An attached session: the container's output here, what is typed there (with `stdin`), the
 * local terminal raw and its size followed (with `tty`), until the container exits (its exit
 * code) or the detach keys are typed (0, the container goes on).
 */
async function attached(containers: ContainersClient, o: { id: string; start: boolean; tty: boolean; stdin: boolean; detachKeys?: string }): Promise<number> {
  const keys = parseDetachKeys(o.detachKeys ?? 'ctrl-p,ctrl-q');
  const watcher = new DetachWatcher(keys);
  const stream = containers.Attach();
  let detached = false;
  // A detach cancels the call: its error is the end of the session, not a failure.
  const done = relayOutput(stream, () => detached);
  stream.write({ id: o.id, start: o.start });
  const size = localSize();
  if (o.tty && size) stream.write({ size });
  const restore = o.tty && o.stdin ? rawTerminal((s) => stream.write({ size: s })) : () => undefined;
  const onData = (chunk: Buffer) => {
    const { send, detach } = o.tty ? watcher.feed(chunk) : { send: chunk, detach: false };
    if (send.length) stream.write({ stdin: send });
    if (detach) {
      detached = true;
      stream.cancel();
    }
  };
  try {
    if (o.stdin) {
      process.stdin.on('data', onData);
      process.stdin.on('end', () => stream.write({ closeStdin: true }));
    }
    return await done;
  } finally {
    restore();
    process.stdin.off('data', onData);
    process.stdin.destroy();
  }
}

const attach: Verb = async ({ containers }, argv) => {
  const { values, positionals } = parseFlags(argv, { 'no-stdin': { type: 'boolean' }, 'detach-keys': { type: 'string' } });
  requireArgs(positionals, 1, 'berth attach CONTAINER');
  const config = await containerConfig(containers, positionals[0]!);
  process.exitCode = await attached(containers, {
    id: positionals[0]!, start: false, tty: config.Tty, stdin: !values['no-stdin'] && config.OpenStdin,
    ...(values['detach-keys'] !== undefined ? { detachKeys: values['detach-keys'] } : {}),
  });
};

const inspect: Verb = async ({ containers, images }, argv) => {
  const { values, positionals } = parseFlags(argv, { type: { type: 'string' }, size: { type: 'boolean', short: 's' } });
  requireArgs(positionals, 1, 'berth inspect NAME|ID', true);
  const docs: unknown[] = [];
  let failed: Error | undefined;
  for (const id of positionals) {
    try {
      if (values.type !== 'image') {
        try {
          docs.push(JSON.parse((await call(containers.Inspect.bind(containers), { id })).json));
          continue;
        } catch (err) {
          if (values.type === 'container' || (err as BerthError).code !== 'not-found') throw err;
        }
      }
      docs.push(JSON.parse((await call(images.Inspect.bind(images), { name: id })).json));
    } catch (err) {
      failed = (err as BerthError).code === 'not-found' ? new BerthError('not-found', `No such object: ${id}`) : (err as Error);
    }
  }
  out(`${JSON.stringify(docs, null, 4)}\n`);
  if (failed) throw failed;
};

const diff: Verb = async ({ containers }, argv) => {
  const { positionals } = parseFlags(argv, {});
  requireArgs(positionals, 1, 'berth diff CONTAINER', true);
  const res = await call(containers.Diff.bind(containers), { id: positionals[0]! });
  out(res.changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
};

const commit: Verb = async ({ containers }, argv) => {
  // docker's -p/--pause is a bool flag: bare means true, a value only after "=" (--pause=false).
  const args = argv.map((a) => (a === '-p' || a === '--pause' ? '--pause=true' : a.startsWith('-p=') ? `--pause=${a.slice(3)}` : a));
  const { values, positionals } = parseFlags(args, { author: { type: 'string', short: 'a' }, message: { type: 'string', short: 'm' }, pause: { type: 'string' } });
  requireArgs(positionals, 1, 'berth commit CONTAINER [REPOSITORY[:TAG]]', true);
  const pause = parseBool('-p, --pause', values.pause ?? 'true');
  const res = await call(containers.Commit.bind(containers), {
    id: positionals[0]!, reference: positionals[1] ?? '', author: values.author ?? '', message: values.message ?? '', noPause: !pause,
  });
  out(`${res.imageId}\n`);
};

/** A bool flag's value in the spellings docker's flags accept (Go's strconv.ParseBool). */
function parseBool(flag: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new BerthError('invalid-argument', `invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

const wait: Verb = async ({ containers }, argv) => {
  const { positionals } = parseFlags(argv, {});
  requireArgs(positionals, 1, 'berth wait CONTAINER', true);
  for (const id of positionals) out(`${(await call(containers.Wait.bind(containers), { id })).exitCode}\n`);
};

const prune: Verb = async ({ containers }, argv) => {
  parseFlags(argv, { force: { type: 'boolean', short: 'f' } });
  const res = await call(containers.Prune.bind(containers), {});
  if (res.deleted.length) out(`Deleted Containers:\n${res.deleted.map((d) => `${d}\n`).join('')}\n`);
  out(`Total reclaimed space: ${humanSize(Number(res.reclaimed))}\n`);
};

const system: Verb = async (clients, argv) => {
  const [sub, ...rest] = argv;
  if (sub === 'df') {
    const u = await call(clients.containers.DiskUsage.bind(clients.containers), {});
    const pct = (part: string, whole: string) => (Number(whole) > 0 ? ` (${Math.round((Number(part) / Number(whole)) * 100)}%)` : '');
    out(renderTable(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [
      ['Images', String(u.images), String(u.imagesActive), humanSize(Number(u.imagesSize)), `${humanSize(Number(u.imagesReclaimable))}${pct(u.imagesReclaimable, u.imagesSize)}`],
      ['Containers', String(u.containers), String(u.containersActive), humanSize(Number(u.containersSize)), `${humanSize(Number(u.containersReclaimable))}${pct(u.containersReclaimable, u.containersSize)}`],
    ]));
    return;
  }
  if (sub === 'prune') {
    const { values } = parseFlags(rest, { all: { type: 'boolean', short: 'a' }, force: { type: 'boolean', short: 'f' } });
    const c = await call(clients.containers.Prune.bind(clients.containers), {});
    const i = await call(clients.images.Prune.bind(clients.images), { all: Boolean(values.all) });
    if (c.deleted.length) out(`Deleted Containers:\n${c.deleted.map((d) => `${d}\n`).join('')}\n`);
    if (i.deleted.length) out(`Deleted Images:\n${i.deleted.map((d) => `deleted: ${d}\n`).join('')}\n`);
    out(`Total reclaimed space: ${humanSize(Number(c.reclaimed) + Number(i.reclaimed))}\n`);
    return;
  }
  throw new BerthError('invalid-argument', `unknown system command "${sub ?? ''}" (df, prune)`);
};

const containerSubverbs: Record<string, Verb> = {
  create, start, run, stop, kill, restart, pause, unpause, rm, remove: rm, ps, ls: ps, list: ps, logs, exec, inspect, diff, commit, wait, prune,
  attach, cp: ({ containers }, argv) => cp(containers, argv),
};

const container: Verb = async (clients, argv) => {
  const [sub, ...rest] = argv;
  const verb = sub ? containerSubverbs[sub] : undefined;
  if (!verb) throw new BerthError('invalid-argument', `unknown container command "${sub ?? ''}" (one of: ${Object.keys(containerSubverbs).join(', ')})`);
  await verb(clients, rest);
};

export const containerVerbs: Record<string, Verb> = {
  attach,
  cp: ({ containers }, argv) => cp(containers, argv),
  create, start, run, stop, kill, restart, pause, unpause, rm, ps, logs, exec, inspect, diff, commit, wait, container, system,
};
