// berth attach POD|pod/POD [-c CONTAINER] [-i] [-t] [-q] [-n NS]: a pod's container's own process,
// through the controller and its node's agent, as kubectl attach joins it. Its output from now on;
// with -i this command's stdin goes to the process (the container needs `stdin: true`); with -t
// this terminal is raw and its size followed (the container needs `tty: true`). Ends when the
// container's run ends, with its exit code, or when this command is interrupted (the container
// goes on).

import { defaultContainerOf, podContainers, type Pod } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { localSize } from '../common/terminal';
import { POD_SESSION_FLAGS, relaySession, sayDefaultedContainer, terminalHere } from './exec';
import { singleTarget } from './resource-names';
import type { Verb } from './types';

const USAGE = 'berth attach POD [-c CONTAINER] [-i] [-t] [-q] [-n NS]';

export const attach: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, POD_SESSION_FLAGS);
  const say = (line: string) => void (values.quiet ? undefined : ctx.err(`${line}\n`));
  if (positionals.length !== 1) throw new CliError(`one pod is required (${USAGE})`);
  const target = singleTarget([positionals[0]!.includes('/') ? positionals[0]! : `pod/${positionals[0]}`], USAGE, ['Pod']);
  const namespace = values.namespace || 'default';

  const pod = await ctx.client.get<Pod>('Pod', namespace, target.name);
  sayDefaultedContainer(pod, values.container, say);
  const name = values.container || defaultContainerOf(pod);
  const container = podContainers(pod).find((c) => c.name === name);
  if (!container) throw new CliError(`container ${name} is not valid for pod ${pod.metadata.name}`);
  // As kubectl: a terminal is used only when there is one here and the container has one.
  let tty = terminalHere(values.tty, say);
  if (tty && !container.tty) {
    say(`Unable to use a TTY - container ${name} did not allocate one`);
    tty = false;
  }
  if (values.stdin && !container.stdin) {
    throw new CliError(`container ${name} in pod ${pod.metadata.name} was not made with stdin (spec.containers[].stdin: true): attach without -i`);
  }
  if (tty && values.stdin) say('If you don\'t see a command prompt, try pressing enter.');

  const session = ctx.client.exec({
    namespace, name: target.name, container: name, command: [], stdin: Boolean(values.stdin), attach: true,
    ...(tty ? { tty: true, size: localSize() ?? { rows: 24, cols: 80 } } : {}),
  });
  const exitCode = await relaySession(session, { stdin: Boolean(values.stdin), tty });
  if (exitCode === undefined) throw new CliError('the connection to the container ended before its process did');
  return exitCode;
};
