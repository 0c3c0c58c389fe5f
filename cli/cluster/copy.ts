// berth cp POD:PATH DEST and berth cp SRC POD:PATH (kubectl cp): through an exec of tar in the
// pod's container, as kubectl does it (the image needs a tar), with docker's rules on this side.
// -c names the container, -n the namespace (or NS/POD:PATH).

import * as path from 'node:path';
import { parseFlags, requireArgs } from '../common/args';
import { CliError } from '../common/errors';
import { packLocal, unpackAt } from '../common/local-archive';
import type { Verb } from './types';

const USAGE = 'berth cp [-c CONTAINER] [-n NS] POD:SRC DEST  or  SRC POD:DEST';

function podPart(arg: string, namespace: string): { namespace: string; pod: string; path: string } | undefined {
  const colon = arg.indexOf(':');
  if (colon <= 0) return undefined;
  const who = arg.slice(0, colon);
  const slash = who.indexOf('/');
  if (slash >= 0 && who.indexOf('/', slash + 1) >= 0) return undefined;
  return slash < 0 ? { namespace, pod: who, path: arg.slice(colon + 1) } : { namespace: who.slice(0, slash), pod: who.slice(slash + 1), path: arg.slice(colon + 1) };
}

export const cp: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, { container: { type: 'string', short: 'c' }, namespace: { type: 'string', short: 'n' } });
  requireArgs(positionals, 2, USAGE);
  const [src, dst] = positionals as [string, string];
  const namespace = values.namespace || 'default';
  const from = podPart(src, namespace);
  const to = podPart(dst, namespace);
  if (from && to) throw new CliError('copying between pods is not supported');
  if (!from && !to) throw new CliError(`one of the paths must name a pod (${USAGE})`);
  const container = values.container ?? '';

  /** Run a command in the pod; its stdout as it comes, then its exit code checked. */
  async function* run(target: { namespace: string; pod: string }, command: string[], stdin?: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
    const session = ctx.client.exec({ namespace: target.namespace, name: target.pod, container, command, stdin: Boolean(stdin) });
    if (stdin) {
      stdin.on('data', (chunk: Buffer) => session.write(chunk));
      stdin.once('end', () => session.end());
    }
    let stderr = '';
    try {
      for await (const frame of session) {
        if (frame.stdout) yield frame.stdout;
        else if (frame.stderr) stderr += frame.stderr.toString();
        else if (frame.exitCode !== undefined) {
          if (frame.exitCode !== 0) throw new CliError(`${command.join(' ')} in ${target.pod} exited ${frame.exitCode}: ${stderr.trim() || 'no message'}`);
          return;
        }
      }
      throw new CliError('the connection to the pod ended before the copy did');
    } finally {
      session.cancel();
    }
  }

  if (from) {
    const name = path.posix.basename(path.posix.resolve('/', from.path)) || '.';
    const dir = path.posix.dirname(path.posix.resolve('/', from.path));
    await unpackAt(run(from, ['tar', 'cf', '-', '-C', dir, '--', name]), name, dst, false, from.path);
    return 0;
  }
  // Into the pod: a directory that exists receives the source inside it; anything else is the
  // new name in its parent directory (asked of the pod first, as kubectl does).
  const target = to!;
  const destination = path.posix.resolve('/', target.path || '.');
  let isDir = false;
  for await (const out of run(target, ['sh', '-c', 'test -d "$1" && echo dir || true', 'sh', destination])) isDir ||= out.toString().includes('dir');
  const dir = isDir ? destination : path.posix.dirname(destination);
  const as = isDir ? undefined : path.posix.basename(destination);
  const tar = packLocal(src, as !== undefined ? { as } : {});
  for await (const chunk of run(target, ['tar', 'xmf', '-', '-C', dir], tar)) void chunk;
  return 0;
};
