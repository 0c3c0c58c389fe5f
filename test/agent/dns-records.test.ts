// The cluster's DNS names as pure answers from Services and EndpointSlices: what each kind of
// Service publishes, NXDOMAIN against NODATA, readiness, SRV, pod records, and name spelling.

import t from 'tap';
import type { Answer, Question } from 'dns-packet';
import { answer, buildIndex, type ClusterAnswer, type DnsIndex } from '../../agent/network/dns';
import { SERVICE_NAME_LABEL, type Endpoint, type EndpointPort, type EndpointSlice, type Service, type ServiceSpec } from '../../proto/resources';

const service = (name: string, spec: ServiceSpec, namespace = 'default', annotations?: Record<string, string>): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, ...(annotations ? { annotations } : {}) }, spec,
});

const slice = (service: string, name: string, endpoints: Endpoint[], ports: EndpointPort[] = [], namespace = 'default'): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
  metadata: { name, namespace, labels: { [SERVICE_NAME_LABEL]: service } }, endpoints, ports,
});

const ready = (ip: string, more: Partial<Endpoint> = {}): Endpoint => ({ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, ...more });
const notReady = (ip: string, more: Partial<Endpoint> = {}): Endpoint => ({ addresses: [ip], conditions: { ready: false, serving: false, terminating: false }, ...more });
const terminating = (ip: string): Endpoint => ({ addresses: [ip], conditions: { serving: true, terminating: true } });

const services = [
  service('web', { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'dns', protocol: 'UDP', port: 53 }] }),
  service('unnamed', { clusterIP: '10.96.0.11', ports: [{ port: 8080 }] }),
  service('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
  service('peers', { clusterIP: 'None', publishNotReadyAddresses: true }),
  service('empty', { clusterIP: 'None' }),
  service('legacy', { clusterIP: 'None' }, 'default', { 'service.alpha.kubernetes.io/tolerate-unready-endpoints': 'true' }),
  service('search', { type: 'ExternalName', externalName: 'Search.Example.COM.' }),
  service('alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
  service('broken', { type: 'ExternalName', externalName: 'not a name' }),
  service('web', { clusterIP: '10.96.1.10' }, 'other'),
  service('nodeport', { type: 'NodePort', clusterIP: '10.96.0.12', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
];

const slices = [
  slice('db', 'db-a', [
    ready('10.1.0.5', { hostname: 'DB-0' }),
    ready('10.1.0.6'),
    notReady('10.1.0.7', { hostname: 'db-2' }),
    terminating('10.1.0.8'),
    { addresses: ['10.1.0.9'] }, // no conditions: Kubernetes says read that as ready
    ready('not-an-ip'),
  ], [{ name: 'pg', protocol: 'TCP', port: 15432 }, { port: 9 }]),
  // The same pod in a second slice (the controller moving it): published once.
  slice('db', 'db-b', [ready('10.1.0.6')], [{ name: 'pg', protocol: 'TCP', port: 15432 }]),
  slice('peers', 'peers-a', [ready('10.1.1.1'), notReady('10.1.1.2', { hostname: 'peer-1' })]),
  slice('empty', 'empty-a', [notReady('10.1.2.1')]),
  slice('legacy', 'legacy-a', [notReady('10.1.3.1')]),
  // A slice of a Service of the same name in another namespace: not db's endpoints.
  slice('db', 'db-other', [ready('10.1.9.9')], [], 'other'),
  slice('ghost', 'ghost-a', [ready('10.1.8.8')]),
];

const index = buildIndex(services, slices);

const ask = (name: string, type: Question['type'] | 'ANY' = 'A', klass: Question['class'] = 'IN', idx: DnsIndex = index): ClusterAnswer => {
  const r = answer(idx, { name, type: type as Question['type'], class: klass });
  if (r === 'forward') throw new Error(`${name} was forwarded`);
  return r;
};
const ttl = (record: Answer | undefined) => (record && 'ttl' in record ? record.ttl : undefined);
const data = (records: Answer[]) => records.map((r) => ('data' in r ? r.data : undefined));
const sorted = (records: Answer[]) => (data(records) as string[]).sort();

t.test('a ClusterIP Service: its A record, authoritative, TTL 5 s', async (t) => {
  const r = ask('web.default.svc.cluster.local');
  t.equal(r.rcode, 'NOERROR');
  t.equal(r.authoritative, true);
  t.same(r.answers, [{ name: 'web.default.svc.cluster.local', type: 'A', ttl: 5, class: 'IN', data: '10.96.0.10' }]);
  t.same(r.authorities, []);
  t.same(data(ask('web.other.svc.cluster.local').answers), ['10.96.1.10'], 'a namespace of its own');
  t.same(data(ask('nodeport.default.svc.cluster.local').answers), ['10.96.0.12'], 'NodePort Services have their cluster IP too');
});

t.test('names are compared case-insensitively, a trailing dot is fine, the asked spelling is kept', async (t) => {
  const r = ask('WEB.Default.SVC.Cluster.Local.');
  t.equal(r.rcode, 'NOERROR');
  t.same(data(r.answers), ['10.96.0.10']);
  t.equal(r.answers[0]!.name, 'WEB.Default.SVC.Cluster.Local', 'the owner is spelled as asked (RFC 4343), without the dot');
  t.same(data(ask('_HTTP._Tcp.web.default.svc.cluster.local.', 'SRV').answers), [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
});

t.test('NXDOMAIN for names that do not exist, NODATA for names that do but not with that type', async (t) => {
  for (const name of ['nope.default.svc.cluster.local', 'web.nope.svc.cluster.local', 'x.web.default.svc.cluster.local', 'web.default.cluster.local', 'ghost.default.svc.cluster.local']) {
    const r = ask(name);
    t.equal(r.rcode, 'NXDOMAIN', name);
    t.equal(r.authoritative, true, `${name}: authoritative`);
    t.same(r.answers, []);
    t.equal(r.authorities[0]?.type, 'SOA', `${name}: the SOA tells how long to remember it`);
    t.equal(ttl(r.authorities[0]), 5);
  }
  const nodata = ask('web.default.svc.cluster.local', 'AAAA');
  t.equal(nodata.rcode, 'NOERROR', 'AAAA of an IPv4 Service: the name exists');
  t.same(nodata.answers, []);
  t.equal(nodata.authorities[0]?.type, 'SOA');
  t.equal(ask('web.default.svc.cluster.local', 'MX').rcode, 'NOERROR');
  // Names with nothing but names below them exist too (RFC 8020: NXDOMAIN would deny those).
  for (const name of ['default.svc.cluster.local', 'svc.cluster.local', '_tcp.web.default.svc.cluster.local', 'pod.cluster.local', 'default.pod.cluster.local']) {
    const r = ask(name);
    t.equal(r.rcode, 'NOERROR', `${name} exists`);
    t.same(r.answers, [], `${name} has no A`);
  }
});

t.test('the apex: its SOA, and the schema version', async (t) => {
  const soa = ask('cluster.local', 'SOA');
  t.equal(soa.rcode, 'NOERROR');
  t.match(soa.answers[0], { type: 'SOA', data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', minimum: 5 } });
  t.same(data(ask('dns-version.cluster.local', 'TXT').answers), ['1.0.1']);
  t.equal(ask('cluster.local', 'A').rcode, 'NOERROR');
});

t.test('a headless Service: its ready endpoints, each once', async (t) => {
  const r = ask('db.default.svc.cluster.local');
  t.equal(r.rcode, 'NOERROR');
  t.same(sorted(r.answers), ['10.1.0.5', '10.1.0.6', '10.1.0.9'], 'not ready, terminating, and invalid addresses are left out');
  t.same(sorted(ask('peers.default.svc.cluster.local').answers), ['10.1.1.1', '10.1.1.2'], 'publishNotReadyAddresses: every endpoint');
  t.same(sorted(ask('legacy.default.svc.cluster.local').answers), ['10.1.3.1'], 'the tolerate-unready-endpoints annotation too');
  t.equal(ask('empty.default.svc.cluster.local').rcode, 'NXDOMAIN', 'no ready endpoint: NXDOMAIN, as the specification says');
});

t.test('pod records under a headless Service: by hostname, and by dashed address', async (t) => {
  t.same(data(ask('db-0.db.default.svc.cluster.local').answers), ['10.1.0.5'], 'hostname DB-0, lower-cased');
  t.same(data(ask('10-1-0-5.db.default.svc.cluster.local').answers), ['10.1.0.5']);
  t.same(data(ask('10-1-0-6.db.default.svc.cluster.local').answers), ['10.1.0.6']);
  t.equal(ask('db-2.db.default.svc.cluster.local').rcode, 'NXDOMAIN', 'a not-ready endpoint has no name');
  t.equal(ask('10-1-0-7.db.default.svc.cluster.local').rcode, 'NXDOMAIN');
  t.same(data(ask('peer-1.peers.default.svc.cluster.local').answers), ['10.1.1.2'], 'unless the Service publishes not-ready addresses');
  t.equal(ask('10-1-0-5.web.default.svc.cluster.local').rcode, 'NXDOMAIN', 'a ClusterIP Service names no pods');
});

t.test('SRV: one record per named port of a ClusterIP Service, with its A in the additional section', async (t) => {
  const r = ask('_http._tcp.web.default.svc.cluster.local', 'SRV');
  t.same(r.answers, [{ name: '_http._tcp.web.default.svc.cluster.local', type: 'SRV', ttl: 5, class: 'IN', data: { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' } }]);
  t.same(data(r.additionals), ['10.96.0.10']);
  t.same(data(ask('_dns._udp.web.default.svc.cluster.local', 'SRV').answers), [{ priority: 0, weight: 100, port: 53, target: 'web.default.svc.cluster.local' }], 'protocol in lower case');
  t.equal(ask('_dns._tcp.web.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN', 'the port is UDP only');
  t.equal(ask('_http._tcp.web.default.svc.cluster.local', 'A').rcode, 'NOERROR', 'an SRV name asked for A: NODATA');
  t.same(ask('_http._tcp.web.default.svc.cluster.local', 'A').answers, []);
  t.equal(ask('unnamed.default.svc.cluster.local').rcode, 'NOERROR');
  t.equal(ask('_tcp.unnamed.default.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN', 'unnamed ports have no SRV record');
});

t.test('SRV of a headless Service: one per ready endpoint, to its name, at the endpoint port', async (t) => {
  const r = ask('_pg._tcp.db.default.svc.cluster.local', 'SRV');
  t.equal(r.rcode, 'NOERROR');
  const targets = r.answers.map((a) => (a.type === 'SRV' ? `${a.data.target}:${a.data.port}/${a.data.weight}` : '')).sort();
  t.same(targets, ['10-1-0-6.db.default.svc.cluster.local:15432/33', '10-1-0-9.db.default.svc.cluster.local:15432/33', 'db-0.db.default.svc.cluster.local:15432/33']);
  t.same(r.additionals.map((a) => `${a.name} ${a.type === 'A' ? a.data : ''}`).sort(), [
    '10-1-0-6.db.default.svc.cluster.local 10.1.0.6', '10-1-0-9.db.default.svc.cluster.local 10.1.0.9', 'db-0.db.default.svc.cluster.local 10.1.0.5',
  ], 'the targets\' addresses come along');
});

t.test('ExternalName: a CNAME, followed inside the domain, left to the caller outside it', async (t) => {
  const out = ask('search.default.svc.cluster.local');
  t.equal(out.rcode, 'NOERROR');
  t.same(out.answers, [{ name: 'search.default.svc.cluster.local', type: 'CNAME', ttl: 5, class: 'IN', data: 'search.example.com' }]);
  t.same(data(ask('search.default.svc.cluster.local', 'CNAME').answers), ['search.example.com']);
  const inside = ask('alias.default.svc.cluster.local');
  t.same(inside.answers.map((a) => `${a.name} ${a.type} ${'data' in a ? a.data : ''}`), [
    'alias.default.svc.cluster.local CNAME web.default.svc.cluster.local',
    'web.default.svc.cluster.local A 10.96.0.10',
  ]);
  t.equal(ask('broken.default.svc.cluster.local').rcode, 'NXDOMAIN', 'an external name that is not a DNS name publishes nothing');
});

t.test('pod A records: <a-b-c-d>.<ns>.pod.<domain>', async (t) => {
  t.same(ask('10-244-1-7.default.pod.cluster.local').answers, [{ name: '10-244-1-7.default.pod.cluster.local', type: 'A', ttl: 5, class: 'IN', data: '10.244.1.7' }]);
  t.same(data(ask('10-244-1-7.anywhere.pod.cluster.local').answers), ['10.244.1.7']);
  t.equal(ask('10-244-1-7.default.pod.cluster.local', 'AAAA').rcode, 'NOERROR', 'NODATA for AAAA');
  for (const name of ['10-244-1-300.default.pod.cluster.local', '10-244-1.default.pod.cluster.local', 'x.10-244-1-7.default.pod.cluster.local', '010-1-1-1.default.pod.cluster.local']) {
    t.equal(ask(name).rcode, 'NXDOMAIN', name);
  }
});

t.test('PTR for cluster IPs and endpoint addresses; other reverse names are forwarded', async (t) => {
  t.same(data(ask('10.0.96.10.in-addr.arpa', 'PTR').answers), ['web.default.svc.cluster.local']);
  t.same(data(ask('5.0.1.10.in-addr.arpa.', 'PTR').answers), ['db-0.db.default.svc.cluster.local']);
  t.same(data(ask('6.0.1.10.in-addr.arpa', 'PTR').answers), ['10-1-0-6.db.default.svc.cluster.local']);
  t.equal(answer(index, { name: '7.0.1.10.in-addr.arpa', type: 'PTR' }), 'forward', 'not ready: not ours');
  t.equal(answer(index, { name: '1.1.168.192.in-addr.arpa', type: 'PTR' }), 'forward');
  t.equal(answer(index, { name: '10.0.96.10.in-addr.arpa', type: 'A' }), 'forward');
});

t.test('names outside the domain are forwarded', async (t) => {
  for (const name of ['example.com', 'web.default.svc.cluster.local.example.com', 'notcluster.local', 'local', '.']) {
    t.equal(answer(index, { name, type: 'A' }), 'forward', name);
  }
});

t.test('a class other than IN under the domain is refused', async (t) => {
  const r = ask('web.default.svc.cluster.local', 'A', 'CH');
  t.equal(r.rcode, 'REFUSED');
  t.equal(r.authoritative, false);
  t.same(data(ask('web.default.svc.cluster.local', 'A', 'ANY').answers), ['10.96.0.10'], 'class ANY is answered');
  t.same(ask('web.default.svc.cluster.local', 'ANY').answers.map((a) => a.type), ['A'], 'type ANY: every record of the name');
});

t.test('another domain and TTL; a bad domain is refused at build time', async (t) => {
  const other = buildIndex(services, slices, { domain: 'Berth.Internal.', ttl: 30, serial: 7 });
  t.equal(other.domain, 'berth.internal');
  t.equal(ttl(ask('web.default.svc.berth.internal', 'A', 'IN', other).answers[0]), 30);
  t.equal(answer(other, { name: 'web.default.svc.cluster.local', type: 'A' }), 'forward');
  t.match(other.soa.data, { serial: 7 });
  t.throws(() => buildIndex([], [], { domain: 'bad domain' }), { code: 'invalid-argument', message: /cluster DNS domain "bad domain" is not a DNS name/ });
  t.throws(() => buildIndex([], [], { ttl: -1 }), /TTL -1/);
});

t.test('the records handed out are copies: changing one does not change the index', async (t) => {
  const first = ask('web.default.svc.cluster.local');
  (first.answers[0] as { data: string }).data = '1.2.3.4';
  first.authorities.length = 0;
  t.same(data(ask('web.default.svc.cluster.local').answers), ['10.96.0.10']);
  (ask('nope.default.svc.cluster.local').authorities[0] as { ttl: number }).ttl = 999;
  t.equal(ttl(ask('nope.default.svc.cluster.local').authorities[0]), 5);
});
