// The service proxy's pure half: which nftables table the Services and EndpointSlices make
// (planProxy), and the script that moves the table from one ruleset to the next (diffRuleset),
// read as text: a change to one Service must not touch another's chains or elements, and an
// endpoint that comes or goes changes elements only.

import t from 'tap';
import {
  diffRuleset, planProxy, renderRuleset, servicePortNameBase, endpointNameBase, spreadChain, DEFAULT_AFFINITY_TIMEOUT_SECONDS, SPREAD_CHAINS_ALWAYS, type ProxyInput, type ProxyRuleset,
} from '../../agent/network/proxy';
import { SERVICE_NAME_LABEL, type Endpoint, type EndpointSlice, type Service, type ServiceSpec } from '../../proto/resources';
import { deepFreeze, frozen } from '../fixtures/frozen';

const service = (name: string, spec: Partial<ServiceSpec>, namespace = 'default'): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
  spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec },
});

type Ep = { ip: string; node?: string; ready?: boolean; serving?: boolean; terminating?: boolean };
const slice = (svc: string, eps: Ep[], ports: EndpointSlice['ports'] = [{ name: 'http', port: 8080, protocol: 'TCP' }], name = `${svc}-abc`): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: svc } },
  addressType: 'IPv4',
  endpoints: eps.map((e): Endpoint => ({
    addresses: [e.ip], nodeName: e.node ?? 'node-a',
    conditions: { ready: e.ready ?? true, ...(e.serving !== undefined ? { serving: e.serving } : {}), ...(e.terminating !== undefined ? { terminating: e.terminating } : {}) },
  })),
  ports,
});

const plan = (services: Service[], slices: EndpointSlice[], extra: Partial<ProxyInput> = {}): ProxyRuleset =>
  planProxy({ services, slices, nodeName: 'node-a', nodeIps: ['192.168.1.10'], ...extra });

const chainOf = (name: string, port = 'http', protocol = 'tcp', ns = 'default') => `service-${servicePortNameBase(ns, name, protocol, port)}`;
const endpointChain = (name: string, ip: string, port: number, portName = 'http', protocol = 'tcp') => `endpoint-${endpointNameBase('default', name, protocol, portName, ip, port)}`;
/** The chains of service ports and endpoints (kube-proxy's kinds): only where the endpoint depends on the client. */
const serviceChains = (r: ProxyRuleset) => Object.keys(r.chains).filter((c) => /^(service|local|external|endpoint)-/.test(c)).sort();
/** The spread chains beyond those always there. */
const extraSpreads = (r: ProxyRuleset) => Object.keys(r.chains).filter((c) => /^spread-/.test(c) && Number(c.slice(7)) > SPREAD_CHAINS_ALWAYS);
/** A map's elements as one object, key -> value. */
const elements = (r: ProxyRuleset, map: string): Record<string, string> => Object.fromEntries(r.maps[map]!.elements.flat());
const tcpEndpoints = (r: ProxyRuleset) => elements(r, 'service-endpoints-tcp');

t.test('ClusterIP: the address goes to the spread chain for its number of endpoints; the endpoints are map elements, in address order', async (t) => {
  const r = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.3' }, { ip: '10.1.0.2' }, { ip: '10.1.0.12' }])]);
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': `goto ${spreadChain(3)}` });
  t.same(tcpEndpoints(r), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080', '10.96.0.10 . 80 . 1': '10.1.0.3 . 8080', '10.96.0.10 . 80 . 2': '10.1.0.12 . 8080' }, 'numerically');
  t.same(elements(r, 'service-endpoints-udp'), {});
  t.same(r.chains['spread-3']!.rules, [
    'ip daddr != @cluster-ips jump mark-for-masquerade',
    'dnat ip addr . port to ip daddr . tcp dport . numgen random mod 3 map @service-endpoints-tcp',
    'dnat ip addr . port to ip daddr . udp dport . numgen random mod 3 map @service-endpoints-udp',
  ], 'an even random choice; masquerade for any address but a ClusterIP');
  t.same(serviceChains(r), [], 'no chain of its own, none per endpoint');
  t.same(r.sets['cluster-ips']!.elements, ['10.96.0.10']);
  t.same(r.sets['hairpin-endpoints']!.elements, ['10.1.0.2 . 10.1.0.2', '10.1.0.3 . 10.1.0.3', '10.1.0.12 . 10.1.0.12']);
  t.same(elements(r, 'no-endpoint-services'), {});
  t.same(r.skipped, []);
  t.same(r.chains['services']!.rules, ['ip daddr . meta l4proto . th dport vmap @service-ips', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports']);
  t.same(r.chains['masquerading']!.rules, [
    'ct status dnat ip saddr . ip daddr @hairpin-endpoints jump mark-for-masquerade', 'mark and 0x4000 == 0 return', 'mark set mark xor 0x4000', 'masquerade fully-random',
  ], 'hairpin: a DNATed packet from an endpoint to itself');
  t.same(r.chains['nat-prerouting']!.base, { type: 'nat', hook: 'prerouting', priority: -100 });
  t.same(r.chains['nat-output']!.rules, ['jump services'], 'traffic from the host itself too');
  t.same(r.maps['service-endpoints-tcp']!, {
    type: 'ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport', typeof: true, comment: 'address . port . n -> the nth endpoint (TCP)', elements: r.maps['service-endpoints-tcp']!.elements,
  }, 'declared by typeof: numgen\'s integer has no type name');
});

t.test('spread chains: one per number of endpoints, shared by every service address with that many', async (t) => {
  const r = plan([service('a', { clusterIP: '10.96.0.1' }), service('b', { clusterIP: '10.96.0.2' }), service('c', { clusterIP: '10.96.0.3' })],
    [slice('a', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3' }]), slice('b', [{ ip: '10.1.0.4' }, { ip: '10.1.0.5' }]), slice('c', [{ ip: '10.1.0.6' }])]);
  t.same(elements(r, 'service-ips'), { '10.96.0.1 . tcp . 80': 'goto spread-2', '10.96.0.2 . tcp . 80': 'goto spread-2', '10.96.0.3 . tcp . 80': 'goto spread-1' });
  t.equal(r.maps['service-endpoints-tcp']!.elements.length, 3, 'one element group per service address');
  const empty = plan([], []);
  t.same(Object.keys(empty.chains).filter((c) => c.startsWith('spread-')), Array.from({ length: 16 }, (_, i) => `spread-${i + 1}`),
    '1 to 16 always: a number of endpoints that changes among them changes elements only');
  const many = Array.from({ length: 20 }, (_, i) => ({ ip: `10.1.1.${i + 2}` }));
  const big = plan([service('big', {})], [slice('big', many)]);
  t.same(extraSpreads(big), ['spread-20'], 'beyond, one for each number a service has');
  t.equal(big.chains['spread-20']!.rules.at(-2), 'dnat ip addr . port to ip daddr . tcp dport . numgen random mod 20 map @service-endpoints-tcp');
});

t.test('names: stable per service port and endpoint, hashed, within nft limits', async (t) => {
  const base = servicePortNameBase('default', 'web', 'tcp', 'http');
  t.match(base, /^[A-Z2-7]{8}-default\/web\/tcp\/http$/);
  t.equal(servicePortNameBase('default', 'web', 'tcp', 'http'), base, 'the same input, the same name');
  t.not(servicePortNameBase('default', 'web', 'udp', 'http'), base);
  t.not(servicePortNameBase('default', 'web', 'tcp', 'http').slice(0, 8), servicePortNameBase('default', 'web2', 'tcp', 'http').slice(0, 8), 'the hash tells look-alikes apart');
  const long = endpointNameBase('n'.repeat(63), 's'.repeat(63), 'tcp', 'p'.repeat(63), '10.1.0.2', 8080);
  t.ok(`endpoint-${long}`.length <= 255, 'the longest Kubernetes names fit in 255 bytes');
  t.match(endpointNameBase('default', 'web', 'tcp', '', '10.1.0.2', 80), /-default\/web\/tcp\/__10\.1\.0\.2\/80$/, 'an unnamed port');
  const truncated = endpointNameBase('n'.repeat(250), 's', 'tcp', '', '10.1.0.2', 80);
  t.equal(truncated.length, 240);
  t.ok(truncated.endsWith('...'));
});

t.test('NodePort: the node addresses answer on the nodePort, through the spread chain, masqueraded', async (t) => {
  const r = plan([service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })], [slice('web', [{ ip: '10.1.0.2' }])],
    { nodeIps: ['192.168.1.11', '192.168.1.10', '127.0.0.1', 'nonsense'] });
  t.same(elements(r, 'service-nodeports'), { 'tcp . 30080': 'goto spread-1' });
  t.same(tcpEndpoints(r), {
    '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080', '192.168.1.10 . 30080 . 0': '10.1.0.2 . 8080', '192.168.1.11 . 30080 . 0': '10.1.0.2 . 8080',
  }, 'the spread chain looks endpoints up by the address the packet came to: each node address');
  t.ok(r.chains['spread-1']!.rules.includes('ip daddr != @cluster-ips jump mark-for-masquerade'), 'not a ClusterIP: masqueraded, the endpoint may be on another node');
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': 'goto spread-1' }, 'and its ClusterIP');
  t.same(r.sets['nodeport-ips']!.elements, ['192.168.1.10', '192.168.1.11'], 'no loopback: route_localnet is never needed');
  t.same(r.skipped, ['node address 127.0.0.1: NodePorts do not answer on loopback addresses', 'node address "nonsense": not an IPv4 address']);

  const lb = plan([service('web', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30081 }] })], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(Object.keys(elements(lb, 'service-nodeports')), ['tcp . 30081'], 'a LoadBalancer gets its nodePort');
  const clusterIpOnly = plan([service('web', { ports: [{ name: 'http', port: 80, nodePort: 30082 }] })], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(elements(clusterIpOnly, 'service-nodeports'), {}, 'a ClusterIP service has no nodePort even if one is written');
});

t.test('externalTrafficPolicy Local: outside clients reach local endpoints only; pods and the host any', async (t) => {
  const spec: Partial<ServiceSpec> = { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
  const r = plan([service('web', spec)], [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', node: 'node-b' }])], { clusterCidr: '10.1.0.0/16' });
  const b = servicePortNameBase('default', 'web', 'tcp', 'http');
  t.same(elements(r, 'service-nodeports'), { 'tcp . 30080': `goto external-${b}` }, 'the endpoint depends on the client: chains of its own');
  t.same(r.chains[`external-${b}`]!.rules, [
    `ip saddr 10.1.0.0/16 goto service-${b}`, 'fib saddr type local jump mark-for-masquerade', `fib saddr type local goto service-${b}`, `goto local-${b}`,
  ]);
  t.same(r.chains[`local-${b}`]!.rules, ['meta l4proto tcp dnat ip addr . port to numgen random mod 1 map { 0 : 10.1.0.2 . 8080 }'], 'no chain per endpoint: an inline map');
  t.same(r.chains[`service-${b}`]!.rules, ['meta l4proto tcp dnat ip addr . port to numgen random mod 2 map { 0 : 10.1.0.2 . 8080, 1 : 10.1.0.3 . 8080 }']);
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': 'goto spread-2' }, 'the ClusterIP still goes to a spread chain, over every endpoint');
  t.same(serviceChains(r), [`external-${b}`, `local-${b}`, `service-${b}`]);
  const none = plan([service('web', spec)], [slice('web', [{ ip: '10.1.0.3', node: 'node-b' }])]);
  t.same(elements(none, 'no-endpoint-nodeports'), { 'tcp . 30080': 'drop' }, 'no local endpoint: outside traffic dropped');
  t.same(elements(none, 'service-ips'), { '10.96.0.10 . tcp . 80': 'goto spread-1' }, 'the ClusterIP still uses every endpoint');
  t.same(none.chains[`external-${b}`]!.rules, [`fib saddr type local jump mark-for-masquerade`, `fib saddr type local goto service-${b}`], 'pods and the host still get through');
});

t.test('no ready endpoints: the ClusterIP and the NodePort reject at once, no chains of its own', async (t) => {
  const r = plan([service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })], [slice('web', [{ ip: '10.1.0.2', ready: false }])]);
  t.same(elements(r, 'no-endpoint-services'), { '10.96.0.10 . tcp . 80': 'goto reject-chain' });
  t.same(elements(r, 'no-endpoint-nodeports'), { 'tcp . 30080': 'goto reject-chain' });
  t.same(elements(r, 'service-ips'), {});
  t.same(elements(r, 'service-nodeports'), {});
  t.same(tcpEndpoints(r), {});
  t.same(serviceChains(r), []);
  t.same(r.sets['hairpin-endpoints']!.elements, [], 'nothing is DNATed to it');
  t.same(r.chains['reject-chain']!.rules, ['meta l4proto tcp reject with tcp reset', 'reject'], 'a TCP reset, ICMP port unreachable for UDP');
  t.same(r.chains['filter-forward']!.rules, ['ct state new jump endpoints-check'], 'checked before DNAT, on new connections');
  t.same(r.chains['filter-forward']!.base, { type: 'filter', hook: 'forward', priority: -110 });
  t.same(elements(plan([service('web', {})], []), 'no-endpoint-services'), { '10.96.0.10 . tcp . 80': 'goto reject-chain' }, 'no slice at all');
});

t.test('not-ready endpoints get nothing; serving terminating ones only when none is ready', async (t) => {
  const r = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', ready: false }, { ip: '10.1.0.4', ready: false, serving: true, terminating: true }])]);
  t.same(tcpEndpoints(r), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080' });
  t.same(serviceChains(r), []);
  const terminating = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.3', ready: false }, { ip: '10.1.0.4', ready: false, serving: true, terminating: true }])]);
  t.same(tcpEndpoints(terminating), { '10.96.0.10 . 80 . 0': '10.1.0.4 . 8080' }, 'kube-proxy\'s fallback');
  const unset = plan([service('web', {})], [{ ...slice('web', []), endpoints: [{ addresses: ['10.1.0.5'] }] }]);
  t.same(tcpEndpoints(unset), { '10.96.0.10 . 80 . 0': '10.1.0.5 . 8080' }, 'no conditions: ready, as the API says');
});

t.test('ports: matched by name and protocol; the slice carries the resolved (named) target port', async (t) => {
  const svc = service('web', { ports: [{ name: 'web', port: 80, targetPort: 'http-alt' }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }] });
  const r = plan([svc], [slice('web', [{ ip: '10.1.0.2' }], [
    { name: 'web', port: 8081, protocol: 'TCP' }, { name: 'other', port: 9999, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' },
  ])]);
  t.same(tcpEndpoints(r), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8081' });
  t.same(elements(r, 'service-endpoints-udp'), { '10.96.0.10 . 53 . 0': '10.1.0.2 . 5353' }, 'UDP in its own map');
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': 'goto spread-1', '10.96.0.10 . udp . 53': 'goto spread-1' });
  const unnamed = plan([service('web', { ports: [{ port: 80 }] })], [slice('web', [{ ip: '10.1.0.2' }], [{ port: 8080 }])]);
  t.same(tcpEndpoints(unnamed), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080' }, 'both unnamed');
  const unresolved = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }], [{ name: 'http', protocol: 'TCP' }])]);
  t.same(elements(unresolved, 'no-endpoint-services'), { '10.96.0.10 . tcp . 80': 'goto reject-chain' }, 'a port no pod could resolve: no endpoints');
  const wrongProtocol = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }], [{ name: 'http', port: 8080, protocol: 'UDP' }])]);
  t.same(serviceChains(wrongProtocol), [], 'the same name for another protocol is another port');
  t.same(tcpEndpoints(wrongProtocol), {});
});

t.test('endpoints: once each across slices, never loopback, only their own service\'s', async (t) => {
  const r = plan([service('web', {}), service('api', { clusterIP: '10.96.0.11' })], [
    slice('web', [{ ip: '10.1.0.2' }, { ip: '127.0.0.1' }], undefined, 'web-1'),
    slice('web', [{ ip: '10.1.0.2', ready: false }, { ip: '10.1.0.3' }], undefined, 'web-2'),
    { ...slice('api', [{ ip: '10.1.0.9' }]), metadata: { name: 'api-x', namespace: 'other', labels: { [SERVICE_NAME_LABEL]: 'api' } } },
    { ...slice('web', [{ ip: '10.1.0.7' }], undefined, 'web-3'), addressType: 'FQDN' },
  ]);
  t.same(tcpEndpoints(r), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080', '10.96.0.10 . 80 . 1': '10.1.0.3 . 8080' });
  t.same(r.skipped, ['default/web: endpoint 127.0.0.1 is a loopback address: not proxied']);
  t.same(elements(r, 'no-endpoint-services'), { '10.96.0.11 . tcp . 80': 'goto reject-chain' }, 'a slice of another namespace is not default/api\'s');
});

t.test('hairpin: this node\'s endpoints and those of no node, as "ip . ip" pairs, once each', async (t) => {
  const r = plan([service('web', {}), service('api', { clusterIP: '10.96.0.11' })], [
    { ...slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', node: 'node-b' }, { ip: '10.1.0.4', ready: false }]), endpoints: [...slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', node: 'node-b' }, { ip: '10.1.0.4', ready: false }]).endpoints, { addresses: ['10.1.0.5'] }] },
    slice('api', [{ ip: '10.1.0.2' }]),
  ]);
  t.same(r.sets['hairpin-endpoints']!.elements, ['10.1.0.2 . 10.1.0.2', '10.1.0.5 . 10.1.0.5'],
    'another node\'s pod reaching itself is DNATed on its own node; a not-ready one is no destination; one shared by two services, once');
  t.same(r.sets['hairpin-endpoints']!.type, 'ipv4_addr . ipv4_addr');
});

t.test('session affinity ClientIP: a set per endpoint, checked before the random choice, refreshed in the endpoint chain', async (t) => {
  const r = plan([service('web', { sessionAffinity: 'ClientIP' })], [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3' }])]);
  const eps = ['10.1.0.2', '10.1.0.3'].map((ip) => endpointNameBase('default', 'web', 'tcp', 'http', ip, 8080));
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': `goto ${chainOf('web')}` }, 'kube-proxy\'s chains: the endpoint depends on the client');
  t.same(r.chains[chainOf('web')]!.rules, [
    `ip saddr @affinity-${eps[0]} goto endpoint-${eps[0]}`,
    `ip saddr @affinity-${eps[1]} goto endpoint-${eps[1]}`,
    `numgen random mod 2 vmap { 0 : goto endpoint-${eps[0]}, 1 : goto endpoint-${eps[1]} }`,
  ]);
  t.same(r.chains[`endpoint-${eps[0]}`]!.rules, [`update @affinity-${eps[0]} { ip saddr }`, 'meta l4proto tcp dnat to 10.1.0.2:8080'], 'hairpin is the masquerading chain\'s');
  t.same(r.sets[`affinity-${eps[0]}`], { type: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS, elements: [] });
  t.same(tcpEndpoints(r), {}, 'no spread');
  t.same(r.sets['hairpin-endpoints']!.elements, ['10.1.0.2 . 10.1.0.2', '10.1.0.3 . 10.1.0.3']);
  const custom = plan([service('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.equal(custom.sets[`affinity-${eps[0]}`]!.timeoutSeconds, 60);
  const none = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(Object.keys(none.sets), ['nodeport-ips', 'cluster-ips', 'hairpin-endpoints'], 'no affinity, no sets of its own');
});

t.test('internalTrafficPolicy Local: the ClusterIP uses this node\'s endpoints only; none here: dropped', async (t) => {
  const eps = [{ ip: '10.1.0.2', node: 'node-a' }, { ip: '10.1.0.3', node: 'node-b' }];
  const r = plan([service('web', { internalTrafficPolicy: 'Local' })], [slice('web', eps)]);
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': 'goto spread-1' });
  t.same(tcpEndpoints(r), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080' }, 'the other node\'s endpoint is not there');
  t.same(serviceChains(r), []);
  const elsewhere = plan([service('web', { internalTrafficPolicy: 'Local' })], [slice('web', eps)], { nodeName: 'node-c' });
  t.same(elements(elsewhere, 'no-endpoint-services'), { '10.96.0.10 . tcp . 80': 'drop' }, 'endpoints exist, none here: drop, as kube-proxy');
  t.same(serviceChains(elsewhere), []);
  const sticky = plan([service('web', { internalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP' })], [slice('web', eps)]);
  const local = `local-${servicePortNameBase('default', 'web', 'tcp', 'http')}`;
  t.same(elements(sticky, 'service-ips'), { '10.96.0.10 . tcp . 80': `goto ${local}` }, 'with affinity: the local chain');
  t.same(serviceChains(sticky), [local, endpointChain('web', '10.1.0.2', 8080)].sort(), 'the other node\'s endpoint has no chain here');
});

t.test('traffic to a ClusterIP from outside the cluster CIDR is masqueraded', async (t) => {
  const r = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])], { clusterCidr: '10.1.0.0/16' });
  t.equal(r.chains['spread-1']!.rules[0], 'ip saddr != 10.1.0.0/16 jump mark-for-masquerade');
  const sticky = plan([service('web', { sessionAffinity: 'ClientIP' })], [slice('web', [{ ip: '10.1.0.2' }])], { clusterCidr: '10.1.0.0/16' });
  t.equal(sticky.chains[chainOf('web')]!.rules[0], 'ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.1.0.0/16 jump mark-for-masquerade', 'and in a chain of its own');
  const bad = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])], { clusterCidr: '10.1.0.1/16' });
  t.match(bad.skipped, [/cluster CIDR "10.1.0.1\/16": host bits are set: traffic from outside/]);
  t.equal(bad.chains['spread-1']!.rules.length, 3, 'without it, no masquerade rule for it');
});

t.test('headless, ExternalName and unallocated services make nothing', async (t) => {
  const empty = plan([], []);
  const r = plan([
    service('headless', { clusterIP: 'None' }),
    service('alias', { type: 'ExternalName', externalName: 'example.com', clusterIP: undefined }),
  ], [slice('headless', [{ ip: '10.1.0.2' }])]);
  t.same(r, empty);
  const pending = plan([service('new', { clusterIP: undefined }), service('odd', { clusterIP: 'fd00::1' })], []);
  t.same(pending.skipped, ['default/new: no clusterIP allocated yet', 'default/odd: clusterIP "fd00::1" is not an IPv4 address']);
  t.same(pending.maps, empty.maps);
  t.same(pending.sets, empty.sets);
});

t.test('externalIPs and load balancer addresses go through the spread chain, by their own address', async (t) => {
  const svc: Service = { ...service('web', { externalIPs: ['203.0.113.5'] }), status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example' }] } } };
  const r = plan([svc], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(elements(r, 'service-ips'), {
    '10.96.0.10 . tcp . 80': 'goto spread-1', '203.0.113.5 . tcp . 80': 'goto spread-1', '203.0.113.9 . tcp . 80': 'goto spread-1',
  });
  t.same(Object.keys(tcpEndpoints(r)), ['10.96.0.10 . 80 . 0', '203.0.113.5 . 80 . 0', '203.0.113.9 . 80 . 0']);
  t.same(r.sets['cluster-ips']!.elements, ['10.96.0.10'], 'the others are masqueraded');
});

t.test('two services claiming one address and port: the first (by name) keeps it', async (t) => {
  const r = plan([service('b', {}), service('a', {})], [slice('a', [{ ip: '10.1.0.2' }]), slice('b', [{ ip: '10.1.0.3' }, { ip: '10.1.0.4' }])]);
  t.same(elements(r, 'service-ips'), { '10.96.0.10 . tcp . 80': 'goto spread-1' });
  t.same(tcpEndpoints(r), { '10.96.0.10 . 80 . 0': '10.1.0.2 . 8080' }, 'and only its endpoints');
  t.same(serviceChains(r), []);
  t.match(r.skipped, [/^default\/b:http\/tcp: 10.96.0.10 . tcp . 80 in service-ips is already taken/]);
  const nodeAddress = plan([service('a', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }), service('b', { clusterIP: '10.96.0.11', externalIPs: ['192.168.1.10'], ports: [{ name: 'http', port: 30080 }] })],
    [slice('a', [{ ip: '10.1.0.2' }]), slice('b', [{ ip: '10.1.0.3' }])]);
  t.match(nodeAddress.skipped, [/^default\/b:http\/tcp: 192.168.1.10 . 30080 in service-endpoints-tcp is already taken/], 'an external IP that is a node address, on a nodePort');
  t.same(tcpEndpoints(nodeAddress)['192.168.1.10 . 30080 . 0'], '10.1.0.2 . 8080');
});

t.test('frozen inputs (the watch cache\'s): an unchanged Service\'s part is reused, object for object', async (t) => {
  const services = [service('web', {}), service('api', { clusterIP: '10.96.0.11', sessionAffinity: 'ClientIP' })].map(deepFreeze);
  const slices = [slice('web', [{ ip: '10.1.0.2' }]), slice('api', [{ ip: '10.1.1.2' }])].map(deepFreeze);
  const a = plan(services, slices);
  const changed = [slices[0]!, frozen(slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }]))];
  const b = plan(services, changed);
  const webGroup = (r: ProxyRuleset) => r.maps['service-endpoints-tcp']!.elements.find((g) => g[0]![0].startsWith('10.96.0.10 '));
  t.ok(webGroup(a));
  t.equal(webGroup(b), webGroup(a), 'the same element group: the diff skips it without reading it');
  t.ok(Object.isFrozen(webGroup(a)), 'shared parts are frozen');
  t.not(b.chains[chainOf('api')], a.chains[chainOf('api')]);
  t.same(b, plan(structuredClone(services), structuredClone([slices[0]!, slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }])])), 'the same ruleset as planned afresh');
  t.equal(plan(services, changed).chains[chainOf('api')], b.chains[chainOf('api')], 'and the same chains');
  t.ok(Object.isFrozen(b.chains[chainOf('api')]!.rules));
  const elsewhere = plan(services, slices, { nodeName: 'node-b' });
  t.same(elsewhere.sets['hairpin-endpoints']!.elements, [], 'another node name: planned again');
  const otherAddress = plan(services, slices, { nodeIps: ['192.168.1.11'] });
  t.same(otherAddress.sets['nodeport-ips']!.elements, ['192.168.1.11']);
  t.equal(diffRuleset(a, plan(services, slices), 'berth'), '', 'nothing changed, nothing to do');
});

// --- diff ---

const three = (webEndpoints: string[]) => plan(
  [service('web', {}), service('api', { clusterIP: '10.96.0.11' }), service('db', { clusterIP: '10.96.0.12', sessionAffinity: 'ClientIP' })],
  [slice('web', webEndpoints.map((ip) => ({ ip }))), slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }]), slice('db', [{ ip: '10.1.2.2' }])],
);
const lines = (script: string) => script.split('\n').filter(Boolean);

t.test('from nothing: the whole table, marked as berth\'s', async (t) => {
  const r = three(['10.1.0.2']);
  const script = diffRuleset(undefined, r, 'berth');
  t.equal(lines(script)[0], 'add table ip berth { comment "berth" ; }');
  t.equal(script, renderRuleset(r, 'berth'));
  t.ok(lines(script).includes('add chain ip berth nat-prerouting { type nat hook prerouting priority -100 ; }'));
  t.ok(lines(script).includes(`add element ip berth service-ips { 10.96.0.11 . tcp . 80 : goto spread-2, 10.96.0.12 . tcp . 80 : goto ${chainOf('db')}, 10.96.0.10 . tcp . 80 : goto spread-1 }`));
  t.ok(lines(script).includes('add element ip berth service-endpoints-tcp { 10.96.0.11 . 80 . 0 : 10.1.1.2 . 8080, 10.96.0.11 . 80 . 1 : 10.1.1.3 . 8080, 10.96.0.10 . 80 . 0 : 10.1.0.2 . 8080 }'));
  t.ok(lines(script).includes('add map ip berth service-endpoints-tcp { typeof ip daddr . tcp dport . numgen random mod 1 : ip daddr . tcp dport ; comment "address . port . n -> the nth endpoint (TCP)" ; }'));
  const created = new Set<string>();
  const early: string[] = [];
  for (const l of lines(script)) {
    if (l.startsWith('add chain')) created.add(l.split(' ')[4]!);
    if (!l.startsWith('add rule') && !l.startsWith('add element')) continue;
    const own = l.startsWith('add rule') ? [l.split(' ')[4]!] : [];
    for (const name of [...own, ...[...l.matchAll(/(?:goto|jump) ([^\s,}]+)/g)].map((m) => m[1]!)]) if (!created.has(name)) early.push(`${name} in: ${l}`);
  }
  t.same(early, [], 'every chain exists before a rule or element names it');
  t.equal(created.size, Object.keys(r.chains).length);
  const numgen = lines(script).findIndex((l) => l.includes('numgen random mod 1 vmap'));
  t.ok(numgen >= 0 && numgen < lines(script).indexOf('add chain ip berth filter-input { type filter hook input priority -110 ; }'),
    'a chain with an anonymous map comes with its rules, before the rest of the table');
  const replace = renderRuleset(r, 'berth', { replace: true });
  t.same(lines(replace).slice(0, 3), ['add table ip berth', 'delete table ip berth', 'add table ip berth { comment "berth" ; }'], 'replacing clears what was there, in the same transaction');
  t.equal(diffRuleset(r, three(['10.1.0.2']), 'berth'), '', 'nothing changed: nothing to do');
});

t.test('an endpoint replaced: map and set elements only, that service\'s only', async (t) => {
  const script = diffRuleset(three(['10.1.0.2', '10.1.0.3']), three(['10.1.0.2', '10.1.0.4']), 'berth');
  t.same(lines(script), [
    'delete element ip berth hairpin-endpoints { 10.1.0.3 . 10.1.0.3 }',
    'add element ip berth hairpin-endpoints { 10.1.0.4 . 10.1.0.4 }',
    'delete element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 1 }',
    'add element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 1 : 10.1.0.4 . 8080 }',
  ], 'no chain is touched: nothing for nft to check rules against');
});

t.test('one endpoint more: its element, and the address to the spread chain for one more', async (t) => {
  const script = diffRuleset(three(['10.1.0.2']), three(['10.1.0.2', '10.1.0.3']), 'berth');
  t.same(lines(script), [
    'add element ip berth hairpin-endpoints { 10.1.0.3 . 10.1.0.3 }',
    'delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }',
    'add element ip berth service-ips { 10.96.0.10 . tcp . 80 : goto spread-2 }',
    'add element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 1 : 10.1.0.3 . 8080 }',
  ], 'elements only');
  t.notMatch(script, /10\.96\.0\.1[12]|\/api\/|\/db\//, 'the other services are not touched');
});

t.test('one endpoint fewer: its element goes', async (t) => {
  const script = diffRuleset(three(['10.1.0.2', '10.1.0.3']), three(['10.1.0.2']), 'berth');
  t.same(lines(script), [
    'delete element ip berth hairpin-endpoints { 10.1.0.3 . 10.1.0.3 }',
    'delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }',
    'add element ip berth service-ips { 10.96.0.10 . tcp . 80 : goto spread-1 }',
    'delete element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 1 }',
  ]);
});

t.test('beyond 16 endpoints: a spread chain made for the number, and deleted after the last element naming it', async (t) => {
  const ips = (n: number) => Array.from({ length: n }, (_, i) => `10.1.0.${i + 2}`);
  const up = lines(diffRuleset(three(ips(16)), three(ips(17)), 'berth'));
  t.same(up.slice(0, 5), [
    'add chain ip berth spread-17',
    'add rule ip berth spread-17 ip daddr != @cluster-ips jump mark-for-masquerade',
    'add rule ip berth spread-17 dnat ip addr . port to ip daddr . tcp dport . numgen random mod 17 map @service-endpoints-tcp',
    'add rule ip berth spread-17 dnat ip addr . port to ip daddr . udp dport . numgen random mod 17 map @service-endpoints-udp',
    'add element ip berth hairpin-endpoints { 10.1.0.18 . 10.1.0.18 }',
  ]);
  t.ok(up.indexOf('add element ip berth service-ips { 10.96.0.10 . tcp . 80 : goto spread-17 }') > 4, 'the chain is filled before an element names it');
  const down = lines(diffRuleset(three(ips(17)), three(ips(16)), 'berth'));
  t.equal(down[0], 'flush chain ip berth spread-17');
  t.equal(down.at(-1), 'delete chain ip berth spread-17', 'last: nothing names it any more');
  t.ok(down.indexOf('delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }') > 0);
});

t.test('a service removed: its elements deleted before the chains they name', async (t) => {
  const before = three(['10.1.0.2']);
  const after = plan([service('api', { clusterIP: '10.96.0.11' }), service('db', { clusterIP: '10.96.0.12', sessionAffinity: 'ClientIP' })],
    [slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }]), slice('db', [{ ip: '10.1.2.2' }])]);
  t.same(lines(diffRuleset(before, after, 'berth')), [
    'delete element ip berth cluster-ips { 10.96.0.10 }',
    'delete element ip berth hairpin-endpoints { 10.1.0.2 . 10.1.0.2 }',
    'delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }',
    'delete element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 0 }',
  ]);
  // And the affinity service: its sets go too, after the chains that use them are emptied.
  const noDb = plan([service('api', { clusterIP: '10.96.0.11' })], [slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }])]);
  const dl = lines(diffRuleset(after, noDb, 'berth'));
  const set = `affinity-${endpointNameBase('default', 'db', 'tcp', 'http', '10.1.2.2', 8080)}`;
  const flushAt = dl.indexOf(`flush chain ip berth ${endpointChain('db', '10.1.2.2', 8080)}`);
  const setAt = dl.indexOf(`delete set ip berth ${set}`);
  t.ok(flushAt >= 0 && setAt > flushAt, 'the set is deleted after the rules that update it');
  t.ok(dl.indexOf('delete element ip berth service-ips { 10.96.0.12 . tcp . 80 }') < dl.indexOf(`delete chain ip berth ${chainOf('db')}`));
  t.ok(dl.indexOf(`delete chain ip berth ${chainOf('db')}`) > 0 && dl.indexOf(`delete chain ip berth ${endpointChain('db', '10.1.2.2', 8080)}`) > 0);
});

t.test('losing its last endpoint: the element moves from service-ips to no-endpoint-services', async (t) => {
  const l = lines(diffRuleset(three(['10.1.0.2']), three([]), 'berth'));
  t.ok(l.includes('delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }'));
  t.ok(l.includes('add element ip berth no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }'));
  t.ok(l.includes('delete element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 0 }'));
  t.notOk(l.some((x) => /^(add|flush|delete) chain/.test(x)), 'no chain changes');
});

t.test('a changed map value is deleted and added again (nft refuses to add an existing key)', async (t) => {
  const before = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])]);
  const after = plan([service('web', { sessionAffinity: 'ClientIP' })], [slice('web', [{ ip: '10.1.0.2' }])]);
  const l = lines(diffRuleset(before, after, 'berth'));
  const del = l.indexOf('delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }');
  const add = l.indexOf(`add element ip berth service-ips { 10.96.0.10 . tcp . 80 : goto ${chainOf('web')} }`);
  t.ok(del >= 0 && add > del);
  t.ok(l.indexOf(`add rule ip berth ${chainOf('web')} numgen random mod 1 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)} }`) < add, 'the chain is filled before the element names it');
  t.ok(l.indexOf('delete element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 0 }') >= 0);
  const back = lines(diffRuleset(after, before, 'berth'));
  t.ok(back.indexOf(`delete chain ip berth ${chainOf('web')}`) > back.indexOf('add element ip berth service-ips { 10.96.0.10 . tcp . 80 : goto spread-1 }'), 'an old chain goes last');
});

t.test('an element that moves to another group unchanged is not touched', async (t) => {
  // web's ClusterIP element is planned again (its slice changed) but its other elements are the same.
  const before = three(['10.1.0.2', '10.1.0.3']);
  const after = three(['10.1.0.2', '10.1.0.3', '10.1.0.4']);
  const l = lines(diffRuleset(before, after, 'berth'));
  t.same(l.filter((x) => x.includes('element ip berth service-endpoints-tcp')), ['add element ip berth service-endpoints-tcp { 10.96.0.10 . 80 . 2 : 10.1.0.4 . 8080 }']);
});

t.test('a changed affinity timeout makes the sets again, with the rules that use them', async (t) => {
  const before = plan([service('web', { sessionAffinity: 'ClientIP' })], [slice('web', [{ ip: '10.1.0.2' }])]);
  const after = plan([service('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } } })], [slice('web', [{ ip: '10.1.0.2' }])]);
  const base = endpointNameBase('default', 'web', 'tcp', 'http', '10.1.0.2', 8080);
  const l = lines(diffRuleset(before, after, 'berth'));
  const at = (s: string) => l.indexOf(s);
  t.ok(at(`flush chain ip berth endpoint-${base}`) >= 0 && at(`flush chain ip berth ${chainOf('web')}`) >= 0, 'both chains naming the set are emptied');
  t.ok(at(`delete set ip berth affinity-${base}`) > at(`flush chain ip berth endpoint-${base}`));
  t.ok(at(`add set ip berth affinity-${base} { type ipv4_addr ; flags dynamic,timeout ; timeout 30s ; }`) > at(`delete set ip berth affinity-${base}`));
  t.ok(at(`add rule ip berth endpoint-${base} update @affinity-${base} { ip saddr }`) > at(`add set ip berth affinity-${base} { type ipv4_addr ; flags dynamic,timeout ; timeout 30s ; }`));
});

t.test('node addresses change: set elements added and deleted, and the NodePorts\' endpoints by address', async (t) => {
  const before = plan([], [], { nodeIps: ['192.168.1.10'] });
  const after = plan([], [], { nodeIps: ['192.168.1.11'] });
  t.same(lines(diffRuleset(before, after, 'berth')), ['delete element ip berth nodeport-ips { 192.168.1.10 }', 'add element ip berth nodeport-ips { 192.168.1.11 }']);
  const services = [service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })].map(deepFreeze);
  const slices = [slice('web', [{ ip: '10.1.0.2' }])].map(deepFreeze);
  const l = lines(diffRuleset(plan(services, slices, { nodeIps: ['192.168.1.10'] }), plan(services, slices, { nodeIps: ['192.168.1.11'] }), 'berth'));
  t.same(l, [
    'delete element ip berth nodeport-ips { 192.168.1.10 }',
    'add element ip berth nodeport-ips { 192.168.1.11 }',
    'delete element ip berth service-endpoints-tcp { 192.168.1.10 . 30080 . 0 }',
    'add element ip berth service-endpoints-tcp { 192.168.1.11 . 30080 . 0 : 10.1.0.2 . 8080 }',
  ], 'the cached plan of an unchanged Service is not reused for other node addresses');
});

t.test('a definition nft cannot change in place replaces the table, in one transaction', async (t) => {
  const before = plan([], []);
  const after: ProxyRuleset = { ...before, chains: { ...before.chains, 'nat-output': { ...before.chains['nat-output']!, base: { type: 'nat', hook: 'output', priority: -150 } } } };
  t.same(lines(diffRuleset(before, after, 'berth')).slice(0, 3), ['add table ip berth', 'delete table ip berth', 'add table ip berth { comment "berth" ; }']);
});
