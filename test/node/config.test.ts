// Node options and the Node document an agent registers.

import * as os from 'node:os';
import t from 'tap';
import { compileNodeOptions, defaultNodeIp, parseExtendedResource, parseIngressPort, parseLabels, parsePodPidsLimit, parseRestartBackoff } from '../../agent/node/config';
import { KUBELET_RESTART_BACKOFF } from '../../agent/runtime';
import { memoryReserve, nodeDocument } from '../../agent/node/node-document';
import { createRequest, publishedPorts } from '../../agent/node/container-spec';
import type { Pod } from '../../proto/resources';

t.test('labels, controller address, node name and IP are checked once', async (t) => {
  t.same(parseLabels('zone=a, tier=web,example.com/role=db'), { zone: 'a', tier: 'web', 'example.com/role': 'db' });
  t.throws(() => parseLabels('zone'), /invalid --labels entry "zone": expected KEY=VALUE/);
  t.throws(() => parseLabels('bad key=x'), /invalid --labels key "bad key"/);
  t.throws(() => parseLabels('k=no spaces'), /invalid --labels value "no spaces" for "k"/);
  const c = compileNodeOptions({ controller: '127.0.0.1:7443', nodeName: 'node-1', nodeIp: '10.1.2.3', labels: { zone: 'a' } });
  t.same(c, {
    controller: '127.0.0.1:7443', nodeName: 'node-1', labels: { zone: 'a' }, nodeIp: '10.1.2.3', hostname: os.hostname(),
    podPidsLimit: 4096, restartBackoff: KUBELET_RESTART_BACKOFF, seccompRoot: '/var/lib/berth/seccomp', extendedResources: {},
    ingressPorts: undefined, metricsResolutionMs: 15_000,
  });
  t.same(compileNodeOptions({ controller: 'h:1', nodeName: 'n', nodeIp: '10.1.2.3', ingressPorts: { http: 8080 }, metricsResolutionMs: 2000 }).ingressPorts, { http: 8080 }, 'ingress ports as given');
  t.equal(compileNodeOptions({ controller: 'h:1', nodeName: 'n', nodeIp: '10.1.2.3', ingressPorts: { http: 0, https: 0 } }).ingressPorts, undefined, 'ports of 0: no ingress served');
  t.equal(parseIngressPort('ingress-http-port', '80'), 80);
  t.throws(() => parseIngressPort('ingress-http-port', '70000'), /invalid --ingress-http-port "70000": expected a port number from 1 to 65535 \(0: none\)/);
  t.throws(() => parseIngressPort('ingress-https-port', 'x'), /invalid --ingress-https-port "x"/);
  t.throws(() => compileNodeOptions({ controller: 'nowhere' }), /invalid --controller "nowhere": expected HOST:PORT/);
  t.throws(() => compileNodeOptions({ controller: 'h:1', nodeName: 'Node_1' }), /invalid node name "Node_1"/);
  t.throws(() => compileNodeOptions({ controller: 'h:1', nodeIp: 'fe80::1' }), /invalid --node-ip "fe80::1"/);
  t.equal(defaultNodeIp({ lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '', mac: '', cidr: null }], eth0: [{ address: 'fe80::1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 0 }, { address: '192.168.1.9', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null }] }), '192.168.1.9');
});

t.test('the Node document: capacity, allocatable, addresses, labels, node info', async (t) => {
  const doc = nodeDocument({ nodeName: 'n1', labels: { zone: 'a' }, nodeIp: '10.0.0.7', hostname: 'Host1' },
    { cpus: 8, memoryBytes: 16 * 1024 ** 3, osImage: 'Debian', kernelVersion: '6.1', architecture: 'amd64', containerRuntimeVersion: 'runc://1.1', agentVersion: 'v0.1.0' });
  t.same(doc.metadata, { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', zone: 'a' } });
  t.same(doc.status!.capacity, { cpu: '8', memory: `${16 * 1024 * 1024}Ki`, pods: '110' });
  t.equal(doc.status!.allocatable!.memory, `${(16 * 1024 ** 3 - 512 * 1024 ** 2) / 1024}Ki`, 'minus the reserve');
  t.equal(memoryReserve(1024 ** 3), Math.floor(1024 ** 3 * 0.05));
  t.same(doc.status!.addresses, [{ type: 'InternalIP', address: '10.0.0.7' }, { type: 'Hostname', address: 'Host1' }]);
  t.equal(doc.status!.nodeInfo!.containerRuntimeVersion, 'runc://1.1');
});

t.test('a pod container as a runtime create request', async (t) => {
  const pod: Pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', uid: '0123456789abcdef' },
    spec: {
      restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 4,
      containers: [{ name: 'app', image: 'reg/app:1', command: ['/bin/app'], args: ['--port', '80'], workingDir: '/srv', env: [{ name: 'A', value: '1' }, { name: 'B' }],
        resources: { limits: { cpu: '250m', memory: '64Mi' } }, ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 9090 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP' }] }],
    },
  };
  const req = createRequest(pod, { namespace: 'shop', name: 'web', uid: '0123456789abcdef' }, pod.spec.containers[0]!, '/run/berth/net/netns/pod-x');
  t.match(req, {
    image: 'reg/app:1', name: 'k8s_app_web_shop_01234567', entrypoint: ['/bin/app'], cmd: ['--port', '80'], workdir: '/srv', env: ['A=1', 'B='],
    network: 'netns:/run/berth/net/netns/pod-x', limits: { cpus: 0.25, memoryBytes: 64 * 1024 * 1024 }, restart: { name: 'on-failure' }, stopTimeout: 4, hostname: 'web',
    labels: { 'io.kubernetes.pod.namespace': 'shop', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.uid': '0123456789abcdef', 'io.kubernetes.container.name': 'app' },
  });
  t.same(publishedPorts(pod), [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostIp: '', hostPort: 5353, containerPort: 53, protocol: 'udp' }]);
  const noCommand = createRequest({ ...pod, spec: { containers: [{ name: 'c', image: 'x' }] } }, { namespace: 'a', name: 'b', uid: 'c' }, { name: 'c', image: 'x' }, '/n');
  t.equal(noCommand.entrypoint, undefined, "the image's entrypoint stays");
  t.same(noCommand.restart, { name: 'always', maximumRetryCount: 0, backoff: KUBELET_RESTART_BACKOFF }, "Always by default, with the kubelet's back-off");
  t.same(noCommand.security, { seccomp: { type: 'runtime-default' }, noNewPrivileges: false }, 'RuntimeDefault seccomp when nothing says otherwise');
  t.equal(noCommand.securityOpt, undefined);
  t.equal(noCommand.cgroup, undefined);
  const fast = { initialMs: 100, maxMs: 1000, resetAfterMs: 2000 };
  const inGroup = createRequest(pod, { namespace: 'shop', name: 'web', uid: 'u' }, pod.spec.containers[0]!, '/n', { cgroup: 'pod-u', restartBackoff: fast });
  t.equal(inGroup.cgroup, 'pod-u');
  t.same(inGroup.restart?.backoff, fast);
});

t.test("securityContext: the container's seccompProfile over the pod's, RuntimeDefault by default, allowPrivilegeEscalation as no_new_privs", async (t) => {
  const ref = { namespace: 'a', name: 'b', uid: 'c' };
  const make = (podContext: Pod['spec']['securityContext'], containerContext?: Pod['spec']['containers'][number]['securityContext'], profiles: Record<string, string> = {}) => {
    const c = { name: 'c', image: 'x', ...(containerContext ? { securityContext: containerContext } : {}) };
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, spec: { containers: [c], ...(podContext ? { securityContext: podContext } : {}) } };
    return createRequest(pod, ref, c, '/n', { localhostProfile: (name) => { if (!(name in profiles)) throw new Error(`no ${name}`); return profiles[name]!; } });
  };
  t.same(make(undefined).security?.seccomp, { type: 'runtime-default' });
  t.same(make({ seccompProfile: { type: 'Unconfined' } }).security?.seccomp, { type: 'unconfined' }, "the pod's");
  t.same(make({ seccompProfile: { type: 'Unconfined' } }).securityOpt, ['seccomp=unconfined'], 'inspect shows it in docker\'s words');
  t.same(make({ seccompProfile: { type: 'Unconfined' } }, { seccompProfile: { type: 'RuntimeDefault' } }).security?.seccomp, { type: 'runtime-default' }, "the container's wins");
  const local = make(undefined, { seccompProfile: { type: 'Localhost', localhostProfile: 'team/p.json' } }, { 'team/p.json': '{"defaultAction":"SCMP_ACT_ALLOW"}' });
  t.same(local.security?.seccomp, { type: 'profile', json: '{"defaultAction":"SCMP_ACT_ALLOW"}' }, 'a Localhost profile is read when the container is made');
  t.same(local.securityOpt, ['seccomp=localhost/team/p.json']);
  t.throws(() => make(undefined, { seccompProfile: { type: 'Localhost', localhostProfile: 'missing.json' } }), /no missing.json/);
  t.equal(make(undefined, { allowPrivilegeEscalation: false }).security?.noNewPrivileges, true, 'allowPrivilegeEscalation: false');
  t.same(make(undefined, { allowPrivilegeEscalation: false }).securityOpt, ['no-new-privileges']);
  t.equal(make(undefined, { allowPrivilegeEscalation: true }).security?.noNewPrivileges, false);
});

t.test('--pod-pids-limit and --pod-restart-backoff are checked once', async (t) => {
  t.equal(parsePodPidsLimit('1024'), 1024);
  t.equal(parsePodPidsLimit('-1'), -1);
  for (const bad of ['0', '-2', 'lots', '1.5', '']) t.throws(() => parsePodPidsLimit(bad), { code: 'invalid-argument', message: `invalid --pod-pids-limit "${bad}": -1 (unlimited) or a number of processes, at least 1` });
  t.equal(compileNodeOptions({ controller: 'h:1', podPidsLimit: -1 }).podPidsLimit, undefined, '-1: no limit of the pod\'s own');
  t.equal(compileNodeOptions({ controller: 'h:1', podPidsLimit: 64 }).podPidsLimit, 64);
  t.throws(() => compileNodeOptions({ controller: 'h:1', podPidsLimit: 0 }), /invalid --pod-pids-limit "0"/);

  t.same(parseRestartBackoff('10s:5m'), { initialMs: 10_000, maxMs: 300_000 });
  t.same(parseRestartBackoff('200ms:1.5s'), { initialMs: 200, maxMs: 1500 });
  for (const bad of ['10s', '5m:10s', '0s:1s', '10:20', '1s:2s:3s']) t.throws(() => parseRestartBackoff(bad), { message: new RegExp(`^invalid --pod-restart-backoff "${bad}"`) });
  t.same(compileNodeOptions({ controller: 'h:1', podRestartBackoff: { initialMs: 200, maxMs: 1000 } }).restartBackoff, { initialMs: 200, maxMs: 1000, resetAfterMs: 2000 }, 'reset after twice the cap, as the kubelet');
});

t.test('--extended-resource: a domain-qualified name and a whole count, advertised on the Node', async (t) => {
  t.same(parseExtendedResource('example.com/dongle=4'), ['example.com/dongle', 4]);
  t.throws(() => parseExtendedResource('dongle=4'), /invalid --extended-resource "dongle=4": expected DOMAIN\/NAME=COUNT/);
  t.throws(() => parseExtendedResource('kubernetes.io/x=1'), /not in kubernetes\.io/);
  t.throws(() => parseExtendedResource('example.com/dongle=1.5'), /the count must be a whole number/);
  const doc = nodeDocument({ nodeName: 'n1', labels: {}, nodeIp: '10.0.0.7', hostname: 'h', extendedResources: { 'example.com/dongle': 4 } },
    { cpus: 2, memoryBytes: 8 << 30, osImage: 'x', kernelVersion: 'k', architecture: 'amd64', containerRuntimeVersion: 'r', agentVersion: 'a' });
  t.equal(doc.status?.capacity?.['example.com/dongle'], '4');
  t.equal(doc.status?.allocatable?.['example.com/dongle'], '4');
});
