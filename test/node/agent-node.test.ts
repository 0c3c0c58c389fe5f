// The agent's node side end to end: a real controller, a real agent started with --controller,
// pods applied through the controller's Cluster API, images from a local registry, runc under
// conmon, CNI networking. Every test deletes its pods and checks that nothing is left on the host.

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { loadClusterApi, type ClusterClient, type NodeClient } from '../../proto/grpc';
import type { Lease, Node, Pod } from '../../proto/resources';
import { hostResidue, runCli, startTestAgent, type TestAgent, type TestHost } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage } from '../fixtures/images';
import { freePort, startRegistry } from '../fixtures/registry';
import { nodeChannelCredentials } from '../fixtures/credentials';
import { containsAddress, parseCidr, parseIPv4 } from '../../proto/network/cidr';
import { podDoc, sleep, startCluster, until, type Cluster } from './cluster';

const APPLETS = ['httpd', 'wget', 'rm', 'touch', 'mkdir', 'nc'];


async function setup(t: Test, agentArgs: string[] = []) {
  const registry = await startRegistry(t);
  const image = await buildImage({
    layers: [busyboxLayer(), APPLETS.map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' }))],
    config: { config: { Cmd: ['sh'] } },
  });
  await pushImage(registry.host, 'box:1', image);
  // Short: overlay mount options hold every snapshot path, and tap's test dirs are long.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-'));
  // Registered first, so run last (tap runs teardowns last-in first-out): after the agents and
  // the controller that use it have stopped.
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cluster = await startCluster(t, dir);
  const nodeName = `node-${Math.random().toString(36).slice(2, 8)}`;
  const args = ['--controller', cluster.address, '--token', await cluster.joinToken(), '--node-name', nodeName, '--labels', 'zone=test,tier=e2e', ...agentArgs];
  const agent = await startTestAgent(t, dir, args);
  return { registry, image, cluster, agent, nodeName, dir, args, box: `${registry.host}/box:1` };
}

async function running(cluster: Cluster, name: string, ready = true): Promise<Pod> {
  let last: Pod | undefined;
  return until(`pod ${name} Running${ready ? ' and Ready' : ''}`, async () => {
    const p = (last = await cluster.pod(name));
    const isReady = p?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return p?.status?.phase === 'Running' && (!ready || isReady) ? p : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; its status: ${JSON.stringify(last?.status)}`);
  });
}

/** Delete the pods, wait until the controller forgets them, then check that the host is clean. */
async function deleteAndWait(t: Test, cluster: Cluster, agent: TestAgent & { host: TestHost }, ...names: string[]): Promise<void> {
  for (const name of names) await cluster.deletePod(name);
  for (const name of names) await until(`pod ${name} gone from the controller`, async () => (await cluster.pod(name)) === undefined);
  const residue = await until('the host to be clean', () => {
    const left = hostResidue(agent, { containerDirs: true });
    return left.length === 0 ? left : undefined;
  }, 15_000).catch(() => hostResidue(agent, { containerDirs: true }));
  t.same(residue, [], `nothing of pods ${names.join(', ')} is left on the host`);
}

t.test('a pod runs: node registered, Running and Ready with a pod IP, one network for its containers, published port, logs, events, deletion', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  const node = await until('the node to register', async () => {
    const r = await new Promise<{ json: string } | undefined>((resolve) => cluster.client.get({ kind: 'Node', name: nodeName }, (err, o) => resolve(err ? undefined : o)));
    return r ? (JSON.parse(r.json) as Node) : undefined;
  });
  t.match(node.metadata.labels, { 'kubernetes.io/hostname': nodeName, zone: 'test', tier: 'e2e' });
  t.equal(node.status?.capacity?.cpu, String(os.availableParallelism()));
  t.equal(node.status?.capacity?.pods, '110');
  t.match(node.status?.capacity?.memory, /^\d+Ki$/);
  t.ok(node.status?.addresses?.some((a) => a.type === 'InternalIP'), 'an InternalIP address');

  const hostPort = await freePort();
  // A hostPort needs a namespace whose Pod Security level allows it (baseline, the default, does not).
  await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
  await cluster.apply(podDoc('web', nodeName, {
    terminationGracePeriodSeconds: 2,
    containers: [
      {
        name: 'web', image: box,
        command: ['sh', '-c', 'echo hello-from-web; mkdir -p /www; echo it-works > /www/index.html; exec httpd -f -p 8080 -h /www'],
        ports: [{ name: 'http', containerPort: 8080, hostPort }],
        env: [{ name: 'GREETING', value: 'hi' }],
        readinessProbe: { httpGet: { port: 'http', path: '/index.html' }, periodSeconds: 1 },
      },
      {
        // Ready only when it reaches the other container on localhost: one network namespace.
        name: 'side', image: box, command: ['sh', '-c', 'echo side-says-$GREETING; exec sleep 3600'],
        env: [{ name: 'GREETING', value: 'hello' }],
        readinessProbe: { exec: { command: ['wget', '-q', '-O-', 'http://127.0.0.1:8080/index.html'] }, periodSeconds: 1 },
      },
    ],
  }));
  const pod = await running(cluster, 'web');
  const st = pod.status!;
  t.ok(st.podIP, `a pod IP (${st.podIP})`);
  // A cluster node's pods take their addresses from the node's pod CIDR, not the agent's --subnet.
  const stored = await cluster.node(nodeName);
  t.ok(stored?.spec?.podCIDR, `the node has a pod CIDR (${stored?.spec?.podCIDR})`);
  t.ok(containsAddress(parseCidr(stored!.spec!.podCIDR!, 'podCIDR'), parseIPv4(st.podIP!)!), `the pod IP is in the node's pod CIDR ${stored?.spec?.podCIDR}`);
  t.ok(st.hostIP, 'a host IP');
  t.ok(st.startTime, 'a start time');
  t.same(st.conditions!.map((c) => [c.type, c.status]), [['PodScheduled', 'True'], ['Initialized', 'True'], ['ContainersReady', 'True'], ['Ready', 'True']]);
  t.ok(st.conditions!.every((c) => c.lastTransitionTime), 'every condition has a transition time');
  t.same(st.containerStatuses!.map((c) => [c.name, c.ready, c.restartCount, Boolean(c.state?.running?.startedAt)]), [['web', true, 0, true], ['side', true, 0, true]]);
  t.ok(st.containerStatuses!.every((c) => /^berth:\/\/[a-f0-9]{64}$/.test(c.containerID ?? '') && /^sha256:/.test(c.imageID ?? '')), 'container and image IDs');

  const res = await fetch(`http://${st.podIP}:8080/index.html`);
  t.equal(await res.text(), 'it-works\n', 'the host reaches the pod at its IP');
  const published = await until('the published port', async () => {
    const r = await fetch(`http://127.0.0.1:${hostPort}/index.html`).catch(() => undefined);
    return r?.ok ? r.text() : undefined;
  }, 10_000);
  t.equal(published, 'it-works\n', `hostPort ${hostPort} is published`);

  const ps = agent.berth(['ps', '--filter', 'label=io.kubernetes.pod.name=web']);
  t.match(ps.stdout, /k8s_web_web_default_/, 'containers are named after their pod');
  t.match(ps.stdout, /k8s_side_web_default_/);
  const hostname = agent.berth(['exec', `k8s_side_web_default_${pod.metadata.uid!.slice(0, 8)}`, 'cat', '/etc/hostname']);
  t.equal(hostname.stdout, 'web\n', 'the hostname is the pod name');

  t.match(await cluster.logs('web', { container: 'web' }), /^hello-from-web\n/, 'logs through the tunnel');
  t.equal(await cluster.logs('web', { container: 'side' }), 'side-says-hello\n');
  t.match(await cluster.logs('web', { container: 'side', timestamps: true }), /^\d{4}-\d\d-\d\dT\S+ side-says-hello\n$/);
  t.equal(await cluster.logs('web', { container: 'side', tailLines: 0 }), '');

  const reasons = (await cluster.events('web')).map((e) => e.reason);
  for (const r of ['Pulling', 'Pulled', 'Created', 'Started']) t.ok(reasons.includes(r), `event ${r}`);
  const started = (await cluster.events('web')).find((e) => e.reason === 'Started');
  t.equal(started?.source?.host, nodeName, 'events name the node');

  await deleteAndWait(t, cluster, agent, 'web');
  t.equal(agent.berth(['ps', '-aq']).stdout, '', 'no container is left');
  const killing = (await cluster.events('web')).filter((e) => e.reason === 'Killing');
  t.ok(killing.length >= 1, 'Killing events on delete');
});

t.test('a pod gets a token for its service account: mounted, accepted by the API as the account, void once the pod is gone', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  await cluster.apply(podDoc('sa', nodeName, { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: box, command: ['sh', '-c', 'exec sleep 3600'] }] }));
  const pod = await running(cluster, 'sa');
  t.equal(pod.spec.serviceAccountName, 'default', 'a pod runs as the namespace\'s default service account');
  const id = `k8s_c_sa_default_${pod.metadata.uid!.slice(0, 8)}`;
  const read = (file: string) => agent.berth(['exec', id, 'cat', `/var/run/secrets/kubernetes.io/serviceaccount/${file}`]);
  t.equal(read('namespace').stdout, 'default');
  t.equal(read('ca.crt').stdout, cluster.controller().ca.certPem);
  const token = read('token').stdout;
  t.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'a JWT');
  t.equal(agent.berth(['exec', id, 'sh', '-c', 'echo x > /var/run/secrets/kubernetes.io/serviceaccount/token']).status === 0, false, 'mounted read-only');

  const { Cluster: ClusterService } = loadClusterApi().berth.cluster.v1;
  const asPod = new ClusterService(cluster.address, grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(Buffer.from(cluster.controller().ca.certPem)),
    grpc.credentials.createFromMetadataGenerator((_p, cb) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      cb(null, md);
    }),
  )) as unknown as ClusterClient;
  t.teardown(() => asPod.close());
  const list = () => new Promise<{ code: number; details: string }>((resolve) =>
    asPod.list({ kind: 'pods', namespace: 'default', labelSelector: '', fieldSelector: '' }, (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' })));
  t.same(await list(), { code: grpc.status.PERMISSION_DENIED, details: 'pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "default"' });
  await cluster.apply({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'sa-view', namespace: 'default' },
    subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
  });
  await until('the service account allowed by its binding', async () => (await list()).code === 0);

  await deleteAndWait(t, cluster, agent, 'sa');
  t.same(await list(), { code: grpc.status.UNAUTHENTICATED, details: 'the token was issued to pod default/sa, which is gone: it is void' });
  t.notOk(fs.existsSync(path.join(agent.dataRoot, 'pods', pod.metadata.uid!)), 'the pod\'s token directory is removed with it');
});

t.test('images: a missing image gives ErrImagePull then ImagePullBackOff with the registry\'s reason; Never gives ErrImageNeverPull', async (t) => {
  const { cluster, agent, nodeName, registry } = await setup(t);
  const watch = cluster.statuses('nope');
  await cluster.apply(podDoc('nope', nodeName, { containers: [{ name: 'c', image: `${registry.host}/nope:1` }] }));
  const reasons = () => watch.seen.map((s) => s.containerStatuses?.[0]?.state?.waiting?.reason).filter(Boolean);
  await until('ErrImagePull, then ImagePullBackOff', () => {
    const r = reasons();
    const err = r.indexOf('ErrImagePull');
    return err >= 0 && r.indexOf('ImagePullBackOff', err) > err;
  });
  const errStatus = watch.seen.find((s) => s.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull')!;
  t.match(errStatus.containerStatuses![0]!.state!.waiting!.message, /manifest unknown|not found|unknown/i, 'the registry\'s reason');
  t.equal(errStatus.phase, 'Pending');
  // The back-off grows: at least two more tries fail within the first seconds (1 s, 2 s).
  await until('a second failure', () => reasons().filter((r, i, all) => r === 'ErrImagePull' && all[i - 1] !== 'ErrImagePull').length >= 2, 20_000);
  const events = await cluster.events('nope');
  t.ok(events.some((e) => e.reason === 'Failed' && /Failed to pull image/.test(e.message)), 'event Failed with the pull error');
  t.ok(events.some((e) => e.reason === 'BackOff' && /Back-off pulling image/.test(e.message)), 'event BackOff');
  const pulling = events.find((e) => e.reason === 'Pulling');
  t.ok(pulling && (pulling.count ?? 1) >= 2, 'pulled again after the back-off');
  watch.stop();

  await cluster.apply(podDoc('never', nodeName, { containers: [{ name: 'c', image: `${registry.host}/box:1`, imagePullPolicy: 'Never' }] }));
  const never = await until('ErrImageNeverPull', async () => {
    const p = await cluster.pod('never');
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImageNeverPull' ? p : undefined;
  });
  t.match(never.status!.containerStatuses![0]!.state!.waiting!.message, /is not present with pull policy of Never/);

  await deleteAndWait(t, cluster, agent, 'nope', 'never');
});

t.test('restarts: a crashing container goes into CrashLoopBackOff with a rising restartCount; Never ends Failed', async (t) => {
  // The kubelet's back-off (10 s doubling) made fast: what is tested here is the states, not the waits.
  const { cluster, agent, nodeName, box } = await setup(t, ['--pod-restart-backoff', '100ms:1s']);
  await cluster.apply(podDoc('crash', nodeName, { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: box, command: ['sh', '-c', 'echo boom; exit 3'] }] }));
  const looping = await until('CrashLoopBackOff with restarts', async () => {
    const cs = (await cluster.pod('crash'))?.status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === 'CrashLoopBackOff' && cs.restartCount >= 3 ? cs : undefined;
  });
  t.equal(looping.lastState?.terminated?.exitCode, 3, 'the last run\'s exit code');
  t.equal(looping.lastState?.terminated?.reason, 'Error');
  t.match(looping.state?.waiting?.message, /back-off \S+ restarting failed container=c pod=crash_default/);
  const later = await until('the count to rise', async () => {
    const cs = (await cluster.pod('crash'))?.status?.containerStatuses?.[0];
    return cs && cs.restartCount > looping.restartCount ? cs : undefined;
  });
  t.ok(later.restartCount > looping.restartCount, `restartCount rose (${looping.restartCount} -> ${later.restartCount})`);
  t.equal((await cluster.pod('crash'))?.status?.phase, 'Running', 'a pod that will run again is Running');
  t.ok((await cluster.events('crash')).some((e) => e.reason === 'BackOff' && /Back-off restarting failed container/.test(e.message)), 'event BackOff');
  t.match(await cluster.logs('crash'), /^(boom\n){2,}/, 'the log keeps every run');

  await cluster.apply(podDoc('once', nodeName, { restartPolicy: 'Never', containers: [{ name: 'c', image: box, command: ['sh', '-c', 'exit 3'] }] }));
  const failed = await until('phase Failed', async () => {
    const p = await cluster.pod('once');
    return p?.status?.phase === 'Failed' ? p : undefined;
  });
  t.same(failed.status!.containerStatuses![0]!.state?.terminated && { exitCode: failed.status!.containerStatuses![0]!.state!.terminated!.exitCode, reason: failed.status!.containerStatuses![0]!.state!.terminated!.reason }, { exitCode: 3, reason: 'Error' });
  await cluster.apply(podDoc('done', nodeName, { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: box, command: ['true'] }] }));
  await until('phase Succeeded', async () => (await cluster.pod('done'))?.status?.phase === 'Succeeded');
  t.pass('OnFailure with exit 0: Succeeded');

  await deleteAndWait(t, cluster, agent, 'crash', 'once', 'done');
});

t.test('a failing liveness probe restarts the container; a failing readiness probe makes it unready', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  await cluster.apply(podDoc('live', nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [{
      name: 'c', image: box,
      command: ['sh', '-c', 'touch /tmp/healthy /tmp/ready; exec sleep 3600'],
      // A generous timeout: on a loaded machine a runc exec (seccomp filter and all) can take
      // longer than the 1 s default, and this test is about failing probes, not slow ones.
      livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 5 },
      readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, timeoutSeconds: 5 },
    }],
  }));
  const before = await running(cluster, 'live');
  const id = before.status!.containerStatuses![0]!.containerID!.replace('berth://', '');

  t.equal(agent.berth(['exec', id, 'rm', '/tmp/ready']).status, 0);
  await until('unready', async () => (await cluster.pod('live'))?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False');
  const unready = (await cluster.pod('live'))!.status!;
  t.equal(unready.containerStatuses![0]!.ready, false);
  t.equal(unready.phase, 'Running', 'unready is still running');
  t.equal(unready.containerStatuses![0]!.restartCount, 0, 'readiness never restarts');
  t.equal(agent.berth(['exec', id, 'touch', '/tmp/ready']).status, 0);
  await running(cluster, 'live');

  t.equal(agent.berth(['exec', id, 'rm', '/tmp/healthy']).status, 0);
  const restarted = await until('a restart by the liveness probe', async () => {
    const p = await cluster.pod('live');
    const cs = p?.status?.containerStatuses?.[0];
    return cs && cs.restartCount >= 1 && cs.state?.running && cs.ready ? cs : undefined;
  });
  t.equal(restarted.restartCount, 1, 'restarted once');
  t.ok(restarted.lastState?.terminated, 'the killed run is the last state');
  t.not(restarted.state?.running?.startedAt, before.status!.containerStatuses![0]!.state?.running?.startedAt, 'a new run');
  const events = await cluster.events('live');
  t.ok(events.some((e) => e.reason === 'Unhealthy' && /^Liveness probe failed/.test(e.message)), 'event Unhealthy (liveness)');
  t.ok(events.some((e) => e.reason === 'Unhealthy' && /^Readiness probe failed/.test(e.message)), 'event Unhealthy (readiness)');
  t.ok(events.some((e) => e.reason === 'Killing' && /failed liveness probe/.test(e.message)), 'event Killing');
  await sleep(3000);
  t.equal((await cluster.pod('live'))?.status?.containerStatuses?.[0]?.restartCount, 1, 'healthy again: no more restarts');

  await deleteAndWait(t, cluster, agent, 'live');
});

t.test('kill -9 of the agent: a new agent adopts the running pods without restarting them', async (t) => {
  const { cluster, agent, nodeName, box, dir, args } = await setup(t);
  await cluster.apply(podDoc('keep', nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'c', image: box, command: ['sh', '-c', 'echo started; exec sleep 3600'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } }],
  }));
  const before = (await running(cluster, 'keep')).status!;
  process.kill(agent.pid, 'SIGKILL');
  await until('the agent to die', () => {
    try {
      process.kill(agent.pid, 0);
      return false;
    } catch {
      return true;
    }
  });
  await sleep(500);
  const again = await startTestAgent(t, dir, args, agent.host);
  // Wait for the new agent to have had its say (a fresh readiness verdict after the restart).
  await until('the new agent to report', async () => {
    const ps = again.berth(['ps', '-q']);
    return ps.status === 0;
  });
  await sleep(3000);
  const after = (await running(cluster, 'keep')).status!;
  t.equal(after.podIP, before.podIP, 'the same pod IP');
  t.same(after.containerStatuses!.map((c) => [c.containerID, c.restartCount, c.state?.running?.startedAt]),
    before.containerStatuses!.map((c) => [c.containerID, c.restartCount, c.state?.running?.startedAt]), 'the same container, never restarted');
  t.equal(await cluster.logs('keep'), 'started\n', 'one run only');
  t.equal(again.berth(['ps', '-aq']).stdout.trim().split('\n').filter(Boolean).length, 1, 'no second container');
  await deleteAndWait(t, cluster, again, 'keep');
});

t.test('logs of a container not created yet: a clear error through the tunnel', async (t) => {
  const { cluster, agent, nodeName, registry } = await setup(t);
  await cluster.apply(podDoc('waiting', nodeName, { containers: [{ name: 'c', image: `${registry.host}/nope:2` }] }));
  await until('the pod to be pending', async () => (await cluster.pod('waiting'))?.status?.phase === 'Pending');
  const err = await cluster.logs('waiting').then(() => undefined, (e: grpc.ServiceError) => e);
  t.equal(err?.code, grpc.status.FAILED_PRECONDITION);
  t.match(err?.details, /container c of pod default\/waiting has not been created yet/);
  await deleteAndWait(t, cluster, agent, 'waiting');
});

t.test('the controller goes away and comes back; a stale epoch makes the agent register again and relist', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  const sleeper = (name: string) => podDoc(name, nodeName, { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: box, command: ['sh', '-c', 'exec sleep 3600'] }] });
  await cluster.apply(sleeper('stay'));
  const before = (await running(cluster, 'stay')).status!;

  await cluster.restart(async () => {
    await sleep(3000);
    t.match(agent.berth(['ps']).stdout, /Up .*k8s_c_stay_default_/, 'the pod runs on while the controller is away');
  });
  await cluster.apply(sleeper('late'));
  await running(cluster, 'late');
  t.pass('after the controller came back, the agent runs new pods (its watch reconnected)');

  const epoch = async () => {
    const o = await new Promise<{ json: string }>((resolve, reject) => cluster.client.get({ kind: 'Lease', namespace: 'berth-node-lease', name: nodeName }, (err, r) => (err ? reject(err) : resolve(r!))));
    return (JSON.parse(o.json) as Lease).spec.leaseTransitions ?? 0;
  };
  const first = await epoch();
  // As if the controller had declared the node lost: a registration of the same node moves the
  // epoch on, and the pod that was bound here is deleted meanwhile (replaced elsewhere).
  const { Node: NodeService } = loadClusterApi().berth.cluster.v1;
  const node = new NodeService(cluster.address, await nodeChannelCredentials(cluster.controller().ca, nodeName)) as unknown as NodeClient;
  t.teardown(() => node.close());
  await new Promise((resolve, reject) => node.register({ node: { json: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName } }) } }, (err, r) => (err ? reject(err) : resolve(r))));
  await cluster.controller().registry.delete('Pod', 'default', 'late', { force: true });
  await until('the agent to register again', async () => (await epoch()) >= first + 2);
  await until('the deleted pod\'s container to be gone', () => !/k8s_c_late_/.test(agent.berth(['ps', '-a']).stdout));
  t.pass('the pod deleted while the node was lost is stopped and removed');
  await cluster.apply(sleeper('after'));
  await running(cluster, 'after');
  const stay = (await running(cluster, 'stay')).status!;
  t.same(stay.containerStatuses!.map((c) => [c.containerID, c.restartCount]), before.containerStatuses!.map((c) => [c.containerID, c.restartCount]), 'the pod that stayed bound was never restarted');
  t.equal(stay.podIP, before.podIP);
  await deleteAndWait(t, cluster, agent, 'stay', 'after');
});

t.test('the node flags need --controller', async (t) => {
  const r = runCli(['agent', '--node-name', 'x', '--data-root', '/nonexistent-berth-test']);
  t.not(r.status, 0);
  t.match(r.stderr, /--node-name needs --controller HOST:PORT/);
  const bad = runCli(['agent', '--controller', 'nowhere', '--data-root', '/nonexistent-berth-test']);
  t.match(bad.stderr, /invalid --controller "nowhere": expected HOST:PORT/);
  t.match(runCli(['agent', '--pod-pids-limit', '100', '--data-root', '/nonexistent-berth-test']).stderr, /--pod-pids-limit needs --controller HOST:PORT/);
  t.match(runCli(['agent', '--controller', 'h:1', '--pod-pids-limit', '0', '--data-root', '/nonexistent-berth-test']).stderr, /invalid --pod-pids-limit "0": -1 \(unlimited\) or a number of processes, at least 1/);
  t.match(runCli(['agent', '--controller', 'h:1', '--pod-restart-backoff', 'soon', '--data-root', '/nonexistent-berth-test']).stderr, /invalid --pod-restart-backoff "soon"/);
  t.notOk(fs.existsSync('/nonexistent-berth-test'), 'nothing was made');
});
