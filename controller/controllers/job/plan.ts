// The Job controller's decision for one Job (defaults applied), as Kubernetes' syncJob. See types.ts.

import type { Condition, Container, Job, JobStatus, Pod, PodFailurePolicyRule } from '../../../proto/resources';
import { getCondition, newCondition, setCondition } from '../conditions';
import { controllerReferenceTo, eventFor, isControlledBy, refOf, sameJson, timeOf } from '../meta';
import { isBeingDeleted, isReady, isTerminated } from '../pods';
import { parseIndexes } from '../../../proto/resources/indexes';
import {
  BURST_PODS, COMPLETION_INDEX_ANNOTATION, COMPLETION_INDEX_ENV, CONTROLLER_UID_LABELS, JOB_CONTROLLER, JOB_NAME_LABELS,
  POD_FAILURE_BACKOFF_MS, type JobAction, type JobPlan,
} from './types';

const isTrue = (job: Job, type: string) => getCondition(job.status?.conditions, type)?.status === 'True';

/** Complete or Failed: nothing runs for the Job any more. */
export function isFinished(job: Job): boolean {
  return isTrue(job, 'Complete') || isTrue(job, 'Failed');
}

/** Plan one step for a Job, given its pods (others are ignored) and a source of 5-character name suffixes. */
export function plan(job: Job, allPods: readonly Pod[], now: Date, randomSuffix: () => string): JobPlan {
  const pods = allPods.filter((p) => isControlledBy(p, job));
  const actions: JobAction[] = [];
  const events: JobAction[] = [];
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    events.push({ type: 'event', event: eventFor(job, JOB_CONTROLLER, type, reason, message) });
  const deletePods = (which: readonly Pod[], reason: 'surplus' | 'job-finished' | 'suspended') => {
    for (const pod of which.slice(0, BURST_PODS)) {
      actions.push({ type: 'delete-pod', pod: refOf(pod), reason });
      event('Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
    }
  };
  let requeueAt: number | undefined;
  const requeue = (at: number) => {
    requeueAt = requeueAt === undefined ? at : Math.min(requeueAt, at);
  };

  const spec = job.spec;
  const indexed = spec.completionMode === 'Indexed';
  const active = pods.filter((p) => !isTerminated(p) && !isBeingDeleted(p));
  const succeededPods = pods.filter((p) => p.status?.phase === 'Succeeded');
  const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const rules = spec.podFailurePolicy?.rules ?? [];
  const counted = failedPods.filter((p) => matchRule(rules, p)?.rule.action !== 'Ignore');
  // With OnFailure a pod is not replaced but restarted in place: each restart counts as a failure.
  const restarts = spec.template.spec.restartPolicy === 'OnFailure' ? pods.reduce((n, p) => n + restartsOf(p), 0) : 0;
  const completions = spec.completions;
  const succeededIndexes = indexed ? new Set(succeededPods.map(indexOf).filter((i): i is number => i !== undefined && i < (completions ?? 0))) : new Set<number>();
  // backoffLimitPerIndex: each index has its own failures; an index past them (or a FailIndex
  // rule's) fails alone and is not run again, while the others go on.
  const perIndex = indexed && spec.backoffLimitPerIndex !== undefined;
  const failuresOf = new Map<number, Pod[]>();
  if (perIndex) {
    for (const pod of counted) {
      const index = indexOf(pod);
      if (index !== undefined && index < (completions ?? 0)) failuresOf.set(index, [...(failuresOf.get(index) ?? []), pod]);
    }
  }
  const failedIndexes = new Set<number>();
  for (const [index, failures] of failuresOf) {
    if (succeededIndexes.has(index)) continue;
    if (failures.length > spec.backoffLimitPerIndex! || failures.some((p) => matchRule(rules, p)?.rule.action === 'FailIndex')) failedIndexes.add(index);
  }
  const successRule = indexed ? matchedSuccessRule(spec.successPolicy?.rules ?? [], succeededIndexes) : undefined;

  let conditions = job.status?.conditions;
  let startTime = job.status?.startTime;
  let completionTime = job.status?.completionTime;
  const at = now.toISOString();

  if (!isFinished(job)) {
    if (spec.suspend) {
      // Suspended: its pods stop; it starts over (and its deadline with it) when resumed.
      if (!isTrue(job, 'Suspended')) {
        conditions = setCondition(conditions, newCondition('Suspended', 'True', 'JobSuspended', 'Job suspended', now));
        event('Normal', 'Suspended', 'Job suspended');
      }
      deletePods(active, 'suspended');
      startTime = undefined;
    } else {
      if (isTrue(job, 'Suspended')) {
        conditions = setCondition(conditions, newCondition('Suspended', 'False', 'JobResumed', 'Job resumed', now));
        event('Normal', 'Resumed', 'Job resumed');
      }
      startTime ??= at;
      const settled = succeededIndexes.size + failedIndexes.size >= (completions ?? 0);
      const failure = jobFailure(job, failedPods, counted.length + restarts, rules, timeOf(startTime)!, now)
        ?? (perIndex && spec.maxFailedIndexes !== undefined && failedIndexes.size > spec.maxFailedIndexes
          ? { reason: 'MaxFailedIndexesExceeded', message: 'Job has exceeded the specified maximal number of failed indexes' } : undefined)
        ?? (indexed && settled && failedIndexes.size > 0 ? { reason: 'FailedIndexes', message: 'Job has failed indexes' } : undefined);
      const complete = indexed
        ? successRule !== undefined || succeededIndexes.size >= (completions ?? 0)
        : completions !== undefined ? succeededPods.length >= completions : succeededPods.length > 0 && active.length === 0;
      if (failure) {
        conditions = setCondition(conditions, newCondition('Failed', 'True', failure.reason, failure.message, now));
        event('Warning', failure.reason, failure.message);
        deletePods(active, 'job-finished');
      } else if (complete && successRule !== undefined) {
        // The success policy holds: the Job is done, whatever indexes have not run.
        const message = `Matched rules at index ${successRule}`;
        conditions = setCondition(conditions, newCondition('SuccessCriteriaMet', 'True', 'SuccessPolicy', message, now));
        conditions = setCondition(conditions, newCondition('Complete', 'True', 'SuccessPolicy', message, now));
        completionTime = at;
        event('Normal', 'Completed', 'Job completed');
        deletePods(active, 'job-finished');
      } else if (complete) {
        conditions = setCondition(conditions, newCondition('Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', now));
        completionTime = at;
        event('Normal', 'Completed', 'Job completed');
        deletePods(active, 'job-finished');
      } else {
        if (spec.activeDeadlineSeconds !== undefined) requeue(timeOf(startTime)! + spec.activeDeadlineSeconds * 1000);
        const backoffUntil = perIndex ? undefined : failureBackoffUntil(counted.length + restarts, failedPods);
        // Per index, each index waits out its own failures' back-off.
        const indexBackoff = (index: number) => (perIndex ? failureBackoffUntil(failuresOf.get(index)?.length ?? 0, failuresOf.get(index) ?? []) : undefined);
        const creates = indexed
          ? indexedCreates(job, active, new Set([...succeededIndexes, ...failedIndexes]), now, backoffUntil, requeue, indexBackoff)
          : nonIndexedCreates(job, active.length, succeededPods.length, now, backoffUntil, requeue);
        if (creates.surplus > 0) deletePods(newestFirst(active).slice(0, creates.surplus), 'surplus');
        const taken = new Set(pods.map((p) => p.metadata.name));
        for (const index of creates.indexes.slice(0, BURST_PODS)) {
          const pod = podFor(job, index, uniqueName(job, index, taken, randomSuffix));
          taken.add(pod.metadata.name);
          actions.push({ type: 'create-pod', pod });
          event('Normal', 'SuccessfulCreate', createdMessage(pod.metadata.name!));
        }
        for (const duplicate of creates.duplicates) deletePods([duplicate], 'surplus');
      }
    }
  } else if (isTrue(job, 'Failed')) {
    // Pods still there after the Job failed (a delete that did not land): they go.
    deletePods(active, 'job-finished');
  }

  const status: JobStatus = {
    ...(conditions?.length ? { conditions } : {}),
    ...(startTime ? { startTime } : {}),
    ...(completionTime ? { completionTime } : {}),
    active: active.length,
    ready: active.filter(isReady).length,
    succeeded: succeededPods.length,
    failed: failedPods.length,
    ...(indexed ? { completedIndexes: formatIndexes(succeededIndexes) } : {}),
    ...(perIndex ? { failedIndexes: formatIndexes(failedIndexes) } : {}),
  };
  if (!sameJson(job.status ?? {}, status)) actions.push({ type: 'update-job-status', job: refOf(job), status });

  // ttlSecondsAfterFinished: the finished Job (and, through the garbage collector, its pods) goes.
  const finishedAt = finishTime({ ...job, status });
  if (finishedAt !== undefined && spec.ttlSecondsAfterFinished !== undefined) {
    const expires = finishedAt + spec.ttlSecondsAfterFinished * 1000;
    if (expires <= now.getTime()) actions.push({ type: 'delete-job', job: refOf(job) });
    else requeue(expires);
  }
  actions.push(...events);
  return { actions, ...(requeueAt !== undefined ? { requeueAfterMs: Math.max(1, requeueAt - now.getTime()) } : {}) };
}

export const createdMessage = (name: string) => `Created pod: ${name}`;

/** The first successPolicy rule that holds (its index in the list), if any. */
function matchedSuccessRule(rules: NonNullable<Job['spec']['successPolicy']>['rules'], succeeded: ReadonlySet<number>): number | undefined {
  const index = rules.findIndex((rule) => {
    const among = rule.succeededIndexes !== undefined ? [...parseIndexes(rule.succeededIndexes)] : undefined;
    const done = among ? among.filter((i) => succeeded.has(i)).length : succeeded.size;
    return rule.succeededCount !== undefined ? done >= rule.succeededCount : among !== undefined && done === among.length;
  });
  return index < 0 ? undefined : index;
}

/** Why the Job fails now, if it does: a FailJob rule, more failures than backoffLimit, or its deadline. */
function jobFailure(job: Job, failed: readonly Pod[], failures: number, rules: readonly PodFailurePolicyRule[], startedAt: number, now: Date): { reason: string; message: string } | undefined {
  for (const pod of failed) {
    const match = matchRule(rules, pod);
    if (match?.rule.action === 'FailJob') {
      return { reason: 'PodFailurePolicy', message: `${match.what} for pod ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name} ${match.how} matching FailJob rule at index ${match.index}` };
    }
  }
  if (failures > (job.spec.backoffLimit ?? 6)) return { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  const deadline = job.spec.activeDeadlineSeconds;
  if (deadline !== undefined && now.getTime() - startedAt >= deadline * 1000) return { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  return undefined;
}

/** The first podFailurePolicy rule a failed pod matches, with Kubernetes' words for why. */
export function matchRule(rules: readonly PodFailurePolicyRule[], pod: Pod): { rule: PodFailurePolicyRule; index: number; what: string; how: string } | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const [index, rule] of rules.entries()) {
    if (rule.onExitCodes) {
      const { containerName, operator, values } = rule.onExitCodes;
      for (const s of statuses) {
        const code = s.state?.terminated?.exitCode;
        if (code === undefined || code === 0 || (containerName && s.name !== containerName)) continue;
        if ((operator === 'In') === values.includes(code)) return { rule, index, what: `Container ${s.name}`, how: `failed with exit code ${code}` };
      }
    }
    for (const pattern of rule.onPodConditions ?? []) {
      const condition = pod.status?.conditions?.find((c: Condition) => c.type === pattern.type);
      if (condition && condition.status === (pattern.status ?? 'True')) return { rule, index, what: 'Pod', how: `has condition ${pattern.type}` };
    }
  }
  return undefined;
}

/** The time before which no replacement is made after `failures` failures: the last failure plus the back-off. */
function failureBackoffUntil(failures: number, failed: readonly Pod[]): number | undefined {
  if (failures === 0) return undefined;
  const last = Math.max(...failed.map(finishedAt).filter((t): t is number => t !== undefined), Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(last)) return undefined;
  const delay = Math.min(POD_FAILURE_BACKOFF_MS.initial * 2 ** Math.min(failures - 1, 20), POD_FAILURE_BACKOFF_MS.max);
  return last + delay;
}

interface Creates {
  /** Completion indexes of the pods to make (NonIndexed: all undefined). */
  indexes: (number | undefined)[];
  /** Active pods beyond parallelism, to delete. */
  surplus: number;
  /** Active pods that share an index with another: the newer go. */
  duplicates: Pod[];
}

function nonIndexedCreates(job: Job, active: number, succeeded: number, now: Date, backoffUntil: number | undefined, requeue: (at: number) => void): Creates {
  const parallelism = job.spec.parallelism ?? 1;
  const completions = job.spec.completions;
  // A work queue (no completions): once one pod succeeded, no new ones; the others finish.
  const wanted = completions !== undefined ? Math.min(parallelism, completions - succeeded) : succeeded > 0 ? 0 : parallelism;
  if (active > wanted) return { indexes: [], surplus: active - wanted, duplicates: [] };
  if (backoffUntil !== undefined && now.getTime() < backoffUntil && active < wanted) {
    requeue(backoffUntil);
    return { indexes: [], surplus: 0, duplicates: [] };
  }
  return { indexes: Array.from({ length: Math.max(0, wanted - active) }, () => undefined), surplus: 0, duplicates: [] };
}

/** `done`: the indexes not to run again (succeeded, or failed for good); `indexBackoff`: an index's own back-off, if any. */
function indexedCreates(job: Job, active: readonly Pod[], done: ReadonlySet<number>, now: Date, backoffUntil: number | undefined, requeue: (at: number) => void,
  indexBackoff: (index: number) => number | undefined): Creates {
  const parallelism = job.spec.parallelism ?? 1;
  const completions = job.spec.completions ?? 0;
  const running = new Map<number, Pod>();
  const duplicates: Pod[] = [];
  for (const pod of [...active].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''))) {
    const index = indexOf(pod);
    if (index === undefined || index >= completions || done.has(index) || running.has(index)) duplicates.push(pod);
    else running.set(index, pod);
  }
  const room = parallelism - running.size;
  if (room <= 0) return { indexes: [], surplus: Math.max(0, -room), duplicates };
  if (backoffUntil !== undefined && now.getTime() < backoffUntil) {
    requeue(backoffUntil);
    return { indexes: [], surplus: 0, duplicates };
  }
  const missing: number[] = [];
  for (let i = 0; i < completions && missing.length < room; i++) {
    if (done.has(i) || running.has(i)) continue;
    const until = indexBackoff(i);
    if (until !== undefined && now.getTime() < until) {
      requeue(until);
      continue;
    }
    missing.push(i);
  }
  return { indexes: missing, surplus: 0, duplicates };
}

/** A pod of the Job's template: its labels plus the Job's, controlled by the Job; an Indexed one knows its index. */
export function podFor(job: Job, index: number | undefined, name: string): Pod & { metadata: { name: string } } {
  const template = structuredClone(job.spec.template);
  const spec = template.spec;
  delete spec.nodeName;
  const labels: Record<string, string> = { ...template.metadata?.labels };
  for (const key of JOB_NAME_LABELS) labels[key] = job.metadata.name ?? '';
  for (const key of CONTROLLER_UID_LABELS) labels[key] = job.metadata.uid ?? '';
  const annotations: Record<string, string> = { ...template.metadata?.annotations };
  if (index !== undefined) {
    labels[COMPLETION_INDEX_ANNOTATION] = String(index);
    annotations[COMPLETION_INDEX_ANNOTATION] = String(index);
    // A stable host name per index, as Kubernetes gives an Indexed Job's pods.
    spec.hostname ??= `${job.metadata.name}-${index}`;
    const withIndex = (c: Container): Container => ({
      ...c,
      env: [...(c.env ?? []).filter((e) => e.name !== COMPLETION_INDEX_ENV), { name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } }],
    });
    spec.containers = spec.containers.map(withIndex);
    if (spec.initContainers) spec.initContainers = spec.initContainers.map(withIndex);
  }
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: job.metadata.namespace, labels, ...(Object.keys(annotations).length ? { annotations } : {}), ownerReferences: [controllerReferenceTo(job)] },
    spec,
    status: { phase: 'Pending' },
  };
}

function uniqueName(job: Job, index: number | undefined, taken: Set<string | undefined>, randomSuffix: () => string): string {
  const base = index === undefined ? job.metadata.name : `${job.metadata.name}-${index}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const name = `${base}-${randomSuffix()}`;
    if (!taken.has(name)) return name;
  }
  throw new Error(`job ${job.metadata.name}: the name generator gave 100 names in a row that are taken`);
}

/** An Indexed Job pod's completion index; undefined for another pod. */
export function indexOf(pod: Pod): number | undefined {
  const value = pod.metadata.annotations?.[COMPLETION_INDEX_ANNOTATION];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** "0-2,4,6-7": Kubernetes' completedIndexes. */
export function formatIndexes(indexes: ReadonlySet<number>): string {
  const sorted = [...indexes].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/** When the Job finished (Complete or Failed became True); undefined while it runs. */
export function finishTime(job: Job): number | undefined {
  const done = (job.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  return done ? timeOf(done.lastTransitionTime) : undefined;
}

function restartsOf(pod: Pod): number {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].reduce((n, c) => n + (c.restartCount ?? 0), 0);
}

function finishedAt(pod: Pod): number | undefined {
  const times = (pod.status?.containerStatuses ?? []).map((c) => timeOf(c.state?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : timeOf(pod.metadata.creationTimestamp);
}

const newestFirst = (pods: readonly Pod[]) => [...pods].sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
