// berth exec POD|pod/POD [-c CONTAINER] [-i] [-n NS] -- COMMAND [ARGS...]: a command in a pod's
// container through the controller and its node's agent, as kubectl exec runs it. Its stdout and
// stderr are this command's; with -i this command's stdin is the command's. The exit code is the
// command's (kubectl's "command terminated with exit code N" on stderr when it is not 0).
// With -t the command runs on a terminal: this one raw while it runs, its size followed.

import { DEFAULT_CONTAINER_ANNOTATION, defaultContainerOf, type Pod } from '../../proto/resources';
import { parseFlags, type Options } from '../common/args';
import { CliError } from '../common/errors';
import { localSize, rawTerminal } from '../common/terminal';
import { singleTarget } from './resource-names';
import type { ExecStream, Verb } from './types';

const USAGE = 'berth exec POD [-c CONTAINER] [-i] [-t] [-n NS] -- COMMAND [ARGS...]';

/** exec's and attach's flags, kubectl's. */
export const POD_SESSION_FLAGS = {
  namespace: { type: 'string', short: 'n' },
  container: { type: 'string', short: 'c' },
  stdin: { type: 'boolean', short: 'i' },
  tty: { type: 'boolean', short: 't' },
  quiet: { type: 'boolean', short: 'q' },
} as const satisfies Options;

/** -t as kubectl takes it: dropped, with its word, when this command has no terminal to give. */
export function terminalHere(asked: boolean | undefined, say: (line: string) => void): boolean {
  if (asked && !process.stdin.isTTY) {
    say('Unable to use a TTY - input is not a terminal or the right kind of file');
    return false;
  }
  return Boolean(asked);
}

/** kubectl's word when it chose the container: none named, no annotation, several to choose from. */
export function sayDefaultedContainer(pod: Pod, named: string | undefined, say: (line: string) => void): void {
  const names = pod.spec.containers.map((c) => c.name);
  if (!named && !pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION] && names.length > 1) {
    say(`Defaulted container "${defaultContainerOf(pod)}" out of: ${names.join(', ')}`);
  }
}

export const exec: Verb = async (ctx, argv) => {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const { values, positionals } = parseFlags(own, POD_SESSION_FLAGS);
  const say = (line: string) => void (values.quiet ? undefined : ctx.err(`${line}\n`));
  const tty = terminalHere(values.tty, say);
  const [what, ...rest] = positionals;
  if (!what) throw new CliError(`a pod is required (${USAGE})`);
  const command = dash < 0 ? rest : [...rest, ...argv.slice(dash + 1)];
  if (command.length === 0) throw new CliError(`you must specify at least one command for the container (${USAGE})`);
  const target = singleTarget([what.includes('/') ? what : `pod/${what}`], USAGE, ['Pod']);
  const namespace = values.namespace || 'default';

  // As kubectl: the pod first, to say which container a command that names none runs in.
  const pod = await ctx.client.get<Pod>('Pod', namespace, target.name);
  sayDefaultedContainer(pod, values.container, say);
  const session = ctx.client.exec({
    namespace, name: target.name, container: values.container ?? '', command, stdin: Boolean(values.stdin),
    ...(tty ? { tty: true, size: localSize() ?? { rows: 24, cols: 80 } } : {}),
  });
  const exitCode = await relaySession(session, { stdin: Boolean(values.stdin), tty });
  if (exitCode === undefined) throw new CliError('the connection to the command ended before it did');
  if (exitCode !== 0 && !values.quiet) ctx.err(`command terminated with exit code ${exitCode}\n`);
  return exitCode;
};

/**
 * This terminal to an exec's or an attach's session and back: stdin to it with `stdin`, this
 * terminal raw and its size followed with `tty` too, its output to stdout and stderr. Resolves with
 * its exit code, or undefined if the connection ended before it said one.
 */
export async function relaySession(session: ExecStream, options: { stdin: boolean; tty: boolean }): Promise<number | undefined> {
  const restore = options.tty && options.stdin ? rawTerminal((size) => session.resize(size.rows, size.cols)) : () => undefined;
  if (options.stdin) {
    process.stdin.on('data', (chunk: Buffer) => session.write(chunk));
    process.stdin.once('end', () => session.end());
  }
  try {
    for await (const frame of session) {
      if (frame.stdout) process.stdout.write(frame.stdout);
      else if (frame.stderr) process.stderr.write(frame.stderr);
      // The last frame: the call's other side stays open (stdin), so its end is not awaited.
      else if (frame.exitCode !== undefined) return frame.exitCode;
    }
    return undefined;
  } finally {
    // The call's writing side stays open for stdin: close it, or the process would not end.
    session.cancel();
    restore();
    if (options.stdin) process.stdin.destroy();
  }
}
