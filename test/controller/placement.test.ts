// The scheduler's placement rules: taints and tolerations (NoSchedule, PreferNoSchedule, a
// cordoned node tolerated), required and preferred node affinity with every operator, pod
// affinity and anti-affinity by topology key (also the existing pods' anti-affinity, and pods
// placed earlier in the same plan), topology spread constraints (DoNotSchedule, ScheduleAnyway,
// a node without the key), schedulerName; each with Kubernetes' reason strings.

import t from 'tap';
import type { Node, Pod, PodDisruptionBudget, PodSpec, Taint } from '../../proto/resources';
import { plan } from '../../controller/controllers/scheduler';
import { frozen } from '../fixtures/frozen';

function node(name: string, labels: Record<string, string> = {}, spec: { taints?: Taint[]; unschedulable?: boolean } = {}): Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec,
    status: { allocatable: { cpu: '8', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

let n = 0;
function pod(name: string, spec: Partial<PodSpec> = {}, labels: Record<string, string> = {}, nodeName?: string): Pod {
  n++;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels, creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString() },
    spec: { containers: [{ name: 'c', image: 'x' }], ...spec, ...(nodeName ? { nodeName } : {}) },
    status: { phase: nodeName ? 'Running' : 'Pending' },
  };
}

const schedule = (pending: Pod[], nodes: Node[], bound: Pod[] = []) => plan(frozen(pending), frozen(nodes), frozen(bound));
const placed = (pending: Pod[], nodes: Node[], bound: Pod[] = []) => schedule(pending, nodes, bound).bindings.map((b) => `${b.pod.metadata.name}@${b.nodeName}`);
const reasons = (pending: Pod[], nodes: Node[], bound: Pod[] = []) => schedule(pending, nodes, bound).unschedulable.map((u) => u.reason);

t.test('taints and tolerations', async (t) => {
  const nodes = [node('n1', {}, { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }), node('n2', {}, { taints: [{ key: 'maintenance', effect: 'NoExecute' }] })];
  t.same(reasons([pod('a')], nodes), ['0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maintenance: }.']);
  t.same(placed([pod('b', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] })], nodes), ['b@n1']);
  t.same(reasons([pod('c', { tolerations: [{ key: 'dedicated', value: 'cpu', effect: 'NoSchedule' }] })], [nodes[0]!]), ['0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}.'], 'another value does not tolerate');
  t.same(placed([pod('d', { tolerations: [{ key: 'maintenance', operator: 'Exists' }] })], [nodes[1]!]), ['d@n2'], 'Exists with no effect tolerates every effect');
  t.same(placed([pod('e', { tolerations: [{ operator: 'Exists' }] })], nodes).length, 1, 'an empty key with Exists tolerates everything');
  const prefer = [node('n1', {}, { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }), node('n2')];
  t.same(placed([pod('f')], prefer), ['f@n2'], 'PreferNoSchedule: avoided while another node fits');
  t.same(placed([pod('g')], [prefer[0]!]), ['g@n1'], 'but not refused');
  const cordoned = [node('n1', {}, { unschedulable: true })];
  t.same(reasons([pod('h')], cordoned), ['0/1 nodes are available: 1 node(s) were unschedulable.']);
  t.same(placed([pod('i', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] })], cordoned), ['i@n1'], 'tolerating the unschedulable taint passes a cordon');
});

t.test('numeric tolerations: Gt and Lt compare the taint\'s value with the toleration\'s', async (t) => {
  const sla = (name: string, value: string) => node(name, {}, { taints: [{ key: 'example.com/sla', value, effect: 'NoSchedule' }] });
  const nodes = [sla('n950', '950'), sla('n800', '800'), sla('nx', 'gold')];
  t.same(placed([pod('gt', { tolerations: [{ key: 'example.com/sla', operator: 'Gt', value: '900', effect: 'NoSchedule' }] })], nodes), ['gt@n950'], 'Gt 900: only the node whose value is above 900');
  t.same(placed([pod('lt', { tolerations: [{ key: 'example.com/sla', operator: 'Lt', value: '900', effect: 'NoSchedule' }] })], nodes), ['lt@n800'], 'Lt 900: only the one below');
  t.same(reasons([pod('eq', { tolerations: [{ key: 'example.com/sla', operator: 'Gt', value: '950', effect: 'NoSchedule' }] })], [nodes[0]!, nodes[2]!]), ['0/2 nodes are available: 1 node(s) had untolerated taint {example.com/sla: 950}, 1 node(s) had untolerated taint {example.com/sla: gold}.'], 'not equal, and not a value that is no number');
});

t.test('node affinity: required with every operator, preferred by weight', async (t) => {
  const nodes = [node('n1', { zone: 'a', gen: '3', disk: 'ssd' }), node('n2', { zone: 'b', gen: '5' }), node('n3', { zone: 'c', gen: '7' })];
  const required = (expr: object) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } } } }) as Partial<PodSpec>;
  t.same(placed([pod('in', required({ key: 'zone', operator: 'In', values: ['b'] }))], nodes), ['in@n2']);
  t.same(placed([pod('gt', required({ key: 'gen', operator: 'Gt', values: ['6'] }))], nodes), ['gt@n3']);
  t.same(placed([pod('lt', required({ key: 'gen', operator: 'Lt', values: ['4'] }))], nodes), ['lt@n1']);
  t.same(placed([pod('ex', required({ key: 'disk', operator: 'Exists' }))], nodes), ['ex@n1']);
  t.same(placed([pod('dne', { ...required({ key: 'disk', operator: 'DoesNotExist' }), nodeSelector: { zone: 'c' } })], nodes), ['dne@n3'], 'with a nodeSelector: both must hold');
  t.same(reasons([pod('none', required({ key: 'zone', operator: 'NotIn', values: ['a', 'b', 'c'] }))], nodes), ["0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."]);
  const preferred = { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
    { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In' as const, values: ['b'] }] } },
    { weight: 50, preference: { matchExpressions: [{ key: 'gen', operator: 'Gt' as const, values: ['6'] }] } },
  ] } } };
  t.same(placed([pod('pref', preferred)], nodes), ['pref@n3'], 'the heavier preference wins');
});

t.test('pod affinity and anti-affinity by topology key', async (t) => {
  const nodes = [node('n1', { zone: 'a' }), node('n2', { zone: 'a' }), node('n3', { zone: 'b' })];
  const cache = pod('cache', {}, { app: 'cache' }, 'n3');
  const nearCache: Partial<PodSpec> = { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'zone' }] } } };
  t.same(placed([pod('web', nearCache)], nodes, [cache]), ['web@n3']);
  t.same(reasons([pod('web', nearCache)], nodes), ["0/3 nodes are available: 3 node(s) didn't match pod affinity rules."], 'no cache anywhere: nowhere to go');
  const selfish: Partial<PodSpec> = { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'zone' }] } } };
  t.same(placed([pod('db-0', selfish, { app: 'db' }), pod('db-1', selfish, { app: 'db' })], nodes).length, 2, 'the first of a group that names itself goes anywhere, the next joins it');
  const group = schedule([pod('db-0', selfish, { app: 'db' }), pod('db-1', selfish, { app: 'db' })], nodes).bindings;
  const zone = (name: string) => nodes.find((x) => x.metadata.name === name)!.metadata.labels!.zone;
  t.equal(zone(group[0]!.nodeName), zone(group[1]!.nodeName), 'in the same zone');

  const oneEach: Partial<PodSpec> = { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' }] } } };
  const webs = [1, 2, 3, 4].map((i) => pod(`web-${i}`, oneEach, { app: 'web' }));
  const s = schedule(webs, nodes);
  t.same(s.bindings.map((b) => b.nodeName).sort(), ['n1', 'n2', 'n3'], 'one per host, pods of the same plan counting');
  t.same(s.unschedulable.map((u) => u.reason), ["0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."]);
  const lonely = pod('lonely', { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { team: 'x' } }, topologyKey: 'zone' }] } } }, {}, 'n1');
  t.same(placed([pod('x', {}, { team: 'x' })], nodes, [lonely]), ['x@n3'], "an existing pod's anti-affinity keeps matching pods out of its zone");
  t.same(reasons([pod('x', {}, { team: 'x' })], [nodes[0]!], [lonely]), ["0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules."]);
  const preferApart: Partial<PodSpec> = { affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'api' } }, topologyKey: 'zone' } }] } } };
  t.same(placed([pod('api-2', preferApart, { app: 'api' })], nodes, [pod('api-1', {}, { app: 'api' }, 'n3')]).map((p) => p.split('@')[1]).every((x) => x !== 'n3'), true, 'preferred anti-affinity: another zone');
});

t.test('topology spread constraints', async (t) => {
  const nodes = [node('n1', { zone: 'a' }), node('n2', { zone: 'b' }), node('n3', {})];
  const spread: Partial<PodSpec> = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'w' } } }] };
  const s = schedule([1, 2, 3, 4].map((i) => pod(`w-${i}`, spread, { app: 'w' })), nodes);
  const perZone = s.bindings.reduce<Record<string, number>>((acc, b) => ({ ...acc, [b.nodeName]: (acc[b.nodeName] ?? 0) + 1 }), {});
  t.same(perZone, { n1: 2, n2: 2 }, 'evenly over the zones, never on the node without the key');
  const skewed = [pod('w-a', {}, { app: 'w' }, 'n1'), pod('w-b', {}, { app: 'w' }, 'n1')];
  t.same(placed([pod('w-new', spread, { app: 'w' })], nodes, skewed), ['w-new@n2'], 'zone a holds two, b none: b');
  t.same(placed([pod('w-new', spread, { app: 'w' })], [nodes[0]!, nodes[2]!], skewed), ['w-new@n1'], 'zone a is the only domain: no skew, n1 it is');
  const twoZones: Partial<PodSpec> = { topologySpreadConstraints: [{ ...spread.topologySpreadConstraints![0]!, minDomains: 2 }] };
  t.same(reasons([pod('w-new', twoZones, { app: 'w' })], [nodes[0]!, nodes[2]!], skewed),
    ["0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) didn't match pod topology spread constraints (missing required label)."],
    'minDomains 2 with one zone: the missing zone counts as empty');
  const anyway: Partial<PodSpec> = { topologySpreadConstraints: [{ ...spread.topologySpreadConstraints![0]!, whenUnsatisfiable: 'ScheduleAnyway' }] };
  t.same(placed([pod('w-new', anyway, { app: 'w' })], [nodes[0]!, nodes[1]!], skewed), ['w-new@n2'], 'ScheduleAnyway: a preference');
  t.same(placed([pod('w-new', anyway, { app: 'w' })], [nodes[0]!], skewed), ['w-new@n1'], 'but never a refusal');
});

t.test('pods for another scheduler are left alone', async (t) => {
  t.same(schedule([pod('custom', { schedulerName: 'my-scheduler' })], [node('n1')]), { bindings: [], unschedulable: [], claimSelections: [], preemptions: [], gated: [] });
});

t.test('extended resources: only nodes that offer enough; a shortage is a reason, and room preemption can make', async (t) => {
  const dongles = (name: string, n: number): Node => ({ ...node(name), status: { allocatable: { cpu: '4', memory: '16Gi', pods: '110', 'example.com/dongle': String(n) }, conditions: [{ type: 'Ready', status: 'True' }] } });
  const wants = (name: string, n: number, nodeName?: string, priority = 0) => pod(name, { priority, containers: [{ name: 'c', image: 'x', resources: { limits: { 'example.com/dongle': String(n) } } }] }, {}, nodeName);
  const placed = schedule([wants('a', 3)], [node('plain'), dongles('d1', 2), dongles('d4', 4)]);
  t.same(placed.bindings.map((b) => b.nodeName), ['d4']);
  const full = schedule([wants('b', 2)], [node('plain'), dongles('d4', 4)], [wants('a', 3, 'd4')]);
  t.same(full.bindings, []);
  t.equal(full.unschedulable[0]?.reason, '0/2 nodes are available: 2 Insufficient example.com/dongle.');
  const urgent = schedule([wants('u', 2, undefined, 1000)], [dongles('d4', 4)], [wants('a', 3, 'd4')]);
  t.same(urgent.preemptions.map((p) => p.victims.map((v) => v.metadata.name)), [['a']], 'the dongles a lower pod holds can be taken');
});

t.test('priority: the higher first; preemption takes the fewest, lowest victims on the best node', async (t) => {
  const small = (name: string, cpu: string, priority: number, nodeName?: string, created = 0): Pod => {
    const p = pod(name, { priority, containers: [{ name: 'c', image: 'x', resources: { requests: { cpu } } }] }, {}, nodeName);
    if (created) p.metadata.creationTimestamp = new Date(Date.UTC(2023, 0, 1, 0, 0, created)).toISOString();
    return p;
  };
  const tight = (name: string): Node => ({ ...node(name), status: { allocatable: { cpu: '2', memory: '16Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] } });
  // Two pods want the last core: the higher priority one gets it although it came later.
  const order = schedule([small('low', '1', 0, undefined, 1), small('high', '1', 1000, undefined, 2)], [tight('n1')], [small('busy', '1', 0, 'n1')]);
  t.same(order.bindings.map((b) => b.pod.metadata.name), ['high']);

  const bound = [
    small('a-low', '1', 20, 'n1'), small('a-mid', '1', 500, 'n1'),
    small('b-low1', '1', 10, 'n2'), small('b-low2', '1', 10, 'n2'),
  ];
  const p = schedule([small('urgent', '1', 1000)], [tight('n1'), tight('n2')], bound);
  t.same(p.bindings, [], 'it waits for its victims');
  t.same(p.preemptions.map((x) => [x.nodeName, x.victims.map((v) => v.metadata.name)]), [['n2', ['b-low2']]], 'one victim, of the lowest priority there is, the newest');
  const needsTwo = schedule([small('big', '2', 1000)], [tight('n1'), tight('n2')], bound);
  t.same(needsTwo.preemptions.map((x) => [x.nodeName, x.victims.map((v) => v.metadata.name).sort()]), [['n2', ['b-low1', 'b-low2']]], 'n1 would cost a priority-500 pod');
  // A budget with no disruption left guards n2's pods: n1's victim is taken instead, although
  // of a higher priority; with the budget able to give one, n2 again.
  const budget = (allowed: number): PodDisruptionBudget => ({
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'b', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'b' } } },
    status: { disruptionsAllowed: allowed, currentHealthy: 2, desiredHealthy: 2, expectedPods: 2 },
  });
  const labelled = bound.map((b) => (b.metadata.name!.startsWith('b-') ? { ...b, metadata: { ...b.metadata, labels: { app: 'b' } } } : b));
  const guarded = plan(frozen([small('urgent', '1', 1000)]), frozen([tight('n1'), tight('n2')]), frozen(labelled), undefined, frozen([budget(0)]));
  t.same(guarded.preemptions.map((x) => [x.nodeName, x.victims.map((v) => v.metadata.name)]), [['n1', ['a-low']]], 'the budget steers preemption to the other node');
  const roomy = plan(frozen([small('urgent', '1', 1000)]), frozen([tight('n1'), tight('n2')]), frozen(labelled), undefined, frozen([budget(1)]));
  t.same(roomy.preemptions.map((x) => x.nodeName), ['n2'], 'a budget with room changes nothing');
  const onlyGuarded = plan(frozen([small('urgent', '1', 1000)]), frozen([tight('n2')]), frozen(labelled.filter((b) => b.spec.nodeName === 'n2')), undefined, frozen([budget(0)]));
  t.same(onlyGuarded.preemptions.map((x) => x.nodeName), ['n2'], 'best effort: a budget never makes preemption impossible');
  t.same(schedule([small('meek', '1', 1000)].map((x) => ({ ...x, spec: { ...x.spec, preemptionPolicy: 'Never' as const } })), [tight('n1'), tight('n2')], bound).preemptions, [], 'preemptionPolicy Never');
  t.same(schedule([small('peer', '1', 10)], [tight('n1'), tight('n2')], bound).preemptions, [], 'never a pod of the same priority');
  const nominated = small('urgent', '1', 1000);
  nominated.status = { phase: 'Pending', nominatedNodeName: 'n2' };
  const going = bound.map((b) => (b.metadata.name === 'b-low1' ? { ...b, metadata: { ...b.metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } } : b));
  t.same(schedule([nominated], [tight('n1'), tight('n2')], going).preemptions, [], 'its victims still going: it waits, taking no more');

  // One victim gone, one still going: the room freed is the nominated pod's, not a lower pod's.
  const big = small('big', '2', 1000);
  big.status = { phase: 'Pending', nominatedNodeName: 'n1' };
  const halfway = [{ ...small('v2', '1', 0, 'n1'), metadata: { ...small('v2', '1', 0, 'n1').metadata, deletionTimestamp: '2024-01-01T00:00:00Z' } }];
  const held = schedule([big, small('filler', '1', 0)], [tight('n1')], halfway);
  t.same(held.bindings, [], 'neither is bound');
  t.same(held.unschedulable.map((u) => u.pod.metadata.name), ['big', 'filler'], 'the filler does not take the nominated room');
  t.same(schedule([big, small('filler', '1', 0)], [tight('n1')], []).bindings.map((b) => b.pod.metadata.name), ['big'], 'once the victims are gone it is bound first');
});

t.test('scheduling gates hold a pod; hostAliases and schedulerName are the pod\'s own business', async (t) => {
  const gated = pod('gated', { schedulingGates: [{ name: 'example.com/quota' }] });
  const p = schedule([gated, pod('free')], [node('n1')]);
  t.same(p.gated.map((x) => x.metadata.name), ['gated']);
  t.same(p.bindings.map((b) => b.pod.metadata.name), ['free']);
  t.same(p.unschedulable, [], 'no FailedScheduling for a gated pod');
});
