// The node agent: the agent's half that talks to the controller. It wires the controller link
// (register, lease, pod watch, tunnel) to the pod workers, the status reporter, the event
// recorder and the log server, over the agent's own image service, runtime and network.

import type { ImageService } from '../images';
import type { ContainerNetwork } from '../network';
import type { ContainerService } from '../runtime';
import { compileNodeOptions } from './config';
import { ControllerLink } from './controller-link';
import { EventRecorder } from './event-recorder';
import { ImagePuller } from './image-puller';
import { LogServer } from './log-server';
import { hostFacts, nodeDocument } from './node-document';
import { PodManager } from './pod-manager';
import { PodWatchState } from './pod-watch';
import { StatusReporter } from './status-reporter';
import { systemClock, type Clock, type NodeConfig, type NodeOptions, type PodRuntime } from './types';

export interface NodeAgentDeps {
  images: Pick<ImageService, 'pull' | 'resolve'>;
  /** The pod workers' runtime, plus logs (for the controller's log requests) and change events. */
  containers: PodRuntime & Pick<ContainerService, 'logs' | 'observe'>;
  network: ContainerNetwork;
  clock?: Clock;
  log?: (line: string) => void;
}

export interface RunningNodeAgent {
  readonly config: NodeConfig;
  /** Stop talking to the controller; the pods' containers run on (the next agent adopts them). */
  stop(): Promise<void>;
}

export async function startNodeAgent(options: NodeOptions, deps: NodeAgentDeps): Promise<RunningNodeAgent> {
  const config = compileNodeOptions(options);
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? ((line: string) => process.stderr.write(`berth agent: ${line}\n`));
  const facts = await hostFacts();
  const watch = new PodWatchState(config.nodeName);
  // The link is made last (it needs the sink); the others only call it once it exists.
  let link: ControllerLink | undefined;
  const linked = () => {
    if (!link) throw new Error('the controller link is not started yet');
    return link;
  };
  let manager: PodManager | undefined;
  // The controller says whether the node is cordoned, with each registration and renewal.
  let unschedulable = false;
  const reporter = new StatusReporter((r) => linked().updatePodStatus(r), (uid) => manager?.terminated(uid));
  const events = new EventRecorder((e) => linked().recordEvent(e), config.nodeName, clock);
  manager = new PodManager({
    config,
    clock,
    containers: deps.containers,
    network: deps.network,
    puller: new ImagePuller(deps.images, clock),
    events,
    report: (r) => reporter.report(r),
    log,
  }, () => ({ ...nodeDocument(config, facts), spec: { unschedulable } }));
  const pods = manager;
  const logs = new LogServer((ns, name, container) => pods.logTarget(ns, name, container), (id, o, onLine) => deps.containers.logs(id, o, onLine));
  link = new ControllerLink(config, () => nodeDocument(config, facts), {
    registered(_epoch, relist) {
      if (relist) watch.relist();
      reporter.resendAll();
    },
    resumeFrom: () => watch.resumeFrom(),
    watchOpened: (resourceVersion) => watch.begin(resourceVersion),
    watchEvent: (event) => pods.apply(watch.apply(event)),
    tunnelRequest: (request, reply) => logs.handle(request, reply),
    tunnelClosed: () => logs.closeAll(),
    nodeSpec(spec) {
      unschedulable = spec.unschedulable;
    },
  }, log);
  const unobserve = deps.containers.observe((id) => pods.containerChanged(id));
  pods.adopt();
  link.start();
  return {
    config,
    async stop() {
      unobserve();
      logs.closeAll();
      await pods.stop();
      reporter.stop();
      events.stop();
      await linked().stop();
    },
  };
}
