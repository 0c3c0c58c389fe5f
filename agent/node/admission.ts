// Whether this node takes a new pod, as the kubelet re-checks the scheduler before it starts one
// (its predicate admit handler): the scheduler may be bypassed (spec.nodeName set by hand), or
// have placed the pod on a view that is no longer true. A pod refused here is never started: it
// fails at once, with the kubelet's reason and message, and its replacement (if it has an owner)
// goes elsewhere. Pure: the pod manager gathers the facts and carries out the verdict.
//
// Checked in this order, the first failure wins (as the kubelet reports only the first):
//   NodeUnschedulable  the node is cordoned (spec.unschedulable): it starts no new pod. (The
//                      kubelet leaves this to the scheduler; berth's agent refuses hand-bound
//                      pods too, so that a cordon holds whoever binds.)
//   OutOfpods, OutOfcpu, OutOfmemory, OutOf<extended resource>
//                      the pod's requests do not fit allocatable minus what the node's admitted
//                      pods request: "Node didn't have enough resource: cpu, requested: 500,
//                      used: 1800, capacity: 2000" (cpu in millicores, memory in bytes)
//   NodeAffinity       spec.nodeSelector does not match the node's labels
//   NodePorts          a hostPort is taken: published by another pod admitted here, by another
//                      container of the host, or held by a process of the host (portmap would
//                      otherwise take its traffic away without a word)

import { addAmounts, containerPath, containerRequests, nodeAllocatable, podRequests, shortExtended, type Node, type Pod, type ResourceAmounts } from '../../proto/resources';
import type { PortMapping } from '../network';
import { publishedPorts } from './container-spec';
import { podKey, podRef } from './naming';

export interface AdmissionInput {
  pod: Pod;
  /** This node: its labels and allocatable as it registers them, and spec.unschedulable as the controller last said. */
  node: Node;
  /** The pods admitted here that still hold their resources (not finished). */
  admitted: readonly Pod[];
  /** Of the pod's published ports, those the host has taken already, and who holds each (in words). */
  portsInUse: ReadonlyArray<{ port: PortMapping; holder: string }>;
}

/** The kubelet's rejection: a reason (status.reason, the event's reason) and a message. */
export interface Rejection {
  reason: string;
  message: string;
}

/** Undefined: admitted. */
export function admitPod(input: AdmissionInput): Rejection | undefined {
  const { pod, node, admitted } = input;
  // A DaemonSet's pod tolerates node.kubernetes.io/unschedulable, as Kubernetes adds it: a cordoned node keeps its daemons.
  const daemon = pod.metadata.ownerReferences?.some((r) => r.controller === true && r.kind === 'DaemonSet') ?? false;
  if (node.spec?.unschedulable && !daemon) return predicate('NodeUnschedulable', 'node(s) were unschedulable');

  const allocatable = nodeAllocatable(node);
  let used: ResourceAmounts = { cpu: 0, memory: 0 };
  for (const other of admitted) used = addAmounts(used, requestsOrNothing(other));
  if (admitted.length + 1 > allocatable.pods) return insufficient('pods', 1, admitted.length, allocatable.pods);
  // An unreadable quantity cannot be: the schema refused it. Counted as nothing rather than thrown.
  const request = requestsOrNothing(pod);
  if (request.cpu > 0 && request.cpu > allocatable.cpu - used.cpu) return insufficient('cpu', request.cpu, used.cpu, allocatable.cpu);
  if (request.memory > 0 && request.memory > allocatable.memory - used.memory) return insufficient('memory', request.memory, used.memory, allocatable.memory);
  const short = shortExtended(request, allocatable, used)[0];
  if (short) return insufficient(short, request.extended![short]!, used.extended?.[short] ?? 0, allocatable.extended?.[short] ?? 0);

  const labels = node.metadata.labels ?? {};
  if (Object.entries(pod.spec.nodeSelector ?? {}).some(([k, v]) => labels[k] !== v)) {
    return predicate('NodeAffinity', "node(s) didn't match Pod's node affinity/selector");
  }

  const taken = takenPorts(pod, admitted, input.portsInUse);
  if (taken) return predicate('NodePorts', `node(s) didn't have free ports for the requested pod ports (${taken})`);
  return undefined;
}

/** The status of a pod refused: Failed, for good, with the kubelet's reason and message. */
export function rejectedMessage(rejection: Rejection): string {
  return `Pod was rejected: ${rejection.message}`;
}

function predicate(name: string, reason: string): Rejection {
  return { reason: name, message: `Predicate ${name} failed: ${reason}` };
}

function insufficient(resource: string, requested: number, used: number, capacity: number): Rejection {
  return {
    reason: `OutOf${resource}`,
    message: `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`,
  };
}

function requestsOrNothing(pod: Pod): ResourceAmounts {
  try {
    return podRequests(pod);
  } catch {
    // A quantity that cannot be read: count the containers that can be.
  }
  const total = { cpu: 0, memory: 0 };
  pod.spec.containers.forEach((c, i) => {
    try {
      const r = containerRequests(c, containerPath(pod, i));
      total.cpu += r.cpu ?? 0;
      total.memory += r.memory ?? 0;
    } catch {
      // not countable: nothing
    }
  });
  return total;
}

/** "hostPort 8080/TCP is published by pod default/web-1", or undefined when every port is free. */
function takenPorts(pod: Pod, admitted: readonly Pod[], inUse: AdmissionInput['portsInUse']): string | undefined {
  const wanted = publishedPorts(pod);
  for (const port of wanted) {
    const holder = admitted.find((other) => publishedPorts(other).some((p) => p.protocol === port.protocol && p.hostPort === port.hostPort));
    if (holder) return `hostPort ${describePort(port)} is published by pod ${podKey(podRef(holder))}`;
  }
  const held = inUse[0];
  return held ? `hostPort ${describePort(held.port)} is ${held.holder}` : undefined;
}

const describePort = (p: PortMapping) => `${p.hostPort}/${p.protocol.toUpperCase()}`;
