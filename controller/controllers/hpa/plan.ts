// The horizontal pod autoscaler's decision, pure: Kubernetes' algorithm (pkg/controller/podautoscaler:
// the replica calculator, then the behavior's stabilization and rate limits) over the pods of the
// target and the usage the agents reported.
//
//   per metric   ratio = (usage of the ready pods with metrics / their requests) / target; within
//                10% of 1: keep the count; else pods without metrics count as using their request
//                (scaling down) or nothing (up), not-ready pods as nothing when scaling up, and the
//                proposal is ceil(ratio * pods counted), unless that turns the direction around.
//   metrics      the largest proposal.
//   stabilize    the highest recommendation of the scale-down window (300 s), the lowest of the
//                scale-up window (0 s), the current count between them.
//   rate         per period, policies of Pods or Percent (up: 4 pods or 100% per 15 s, the larger;
//                down: 100% per 15 s), counting the changes already made in the period.
//   bounds       minReplicas..maxReplicas.

import {
  parseCpu, parseMemory, podRequests, type Condition, type HorizontalPodAutoscaler, type HorizontalPodAutoscalerStatus,
  type MetricSpec, type MetricTarget, type NodeMetricsReport, type Pod, type ScalingRules,
} from '../../../proto/resources';

export const TOLERANCE = 0.1;
/** How often an autoscaler is looked at (the kube-controller-manager's --horizontal-pod-autoscaler-sync-period). */
export const SYNC_PERIOD_MS = 15_000;

const DEFAULT_SCALE_UP: Required<ScalingRules> = { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] };
const DEFAULT_SCALE_DOWN: Required<ScalingRules> = { stabilizationWindowSeconds: 300, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

/** What the loop remembers of an autoscaler between passes (Kubernetes keeps it in memory too). */
export interface AutoscalerMemory {
  recommendations: Array<{ atMs: number; replicas: number }>;
  /** Replica changes made: positive up, negative down. */
  scaleEvents: Array<{ atMs: number; change: number }>;
}

export interface AutoscalerInput {
  hpa: HorizontalPodAutoscaler;
  /** The target's spec.replicas now; undefined when the target does not exist. */
  currentReplicas: number | undefined;
  /** The target's pods (its selector's, in its namespace). */
  pods: readonly Pod[];
  reports: readonly NodeMetricsReport[];
  memory: AutoscalerMemory;
  nowMs: number;
}

export interface AutoscalerDecision {
  /** The count to set on the target; undefined: leave it. */
  scaleTo?: number;
  /** Why, for the SuccessfulRescale event. */
  reason?: string;
  status: HorizontalPodAutoscalerStatus;
  memory: AutoscalerMemory;
}

interface Proposal {
  replicas: number;
  description: string;
  current: NonNullable<HorizontalPodAutoscalerStatus['currentMetrics']>[number];
}

export function planAutoscaler(input: AutoscalerInput): AutoscalerDecision {
  const { hpa, nowMs } = input;
  const now = new Date(nowMs).toISOString();
  const min = hpa.spec.minReplicas ?? 1;
  const max = hpa.spec.maxReplicas;
  const base = { observedGeneration: hpa.metadata.generation, ...(hpa.status?.lastScaleTime ? { lastScaleTime: hpa.status.lastScaleTime } : {}) };
  const cond = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
    const before = hpa.status?.conditions?.find((c) => c.type === type);
    return { type, status, reason, message, lastTransitionTime: before?.status === status ? before.lastTransitionTime ?? now : now };
  };
  if (input.currentReplicas === undefined) {
    return {
      status: { ...base, currentReplicas: 0, desiredReplicas: 0, conditions: [cond('AbleToScale', 'False', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${hpa.spec.scaleTargetRef.kind.toLowerCase()}s "${hpa.spec.scaleTargetRef.name}" not found`)] },
      memory: input.memory,
    };
  }
  const current = input.currentReplicas;
  // A fresh autoscaler (or a new leader) remembers the current count as just recommended, so the
  // scale-down window holds from its first pass (Kubernetes' maybeInitScaleDownStabilizationWindow).
  const remembered = input.memory.recommendations.length ? input.memory : { ...input.memory, recommendations: [{ atMs: nowMs, replicas: current }] };
  if (current === 0) {
    return {
      status: { ...base, currentReplicas: 0, desiredReplicas: 0, conditions: [cond('AbleToScale', 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale'), cond('ScalingActive', 'False', 'ScalingDisabled', 'scaling is disabled since the replica count of the target is zero')] },
      memory: input.memory,
    };
  }

  const usage = podUsage(input.reports);
  const proposals: Proposal[] = [];
  let failure: string | undefined;
  for (const metric of metricsOf(hpa)) {
    const result = proposeFor(metric, current, input.pods, usage);
    if (typeof result === 'string') failure ??= result;
    else proposals.push(result);
  }
  if (proposals.length === 0) {
    // Without a calculation the count is still kept within the bounds, as Kubernetes does first.
    const bounded = Math.min(Math.max(current, min), max);
    return {
      ...(bounded !== current ? { scaleTo: bounded, reason: `Current number of replicas ${current > max ? 'above Spec.MaxReplicas' : 'below Spec.MinReplicas'}` } : {}),
      status: { ...base, currentReplicas: current, desiredReplicas: bounded, conditions: [cond('AbleToScale', 'True', 'SucceededGetScale', 'the HPA controller was able to get the target\'s current scale'), cond('ScalingActive', 'False', 'FailedGetResourceMetric', `the HPA was unable to compute the replica count: ${failure ?? 'no metrics'}`)] },
      memory: remembered,
    };
  }
  const currentMetrics = proposals.map((p) => p.current);
  const best = proposals.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  const prenormalized = best.replicas;

  // Stabilization over the remembered recommendations, then this one remembered.
  const up = { ...DEFAULT_SCALE_UP, ...hpa.spec.behavior?.scaleUp };
  const down = { ...DEFAULT_SCALE_DOWN, ...hpa.spec.behavior?.scaleDown };
  const longest = Math.max(up.stabilizationWindowSeconds, down.stabilizationWindowSeconds) * 1000;
  // A recommendation counts while it is younger than the window (one made now, with a window of 0, does not).
  const recommendations = remembered.recommendations.filter((r) => nowMs - r.atMs < longest);
  let upRecommendation = prenormalized;
  let downRecommendation = prenormalized;
  for (const r of recommendations) {
    if (nowMs - r.atMs < up.stabilizationWindowSeconds * 1000) upRecommendation = Math.min(upRecommendation, r.replicas);
    if (nowMs - r.atMs < down.stabilizationWindowSeconds * 1000) downRecommendation = Math.max(downRecommendation, r.replicas);
  }
  let desired = Math.min(Math.max(current, upRecommendation), downRecommendation);
  const stabilized = desired;

  // Rate limits from the policies, then the bounds.
  const longestPeriod = Math.max(...[...up.policies, ...down.policies].map((p) => p.periodSeconds), 0) * 1000;
  const scaleEvents = input.memory.scaleEvents.filter((e) => nowMs - e.atMs <= longestPeriod);
  let limited: Condition = cond('ScalingLimited', 'False', 'DesiredWithinRange', 'the desired count is within the acceptable range');
  if (desired > current) {
    const limit = Math.max(current, scaleUpLimit(current, scaleEvents, up, nowMs));
    if (desired > limit) {
      desired = limit;
      limited = cond('ScalingLimited', 'True', 'ScaleUpLimit', 'the desired replica count is increasing faster than the maximum scale rate');
    }
  } else if (desired < current) {
    const limit = Math.min(current, scaleDownLimit(current, scaleEvents, down, nowMs));
    if (desired < limit) {
      desired = limit;
      limited = cond('ScalingLimited', 'True', 'ScaleDownLimit', 'the desired replica count is decreasing faster than the maximum scale rate');
    }
  }
  if (desired > max) {
    desired = max;
    limited = cond('ScalingLimited', 'True', 'TooManyReplicas', 'the desired replica count is more than the maximum replica count');
  } else if (desired < min) {
    desired = min;
    limited = cond('ScalingLimited', 'True', 'TooFewReplicas', 'the desired replica count is less than the minimum replica count');
  }

  const memory: AutoscalerMemory = {
    recommendations: [...recommendations, { atMs: nowMs, replicas: prenormalized }],
    scaleEvents: desired !== current ? [...scaleEvents, { atMs: nowMs, change: desired - current }] : scaleEvents,
  };
  const active = cond('ScalingActive', 'True', 'ValidMetricFound', `the HPA was able to successfully calculate a replica count from ${best.description}`);
  if (desired === current) {
    const message = stabilized !== prenormalized && stabilized === current ? 'recent recommendations were higher than current one, applying the highest recent recommendation' : 'recommended size matches current size';
    return {
      status: { ...base, currentReplicas: current, desiredReplicas: current, currentMetrics, conditions: [cond('AbleToScale', 'True', 'ReadyForNewScale', message), active, limited] },
      memory,
    };
  }
  return {
    scaleTo: desired,
    reason: `${best.description} ${desired > current ? 'above' : 'below'} target`,
    status: { ...base, lastScaleTime: now, currentReplicas: current, desiredReplicas: desired, currentMetrics, conditions: [cond('AbleToScale', 'True', 'SucceededRescale', `the HPA controller was able to update the target scale to ${desired}`), active, limited] },
    memory,
  };
}

/** The metrics an autoscaler scales by: its own, or Kubernetes' default of cpu at 80%. */
export function metricsOf(hpa: HorizontalPodAutoscaler): MetricSpec[] {
  return hpa.spec.metrics?.length ? hpa.spec.metrics : [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
}

function scaleUpLimit(current: number, events: AutoscalerMemory['scaleEvents'], rules: Required<ScalingRules>, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const proposals = rules.policies.map((p) => {
    // The count at the period's start: every change in it undone, either way.
    const start = current - events.filter((e) => nowMs - e.atMs <= p.periodSeconds * 1000).reduce((a, e) => a + e.change, 0);
    return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
  });
  return rules.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
}

function scaleDownLimit(current: number, events: AutoscalerMemory['scaleEvents'], rules: Required<ScalingRules>, nowMs: number): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const proposals = rules.policies.map((p) => {
    const start = current - events.filter((e) => nowMs - e.atMs <= p.periodSeconds * 1000).reduce((a, e) => a + e.change, 0);
    return p.type === 'Pods' ? start - p.value : Math.floor(start * (1 - p.value / 100));
  });
  // Max: the policy allowing the biggest change, which for a scale down is the fewest replicas.
  return rules.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
}

type Usage = Map<string, Map<string, { cpuMillis: number; memoryBytes: number }>>;

/** pod uid -> container name -> usage, from every fresh report. */
function podUsage(reports: readonly NodeMetricsReport[]): Usage {
  const out: Usage = new Map();
  for (const r of reports) {
    for (const p of r.pods) {
      out.set(p.uid, new Map(p.containers.map((c) => [c.name, { cpuMillis: c.cpuCores * 1000, memoryBytes: c.memoryBytes }])));
    }
  }
  return out;
}

const isReady = (pod: Pod) => pod.status?.phase === 'Running' && !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** A metric's proposal, or why there is none. */
function proposeFor(metric: MetricSpec, current: number, allPods: readonly Pod[], usage: Usage): Proposal | string {
  if (metric.type !== 'Resource' && metric.type !== 'ContainerResource') {
    return `${metric.type} metrics need a custom or external metrics API, which berth does not serve`;
  }
  const source = metric.type === 'Resource' ? metric.resource! : metric.containerResource!;
  const container = metric.type === 'ContainerResource' ? metric.containerResource!.container : undefined;
  const resource = source.name;
  if (resource !== 'cpu' && resource !== 'memory') return `no metrics for resource ${resource}: berth measures cpu and memory`;
  const what = `${resource} resource${container ? ` of container ${container}` : ''}`;
  const pods = allPods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded');
  if (pods.length === 0) return `failed to get ${resource} utilization: no pods`;
  const of = (pod: Pod): number | undefined => {
    const containers = usage.get(pod.metadata.uid ?? '');
    if (!containers || (container && !containers.has(container))) return undefined;
    let sum = 0;
    for (const [name, u] of containers) if (!container || name === container) sum += resource === 'cpu' ? u.cpuMillis : u.memoryBytes;
    return sum;
  };
  const requestOf = (pod: Pod): number | undefined => {
    if (container) {
      const c = pod.spec.containers.find((x) => x.name === container);
      const r = c?.resources?.requests?.[resource];
      return r === undefined ? undefined : resource === 'cpu' ? parseCpu(r) : parseMemory(r);
    }
    // Kubernetes asks every container for a request (a limit alone stands for one), or the pod for its own.
    const key = resource as 'cpu' | 'memory';
    const asked = (r: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } } | undefined) => r?.requests?.[key] !== undefined || r?.limits?.[key] !== undefined;
    if (!asked(pod.spec.resources) && !pod.spec.containers.every((c) => asked(c.resources))) return undefined;
    const r = podRequests(pod);
    return resource === 'cpu' ? r.cpu : r.memory;
  };
  const target = source.target;
  const utilization = target.type === 'Utilization';
  const measured = new Map<Pod, number>();
  const missing: Pod[] = [];
  const unready: Pod[] = [];
  for (const pod of pods) {
    const value = of(pod);
    if (value === undefined) missing.push(pod);
    else if (resource === 'cpu' && !isReady(pod)) unready.push(pod);
    else measured.set(pod, value);
  }
  if (measured.size === 0) return `failed to get ${resource} utilization: unable to get metrics for resource ${resource}: no metrics returned from the agents`;
  let requests = new Map<Pod, number>();
  if (utilization) {
    for (const pod of pods) {
      const r = requestOf(pod);
      if (r === undefined) return `failed to get ${resource} utilization: missing request for ${resource} in ${container ? `container ${container} of ` : ''}pod ${pod.metadata.name}`;
      requests.set(pod, r);
    }
  } else requests = new Map(pods.map((p) => [p, 1]));
  const targetValue = utilization ? target.averageUtilization! / 100 : averageValueOf(target, resource);
  const ratioOf = (values: Map<Pod, number>) => {
    let used = 0;
    let asked = 0;
    for (const [pod, v] of values) {
      used += v;
      asked += requests.get(pod)!;
    }
    return utilization ? used / asked / targetValue : used / values.size / targetValue;
  };
  const ratio = ratioOf(measured);
  const averageUsage = [...measured.values()].reduce((a, b) => a + b, 0) / measured.size;
  const currentUtilization = utilization ? Math.round((100 * [...measured.values()].reduce((a, b) => a + b, 0)) / [...measured.keys()].reduce((a, p) => a + requests.get(p)!, 0)) : undefined;
  const currentMetric = { type: metric.type, ...(container ? { containerResource: { name: resource, container, current: currentOf(currentUtilization, averageUsage, resource) } } : { resource: { name: resource, current: currentOf(currentUtilization, averageUsage, resource) } }) } as Proposal['current'];
  const description = `${what} ${utilization ? 'utilization (percentage of request)' : ''}`.trim();
  const scaleUpWithUnready = unready.length > 0 && ratio > 1;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1 - ratio) <= TOLERANCE) return { replicas: current, description, current: currentMetric };
    return { replicas: Math.ceil(ratio * measured.size), description, current: currentMetric };
  }
  // Fill in: missing pods use their whole request (down) or nothing (up); unready pods nothing (up).
  const filled = new Map(measured);
  // (Kubernetes: a missing pod uses max(100%, target) of its request when scaling down.)
  for (const pod of missing) filled.set(pod, ratio < 1 ? (utilization ? requests.get(pod)! * Math.max(1, targetValue) : targetValue) : 0);
  if (scaleUpWithUnready) for (const pod of unready) filled.set(pod, 0);
  const newRatio = ratioOf(filled);
  if (Math.abs(1 - newRatio) <= TOLERANCE || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) return { replicas: current, description, current: currentMetric };
  const replicas = Math.ceil(newRatio * filled.size);
  if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return { replicas: current, description, current: currentMetric };
  return { replicas, description, current: currentMetric };
}

function averageValueOf(target: MetricTarget, resource: string): number {
  const v = target.averageValue ?? 0;
  return resource === 'cpu' ? parseCpu(v) : parseMemory(v);
}

function currentOf(utilization: number | undefined, average: number, resource: string): { averageUtilization?: number; averageValue?: string } {
  const value = resource === 'cpu' ? `${Math.round(average)}m` : `${Math.round(average)}`;
  return { ...(utilization !== undefined ? { averageUtilization: utilization } : {}), averageValue: value };
}
