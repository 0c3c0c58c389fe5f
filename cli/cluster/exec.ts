// berth exec POD|pod/POD [-c CONTAINER] [-i] [-n NS] -- COMMAND [ARGS...]: a command in a pod's
// container through the controller and its node's agent, as kubectl exec runs it. Its stdout and
// stderr are this command's; with -i this command's stdin is the command's. The exit code is the
// command's (kubectl's "command terminated with exit code N" on stderr when it is not 0).
// With -t the command runs on a terminal: this one raw while it runs, its size followed.

import { DEFAULT_CONTAINER_ANNOTATION, defaultContainerOf, type Pod } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { localSize, rawTerminal } from '../common/terminal';
import { singleTarget } from './resource-names';
import type { ExecStream, Verb } from './types';

const USAGE = 'berth exec POD [-c CONTAINER] [-i] [-t] [-n NS] -- COMMAND [ARGS...]';

export const exec: Verb = async (ctx, argv) => {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const { values, positionals } = parseFlags(own, {
    namespace: { type: 'string', short: 'n' },
    container: { type: 'string', short: 'c' },
    stdin: { type: 'boolean', short: 'i' },
    tty: { type: 'boolean', short: 't' },
    quiet: { type: 'boolean', short: 'q' },
  });
  // As kubectl: -t without a terminal here is dropped with a word; -it needs one.
  let tty = Boolean(values.tty);
  if (tty && !process.stdin.isTTY) {
    if (!values.quiet) ctx.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
    tty = false;
  }  const [what, ...rest] = positionals;
  if (!what) throw new CliError(`a pod is required (${USAGE})`);
  const command = dash < 0 ? rest : [...rest, ...argv.slice(dash + 1)];
  if (command.length === 0) throw new CliError(`you must specify at least one command for the container (${USAGE})`);
  const target = singleTarget([what.includes('/') ? what : `pod/${what}`], USAGE, ['Pod']);
  const namespace = values.namespace || 'default';

  // As kubectl: the pod first, to say which container a command that names none runs in.
  const pod = await ctx.client.get<Pod>('Pod', namespace, target.name);
  const names = pod.spec.containers.map((c) => c.name);
  // kubectl says so only when it chose (no annotation named the container).
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (!values.container && !annotated && names.length > 1 && !values.quiet) ctx.err(`Defaulted container "${defaultContainerOf(pod)}" out of: ${names.join(', ')}\n`);
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
