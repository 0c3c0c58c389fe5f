// The service proxy's pure half: which nftables table the Services and EndpointSlices make
// (planProxy), and the script that moves the table from one ruleset to the next (diffRuleset),
// read as text: a change to one Service must not touch another's chains.

import t from 'tap';
import {
  diffRuleset, planProxy, renderRuleset, servicePortNameBase, endpointNameBase, DEFAULT_AFFINITY_TIMEOUT_SECONDS, type ProxyInput, type ProxyRuleset,
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
const serviceChains = (r: ProxyRuleset) => Object.keys(r.chains).filter((c) => /^(service|local|external|endpoint)-/.test(c)).sort();

t.test('ClusterIP: the address goes to the service chain, spread evenly over one chain per ready endpoint', async (t) => {
  const r = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.3' }, { ip: '10.1.0.2' }, { ip: '10.1.0.12' }])]);
  const svc = chainOf('web');
  t.same(r.maps['service-ips']!.elements, { '10.96.0.10 . tcp . 80': `goto ${svc}` });
  const eps = ['10.1.0.2', '10.1.0.3', '10.1.0.12'].map((ip) => endpointChain('web', ip, 8080));
  t.same(r.chains[svc]!.rules, [`numgen random mod 3 vmap { 0 : goto ${eps[0]}, 1 : goto ${eps[1]}, 2 : goto ${eps[2]} }`], 'in address order, numerically');
  t.same(r.chains[eps[0]!]!.rules, ['ip saddr 10.1.0.2 jump mark-for-masquerade', 'meta l4proto tcp dnat to 10.1.0.2:8080'], 'hairpin mark, then DNAT');
  t.same(serviceChains(r), [svc, ...eps].sort(), 'nothing else');
  t.same(r.maps['no-endpoint-services']!.elements, {});
  t.same(r.skipped, []);
  t.same(r.chains['services']!.rules, ['ip daddr . meta l4proto . th dport vmap @service-ips', 'ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports']);
  t.same(r.chains['masquerading']!.rules, ['mark and 0x4000 == 0 return', 'mark set mark xor 0x4000', 'masquerade fully-random']);
  t.same(r.chains['nat-prerouting']!.base, { type: 'nat', hook: 'prerouting', priority: -100 });
  t.same(r.chains['nat-output']!.rules, ['jump services'], 'traffic from the host itself too');
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

t.test('NodePort: the node addresses answer on the nodePort, through the external chain, masqueraded', async (t) => {
  const r = plan([service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })], [slice('web', [{ ip: '10.1.0.2' }])],
    { nodeIps: ['192.168.1.11', '192.168.1.10', '127.0.0.1', 'nonsense'] });
  const external = `external-${servicePortNameBase('default', 'web', 'tcp', 'http')}`;
  t.same(r.maps['service-nodeports']!.elements, { 'tcp . 30080': `goto ${external}` });
  t.same(r.chains[external]!.rules, ['jump mark-for-masquerade', `goto ${chainOf('web')}`]);
  t.same(r.maps['service-ips']!.elements, { '10.96.0.10 . tcp . 80': `goto ${chainOf('web')}` }, 'and its ClusterIP');
  t.same(r.sets['nodeport-ips']!.elements, ['192.168.1.10', '192.168.1.11'], 'no loopback: route_localnet is never needed');
  t.same(r.skipped, ['node address 127.0.0.1: NodePorts do not answer on loopback addresses', 'node address "nonsense": not an IPv4 address']);

  const lb = plan([service('web', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30081 }] })], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(Object.keys(lb.maps['service-nodeports']!.elements), ['tcp . 30081'], 'a LoadBalancer gets its nodePort');
  const clusterIpOnly = plan([service('web', { ports: [{ name: 'http', port: 80, nodePort: 30082 }] })], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(clusterIpOnly.maps['service-nodeports']!.elements, {}, 'a ClusterIP service has no nodePort even if one is written');
});

t.test('externalTrafficPolicy Local: outside clients reach local endpoints only; pods and the host any', async (t) => {
  const spec: Partial<ServiceSpec> = { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] };
  const r = plan([service('web', spec)], [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', node: 'node-b' }])], { clusterCidr: '10.1.0.0/16' });
  const b = servicePortNameBase('default', 'web', 'tcp', 'http');
  t.same(r.chains[`external-${b}`]!.rules, [
    `ip saddr 10.1.0.0/16 goto service-${b}`, 'fib saddr type local jump mark-for-masquerade', `fib saddr type local goto service-${b}`, `goto local-${b}`,
  ]);
  t.same(r.chains[`local-${b}`]!.rules, [`numgen random mod 1 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)} }`]);
  const none = plan([service('web', spec)], [slice('web', [{ ip: '10.1.0.3', node: 'node-b' }])]);
  t.same(none.maps['no-endpoint-nodeports']!.elements, { 'tcp . 30080': 'drop' }, 'no local endpoint: outside traffic dropped');
  t.same(none.maps['service-ips']!.elements, { '10.96.0.10 . tcp . 80': `goto service-${b}` }, 'the ClusterIP still uses every endpoint');
});

t.test('no ready endpoints: the ClusterIP and the NodePort reject at once, no chains', async (t) => {
  const r = plan([service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })], [slice('web', [{ ip: '10.1.0.2', ready: false }])]);
  t.same(r.maps['no-endpoint-services']!.elements, { '10.96.0.10 . tcp . 80': 'goto reject-chain' });
  t.same(r.maps['no-endpoint-nodeports']!.elements, { 'tcp . 30080': 'goto reject-chain' });
  t.same(r.maps['service-ips']!.elements, {});
  t.same(r.maps['service-nodeports']!.elements, {});
  t.same(serviceChains(r), []);
  t.same(r.chains['reject-chain']!.rules, ['meta l4proto tcp reject with tcp reset', 'reject'], 'a TCP reset, ICMP port unreachable for UDP');
  t.same(r.chains['filter-forward']!.rules, ['ct state new jump endpoints-check'], 'checked before DNAT, on new connections');
  t.same(r.chains['filter-forward']!.base, { type: 'filter', hook: 'forward', priority: -110 });
  t.same(plan([service('web', {})], []).maps['no-endpoint-services']!.elements, { '10.96.0.10 . tcp . 80': 'goto reject-chain' }, 'no slice at all');
});

t.test('not-ready endpoints get nothing; serving terminating ones only when none is ready', async (t) => {
  const r = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3', ready: false }, { ip: '10.1.0.4', ready: false, serving: true, terminating: true }])]);
  t.same(r.chains[chainOf('web')]!.rules, [`numgen random mod 1 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)} }`]);
  t.same(serviceChains(r), [chainOf('web'), endpointChain('web', '10.1.0.2', 8080)].sort());
  const terminating = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.3', ready: false }, { ip: '10.1.0.4', ready: false, serving: true, terminating: true }])]);
  t.same(terminating.chains[chainOf('web')]!.rules, [`numgen random mod 1 vmap { 0 : goto ${endpointChain('web', '10.1.0.4', 8080)} }`], 'kube-proxy\'s fallback');
  const unset = plan([service('web', {})], [{ ...slice('web', []), endpoints: [{ addresses: ['10.1.0.5'] }] }]);
  t.ok(unset.chains[endpointChain('web', '10.1.0.5', 8080)], 'no conditions: ready, as the API says');
});

t.test('ports: matched by name and protocol; the slice carries the resolved (named) target port', async (t) => {
  const svc = service('web', { ports: [{ name: 'web', port: 80, targetPort: 'http-alt' }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }] });
  const r = plan([svc], [slice('web', [{ ip: '10.1.0.2' }], [
    { name: 'web', port: 8081, protocol: 'TCP' }, { name: 'other', port: 9999, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' },
  ])]);
  t.same(r.chains[endpointChain('web', '10.1.0.2', 8081, 'web')]!.rules.at(-1), 'meta l4proto tcp dnat to 10.1.0.2:8081');
  t.same(r.chains[endpointChain('web', '10.1.0.2', 5353, 'dns', 'udp')]!.rules.at(-1), 'meta l4proto udp dnat to 10.1.0.2:5353');
  t.same(r.maps['service-ips']!.elements, {
    '10.96.0.10 . tcp . 80': `goto ${chainOf('web', 'web')}`, '10.96.0.10 . udp . 53': `goto ${chainOf('web', 'dns', 'udp')}`,
  });
  const unnamed = plan([service('web', { ports: [{ port: 80 }] })], [slice('web', [{ ip: '10.1.0.2' }], [{ port: 8080 }])]);
  t.ok(unnamed.chains[endpointChain('web', '10.1.0.2', 8080, '')], 'both unnamed');
  const unresolved = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }], [{ name: 'http', protocol: 'TCP' }])]);
  t.same(unresolved.maps['no-endpoint-services']!.elements, { '10.96.0.10 . tcp . 80': 'goto reject-chain' }, 'a port no pod could resolve: no endpoints');
  const wrongProtocol = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }], [{ name: 'http', port: 8080, protocol: 'UDP' }])]);
  t.same(serviceChains(wrongProtocol), [], 'the same name for another protocol is another port');
});

t.test('endpoints: once each across slices, never loopback, only their own service\'s', async (t) => {
  const r = plan([service('web', {}), service('api', { clusterIP: '10.96.0.11' })], [
    slice('web', [{ ip: '10.1.0.2' }, { ip: '127.0.0.1' }], undefined, 'web-1'),
    slice('web', [{ ip: '10.1.0.2', ready: false }, { ip: '10.1.0.3' }], undefined, 'web-2'),
    { ...slice('api', [{ ip: '10.1.0.9' }]), metadata: { name: 'api-x', namespace: 'other', labels: { [SERVICE_NAME_LABEL]: 'api' } } },
    { ...slice('web', [{ ip: '10.1.0.7' }], undefined, 'web-3'), addressType: 'FQDN' },
  ]);
  t.same(r.chains[chainOf('web')]!.rules, [`numgen random mod 2 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)}, 1 : goto ${endpointChain('web', '10.1.0.3', 8080)} }`]);
  t.same(r.skipped, ['default/web: endpoint 127.0.0.1 is a loopback address: not proxied']);
  t.same(r.maps['no-endpoint-services']!.elements, { '10.96.0.11 . tcp . 80': 'goto reject-chain' }, 'a slice of another namespace is not default/api\'s');
});

t.test('session affinity ClientIP: a set per endpoint, checked before the random choice, refreshed in the endpoint chain', async (t) => {
  const r = plan([service('web', { sessionAffinity: 'ClientIP' })], [slice('web', [{ ip: '10.1.0.2' }, { ip: '10.1.0.3' }])]);
  const eps = ['10.1.0.2', '10.1.0.3'].map((ip) => endpointNameBase('default', 'web', 'tcp', 'http', ip, 8080));
  t.same(r.chains[chainOf('web')]!.rules, [
    `ip saddr @affinity-${eps[0]} goto endpoint-${eps[0]}`,
    `ip saddr @affinity-${eps[1]} goto endpoint-${eps[1]}`,
    `numgen random mod 2 vmap { 0 : goto endpoint-${eps[0]}, 1 : goto endpoint-${eps[1]} }`,
  ]);
  t.same(r.chains[`endpoint-${eps[0]}`]!.rules, ['ip saddr 10.1.0.2 jump mark-for-masquerade', `update @affinity-${eps[0]} { ip saddr }`, 'meta l4proto tcp dnat to 10.1.0.2:8080']);
  t.same(r.sets[`affinity-${eps[0]}`], { type: 'ipv4_addr', flags: ['dynamic', 'timeout'], timeoutSeconds: DEFAULT_AFFINITY_TIMEOUT_SECONDS, elements: [] });
  const custom = plan([service('web', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.equal(custom.sets[`affinity-${eps[0]}`]!.timeoutSeconds, 60);
  const none = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])]);
  t.same(Object.keys(none.sets), ['nodeport-ips'], 'no affinity, no sets');
});

t.test('internalTrafficPolicy Local: the ClusterIP uses this node\'s endpoints only; none here: dropped', async (t) => {
  const eps = [{ ip: '10.1.0.2', node: 'node-a' }, { ip: '10.1.0.3', node: 'node-b' }];
  const r = plan([service('web', { internalTrafficPolicy: 'Local' })], [slice('web', eps)]);
  const local = `local-${servicePortNameBase('default', 'web', 'tcp', 'http')}`;
  t.same(r.maps['service-ips']!.elements, { '10.96.0.10 . tcp . 80': `goto ${local}` });
  t.same(r.chains[local]!.rules, [`numgen random mod 1 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)} }`]);
  t.same(serviceChains(r), [local, endpointChain('web', '10.1.0.2', 8080)].sort(), 'the other node\'s endpoint has no chain here');
  const elsewhere = plan([service('web', { internalTrafficPolicy: 'Local' })], [slice('web', eps)], { nodeName: 'node-c' });
  t.same(elsewhere.maps['no-endpoint-services']!.elements, { '10.96.0.10 . tcp . 80': 'drop' }, 'endpoints exist, none here: drop, as kube-proxy');
  t.same(serviceChains(elsewhere), []);
});

t.test('traffic to a ClusterIP from outside the cluster CIDR is masqueraded', async (t) => {
  const r = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])], { clusterCidr: '10.1.0.0/16' });
  t.equal(r.chains[chainOf('web')]!.rules[0], 'ip daddr 10.96.0.10 tcp dport 80 ip saddr != 10.1.0.0/16 jump mark-for-masquerade');
  const bad = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])], { clusterCidr: '10.1.0.1/16' });
  t.match(bad.skipped, [/cluster CIDR "10.1.0.1\/16": host bits are set: traffic from outside/]);
  t.equal(bad.chains[chainOf('web')]!.rules.length, 1, 'without it, no masquerade rule');
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
});

t.test('externalIPs and load balancer addresses go through the external chain', async (t) => {
  const svc: Service = { ...service('web', { externalIPs: ['203.0.113.5'] }), status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example' }] } } };
  const r = plan([svc], [slice('web', [{ ip: '10.1.0.2' }])]);
  const external = `external-${servicePortNameBase('default', 'web', 'tcp', 'http')}`;
  t.same(r.maps['service-ips']!.elements, {
    '10.96.0.10 . tcp . 80': `goto ${chainOf('web')}`, '203.0.113.5 . tcp . 80': `goto ${external}`, '203.0.113.9 . tcp . 80': `goto ${external}`,
  });
});

t.test('two services claiming one address and port: the first (by name) keeps it', async (t) => {
  const r = plan([service('b', {}), service('a', {})], [slice('a', [{ ip: '10.1.0.2' }]), slice('b', [{ ip: '10.1.0.3' }])]);
  t.same(r.maps['service-ips']!.elements, { '10.96.0.10 . tcp . 80': `goto ${chainOf('a')}` });
  t.match(r.skipped, [/^default\/b:http\/tcp: 10.96.0.10 . tcp . 80 in service-ips is already taken/]);
});

t.test('frozen inputs (the watch cache\'s): an unchanged Service\'s part is reused, object for object', async (t) => {
  const services = [service('web', {}), service('api', { clusterIP: '10.96.0.11', internalTrafficPolicy: 'Local' })].map(deepFreeze);
  const slices = [slice('web', [{ ip: '10.1.0.2' }]), slice('api', [{ ip: '10.1.1.2' }])].map(deepFreeze);
  const a = plan(services, slices);
  const b = plan(services, [slices[0]!, frozen(slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }]))]);
  t.equal(b.chains[chainOf('web')], a.chains[chainOf('web')], 'the same chain object: the diff skips it without reading it');
  t.not(b.chains[`local-${servicePortNameBase('default', 'api', 'tcp', 'http')}`], a.chains[`local-${servicePortNameBase('default', 'api', 'tcp', 'http')}`]);
  t.same(b, plan(structuredClone(services), structuredClone([slices[0]!, slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }])])), 'the same ruleset as planned afresh');
  t.ok(Object.isFrozen(a.chains[chainOf('web')]!.rules), 'shared parts are frozen');
  const elsewhere = plan(services, slices, { nodeName: 'node-b' });
  t.same(elsewhere.maps['no-endpoint-services']!.elements, { '10.96.0.11 . tcp . 80': 'drop' }, 'another node name: planned again');
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
  t.ok(lines(script).includes(`add element ip berth service-ips { 10.96.0.11 . tcp . 80 : goto ${chainOf('api')}, 10.96.0.12 . tcp . 80 : goto ${chainOf('db')}, 10.96.0.10 . tcp . 80 : goto ${chainOf('web')} }`));
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
  const numgen = lines(script).findIndex((l) => l.includes('numgen'));
  t.ok(numgen < lines(script).findIndex((l) => l.startsWith('add chain') && l.includes('endpoint-') && l.includes('/db/')), 'a service\'s choice comes before the next service\'s chains');
  const replace = renderRuleset(r, 'berth', { replace: true });
  t.same(lines(replace).slice(0, 3), ['add table ip berth', 'delete table ip berth', 'add table ip berth { comment "berth" ; }'], 'replacing clears what was there, in the same transaction');
  t.equal(diffRuleset(r, three(['10.1.0.2']), 'berth'), '', 'nothing changed: nothing to do');
});

t.test('one endpoint more: only that service\'s chain and the new endpoint\'s', async (t) => {
  const before = three(['10.1.0.2']);
  const after = three(['10.1.0.2', '10.1.0.3']);
  const script = diffRuleset(before, after, 'berth');
  const ep = endpointChain('web', '10.1.0.3', 8080);
  t.same(lines(script), [
    `add chain ip berth ${ep}`,
    `flush chain ip berth ${chainOf('web')}`,
    `add rule ip berth ${ep} ip saddr 10.1.0.3 jump mark-for-masquerade`,
    `add rule ip berth ${ep} meta l4proto tcp dnat to 10.1.0.3:8080`,
    `add rule ip berth ${chainOf('web')} numgen random mod 2 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)}, 1 : goto ${ep} }`,
  ].sort((a, b) => order(a) - order(b)));
  t.notMatch(script, /\/api\/|\/db\//, 'the other services are not touched');
  t.notMatch(script, /service-ips|table/, 'no map element and no table change');
});

// The diff's order: new chains, flushes, rules (the new chain's before the refilled one's: both after all flushes).
function order(line: string): number {
  if (line.startsWith('add chain')) return 0;
  if (line.startsWith('flush')) return 1;
  return line.includes('numgen') ? 3 : 2;
}

t.test('one endpoint fewer: the service chain refilled, the endpoint chain emptied then deleted', async (t) => {
  const script = diffRuleset(three(['10.1.0.2', '10.1.0.3']), three(['10.1.0.2']), 'berth');
  const gone = endpointChain('web', '10.1.0.3', 8080);
  const l = lines(script);
  t.same(l, [
    `flush chain ip berth ${chainOf('web')}`,
    `flush chain ip berth ${gone}`,
    `add rule ip berth ${chainOf('web')} numgen random mod 1 vmap { 0 : goto ${endpointChain('web', '10.1.0.2', 8080)} }`,
    `delete chain ip berth ${gone}`,
  ]);
  t.notMatch(script, /\/api\/|\/db\//);
});

t.test('a service removed: its map element deleted before its chains', async (t) => {
  const before = three(['10.1.0.2']);
  const after = plan([service('api', { clusterIP: '10.96.0.11' }), service('db', { clusterIP: '10.96.0.12', sessionAffinity: 'ClientIP' })],
    [slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }]), slice('db', [{ ip: '10.1.2.2' }])]);
  const l = lines(diffRuleset(before, after, 'berth'));
  const ep = endpointChain('web', '10.1.0.2', 8080);
  t.same(l, [
    `flush chain ip berth ${chainOf('web')}`,
    `flush chain ip berth ${ep}`,
    'delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }',
    `delete chain ip berth ${chainOf('web')}`,
    `delete chain ip berth ${ep}`,
  ]);
  // And the affinity service: its sets go too, after the chains that use them are emptied.
  const noDb = plan([service('api', { clusterIP: '10.96.0.11' })], [slice('api', [{ ip: '10.1.1.2' }, { ip: '10.1.1.3' }])]);
  const dl = lines(diffRuleset(after, noDb, 'berth'));
  const set = `affinity-${endpointNameBase('default', 'db', 'tcp', 'http', '10.1.2.2', 8080)}`;
  const flushAt = dl.indexOf(`flush chain ip berth ${endpointChain('db', '10.1.2.2', 8080)}`);
  const setAt = dl.indexOf(`delete set ip berth ${set}`);
  t.ok(flushAt >= 0 && setAt > flushAt, 'the set is deleted after the rules that update it');
  t.ok(dl.indexOf('delete element ip berth service-ips { 10.96.0.12 . tcp . 80 }') < dl.indexOf(`delete chain ip berth ${chainOf('db')}`));
});

t.test('losing its last endpoint: the element moves from service-ips to no-endpoint-services', async (t) => {
  const l = lines(diffRuleset(three(['10.1.0.2']), three([]), 'berth'));
  t.ok(l.includes('delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }'));
  t.ok(l.includes('add element ip berth no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }'));
  t.ok(l.indexOf(`delete chain ip berth ${chainOf('web')}`) > l.indexOf('delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }'));
});

t.test('a changed map value is deleted and added again (nft refuses to add an existing key)', async (t) => {
  const before = plan([service('web', {})], [slice('web', [{ ip: '10.1.0.2' }])]);
  const after = plan([service('web', { internalTrafficPolicy: 'Local' })], [slice('web', [{ ip: '10.1.0.2' }])]);
  const l = lines(diffRuleset(before, after, 'berth'));
  const local = `local-${servicePortNameBase('default', 'web', 'tcp', 'http')}`;
  const del = l.indexOf('delete element ip berth service-ips { 10.96.0.10 . tcp . 80 }');
  const add = l.indexOf(`add element ip berth service-ips { 10.96.0.10 . tcp . 80 : goto ${local} }`);
  t.ok(del >= 0 && add > del);
  t.ok(l.indexOf(`delete chain ip berth ${chainOf('web')}`) > add, 'the old chain goes last');
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

t.test('node addresses change: set elements added and deleted', async (t) => {
  const before = plan([], [], { nodeIps: ['192.168.1.10'] });
  const after = plan([], [], { nodeIps: ['192.168.1.11'] });
  t.same(lines(diffRuleset(before, after, 'berth')), ['delete element ip berth nodeport-ips { 192.168.1.10 }', 'add element ip berth nodeport-ips { 192.168.1.11 }']);
});

t.test('a definition nft cannot change in place replaces the table, in one transaction', async (t) => {
  const before = plan([], []);
  const after: ProxyRuleset = { ...before, chains: { ...before.chains, 'nat-output': { ...before.chains['nat-output']!, base: { type: 'nat', hook: 'output', priority: -150 } } } };
  t.same(lines(diffRuleset(before, after, 'berth')).slice(0, 3), ['add table ip berth', 'delete table ip berth', 'add table ip berth { comment "berth" ; }']);
});
