// Network policy enforcement's pure half (planNetworkPolicies): which of this node's pods are
// isolated in which direction, and what each policy rule allows, read from the ruleset; then the
// rendered table is loaded into a real nftables (in a network namespace the test makes) and a
// change of peers is applied to it as a diff, so every construct is one nft accepts.

import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import t from 'tap';
import { planNetworkPolicies, podChain, policyChain } from '../../agent/network/policy';
import { diffRuleset, renderRuleset, type ProxyRuleset } from '../../agent/network/proxy';
import type { Namespace, NetworkPolicy, NetworkPolicySpec, Pod } from '../../proto/resources';

const pod = (name: string, ip: string, opts: { ns?: string; node?: string; labels?: Record<string, string>; ports?: Array<{ name: string; containerPort: number; protocol?: 'TCP' | 'UDP' }>; phase?: 'Running' | 'Succeeded'; hostNetwork?: boolean } = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: opts.ns ?? 'default', labels: opts.labels ?? {} },
  spec: { nodeName: opts.node ?? 'n1', containers: [{ name: 'c', image: '', ...(opts.ports ? { ports: opts.ports } : {}) }], ...(opts.hostNetwork ? { hostNetwork: true } : {}) },
  status: { phase: opts.phase ?? 'Running', podIP: ip },
});
const policy = (name: string, spec: NetworkPolicySpec, ns = 'default'): NetworkPolicy => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
const namespace = (name: string, labels: Record<string, string> = {}): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

const db = pod('db', '10.1.0.5', { labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432 }] });
const web = pod('web', '10.1.0.6', { labels: { app: 'web' } });
const remoteWeb = pod('web2', '10.1.1.7', { node: 'n2', labels: { app: 'web' }, ports: [{ name: 'pg', containerPort: 6432 }] });
const otherNs = pod('tool', '10.1.1.8', { ns: 'ops', node: 'n2', labels: { app: 'web' } });
const finished = pod('old', '10.1.0.9', { labels: { app: 'web' }, phase: 'Succeeded' });
const hostNet = pod('agent', '192.168.0.2', { labels: { app: 'web' }, hostNetwork: true });
const allPods = [db, web, remoteWeb, otherNs, finished, hostNet];
const namespaces = [namespace('default'), namespace('ops', { team: 'ops' })];

const plan = (policies: NetworkPolicy[], pods = allPods, nodeName = 'n1') => planNetworkPolicies({ policies, namespaces, pods, nodeName });
const mapOf = (r: ProxyRuleset, name: string) => Object.fromEntries(r.maps[name]!.elements.flat());

t.test('without policies, nothing is isolated', async (t) => {
  const r = plan([]);
  t.same(Object.keys(r.chains).sort(), ['egress', 'ingress']);
  t.same(mapOf(r, 'ingress-pods'), {});
  t.same(mapOf(r, 'egress-pods'), {});
});

t.test('an ingress policy isolates the pods it selects on this node only, and allows its peers', async (t) => {
  const p = policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] });
  const r = plan([p]);
  t.same(mapOf(r, 'ingress-pods'), { '10.1.0.5': `jump ${podChain('ingress', 'default', 'db')}` }, 'db isolated for ingress');
  t.same(mapOf(r, 'egress-pods'), {}, 'not for egress: the policy types default to Ingress');
  t.same(r.chains[podChain('ingress', 'default', 'db')]!.rules, ['ip saddr 10.1.0.5 accept', `jump ${policyChain('ingress', 'default', 'db-in')}`, 'drop']);
  const set = `${policyChain('ingress', 'default', 'db-in')}-0`;
  t.same(r.chains[policyChain('ingress', 'default', 'db-in')]!.rules, [`ip saddr @${set} meta l4proto tcp th dport 5432 accept`]);
  t.same(r.sets[set]!.elements, ['10.1.0.6', '10.1.1.7'], 'web pods of the namespace on every node; not another namespace\'s, a finished pod or a host-network pod');
  t.same(Object.keys(plan([p], allPods, 'n2').chains).sort(), ['egress', 'ingress'], 'the other node has no selected pod: nothing there');
});

t.test('namespace selectors, with the name label every namespace has', async (t) => {
  const byLabel = plan([policy('p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] }] })]);
  t.same(byLabel.sets[`${policyChain('ingress', 'default', 'p')}-0`]!.elements, ['10.1.1.8']);
  const byName = plan([policy('p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } }, podSelector: { matchLabels: { app: 'web' } } }] }] })]);
  t.same(byName.sets[`${policyChain('ingress', 'default', 'p')}-0`]!.elements, ['10.1.0.6', '10.1.1.7'], 'both selectors: those pods of those namespaces');
  const all = plan([policy('p', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] })]);
  t.same(all.sets[`${policyChain('ingress', 'default', 'p')}-0`]!.elements, ['10.1.0.5', '10.1.0.6', '10.1.1.7', '10.1.1.8'], 'an empty namespace selector: every pod of every namespace');
});

t.test('ip blocks, ranges, protocols, named ports, empty rules', async (t) => {
  const p = policy('mix', {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{}, { ports: [{ protocol: 'TCP', port: 'pg' }] }],
    egress: [
      { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16'] } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 30000, endPort: 30010 }] },
      { to: [{ ipBlock: { cidr: 'fd00::/8' } }] },
      { ports: [{ protocol: 'SCTP' }, { port: 'pg' }, { port: 'nothing' }] },
    ],
  });
  const r = plan([p]);
  const ingress = policyChain('ingress', 'default', 'mix');
  const egress = policyChain('egress', 'default', 'mix');
  t.same(r.chains[ingress]!.rules, ['accept', `ip daddr . meta l4proto . th dport @${ingress}-1-port-0 accept`], 'an empty rule allows all; a named port is the destination pod\'s');
  t.same(r.sets[`${ingress}-1-port-0`]!.elements, ['10.1.0.5 . tcp . 5432'], 'only pods of this node that have the port');
  t.same(r.chains[egress]!.rules, [
    'ip daddr 10.0.0.0/8 ip daddr != { 10.1.0.0/16, 10.2.0.0/16 } meta l4proto udp th dport 53 accept',
    'ip daddr 10.0.0.0/8 ip daddr != { 10.1.0.0/16, 10.2.0.0/16 } meta l4proto tcp th dport 30000-30010 accept',
    'meta l4proto sctp accept',
    `ip daddr . meta l4proto . th dport @${egress}-2-port-1 accept`,
  ], 'an IPv6 block and a named port no pod has match nothing');
  t.same(r.sets[`${egress}-2-port-1`]!.elements, ['10.1.0.5 . tcp . 5432', '10.1.1.7 . tcp . 6432'], 'egress named ports resolve on every pod');
  t.match(r.skipped, [/mix: ipBlock fd00::\/8: only IPv4 blocks are enforced/]);
  t.same(Object.keys(mapOf(r, 'egress-pods')).sort(), ['10.1.0.5', '10.1.0.6'], 'podSelector {} isolates every pod of the namespace on this node (not finished or host-network ones)');
});

t.test('several policies on one pod: each is jumped to, in name order', async (t) => {
  const a = policy('b-second', { podSelector: { matchLabels: { app: 'db' } }, ingress: [] });
  const b = policy('a-first', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] });
  const r = plan([a, b]);
  t.same(r.chains[podChain('ingress', 'default', 'db')]!.rules.slice(1, 3), [`jump ${policyChain('ingress', 'default', 'a-first')}`, `jump ${policyChain('ingress', 'default', 'b-second')}`]);
  t.same(r.chains[policyChain('ingress', 'default', 'b-second')]!.rules, [], 'ingress: [] allows nothing, yet isolates');
  t.same(r.chains[podChain('ingress', 'default', 'web')]!.rules.length, 3, 'web: its own address, one policy, drop');
});

t.test('the table loads into nftables, and a new peer is one element', async (t) => {
  const netns = `bpp${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', netns]);
  t.teardown(() => void spawnSync('ip', ['netns', 'del', netns]));
  const nft = (script: string) => spawnSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
  const policies = [
    policy('mix', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }, { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.1.0/24'] } }], ports: [{ port: 'pg' }, { protocol: 'UDP', port: 53, endPort: 60 }] }], egress: [{ ports: [{ protocol: 'SCTP' }] }] }),
  ];
  const before = plan(policies);
  const loaded = nft(renderRuleset(before, 'np-test'));
  t.equal(loaded.status, 0, `nft took the table: ${loaded.stderr}`);
  const newcomer = pod('web3', '10.1.0.20', { labels: { app: 'web' } });
  const after = plan(policies, [...allPods, newcomer]);
  const script = diffRuleset(before, after, 'np-test');
  t.match(script, /add element ip np-test \S+ \{ 10\.1\.0\.20 \}/, 'the newcomer joins the peer set');
  const applied = nft(script);
  t.equal(applied.status, 0, `nft took the diff: ${applied.stderr}\n${script}`);
  const listed = spawnSync('ip', ['netns', 'exec', netns, 'nft', 'list', 'table', 'ip', 'np-test'], { encoding: 'utf8' }).stdout;
  t.match(listed, /10\.1\.0\.20/, 'the kernel has it');
  t.match(listed, /hook forward priority filter/, 'the base chains hook forward');
});
