// Pods run confined by default, end to end: a real controller and agent, runc under conmon. Every
// container gets the default seccomp profile unless its securityContext says otherwise (pod level,
// container level over it, Localhost profiles from the agent's profile root and nowhere else),
// allowPrivilegeEscalation: false sets no_new_privs, privileged is the runtime's privileged mode
// (refused under baseline), each pod has its own cgroup with a pids
// limit, and crashing containers wait out the kubelet's back-off (made fast here by the agent's
// --pod-restart-backoff). Every test deletes its pods and checks that nothing is left on the host.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import type { Pod } from '../../proto/resources';
import { hostResidue, startTestAgent, type TestAgent, type TestHost } from '../fixtures/agent';
import { buildImage, busyboxLayer, pushImage, type LayerEntry } from '../fixtures/images';
import { buildKeyctl } from '../fixtures/keyctl';
import { startRegistry } from '../fixtures/registry';
import { podDoc, startCluster, until, type Cluster } from './cluster';

const PIDS_LIMIT = 321;

async function setup(t: Test) {
  const registry = await startRegistry(t);
  // Short: overlay mount options hold every snapshot path, and tap's test dirs are long.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bs-'));
  // Registered first, so run last: after the agent and the controller that use it have stopped.
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const extra: LayerEntry[] = [
    ...['unshare', 'grep'].map((a): LayerEntry => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'bin/keyctl', type: 'file', source: buildKeyctl(dir), mode: 0o755 },
  ];
  const image = await buildImage({ layers: [busyboxLayer(), extra], config: { config: { Cmd: ['sh'] } } });
  await pushImage(registry.host, 'guarded:1', image);
  const cluster = await startCluster(t, dir);
  const nodeName = `node-${Math.random().toString(36).slice(2, 8)}`;
  const agent = await startTestAgent(t, dir, ['--controller', cluster.address, '--token', await cluster.joinToken(), '--node-name', nodeName, '--pod-pids-limit', String(PIDS_LIMIT), '--pod-restart-backoff', '500ms:2s']);
  return { cluster, agent, nodeName, box: `${registry.host}/guarded:1` };
}

async function running(cluster: Cluster, name: string): Promise<Pod> {
  let last: Pod | undefined;
  return until(`pod ${name} Running`, async () => {
    const p = (last = await cluster.pod(name));
    return p?.status?.phase === 'Running' && p.status.containerStatuses?.every((c) => c.state?.running) ? p : undefined;
  }).catch((err: Error) => {
    throw new Error(`${err.message}; its status: ${JSON.stringify(last?.status)}`);
  });
}

/** A container's log once it has said `lines` lines. */
const logOf = (cluster: Cluster, pod: string, container: string, lines: number) =>
  until(`${lines} lines of ${pod}/${container}`, async () => {
    const log = await cluster.logs(pod, { container }).catch(() => '');
    return log.split('\n').filter(Boolean).length >= lines ? log : undefined;
  });

async function deleteAndWait(t: Test, cluster: Cluster, agent: TestAgent & { host: TestHost }, ...names: string[]): Promise<void> {
  for (const name of names) await cluster.deletePod(name);
  for (const name of names) await until(`pod ${name} gone from the controller`, async () => (await cluster.pod(name)) === undefined);
  const residue = await until('the host to be clean', () => {
    const left = hostResidue(agent, { containerDirs: true });
    return left.length === 0 ? left : undefined;
  }, 15_000).catch(() => hostResidue(agent, { containerDirs: true }));
  t.same(residue, [], `nothing of pods ${names.join(', ')} is left on the host (their cgroups included)`);
}

const STATUS = 'grep -E "NoNewPrivs|Seccomp:" /proc/self/status';

t.test('the default: seccomp refuses unshare and keyctl; allowPrivilegeEscalation: false sets NoNewPrivs; the pod cgroup holds the pids limit', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  await cluster.apply(podDoc('guarded', nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [
      { name: 'plain', image: box, command: ['sh', '-c', `unshare -U true 2>&1; echo unshare=$?; keyctl; ${STATUS}; exec sleep 3600`] },
      { name: 'nnp', image: box, command: ['sh', '-c', `${STATUS}; exec sleep 3600`], securityContext: { allowPrivilegeEscalation: false } },
    ],
  }));
  const pod = await running(cluster, 'guarded');
  const plain = await logOf(cluster, 'guarded', 'plain', 5);
  t.match(plain, /Operation not permitted\nunshare=1\n/, 'unshare -U: EPERM');
  t.match(plain, /keyctl errno=1 Operation not permitted\n/, 'keyctl: EPERM');
  t.match(plain, /NoNewPrivs:\t0\nSeccomp:\t2\n/, 'a seccomp filter; privileges may be gained');
  t.match(await logOf(cluster, 'guarded', 'nnp', 2), /NoNewPrivs:\t1\nSeccomp:\t2\n/, 'allowPrivilegeEscalation: false');

  const group = path.join('/sys/fs/cgroup/pids', agent.host.cgroupParent, `pod-${pod.metadata.uid}`);
  t.equal(fs.readFileSync(path.join(group, 'pids.max'), 'utf8').trim(), String(PIDS_LIMIT), 'the pod cgroup has the pids limit');
  const inside = fs.readdirSync(group, { withFileTypes: true }).filter((d) => d.isDirectory());
  t.equal(inside.length, 2, "both containers' cgroups are inside the pod's");
  t.ok(Number(fs.readFileSync(path.join(group, 'pids.current'), 'utf8')) >= 2, 'and their processes count against it');

  await deleteAndWait(t, cluster, agent, 'guarded');
});

t.test('seccompProfile: Unconfined for the pod, Localhost for a container; a profile outside the root is refused', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  const root = path.join(agent.dataRoot, 'seccomp');
  fs.mkdirSync(path.join(root, 'team'), { recursive: true });
  fs.writeFileSync(path.join(root, 'team', 'no-keys.json'), JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['keyctl', 'add_key', 'request_key'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
  }));
  const outside = path.join(agent.dataRoot, 'not-a-profile.json');
  fs.writeFileSync(outside, '{"defaultAction":"SCMP_ACT_ALLOW"}');
  fs.symlinkSync(outside, path.join(root, 'escape.json'));

  const privileged = { name: 'priv', image: box, command: ['sh', '-c', 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted; grep Seccomp: /proc/self/status; exec sleep 3600'], securityContext: { privileged: true } };
  await t.rejects(cluster.apply(podDoc('refused', nodeName, { containers: [privileged] })), /violates PodSecurity "baseline:latest": privileged \(container "priv" must not set securityContext\.privileged=true\)/);
  // Unconfined and privileged are refused under the default baseline level: this namespace allows them.
  await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } });
  await cluster.apply(podDoc('loose', nodeName, {
    terminationGracePeriodSeconds: 1,
    securityContext: { seccompProfile: { type: 'Unconfined' } },
    containers: [
      { name: 'free', image: box, command: ['sh', '-c', `unshare -U true && echo unshared; ${STATUS}; exec sleep 3600`] },
      { name: 'local', image: box, command: ['sh', '-c', 'keyctl; exec sleep 3600'], securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'team/no-keys.json' } } },
      privileged,
    ],
  }));
  await running(cluster, 'loose');
  t.equal(await logOf(cluster, 'loose', 'priv', 2), 'mounted\nSeccomp:\t0\n', 'privileged: it may mount, and no filter');
  t.match(await logOf(cluster, 'loose', 'free', 3), /^unshared\nNoNewPrivs:\t0\nSeccomp:\t0\n/, "the pod's Unconfined: no filter");
  t.equal(await logOf(cluster, 'loose', 'local', 1), 'keyctl errno=38 Function not implemented\n', "the container's Localhost profile over the pod's");

  await cluster.apply(podDoc('escape', nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'c', image: box, command: ['true'], securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'escape.json' } } }],
  }));
  const refused = await until('CreateContainerError', async () => {
    const waiting = (await cluster.pod('escape'))?.status?.containerStatuses?.[0]?.state?.waiting;
    return waiting?.reason === 'CreateContainerError' ? waiting : undefined;
  });
  t.match(refused.message, /seccomp localhostProfile "escape\.json": resolves outside .*\/seccomp/, 'a symlink out of the profile root is refused');
  await t.rejects(cluster.apply(podDoc('climb', nodeName, {
    containers: [{ name: 'c', image: box, securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '../not-a-profile.json' } } }],
  })), /localhostProfile: must not contain '\.\.'/, 'the controller refuses a path that climbs');

  // AppArmor asked for by name on a host without it: refused as the kubelet refuses it.
  await cluster.apply(podDoc('armored', nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'c', image: box, command: ['true'], securityContext: { appArmorProfile: { type: 'RuntimeDefault' } } }],
  }));
  const armored = await until('CreateContainerError', async () => {
    const waiting = (await cluster.pod('armored'))?.status?.containerStatuses?.[0]?.state?.waiting;
    return waiting?.reason === 'CreateContainerError' ? waiting : undefined;
  });
  t.match(armored.message, /Cannot enforce AppArmor: AppArmor is not enabled on the host/);

  await deleteAndWait(t, cluster, agent, 'loose', 'escape', 'armored');
});

t.test('a restricted namespace runs a pod that asks for nothing: no capabilities, a non-root user; runAsNonRoot refuses root', async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
  const restricted = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' as const } };
  await cluster.apply(podDoc('meek', nodeName, {
    terminationGracePeriodSeconds: 1,
    securityContext: { runAsUser: 1000, runAsGroup: 3000 },
    containers: [{ name: 'c', image: box, command: ['sh', '-c', 'grep -E "^(Uid|Gid|CapEff|CapBnd)" /proc/self/status; exec sleep 3600'], securityContext: restricted }],
  }));
  await running(cluster, 'meek');
  const log = await logOf(cluster, 'meek', 'c', 4);
  t.match(log, /^Uid:\t1000\t1000\t1000\t1000\nGid:\t3000\t3000\t3000\t3000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n/, 'runs as 1000:3000 with no capability at all');

  await cluster.apply(podDoc('root', nodeName, {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'c', image: box, command: ['sleep', '3600'], securityContext: restricted }],
  }));
  const refused = await until('the root pod refused', async () => {
    const waiting = (await cluster.pod('root'))?.status?.containerStatuses?.[0]?.state?.waiting;
    return waiting?.message?.includes('runAsNonRoot') ? waiting : undefined;
  });
  t.match(refused.message, /container has runAsNonRoot and image will run as root/);
  t.notMatch(agent.berth(['ps', '--filter', 'label=io.kubernetes.pod.name=root']).stdout, /k8s_c_root/, 'never started');

  const loud = await cluster.apply(podDoc('loud', nodeName, { containers: [{ name: 'c', image: box, command: ['sleep', '1'] }] })).catch((e: Error) => e);
  t.match(loud, { message: /pods "loud" is forbidden: violates PodSecurity "restricted:latest"/ }, 'and restricted still refuses what asks for more');
  await deleteAndWait(t, cluster, agent, 'meek', 'root');
});

t.test("a crashing container waits out the pod back-off: doubling from the agent's initial wait to its cap", async (t) => {
  const { cluster, agent, nodeName, box } = await setup(t);
  const statuses = cluster.statuses('crash');
  await cluster.apply(podDoc('crash', nodeName, { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: box, command: ['sh', '-c', 'exit 3'] }] }));
  // CrashLoopBackOff says the whole wait, counted from the exit: "back-off 500ms restarting ...".
  const waits = () => {
    const byRestart = new Map<number, string>();
    for (const s of statuses.seen) {
      const cs = s.containerStatuses?.[0];
      const wait = /^back-off (\S+) restarting/.exec(cs?.state?.waiting?.message ?? '')?.[1];
      if (cs && wait) byRestart.set(cs.restartCount, wait);
    }
    return [...byRestart.values()];
  };
  await until('two waits at the cap', () => waits().filter((w) => w === '2s').length >= 2, 30_000);
  statuses.stop();
  const seen = waits();
  t.ok(seen.includes('1s'), `doubled (${seen.join(', ')})`);
  t.notOk(seen.includes('4s'), 'never past the cap');
  // A first wait shorter than the time it took to notice the exit is shown as that time.
  t.ok(seen.every((w) => ['500ms', '1s', '2s'].includes(w) || /^\d+ms$/.test(w)), `500 ms doubled, capped at 2 s (${seen.join(', ')})`);
  const pod = await cluster.pod('crash');
  t.ok(pod!.status!.containerStatuses![0]!.restartCount >= 2, 'restarted along the way');
  await deleteAndWait(t, cluster, agent, 'crash');
});
