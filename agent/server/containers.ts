// gRPC handlers for the Containers service: convert, call the container service, map errors.

import { existsSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { ContainersHandlers } from '../../proto/gen/berth/agent/v1/Containers';
import type { ContainerSummary } from '../../proto/gen/berth/agent/v1/ContainerSummary';
import type { CreateContainerRequest__Output } from '../../proto/gen/berth/agent/v1/CreateContainerRequest';
import type { ExecInput__Output } from '../../proto/gen/berth/agent/v1/ExecInput';
import type { ImageService } from '../images';
import type { NetworkMode } from '../network';
import type { AttachInput__Output } from '../../proto/gen/berth/agent/v1/AttachInput';
import type { CopyToInput__Output } from '../../proto/gen/berth/agent/v1/CopyToInput';
import {
  type AttachSession, ClientTerminal, type ContainerRecord, type ContainerService, type CreateRequest, DEFAULT_LOG, type LogConfig, parseCpus,
  parseLogOptions, parseMemory, parsePidsLimit, parsePort, parseRestartPolicy, parseSecurityOpts, parseVolume,
} from '../runtime';
import { BerthError } from '../../proto/errors';
import { toServiceError } from '../../proto/grpc';
import { unary } from './unary';

/** Output messages an attached client may leave unread before it is let go (conmon's packets are at most a few KiB). */
const ATTACH_BACKLOG = 4096;

const formatPort = (p: ContainerRecord['config']['ports'][number]) => `${p.hostIp || '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`;

function createRequest(r: CreateContainerRequest__Output): CreateRequest {
  const network = (r.network || 'bridge') as NetworkMode;
  if (!['bridge', 'none', 'host'].includes(network)) {
    throw new BerthError('invalid-argument', `invalid --network "${r.network}": one of bridge, none, host`);
  }
  const ports = r.ports.map(parsePort);
  if (ports.length > 0 && network !== 'bridge') {
    throw new BerthError('invalid-argument', `published ports need --network bridge (got ${network})`);
  }
  const pids = r.pidsLimit ? parsePidsLimit(r.pidsLimit) : undefined;
  return {
    image: r.image,
    ...(r.name ? { name: r.name } : {}),
    ...(r.hasEntrypoint ? { entrypoint: r.entrypoint === '' ? [] : [r.entrypoint] } : {}),
    ...(r.cmd.length ? { cmd: r.cmd } : {}),
    env: r.env,
    ...(r.workdir ? { workdir: r.workdir } : {}),
    ...(r.user ? { user: r.user } : {}),
    ports,
    volumes: r.volumes.map((v) => parseVolume(v, existsSync)),
    network,
    limits: {
      ...(r.memory ? { memoryBytes: parseMemory(r.memory) } : {}),
      ...(r.cpus ? { cpus: parseCpus(r.cpus) } : {}),
      ...(pids !== undefined ? { pids } : {}),
    },
    restart: parseRestartPolicy(r.restart || 'no'),
    autoRemove: r.autoRemove,
    labels: r.labels,
    security: { ...parseSecurityOpts(r.securityOpt ?? []), ...(r.privileged ? { privileged: true } : {}) },
    ...(namespaceMode('--pid', r.pid) ? { pidMode: 'host' as const } : {}),
    ...(namespaceMode('--ipc', r.ipc) ? { ipcMode: 'host' as const } : {}),
    ...(r.tty ? { tty: true } : {}),
    ...(r.openStdin ? { openStdin: true } : {}),
    ...(r.securityOpt?.length ? { securityOpt: r.securityOpt } : {}),
    log: parseLogOptions(r.logDriver ?? '', r.logOpt ?? [], DEFAULT_LOG),
  };
}

/** inspect's HostConfig.LogConfig, in docker's terms (sizes in bytes). */
function logConfigOf(log: LogConfig): { Type: string; Config: Record<string, string> } {
  return {
    Type: 'json-file',
    Config: {
      ...(log.maxBytes !== undefined ? { 'max-size': String(log.maxBytes) } : {}),
      'max-file': String(log.maxFiles),
      ...(log.compress ? { compress: 'true' } : {}),
    },
  };
}

/** docker's --pid / --ipc: "host" (true), or the container's own ("" or absent: false). */
function namespaceMode(flag: string, value: string | undefined): boolean {
  if (!value) return false;
  if (value === 'host') return true;
  throw new BerthError('invalid-argument', `invalid ${flag} "${value}": berth supports only "host" (the host's namespace), or none for the container's own`);
}

function matches(c: ContainerRecord, filters: string[]): boolean {
  return filters.every((f) => {
    const [key, value = ''] = f.split(/=(.*)/s);
    switch (key) {
      case 'status': return shownStatus(c) === value;
      case 'name': return c.name.includes(value);
      case 'id': return c.id.startsWith(value);
      case 'ancestor': return c.config.image === value || c.config.imageId === value || c.config.imageId.slice(7).startsWith(value);
      case 'label': {
        const [k, v] = value.split(/=(.*)/s);
        return k! in c.config.labels && (v === undefined || c.config.labels[k!] === v);
      }
      default: throw new BerthError('invalid-argument', `invalid filter "${f}" (status=, name=, id=, ancestor=, label=)`);
    }
  });
}

/** docker's status words: a paused container is 'paused', though its processes still exist. */
const shownStatus = (c: ContainerRecord): string => (c.state.pausedAt ? 'paused' : c.state.status);

export function inspectDocument(c: ContainerRecord, lowerDirs: string[], paths: { upper: string; merged: string; work: string }, size?: { sizeRw: number; sizeRootFs: number }): Record<string, unknown> {
  const s = c.state;
  return {
    Id: c.id,
    Created: c.created,
    Path: c.config.args[0],
    Args: c.config.args.slice(1),
    State: {
      Status: shownStatus(c),
      Running: s.status === 'running',
      Paused: s.pausedAt !== undefined,
      Restarting: s.status === 'restarting',
      Pid: s.pid,
      ExitCode: s.exitCode ?? 0,
      Error: s.error ?? '',
      OOMKilled: s.error === 'OOMKilled',
      StartedAt: s.startedAt ?? '0001-01-01T00:00:00Z',
      FinishedAt: s.finishedAt ?? '0001-01-01T00:00:00Z',
      ...(s.nextRestartAt ? { NextRestartAt: s.nextRestartAt } : {}),
    },
    Image: c.config.imageId,
    Name: `/${c.name}`,
    RestartCount: s.restartCount,
    AppArmorProfile: c.config.security?.apparmorProfile ?? '',
    HostConfig: {
      RestartPolicy: { Name: c.config.restart.name, MaximumRetryCount: c.config.restart.maximumRetryCount },
      AutoRemove: c.config.autoRemove,
      NetworkMode: c.config.network,
      Memory: c.config.limits.memoryBytes ?? 0,
      NanoCpus: Math.round((c.config.limits.cpus ?? 0) * 1e9),
      PidsLimit: c.config.limits.pids ?? null,
      PortBindings: Object.fromEntries(c.config.ports.map((p) => [`${p.containerPort}/${p.protocol}`, [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }]])),
      Binds: c.config.volumes.map((v) => `${v.source}:${v.destination}${v.readonly ? ':ro' : ''}`),
      // As docker: the options as given (a profile's JSON in place of its file), null when none.
      SecurityOpt: c.config.securityOpt ?? null,
      Privileged: Boolean(c.config.security?.privileged),
      PidMode: c.config.pidMode ?? '',
      IpcMode: c.config.ipcMode ?? 'private',
      LogConfig: logConfigOf(c.config.log ?? DEFAULT_LOG),
    },
    Config: {
      Image: c.config.image,
      Tty: Boolean(c.config.tty),
      OpenStdin: Boolean(c.config.openStdin),
      Entrypoint: c.config.entrypoint ?? null,
      Cmd: c.config.cmd ?? null,
      Env: c.config.env,
      WorkingDir: c.config.workdir ?? '',
      User: c.config.user ?? '',
      Labels: c.config.labels,
      StopSignal: c.config.stopSignal,
      StopTimeout: c.config.stopTimeout,
    },
    NetworkSettings: {
      IPAddress: c.network?.ip ?? '',
      Gateway: c.network?.gateway ?? '',
      MacAddress: c.network?.mac ?? '',
      SandboxKey: c.network?.netns ?? '',
      Ports: Object.fromEntries(c.config.ports.map((p) => [`${p.containerPort}/${p.protocol}`, [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }]])),
    },
    GraphDriver: { Name: 'overlay', Data: { LowerDir: lowerDirs.join(':'), UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.merged } },
    ...(size ? { SizeRw: size.sizeRw, SizeRootFs: size.sizeRootFs } : {}),
  };
}

export function containersHandlers(containers: ContainerService, images: ImageService): ContainersHandlers {
  const summary = async (c: ContainerRecord, withSize: boolean): Promise<ContainerSummary> => {
    const size = withSize ? await containers.size(c) : undefined;
    return {
      id: c.id,
      name: c.name,
      image: c.config.image,
      command: c.config.args,
      created: c.created,
      status: shownStatus(c),
      exitCode: c.state.exitCode ?? 0,
      startedAt: c.state.startedAt ?? '',
      finishedAt: c.state.finishedAt ?? '',
      restartCount: c.state.restartCount,
      ports: c.config.ports.map(formatPort),
      sizeRw: String(size?.sizeRw ?? 0),
      sizeRootFs: String(size?.sizeRootFs ?? 0),
      nextRestartAt: c.state.nextRestartAt ?? '',
    };
  };

  return {
    Create: unary(async (req) => ({ id: (await containers.create(createRequest(req))).id })),
    Start: unary(async (req) => {
      await containers.start(req.id);
      return {};
    }),
    Run(call) {
      const { create, detach } = call.request;
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      (async () => {
        const { id, config } = await containers.create(createRequest(create ?? ({} as CreateContainerRequest__Output)));
        call.write({ id });
        try {
          await containers.start(id);
        } catch (err) {
          // A command that cannot run leaves the container exited with docker's 126 or 127.
          const state = containers.list({ all: true }).find((c) => c.id === id)?.state;
          // --rm: a container that never ran goes too, as docker removes it.
          if (config.autoRemove) await containers.remove(id, { force: true }).catch(() => {});
          if (state?.status === 'exited' && state.exitCode !== undefined && state.exitCode > 0) {
            call.write({ exit: { code: state.exitCode, error: (err as Error).message } });
            return;
          }
          throw err;
        }
        if (detach) return;
        // Subscribed before anything can await: a --rm container may be gone soon after it exits.
        const exit = containers.settled(id, config.autoRemove);
        await containers.logs(id, { follow: true, signal: abort.signal }, (line) => call.write({ log: line }));
        if (abort.signal.aborted) return;
        call.write({ exit: { code: await exit, error: '' } });
      })().then(() => call.end(), (err) => call.emit('error', toServiceError(err)));
    },
    Stop: unary(async (req) => {
      await containers.stop(req.id, req.timeout >= 0 ? req.timeout : undefined);
      return {};
    }),
    Restart: unary(async (req) => {
      await containers.restart(req.id, req.timeout >= 0 ? req.timeout : undefined);
      return {};
    }),
    Kill: unary(async (req) => {
      await containers.kill(req.id, req.signal || 'KILL');
      return {};
    }),
    Pause: unary(async (req) => {
      await containers.pause(req.id);
      return {};
    }),
    Unpause: unary(async (req) => {
      await containers.unpause(req.id);
      return {};
    }),
    Remove: unary(async (req) => {
      await containers.remove(req.id, { force: req.force });
      return {};
    }),
    List: unary(async (req) => ({
      containers: await Promise.all(containers.list({ all: req.all }).filter((c) => matches(c, req.filters)).map((c) => summary(c, req.size))),
    })),
    Inspect: unary(async (req) => {
      const c = containers.get(req.id);
      const doc = inspectDocument(c, containers.lowerDirsOf(c), containers.pathsOf(c), await containers.size(c));
      return { json: JSON.stringify(doc) };
    }),
    Logs(call) {
      const { id, follow, tail } = call.request;
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      containers
        .logs(id, { follow, ...(tail >= 0 ? { tail } : {}), signal: abort.signal }, (line) => call.write(line))
        .then(() => call.end(), (err) => call.emit('error', toServiceError(err)));
    },
    Wait: unary(async (req) => ({ exitCode: await containers.wait(req.id) })),
    Exec(call) {
      let stdin: PassThrough | undefined;
      let terminal: ClientTerminal | undefined;
      let started = false;
      // A client that goes away (its terminal closed) ends the process: a shell never ends by itself.
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      call.on('data', (m: ExecInput__Output) => {
        if (!started) {
          started = true;
          if (m.interactive) stdin = new PassThrough();
          if (m.tty) terminal = new ClientTerminal(m.size?.rows || 24, m.size?.cols || 80);
          containers
            .exec(m.id, m.args, { env: m.env, ...(m.workdir ? { workdir: m.workdir } : {}), ...(m.user ? { user: m.user } : {}) }, {
              ...(stdin ? { stdin } : {}),
              onStdout: (b) => call.write({ stdout: b }),
              onStderr: (b) => call.write({ stderr: b }),
              signal: abort.signal,
              ...(terminal ? { terminal } : {}),
            })
            .then((exitCode) => {
              call.write({ exited: true, exitCode });
              call.end();
            }, (err) => call.emit('error', toServiceError(err)));
          return;
        }
        if (m.size && m.size.rows > 0) terminal?.resize(m.size.rows, m.size.cols);
        if (m.stdin.length) stdin?.write(m.stdin);
        if (m.closeStdin) stdin?.end();
      });
      call.on('end', () => stdin?.end());
    },
    Attach(call) {
      let session: AttachSession | undefined;
      let id = '';
      let started = false;
      const pendingInput: AttachInput__Output[] = [];
      const input = (m: AttachInput__Output) => {
        if (!session) {
          pendingInput.push(m);
          return;
        }
        if (m.size && m.size.rows > 0) containers.resize(id, m.size.rows, m.size.cols).catch(() => undefined);
        if (m.stdin.length) session.write(m.stdin);
        if (m.closeStdin) session.endInput();
      };
      let dropped = false;
      const open = (target: string, starting = false) => {
        const s = containers.attach(target, { starting });
        s.on('output', (stream, data) => {
          if (call.cancelled || dropped) return;
          call.write(stream === 'stderr' ? { stderr: data } : { stdout: data });
          // A client that does not read (suspended, slow) is let go: holding the output back would
          // block conmon, and with it the container, its log and its exit. Bounded memory instead.
          if (call.writableLength > ATTACH_BACKLOG) {
            dropped = true;
            s.close();
            call.emit('error', toServiceError(new BerthError('resource-exhausted', 'attach: the client is not reading the container\'s output; detached (the container goes on)')));
          }
        });
        session = s;
        // The client left while the container was starting.
        if (call.cancelled) s.close();
        for (const m of pendingInput.splice(0)) input(m);
        return s;
      };
      call.on('data', (m: AttachInput__Output) => {
        if (started) return input(m);
        started = true;
        (async () => {
          const record = containers.get(m.id);
          id = record.id;
          // A --rm container goes right after it exits: subscribed before it can. Any other is
          // waited for after the start, or a created or exited one would count as settled already.
          const early = record.config.autoRemove ? containers.settled(id, true) : undefined;
          if (m.start) await containers.start(id, { beforeStart: async () => { open(id, true); } });
          // Already running: start did nothing, attach to it as it is.
          if (!session) open(id);
          const settled = early ?? containers.settled(id, false);
          await session!.done;
          // Gone, or let go for not reading (its call already ended with why).
          if (call.cancelled || dropped) return;
          // The output ended: the container exited, or its monitor is gone.
          const exitCode = await settled;
          call.write({ exited: true, exitCode });
        })().then(() => { if (!dropped) call.end(); }, (err) => call.emit('error', toServiceError(err)));
      });
      call.on('cancelled', () => session?.close());
      call.on('end', () => session?.endInput());
    },
    StatPath: unary(async (req) => {
      const st = await containers.statPath(req.id, req.path);
      return { ...st, size: String(st.size) };
    }),
    CopyFrom(call) {
      const out = new PassThrough();
      // A client that leaves stops the copy (its tar and the container's queue are released).
      call.on('cancelled', () => out.destroy(new BerthError('cancelled', 'the client went away')));
      out.on('data', (data: Buffer) => {
        if (call.cancelled) return;
        if (!call.write({ data })) {
          out.pause();
          call.once('drain', () => out.resume());
        }
      });
      out.on('end', () => call.end());
      containers.readPath(call.request.id, call.request.path, out).catch((err) => call.emit('error', toServiceError(err)));
    },
    CopyTo(call, callback) {
      const tar = new PassThrough();
      call.on('cancelled', () => tar.destroy(new BerthError('cancelled', 'the client went away')));
      let started = false;
      call.on('data', (m: CopyToInput__Output) => {
        if (!started) {
          started = true;
          containers.writePath(m.id, m.path, tar).then(() => callback(null, {}), (err) => {
            tar.destroy();
            callback(toServiceError(err));
          });
        }
        if (m.data.length && !tar.write(m.data)) {
          call.pause();
          tar.once('drain', () => call.resume());
        }
      });
      call.on('end', () => tar.end());
    },
    Diff: unary(async (req) => ({ changes: await containers.diff(req.id) })),
    Commit: unary(async (req) => {
      const image = await containers.commit(req.id, {
        ...(req.reference ? { reference: req.reference } : {}),
        ...(req.author ? { author: req.author } : {}),
        ...(req.message ? { message: req.message } : {}),
        ...(req.noPause ? { pause: false } : {}),
      });
      return { imageId: image.id };
    }),
    Prune: unary(async () => {
      const r = await containers.prune();
      return { deleted: r.deleted, reclaimed: String(r.reclaimed) };
    }),
    DiskUsage: unary(async () => {
      const all = containers.list({ all: true });
      const sizes = await Promise.all(all.map((c) => containers.size(c)));
      const used = new Set(all.map((c) => c.config.imageId));
      const imgs = images.list();
      return {
        images: imgs.length,
        imagesActive: imgs.filter((i) => used.has(i.id)).length,
        imagesSize: String(await images.diskUsage()),
        imagesReclaimable: String(imgs.filter((i) => !used.has(i.id)).reduce((n, i) => n + i.size, 0)),
        containers: all.length,
        containersActive: all.filter((c) => c.state.status === 'running').length,
        containersSize: String(sizes.reduce((n, s) => n + s.sizeRw, 0)),
        containersReclaimable: String(sizes.filter((_, i) => all[i]!.state.status !== 'running').reduce((n, s) => n + s.sizeRw, 0)),
      };
    }),
  };
}
