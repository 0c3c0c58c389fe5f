// berth build (docker build's flags) and berth builder prune|du. The context is a directory on
// this host that the local agent reads (a context given as a tar on stdin is unpacked into a
// temporary directory first); the Dockerfile and .dockerignore are read here and sent along.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BerthError } from '../../proto/errors';
import type { BuilderClient } from '../../proto/grpc';
import type { BuildEvent__Output } from '../../proto/gen/berth/agent/v1/BuildEvent';
import { CliError } from '../common/errors';
import { parseFlags, requireArgs, sizeFlag } from '../common/args';
import { agentSocket, builderClient, call, consume } from './agent-client';
import { humanSize } from './format';

const USAGE = 'berth build [-t NAME[:TAG]]... [-f Dockerfile|-] [--build-arg K=V]... [--secret id=ID,src=FILE|env=VAR]... [--target STAGE] [--no-cache] [--pull] [--iidfile F] [--label K=V]... [--progress auto|plain|tty] [--network default|none] [-q] CONTEXT|-';

export async function runBuildVerb(verb: string, argv: string[], agentFlag: string | undefined): Promise<void> {
  const client = builderClient(agentSocket(agentFlag));
  try {
    if (verb === 'build') await build(client, argv);
    else await builder(client, argv);
  } finally {
    client.close();
  }
}

async function build(client: BuilderClient, argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, {
    tag: { type: 'string', short: 't', multiple: true },
    file: { type: 'string', short: 'f' },
    'build-arg': { type: 'string', multiple: true },
    secret: { type: 'string', multiple: true },
    target: { type: 'string' },
    'no-cache': { type: 'boolean' },
    pull: { type: 'boolean' },
    iidfile: { type: 'string' },
    label: { type: 'string', multiple: true },
    progress: { type: 'string' },
    network: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
  });
  requireArgs(positionals, 1, USAGE);
  if (positionals.length > 1) throw new CliError(`"berth build" requires exactly 1 argument (the context), got ${positionals.length}`);
  const progress = values.progress ?? 'auto';
  if (!['auto', 'plain', 'tty'].includes(progress)) throw new CliError(`invalid --progress "${progress}": one of auto, plain, tty`);
  const network = values.network ?? 'default';
  if (network !== 'default' && network !== 'none') throw new CliError(`invalid --network "${network}": berth builds with default or none`);

  const buildArgs: Record<string, string> = {};
  for (const a of values['build-arg'] ?? []) {
    const eq = a.indexOf('=');
    // A bare name takes its value from the environment, and is left out when unset (as docker).
    if (eq < 0) {
      if (process.env[a] !== undefined) buildArgs[a] = process.env[a]!;
    } else buildArgs[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  const secrets = readSecrets(values.secret ?? []);
  const epochText = buildArgs.SOURCE_DATE_EPOCH ?? process.env.SOURCE_DATE_EPOCH;
  if (epochText !== undefined && !/^\d+$/.test(epochText)) throw new CliError(`invalid SOURCE_DATE_EPOCH "${epochText}": seconds since 1970 expected`);

  const input = readInputs(positionals[0]!, values.file);
  try {
    const printer = new BuildPrinter(progress === 'plain' || (progress === 'auto' && !process.stderr.isTTY) ? 'plain' : 'tty', values.quiet ? undefined : process.stderr);
    let imageId = '';
    const stream = client.Build({
      contextDir: input.contextDir,
      dockerfile: input.dockerfile,
      dockerfileName: input.dockerfileName,
      ignore: input.ignore ?? '',
      tags: values.tag ?? [],
      buildArgs,
      target: values.target ?? '',
      noCache: Boolean(values['no-cache']),
      pull: Boolean(values.pull),
      labels,
      network,
      sourceDateEpoch: epochText ?? '0',
      hasSourceDateEpoch: epochText !== undefined,
      secrets: Object.entries(secrets).map(([id, value]) => ({ id, value })),
    });
    // ctrl-C cancels the build on the agent: its running steps are killed.
    const interrupt = () => stream.cancel();
    process.once('SIGINT', interrupt);
    try {
      await consume(stream, (e: BuildEvent__Output) => {
        printer.handle(e);
        if (e.kind === 'done') imageId = e.imageId;
      });
    } catch (err) {
      printer.failed();
      // A build that fails exits 1, whatever failed (docker build's status).
      throw Object.assign(err as Error, { exitStatus: 1 });
    } finally {
      process.off('SIGINT', interrupt);
    }
    if (values.iidfile) writeFileSync(values.iidfile, imageId);
    if (values.quiet) process.stdout.write(`${imageId}\n`);
  } finally {
    input.cleanup();
  }
}

/** Secrets are small (BuildKit's limit): keys, tokens, credentials files. */
const MAX_SECRET_BYTES = 500 * 1024;

/**
 * --secret id=ID[,src=FILE][,env=VAR][,type=file|env], as docker buildx reads it: the secret's
 * bytes from a file or an environment variable (the one named ID when neither is given).
 */
export function readSecrets(flags: string[]): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const flag of flags) {
    const fields = new Map<string, string>();
    for (const part of flag.split(',')) {
      const eq = part.indexOf('=');
      const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
      if (!['id', 'src', 'source', 'env', 'type'].includes(key)) throw new CliError(`invalid --secret "${flag}": unexpected key "${key}" (id, src, env, type)`);
      fields.set(key === 'source' ? 'src' : key, eq < 0 ? '' : part.slice(eq + 1));
    }
    const id = fields.get('id') ?? '';
    if (id === '') throw new CliError(`invalid --secret "${flag}": id=ID is required`);
    const type = fields.get('type') ?? (fields.has('env') ? 'env' : 'file');
    if (type !== 'file' && type !== 'env') throw new CliError(`invalid --secret "${flag}": type=${type}: file or env`);
    let value: Buffer;
    const file = fields.get('src');
    const env = fields.get('env') ?? (type === 'env' ? file ?? id : file === undefined ? id : undefined);
    if (type === 'file' && file !== undefined) {
      try {
        value = readFileSync(file);
      } catch (err) {
        throw new CliError(`--secret id=${id}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    } else if (env !== undefined && process.env[env] !== undefined) {
      value = Buffer.from(process.env[env]!);
    } else {
      throw new CliError(`--secret id=${id}: ${env !== undefined ? `the environment variable ${env} is not set` : 'nothing to read'} (give src=FILE or env=VAR)`);
    }
    if (value.length > MAX_SECRET_BYTES) throw new CliError(`--secret id=${id}: ${value.length} bytes, more than a secret may hold (${MAX_SECRET_BYTES})`);
    out[id] = value;
  }
  return out;
}

interface BuildInputs {
  contextDir: string;
  dockerfile: string;
  dockerfileName: string;
  ignore?: string;
  cleanup(): void;
}

/**
 * The context directory, the Dockerfile and the .dockerignore. `-` as the context is stdin: a tar
 * (plain or gzip) is the context, anything else is the Dockerfile of an empty context.
 */
function readInputs(contextArg: string, fileFlag: string | undefined): BuildInputs {
  let contextDir = path.resolve(contextArg);
  let temporary: string | undefined;
  let stdinDockerfile: string | undefined;
  let stdinUsed = false;
  if (contextArg === '-') {
    if (fileFlag === '-') throw new CliError('invalid argument: can\'t use stdin for both build context and dockerfile');
    const bytes = readFileSync(0);
    stdinUsed = true;
    temporary = mkdtempSync(path.join(os.tmpdir(), 'berth-build-'));
    contextDir = temporary;
    const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
    if (tar.length >= 512 && tar.subarray(257, 262).toString('latin1') === 'ustar') {
      const untar = spawnSync('tar', ['-x', '-C', temporary, '--no-same-owner'], { input: tar });
      if (untar.status !== 0) throw new CliError(`the context on stdin is not a readable tar: ${untar.stderr.toString().trim()}`);
    } else stdinDockerfile = bytes.toString('utf8');
  } else if (!existsSync(contextDir)) {
    throw new CliError(`unable to prepare context: path "${contextArg}" not found`);
  }
  const cleanup = () => {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  };
  try {
    let dockerfile: string;
    let dockerfileName: string;
    let dockerfilePath: string | undefined;
    if (stdinDockerfile !== undefined) {
      dockerfile = stdinDockerfile;
      dockerfileName = 'Dockerfile';
    } else if (fileFlag === '-') {
      if (stdinUsed) throw new CliError('stdin was read already');
      dockerfile = readFileSync(0, 'utf8');
      dockerfileName = 'Dockerfile';
    } else {
      dockerfilePath = fileFlag !== undefined ? path.resolve(fileFlag) : [path.join(contextDir, 'Dockerfile'), path.join(contextDir, 'dockerfile')].find((p) => existsSync(p)) ?? path.join(contextDir, 'Dockerfile');
      try {
        dockerfile = readFileSync(dockerfilePath, 'utf8');
      } catch (err) {
        throw new CliError(`failed to read dockerfile: open ${fileFlag ?? 'Dockerfile'}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
      }
      dockerfileName = fileFlag ?? path.basename(dockerfilePath);
    }
    // BuildKit's rule: <Dockerfile>.dockerignore next to the Dockerfile first, then the context's.
    const ignorePaths = [...(dockerfilePath ? [`${dockerfilePath}.dockerignore`] : []), path.join(contextDir, '.dockerignore')];
    const ignorePath = ignorePaths.find((p) => existsSync(p));
    return { contextDir, dockerfile, dockerfileName, ...(ignorePath ? { ignore: readFileSync(ignorePath, 'utf8') } : {}), cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}

/**
 * BuildKit's two ways of showing a build. plain: every step's start, output (prefixed with the
 * step and seconds since it started) and end, as `#N` lines. tty: one line per finished step,
 * the output of a failed one replayed.
 */
export class BuildPrinter {
  private readonly names = new Map<number, string>();
  private readonly started = new Map<number, number>();
  private readonly tails = new Map<number, string>();
  private readonly partial = new Map<number, string>();
  private readonly begin = Date.now();

  constructor(private readonly mode: 'plain' | 'tty', private readonly out: NodeJS.WritableStream | undefined) {}

  private write(s: string): void {
    this.out?.write(s);
  }

  handle(e: BuildEvent__Output): void {
    if (e.kind === 'warning') this.write(`WARNING: ${e.message}\n`);
    else if (e.kind === 'step') this.step(e);
    else if (e.kind === 'output') this.output(e.id, Buffer.from(e.data).toString('utf8'));
  }

  private step(e: BuildEvent__Output): void {
    this.names.set(e.id, e.name);
    const seconds = (Number(e.elapsedMs) / 1000).toFixed(1);
    if (this.mode === 'plain') {
      if (e.status === 'started') {
        this.started.set(e.id, Date.now());
        this.write(`#${e.id} ${e.name}\n`);
      } else if (e.status === 'cached') {
        if (!this.started.has(e.id)) this.write(`#${e.id} ${e.name}\n`);
        this.write(`#${e.id} CACHED\n`);
      } else {
        this.flushPartial(e.id);
        this.write(e.status === 'done' ? `#${e.id} DONE ${seconds}s\n` : `#${e.id} ERROR: ${e.error}\n`);
      }
      this.write('\n');
      return;
    }
    if (e.status === 'started') return;
    if (e.status === 'cached') this.write(` => CACHED ${e.name}\n`);
    else if (e.status === 'done') this.write(` => ${e.name.padEnd(60)} ${seconds}s\n`);
    else this.write(` => ERROR ${e.name}\n`);
  }

  private output(id: number, text: string): void {
    this.tails.set(id, ((this.tails.get(id) ?? '') + text).slice(-4096));
    if (this.mode !== 'plain') return;
    const lines = ((this.partial.get(id) ?? '') + text).split('\n');
    this.partial.set(id, lines.pop()!);
    const at = (((Date.now() - (this.started.get(id) ?? this.begin)) / 1000)).toFixed(3);
    for (const line of lines) this.write(`#${id} ${at} ${line}\n`);
  }

  private flushPartial(id: number): void {
    const rest = this.partial.get(id);
    if (rest) this.write(`#${id} ${rest}\n`);
    this.partial.delete(id);
  }

  /** After a failure: the output of the step that failed, as BuildKit replays it. */
  failed(): void {
    if (this.mode === 'plain') return;
    for (const [id, tail] of this.tails) {
      const lines = tail.split('\n').filter((l) => l.trim() !== '').slice(-10);
      if (lines.length === 0) continue;
      this.write(`------\n > ${this.names.get(id) ?? `#${id}`}:\n${lines.map((l) => `${l}\n`).join('')}------\n`);
    }
  }
}

async function builder(client: BuilderClient, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'prune') {
    const { values } = parseFlags(rest, { all: { type: 'boolean', short: 'a' }, force: { type: 'boolean', short: 'f' }, 'keep-storage': { type: 'string' } });
    const keep = values['keep-storage'];
    const keepBytes = keep === undefined ? 0 : sizeFlag('keep-storage', keep);
    const res = await call(client.Prune.bind(client), { all: keep === undefined, keepBytes: String(keepBytes) });
    process.stdout.write(`Deleted build cache entries: ${res.entries}\nTotal:\t${humanSize(Number(res.reclaimed))}\n`);
    return;
  }
  if (sub === 'du') {
    const res = await call(client.DiskUsage.bind(client), {});
    process.stdout.write(`Build cache entries: ${res.entries}\nTotal:\t${humanSize(Number(res.bytes))}\n`);
    return;
  }
  throw new BerthError('invalid-argument', `unknown builder command "${sub ?? ''}" (one of: prune, du)`);
}
