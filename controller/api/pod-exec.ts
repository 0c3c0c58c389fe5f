// kubectl exec: a command in a pod's container, through the tunnel of the pod's node (the agent
// runs it with runc exec, as it runs probes). Authorized as create on pods/exec. The client's
// first frame names the pod, container, command and whether stdin follows; stdin frames go to the
// command; its stdout and stderr come back as frames of their own, then its exit code.
// kubectl attach is the same call with `attach` and no command (authorized as pods/attach): the
// container's own process, its exit code when its run ends.

import type * as grpc from '@grpc/grpc-js';
import type { ExecFrame, ExecFrame__Output } from '../../proto/gen/berth/cluster/v1/ExecFrame';
import type { ExecTarget__Output } from '../../proto/gen/berth/cluster/v1/ExecTarget';
import { defaultContainerOf, podContainers, type Pod } from '../../proto/resources';
import { BerthError } from '../../proto/errors';
import type { CallWithMetadata, Identity, RequestAttributes } from '../auth';
import type { Registry } from '../objects';
import { failStream } from './grpc';
import type { Tunnels } from './tunnels';
import { serveTunnelSession } from './tunnel-session';
import { MAX_BACKLOG } from './watch-stream';

export interface PodExecDeps {
  registry: Registry;
  tunnels: Tunnels;
  allowed(call: CallWithMetadata, attributes: RequestAttributes): Promise<Identity>;
}

/** The container an exec means: the one named, else the pod's default one; an error in kubectl's words. */
export function execContainer(pod: Pod, named: string): string {
  const all = podContainers(pod).map((c) => c.name);
  if (named) {
    if (!all.includes(named)) throw new BerthError('invalid-argument', `container ${named} is not valid for pod ${pod.metadata.name}`);
    return named;
  }
  return defaultContainerOf(pod);
}

/**
 * What an attach asks of the container that it cannot give: stdin it was not made with
 * (spec.containers[].stdin), a terminal it has none of (tty). kubectl's words.
 */
function checkAttachable(pod: Pod, name: string, target: ExecTarget__Output): void {
  const container = podContainers(pod).find((c) => c.name === name);
  if (target.stdin && !container?.stdin) {
    throw new BerthError('failed-precondition', `container ${name} in pod ${pod.metadata.name} was not made with stdin (spec.containers[].stdin: true): attach without -i`);
  }
  if (target.tty && !container?.tty) throw new BerthError('failed-precondition', `Unable to use a TTY - container ${name} did not allocate one`);
}

export function podExec({ registry, tunnels, allowed }: PodExecDeps) {
  return (call: grpc.ServerDuplexStream<ExecFrame__Output, ExecFrame>): void => serveTunnelSession(call, {
    firstFrame: 'exec: the first frame must name the pod and the command',
    openOf: (frame) => (frame.frame === 'open' && frame.open ? frame.open : undefined),
    inputOf: (frame) => (frame.frame === 'stdin' ? frame.stdin ?? undefined
      : frame.frame === 'stdinEnd' ? 'end'
        : frame.frame === 'resize' && frame.resize ? { rows: frame.resize.rows, cols: frame.resize.cols } : undefined),
    async prepare(target: ExecTarget__Output, fail) {
      const namespace = target.namespace || 'default';
      const verb = target.attach ? 'attach' : 'exec';
      await allowed(call, { verb: 'create', resource: 'pods', subresource: verb, apiGroup: '', namespace, name: target.name });
      if (target.attach && target.command.length > 0) throw new BerthError('invalid-argument', 'attach runs no command: it joins the container\'s own process');
      if (!target.attach && target.command.length === 0) throw new BerthError('invalid-argument', 'you must specify at least one command for the container');
      const pod = await registry.get<Pod>('Pod', namespace, target.name);
      const phase = pod.status?.phase ?? 'Pending';
      if (phase === 'Succeeded' || phase === 'Failed') throw new BerthError('failed-precondition', `cannot ${verb} ${target.attach ? 'to' : 'into'} a container in a completed pod; current phase is ${phase}`);
      const node = pod.spec.nodeName;
      if (!node || phase !== 'Running') throw new BerthError('failed-precondition', `pod ${target.name} is not running yet (phase ${phase}): no container to ${verb} ${target.attach ? 'to' : 'in'}`);
      const container = execContainer(pod, target.container);
      if (target.attach) checkAttachable(pod, container, target);
      const send = (frame: ExecFrame) => {
        call.write(frame);
        if (call.writableLength > MAX_BACKLOG) fail(new BerthError('resource-exhausted', 'exec: the client is not reading the output'));
      };
      const terminal = target.tty ? { tty: true, size: { rows: target.size?.rows || 24, cols: target.size?.cols || 80 } } : {};
      return () => tunnels.exec(node, { namespace, name: target.name, container, command: target.command, stdin: target.stdin, ...terminal, ...(target.attach ? { attach: true } : {}) },
        (stdout) => send({ stdout }),
        (stderr) => send({ stderr }),
        (err, exitCode) => {
          if (err) return failStream(call, err);
          call.write({ exit: { code: exitCode ?? 0 } });
          call.end();
        });
    },
  });
}
