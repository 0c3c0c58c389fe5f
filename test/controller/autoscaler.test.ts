// The horizontal pod autoscaler's decision as a pure function: Kubernetes' replica calculation
// (tolerance, pods without metrics or not ready), stabilization windows, rate policies, bounds,
// and the conditions and reasons it reports.

import t from 'tap';
import { planAutoscaler, type AutoscalerInput } from '../../controller/controllers/hpa/plan';
import type { HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, NodeMetricsReport, Pod } from '../../proto/resources';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const hpa = (spec: Partial<HorizontalPodAutoscalerSpec> = {}): HorizontalPodAutoscaler => ({
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default', uid: 'h1', generation: 1 },
  spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }], ...spec },
});
const pod = (name: string, opts: { cpu?: string; memory?: string; ready?: boolean } = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `u-${name}` },
  spec: { containers: [{ name: 'web', image: 'x', resources: { requests: { ...(opts.cpu !== undefined ? { cpu: opts.cpu } : { cpu: '100m' }), ...(opts.memory ? { memory: opts.memory } : {}) } } }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }] },
});
const report = (usage: Record<string, { cpu?: number; memory?: number }>): NodeMetricsReport => ({
  node: 'n1', timestamp: new Date(NOW).toISOString(), windowSeconds: 15, usage: { cpuCores: 1, memoryBytes: 1 },
  pods: Object.entries(usage).map(([name, u]) => ({ namespace: 'default', name, uid: `u-${name}`, containers: [{ name: 'web', cpuCores: (u.cpu ?? 0) / 1000, memoryBytes: u.memory ?? 0 }] })),
});
const plan = (over: Partial<AutoscalerInput>) => planAutoscaler({
  hpa: hpa(), currentReplicas: 2, pods: [pod('a'), pod('b')], reports: [], memory: { recommendations: [], scaleEvents: [] }, nowMs: NOW, ...over,
});
const condition = (d: ReturnType<typeof plan>, type: string) => d.status.conditions?.find((c) => c.type === type);

t.test('scale up by utilization, as fast as the default policies allow', async (t) => {
  const d = plan({ reports: [report({ a: { cpu: 200 }, b: { cpu: 200 } })] });
  // 400% of requests against 50%: 8 wanted; 4 pods or 100% per 15 s from 2 allows 6.
  t.equal(d.scaleTo, 6);
  t.match(condition(d, 'ScalingLimited'), { status: 'True', reason: 'ScaleUpLimit' });
  t.match(condition(d, 'AbleToScale'), { status: 'True', reason: 'SucceededRescale', message: 'the HPA controller was able to update the target scale to 6' });
  t.match(condition(d, 'ScalingActive'), { status: 'True', reason: 'ValidMetricFound', message: 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)' });
  t.same(d.status.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 200, averageValue: '200m' } } }]);
  t.equal(d.reason, 'cpu resource utilization (percentage of request) above target');
  const next = plan({ currentReplicas: 6, memory: d.memory, nowMs: NOW + 5000, reports: [report({ a: { cpu: 200 }, b: { cpu: 200 } })] });
  t.equal(next.scaleTo, undefined, 'within the period the 4 pods added already use the Pods policy up, and 100% of 2 is 4: no more');
});

t.test('within 10% of the target: no change', async (t) => {
  const d = plan({ reports: [report({ a: { cpu: 54 }, b: { cpu: 54 } })] });
  t.equal(d.scaleTo, undefined);
  t.match(condition(d, 'AbleToScale'), { reason: 'ReadyForNewScale', message: 'recommended size matches current size' });
});

t.test('scale down waits out the stabilization window', async (t) => {
  const busy = { recommendations: [{ atMs: NOW - 60_000, replicas: 4 }], scaleEvents: [] };
  const idle = report({ a: { cpu: 5 }, b: { cpu: 5 }, c: { cpu: 5 }, d: { cpu: 5 } });
  const pods = ['a', 'b', 'c', 'd'].map((n) => pod(n));
  const held = plan({ currentReplicas: 4, pods, reports: [idle], memory: busy });
  t.equal(held.scaleTo, undefined, 'a higher recommendation 60 s ago holds the count for 300 s');
  t.match(condition(held, 'AbleToScale'), { message: 'recent recommendations were higher than current one, applying the highest recent recommendation' });
  const later = plan({ currentReplicas: 4, pods, reports: [idle], memory: { ...busy, recommendations: [{ atMs: NOW - 301_000, replicas: 4 }] } });
  t.equal(later.scaleTo, 1, 'once it is older than the window: 10% of the target on 4 pods is 1 pod');
  const noWindow = plan({ hpa: hpa({ minReplicas: 2, behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }), currentReplicas: 4, pods, reports: [idle], memory: busy });
  t.equal(noWindow.scaleTo, 2, 'a window of 0, and minReplicas 2');
  t.match(condition(noWindow, 'ScalingLimited'), { status: 'True', reason: 'TooFewReplicas' });
  const slow = plan({ hpa: hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } }), currentReplicas: 4, pods, reports: [idle] });
  t.equal(slow.scaleTo, 3, 'one pod per minute down');
  t.match(condition(slow, 'ScalingLimited'), { reason: 'ScaleDownLimit' });
  const disabled = plan({ hpa: hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Disabled' } } }), currentReplicas: 4, pods, reports: [idle] });
  t.equal(disabled.scaleTo, undefined, 'selectPolicy Disabled: never down');
});

t.test('pods without metrics, and pods not ready', async (t) => {
  // Scaling down, a pod without metrics counts as using max(100%, target) of its request.
  const down = plan({ hpa: hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }), currentReplicas: 3, pods: [pod('a'), pod('b'), pod('c')], reports: [report({ a: { cpu: 5 }, b: { cpu: 5 } })] });
  t.equal(down.scaleTo, undefined, 'ceil((5+5+100)/300/0.5 * 3) = 3: no change, where the two measured pods alone would give 1');
  const twoMissing = plan({ hpa: hpa({ behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } }), currentReplicas: 4, pods: [pod('a'), pod('b'), pod('c'), pod('d')], reports: [report({ a: { cpu: 5 }, b: { cpu: 5 }, c: { cpu: 5 } })] });
  t.equal(twoMissing.scaleTo, 3, 'ceil((5+5+5+100)/400/0.5 * 4) = ceil(2.3) = 3, where the three measured pods alone would give 1');
  // Scaling up, a pod not ready counts as using nothing.
  const up = plan({ currentReplicas: 3, pods: [pod('a'), pod('b'), pod('c', { ready: false })], reports: [report({ a: { cpu: 100 }, b: { cpu: 100 }, c: { cpu: 100 } })] });
  t.equal(up.scaleTo, 4, 'ceil(200/300/0.5 * 3) = 4, not 6');
});

t.test('a fresh autoscaler holds the current count for the scale-down window', async (t) => {
  const idle = report({ a: { cpu: 1 }, b: { cpu: 1 } });
  const first = plan({ reports: [idle] });
  t.equal(first.scaleTo, undefined, 'its first pass remembers 2 as recommended now (as after a leader change)');
  t.same(first.memory.recommendations.map((r) => r.replicas), [2, 1]);
  const later = plan({ reports: [idle], memory: first.memory, nowMs: NOW + 300_001 });
  t.equal(later.scaleTo, 1, 'once the window has passed');
});

t.test('bounds hold even without metrics', async (t) => {
  const d = plan({ hpa: hpa({ minReplicas: 3 }), reports: [] });
  t.equal(d.scaleTo, 3, 'below minReplicas: raised to it');
  t.equal(d.reason, 'Current number of replicas below Spec.MinReplicas');
});

t.test('what stops a calculation, in Kubernetes\' words', async (t) => {
  const noRequest = plan({ pods: [pod('a'), pod('b', { cpu: '' })].map((p) => (p.metadata.name === 'b' ? { ...p, spec: { containers: [{ name: 'web', image: 'x' }] } } : p)), reports: [report({ a: { cpu: 10 }, b: { cpu: 10 } })] });
  t.match(condition(noRequest, 'ScalingActive'), { status: 'False', reason: 'FailedGetResourceMetric', message: /missing request for cpu in pod b/ });
  t.equal(noRequest.scaleTo, undefined);
  t.match(condition(plan({ reports: [] }), 'ScalingActive'), { status: 'False', reason: 'FailedGetResourceMetric', message: /no metrics returned from the agents/ });
  t.match(condition(plan({ currentReplicas: undefined }), 'AbleToScale'), { status: 'False', reason: 'FailedGetScale', message: /deployments "web" not found/ });
  t.match(condition(plan({ currentReplicas: 0 }), 'ScalingActive'), { status: 'False', reason: 'ScalingDisabled' });
  const external = plan({ hpa: hpa({ metrics: [{ type: 'External', external: { metric: { name: 'queue' }, target: { type: 'Value', value: '10' } } }] }), reports: [report({ a: { cpu: 10 } })] });
  t.match(condition(external, 'ScalingActive'), { status: 'False', message: /External metrics need a custom or external metrics API/ });
});

t.test('memory by average value; the largest proposal of several metrics wins', async (t) => {
  const memory = { type: 'Resource' as const, resource: { name: 'memory', target: { type: 'AverageValue' as const, averageValue: '100Mi' } } };
  const d = plan({ hpa: hpa({ metrics: [memory] }), reports: [report({ a: { memory: 300 * 2 ** 20 }, b: { memory: 300 * 2 ** 20 } })] });
  t.equal(d.scaleTo, 6, '300Mi each against 100Mi: 6 pods');
  const both = plan({ hpa: hpa({ metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }, memory] }), reports: [report({ a: { cpu: 60, memory: 150 * 2 ** 20 }, b: { cpu: 60, memory: 150 * 2 ** 20 } })] });
  t.equal(both.scaleTo, 3, 'cpu says 3 (120% of 50% on 2), memory 3 (150Mi of 100Mi on 2): 3');
  t.equal(both.status.currentMetrics?.length, 2);
});
