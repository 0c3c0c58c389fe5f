// A pod's resolv.conf for each dnsPolicy, its /etc/hosts name, and the Services' environment
// variables, as the kubelet writes them. Pure.

import t from 'tap';
import { parseResolvConf, podDnsSettings, podHostsEntry, serviceEnv } from '../../agent/node/pod-dns';
import { formatResolvConf } from '../../agent/runtime/etc-files';
import type { Pod, Service } from '../../proto/resources';

const host = parseResolvConf('# from DHCP\nnameserver 127.0.0.53\nnameserver 192.168.1.1\nsearch corp.example lab.example\noptions edns0 trust-ad\n');

const pod = (spec: Partial<Pod['spec']> = {}, namespace = 'shop'): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
});

t.test('the host resolv.conf: a loopback stub is dropped (a pod cannot reach it), searches and options kept', async (t) => {
  t.same(host, { nameservers: ['192.168.1.1'], searches: ['corp.example', 'lab.example'], options: ['edns0', 'trust-ad'] });
});

t.test('ClusterFirst: the node DNS, the namespace search path then the host\'s, ndots:5', async (t) => {
  const dns = podDnsSettings(pod(), '10.42.3.1', host);
  t.equal(formatResolvConf(dns), 'nameserver 10.42.3.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\noptions ndots:5\n');
  t.same(podDnsSettings(pod({ dnsPolicy: 'ClusterFirst' }), undefined, host), host, 'no cluster DNS on this node: the host\'s');
});

t.test('Default, None with dnsConfig, and dnsConfig merged into ClusterFirst', async (t) => {
  t.same(podDnsSettings(pod({ dnsPolicy: 'Default' }), '10.42.3.1', host), host);
  t.same(podDnsSettings(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['x.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), '10.42.3.1', host),
    { nameservers: ['1.1.1.1'], searches: ['x.example'], options: ['ndots:2', 'edns0'] });
  t.same(podDnsSettings(pod({ dnsConfig: { nameservers: ['9.9.9.9'], options: [{ name: 'ndots', value: '1' }] } }), '10.42.3.1', host).options, ['ndots:1'], 'an option of dnsConfig overrides the default');
  const many = podDnsSettings(pod({ dnsConfig: { nameservers: ['9.9.9.9', '8.8.8.8', '1.1.1.1'] } }), '10.42.3.1', host);
  t.same(many.nameservers, ['10.42.3.1', '9.9.9.9', '8.8.8.8'], 'at most three nameservers, the cluster\'s first');
});

t.test('a pod with hostname and subdomain is named in its /etc/hosts', async (t) => {
  t.same(podHostsEntry(pod({ hostname: 'db-0', subdomain: 'db' }), '10.42.0.7'), ['10.42.0.7\tdb-0.db.shop.svc.cluster.local\tdb-0']);
  t.same(podHostsEntry(pod({ hostname: 'db-0' }), '10.42.0.7'), []);
  t.same(podHostsEntry(pod({ hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }, { ip: '10.9.9.9' }] }), '10.42.0.7'), ['# Entries added by HostAliases.', '10.1.2.3\tfoo.local\tbar.local'], 'hostAliases appended, as the kubelet does');
});

const svc = (name: string, namespace: string, spec: Partial<Service['spec']>): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec });

t.test("Service variables: the namespace's Services with a cluster IP, docker-link style too, and the API's always", async (t) => {
  const services = [
    svc('kubernetes', 'default', { clusterIP: '10.43.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }),
    svc('redis-primary', 'shop', { clusterIP: '10.43.5.6', ports: [{ port: 6379, protocol: 'TCP' }] }),
    svc('dns', 'shop', { clusterIP: '10.43.5.7', ports: [{ name: 'dns-udp', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }),
    svc('headless', 'shop', { clusterIP: 'None', ports: [{ port: 80 }] }),
    svc('elsewhere', 'other', { clusterIP: '10.43.9.9', ports: [{ port: 80 }] }),
  ];
  const env = serviceEnv(pod(), services);
  t.same(env.filter((e) => e.startsWith('REDIS_PRIMARY_')), [
    'REDIS_PRIMARY_SERVICE_HOST=10.43.5.6', 'REDIS_PRIMARY_SERVICE_PORT=6379', 'REDIS_PRIMARY_PORT=tcp://10.43.5.6:6379',
    'REDIS_PRIMARY_PORT_6379_TCP=tcp://10.43.5.6:6379', 'REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp', 'REDIS_PRIMARY_PORT_6379_TCP_PORT=6379', 'REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.43.5.6',
  ]);
  t.ok(env.includes('DNS_SERVICE_PORT_DNS_UDP=53') && env.includes('DNS_PORT=udp://10.43.5.7:53') && env.includes('DNS_PORT_53_TCP_PROTO=tcp'), 'named ports, the first port as _PORT');
  t.ok(env.includes('KUBERNETES_SERVICE_HOST=10.43.0.1') && env.includes('KUBERNETES_SERVICE_PORT_HTTPS=443'), "the API's Service in every namespace");
  t.notOk(env.some((e) => e.startsWith('HEADLESS_') || e.startsWith('ELSEWHERE_')), 'no headless Service, nothing of another namespace');
  t.same(serviceEnv(pod({ enableServiceLinks: false }), services).filter((e) => !e.startsWith('KUBERNETES_')), [], 'enableServiceLinks: false: only the API\'s');
});
