// Resource metrics and the HorizontalPodAutoscaler on a real agent: `berth top` shows the CPU a
// busy pod burns (capped by its limit), an autoscaler made by `berth autoscale` scales that
// Deployment up to its maximum, and one applied with a zero scale-down window scales an idle
// Deployment down to its minimum, with kubectl's columns and Kubernetes' events.

import t from 'tap';
import type { Deployment, HorizontalPodAutoscaler } from '../../proto/resources';
import { applyManifest } from '../fixtures/controller';
import { startOneNodeCluster } from '../fixtures/one-node';
import { eventually } from '../fixtures/wait';

const deployment = (name: string, replicas: number, image: string, command: string[]) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${image}
        command: ${JSON.stringify(command)}
        resources: {requests: {cpu: 100m}, limits: {cpu: 200m}}
`;

const idleAutoscaler = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: idle}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: idle}
  minReplicas: 1
  maxReplicas: 3
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
  behavior: {scaleDown: {stabilizationWindowSeconds: 0}}
`;

t.test('top, and autoscalers scaling up and down', async (t) => {
  const { image, berth, controller, dir } = await startOneNodeCluster(t, 'load:1', [], { agentArgs: ['--metric-resolution', '2s'] });
  const apply = (name: string, text: string) => applyManifest(t, controller, dir, name, text);
  apply('apps', [deployment('busy', 1, image, ['sh', '-c', 'while :; do :; done']), deployment('idle', 3, image, ['sleep', '3600'])].join('---\n'));
  const replicas = (name: string) => (JSON.parse(berth(['get', 'deployment', name, '-o', 'json']).stdout) as Deployment).status?.readyReplicas ?? 0;
  await eventually('the workloads ready', () => replicas('busy') === 1 && replicas('idle') === 3, 120_000, 300);

  const top = await eventually('the busy pod measured', () => {
    const r = berth(['top', 'pods', '-l', 'app=busy']);
    return r.status === 0 && /\d+m/.test(r.stdout) ? r.stdout : undefined;
  }, 60_000, 500);
  const millicores = Number(/busy-\S+\s+(\d+)m/.exec(top)?.[1]);
  t.ok(millicores >= 120 && millicores <= 230, `the busy loop burns about its 200m limit: ${top}`);
  t.match(top, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/, 'kubectl top\'s columns');
  t.match(berth(['top', 'pods', '-l', 'app=busy', '--containers']).stdout, /POD\s+NAME\s+CPU\(cores\)[\s\S]*busy-\S+\s+main\s+\d+m\s+\d+Mi/);
  const nodes = berth(['top', 'nodes']);
  t.equal(nodes.status, 0, nodes.stderr);
  t.match(nodes.stdout, /NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\n\S+\s+\d+m\s+\d+Mi/);

  const made = berth(['autoscale', 'deployment/busy', '--min=1', '--max=3', '--cpu-percent=50']);
  t.equal(made.status, 0, made.stderr);
  t.equal(made.stdout, 'horizontalpodautoscaler.autoscaling/busy autoscaled\n');
  t.match(berth(['autoscale', 'deployment/busy', '--max=3']).stderr, /AlreadyExists/, 'a second one is refused');
  apply('idle-hpa', idleAutoscaler);

  await eventually('busy scaled up to its maximum', () => (JSON.parse(berth(['get', 'deployment', 'busy', '-o', 'json']).stdout) as Deployment).spec.replicas === 3, 90_000, 500);
  await eventually('idle scaled down to its minimum', () => (JSON.parse(berth(['get', 'deployment', 'idle', '-o', 'json']).stdout) as Deployment).spec.replicas === 1, 90_000, 500);
  const busy = JSON.parse(berth(['get', 'hpa', 'busy', '-o', 'json']).stdout) as HorizontalPodAutoscaler;
  t.equal(busy.status?.desiredReplicas, 3);
  t.ok(busy.status?.lastScaleTime, 'the last scale is recorded');
  t.match(busy.status?.conditions?.find((c) => c.type === 'ScalingLimited'), { status: 'True', reason: 'TooManyReplicas' });
  t.match(berth(['get', 'hpa']).stdout, /busy\s+Deployment\/busy\s+cpu: \d+%\/50%\s+1\s+3\s+3/, 'get hpa: reference, targets, min, max, replicas');
  t.match(berth(['events', '--for', 'hpa/idle']).stdout, /SuccessfulRescale\s.*New size: 1; reason: cpu resource utilization \(percentage of request\) below target/);
});
