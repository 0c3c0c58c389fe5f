// berth drain NODE: cordon the node, then evict its pods (each only when its PodDisruptionBudget
// allows: refused evictions are tried again every 5 s) and wait until they are gone, as kubectl
// drain does, in its words. Which pods may go is decided first, for all of them (kubectl's
// filters): daemon pods stay (their DaemonSet would put them back) and refuse the drain unless
// --ignore-daemonsets; pods no controller would remake refuse it unless --force; pods with an
// emptyDir refuse it unless --delete-emptydir-data; finished pods and pods already going are fine.

import { setTimeout as sleep } from 'node:timers/promises';
import type { DaemonSet, Pod } from '../../proto/resources';
import { durationFlag, parseFlags, requireArgs } from '../common/args';
import { CliError } from '../common/errors';
import { cordon } from './cordon';
import { ServerError } from './errors';
import type { ClusterClient, Verb } from './types';

/** How long a refused eviction waits before it is asked again (kubectl's). */
export const EVICTION_RETRY_MS = 5000;
const POLL_MS = 1000;

export interface DrainFlags {
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  force: boolean;
}

export interface DrainSelection {
  /** The pods to evict (or delete), in the order listed. */
  pods: Pod[];
  /** A warning per reason, with the pods it names ("ignoring DaemonSet-managed Pods"). */
  warnings: Map<string, Pod[]>;
  /** A reason the drain cannot go on, with the pods it names. */
  errors: Map<string, Pod[]>;
}

const isFinished = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const controllerOf = (pod: Pod) => pod.metadata.ownerReferences?.find((r) => r.controller);

/** kubectl drain's filters over the node's pods. Pure: `daemonSetExists` says whether a daemon pod's owner is still there. */
export function selectPodsToDrain(pods: readonly Pod[], flags: DrainFlags, daemonSetExists: (pod: Pod) => boolean): DrainSelection {
  const selection: DrainSelection = { pods: [], warnings: new Map(), errors: new Map() };
  const note = (into: Map<string, Pod[]>, reason: string, pod: Pod) => into.set(reason, [...(into.get(reason) ?? []), pod]);
  for (const pod of pods) {
    const owner = controllerOf(pod);
    const finished = isFinished(pod);
    let blocked = false;
    if (owner?.kind === 'DaemonSet' && !finished) {
      if (!daemonSetExists(pod)) {
        // An orphan: nothing would remake it, so only --force takes it (kubectl's words: the lookup's error).
        const gone = `daemonsets.apps "${owner.name}" not found`;
        if (flags.force) note(selection.warnings, gone, pod);
        else {
          note(selection.errors, `cannot delete ${gone}`, pod);
          blocked = true;
        }
      } else {
        // Its DaemonSet would put it back at once: it stays.
        if (flags.ignoreDaemonSets) note(selection.warnings, 'ignoring DaemonSet-managed Pods', pod);
        else note(selection.errors, 'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)', pod);
        continue;
      }
    }
    if (!finished && (pod.spec.volumes ?? []).some((v) => v.emptyDir)) {
      if (flags.deleteEmptyDirData) note(selection.warnings, 'deleting Pods with local storage', pod);
      else {
        note(selection.errors, 'cannot delete Pods with local storage (use --delete-emptydir-data to override)', pod);
        blocked = true;
      }
    }
    if (!finished && !owner) {
      if (flags.force) note(selection.warnings, 'deleting Pods that declare no controller', pod);
      else {
        note(selection.errors, 'cannot delete Pods that declare no controller (use --force to override)', pod);
        blocked = true;
      }
    }
    if (!blocked) selection.pods.push(pod);
  }
  return selection;
}

const podList = (pods: readonly Pod[]) => pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ');

export const drain: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    'ignore-daemonsets': { type: 'boolean' },
    'delete-emptydir-data': { type: 'boolean' },
    force: { type: 'boolean' },
    'disable-eviction': { type: 'boolean' },
    'pod-selector': { type: 'string' },
    timeout: { type: 'string' },
  });
  requireArgs(positionals, 1, 'berth drain NODE');
  const node = positionals[0]!.replace(/^(nodes?|no)\//, '');
  const timeoutMs = durationFlag('--timeout', values.timeout) ?? 0;
  const deadline = timeoutMs > 0 ? ctx.now().getTime() + timeoutMs : Infinity;

  await ctx.client.get('Node', undefined, node);
  await cordon(ctx, [node]);

  const { items } = await ctx.client.list<Pod>('Pod', { fieldSelector: `spec.nodeName=${node}`, ...(values['pod-selector'] ? { labelSelector: values['pod-selector'] } : {}) });
  const daemonSets = new Set((await ctx.client.list<DaemonSet>('DaemonSet')).items.map((d) => d.metadata.uid));
  const selection = selectPodsToDrain(items, {
    ignoreDaemonSets: values['ignore-daemonsets'] ?? false,
    deleteEmptyDirData: values['delete-emptydir-data'] ?? false,
    force: values.force ?? false,
  }, (pod) => daemonSets.has(controllerOf(pod)?.uid));
  if (selection.errors.size > 0) {
    const reasons = [...selection.errors].map(([reason, pods]) => `${reason}: ${podList(pods)}`).join(', ');
    throw new CliError(`unable to drain node "${node}" due to error: ${reasons}`);
  }
  for (const [reason, pods] of selection.warnings) ctx.err(`Warning: ${reason}: ${podList(pods)}\n`);

  const evict = !values['disable-eviction'];
  const results = await Promise.all(selection.pods.map((pod) => removePod(ctx.client, pod, evict, deadline, ctx)));
  const failed = results.filter((r) => r !== undefined);
  if (failed.length > 0) throw new CliError(`unable to drain node "${node}" due to error: ${failed.join(', ')}`);
  ctx.out(`node/${node} drained\n`);
  return 0;
};

/** Evict (or delete) one pod, retrying while its budget refuses, then wait until it is gone; an error text when it did not go. */
async function removePod(client: ClusterClient, pod: Pod, evict: boolean, deadline: number, io: { out: (s: string) => void; err: (s: string) => void; now: () => Date }): Promise<string | undefined> {
  const { namespace = 'default', name = '', uid } = pod.metadata;
  for (;;) {
    if (evict) io.out(`evicting pod ${namespace}/${name}\n`);
    try {
      if (evict) await client.evict(namespace, name);
      else await client.delete('Pod', namespace, name);
      break;
    } catch (err) {
      if (err instanceof ServerError && err.code === 'not-found') break;
      if (!(err instanceof ServerError && err.code === 'resource-exhausted')) return `error when evicting pods/"${name}" -n "${namespace}": ${(err as Error).message}`;
      if (io.now().getTime() + EVICTION_RETRY_MS > deadline) return `error when evicting pods/"${name}" -n "${namespace}": global timeout reached`;
      io.err(`error when evicting pods/"${name}" -n "${namespace}" (will retry after 5s): ${err.details}\n`);
      await sleep(EVICTION_RETRY_MS);
    }
  }
  // Gone means not found, or a pod of the same name that is another one (a StatefulSet's).
  for (;;) {
    const current = await client.get<Pod>('Pod', namespace, name).catch((err: unknown) => {
      if (err instanceof ServerError && err.code === 'not-found') return undefined;
      throw err;
    });
    if (!current || current.metadata.uid !== uid) break;
    if (io.now().getTime() + POLL_MS > deadline) return `error when waiting for pod "${name}" in namespace "${namespace}" to terminate: global timeout reached`;
    await sleep(POLL_MS);
  }
  io.out(`pod/${name} ${evict ? 'evicted' : 'deleted'}\n`);
  return undefined;
}
