// Preloaded into the benchmark's agent (NODE_OPTIONS=--require .../phase-probe.js) to see where a
// container start goes without changing the agent: it wraps, from the outside, the functions the
// start path calls (rootfs mount, network attach, /etc files, conmon + runc create, runc start) and
// every child process, and appends one JSON line per call to $BERTH_BENCH_PHASES:
// {"name", "t0", "t1"} in ms of CLOCK_MONOTONIC (process.hrtime), comparable across processes.
//
// It relies on how tsc emits CommonJS (`(0, module_1.fn)(...)` looks the export up at each call),
// so patched exports are seen by callers loaded later. Nothing here changes what the agent does.

import type * as ChildProcessModule from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const out = process.env.BERTH_BENCH_PHASES;

export interface PhaseEvent {
  name: string;
  t0: number;
  t1: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

if (out) install(out);

function install(file: string): void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    try {
      fs.appendFileSync(file, text);
    } catch {
      // the bench is gone; nothing to report to
    }
  };
  setInterval(flush, 100).unref();
  process.on('exit', flush);
  const record = (name: string, t0: number) => pending.push(`${JSON.stringify({ name, t0, t1: now() })}\n`);

  const timeAsync = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = now();
    return fn().finally(() => record(name, t0));
  };
  const timeSync = <T>(name: string, fn: () => T): T => {
    const t0 = now();
    try {
      return fn();
    } finally {
      record(name, t0);
    }
  };

  // Child processes: runc (its verb), CNI plugins (their CNI_COMMAND), conmon, ip, mount...
  const VERBS = /^(create|start|delete|state|kill|run|exec|list|ps|add|del|netns|link|addr)$/;
  const label = (file: string, args: readonly string[] | undefined, env?: NodeJS.ProcessEnv) => {
    const verb = env?.CNI_COMMAND ?? (args ?? []).find((a) => VERBS.test(a)) ?? '';
    return `exec ${path.basename(file)}${verb ? ` ${verb}` : ''}`;
  };
  // The module object itself (an `import *` would be a read-only copy of it).
  const childProcess = require('node:child_process') as typeof ChildProcessModule;
  const cp = childProcess as unknown as Record<string, unknown>;
  const origSpawn = childProcess.spawn;
  cp.spawn = function spawn(this: unknown, file: string, ...rest: unknown[]) {
    const args = Array.isArray(rest[0]) ? (rest[0] as string[]) : undefined;
    const opts = (Array.isArray(rest[0]) ? rest[1] : rest[0]) as ChildProcessModule.SpawnOptions | undefined;
    const t0 = now();
    const child = (origSpawn as (...a: unknown[]) => ChildProcessModule.ChildProcess).call(this, file, ...rest);
    const name = label(file, args, opts?.env);
    child.once('exit', () => record(name, t0));
    return child;
  };
  const origExecFile = childProcess.execFile;
  const custom = (origExecFile as unknown as Record<symbol, (...a: unknown[]) => Promise<unknown>>)[promisify.custom]!;
  const execFile = function execFile(this: unknown, file: string, ...rest: unknown[]) {
    const args = Array.isArray(rest[0]) ? (rest[0] as string[]) : undefined;
    const t0 = now();
    const child = (origExecFile as unknown as (...a: unknown[]) => ChildProcessModule.ChildProcess).call(this, file, ...rest);
    child.once('exit', () => record(label(file, args), t0));
    return child;
  };
  // promisify(execFile) must keep resolving with { stdout, stderr }, as the original's does.
  (execFile as unknown as Record<symbol, unknown>)[promisify.custom] = function (this: unknown, file: string, ...rest: unknown[]) {
    const args = Array.isArray(rest[0]) ? (rest[0] as string[]) : undefined;
    return timeAsync(label(file, args), () => custom.call(this, file, ...rest));
  };
  cp.execFile = execFile;

  // The agent's own start path. Loaded here first, so the agent gets these same module objects.
  const dist = path.resolve(__dirname, '../../agent');
  const rootfs = require(path.join(dist, 'snapshots/writable')) as Record<string, (...a: unknown[]) => unknown>;
  const origMount = rootfs.mountRootfs!;
  rootfs.mountRootfs = (...a: unknown[]) => timeSync('mount rootfs', () => origMount(...a));
  const origUnmount = rootfs.unmountRootfs!;
  rootfs.unmountRootfs = (...a: unknown[]) => timeSync('unmount rootfs', () => origUnmount(...a));

  const etc = require(path.join(dist, 'runtime/etc-files')) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const origEtc = etc.writeEtcFiles!;
  etc.writeEtcFiles = (...a: unknown[]) => timeAsync('write /etc files', () => origEtc(...a));

  const conmon = require(path.join(dist, 'runtime/conmon')) as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const origConmon = conmon.spawnConmon!;
  conmon.spawnConmon = (...a: unknown[]) => timeAsync('conmon + runc create', () => origConmon(...a));

  const net = require(path.join(dist, 'network')) as Record<string, (...a: unknown[]) => Record<string, (...b: unknown[]) => Promise<unknown>>>;
  const origNet = net.createContainerNetwork!;
  net.createContainerNetwork = (...a: unknown[]) => {
    const n = origNet(...a);
    for (const m of ['attach', 'detach'] as const) {
      const orig = n[m]!.bind(n);
      n[m] = (...b: unknown[]) => timeAsync(`network ${m}`, () => orig(...b));
    }
    return n;
  };

  const oci = require(path.join(dist, 'runtime/oci')) as Record<string, (...a: unknown[]) => Record<string, (...b: unknown[]) => Promise<unknown>>>;
  const origOci = oci.createOciRuntime!;
  oci.createOciRuntime = (...a: unknown[]) => {
    const r = origOci(...a);
    for (const m of ['create', 'start', 'delete'] as const) {
      const orig = r[m]!;
      r[m] = (...b: unknown[]) => timeAsync(`oci ${m}`, () => orig(...b));
    }
    return r;
  };

  type Prototype = { prototype: Record<string, (...a: unknown[]) => Promise<unknown>> };
  const service = require(path.join(dist, 'runtime/service')) as { ContainerService: Prototype };
  const supervisor = require(path.join(dist, 'runtime/supervisor')) as { Supervisor: Prototype };
  const methods: Array<[Prototype, string]> = [
    ...(['start', 'run', 'create', 'remove', 'release'] as const).map((m): [Prototype, string] => [service.ContainerService, m]),
    [supervisor.Supervisor, 'exited'],
  ];
  for (const [cls, m] of methods) {
    const proto = cls.prototype;
    const orig = proto[m];
    if (!orig) continue;
    proto[m] = function (this: unknown, ...a: unknown[]) {
      return timeAsync(`service ${m}`, () => orig.apply(this, a));
    };
  }
}
