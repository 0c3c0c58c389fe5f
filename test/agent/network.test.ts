// Container networking against the real CNI plugins (bridge + host-local, portmap; loopback is brought up by the agent itself):
// namespaces, addresses, reachability, published ports, restarts and failure paths, with the host
// checked for leftovers (veths, namespaces, leases, iptables rules) after each.

import t, { type Test } from 'tap';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { isBerthError } from '../../proto/errors';
import { createContainerNetwork, isNetns, type ContainerNetwork, type NetworkOptions } from '../../agent/network';

const exec = promisify(execFile);
const CNI = '/usr/lib/cni';

const skip = process.getuid?.() !== 0 || !existsSync(path.join(CNI, 'bridge')) ? 'needs root and the CNI plugins in /usr/lib/cni' : false;
const test = (name: string, fn: (t: Test) => Promise<void>) => t.test(name, { skip }, fn);

// Unique per run: two runs (or a crashed earlier one) never share a bridge, a subnet or an id.
const tag = randomBytes(2).toString('hex');
const bridge = `bt${tag}`;
const bridge2 = `bt${tag}x`;
const net16 = `10.${randomInt(200, 250)}`;
const third = randomInt(0, 250);
const subnet = `${net16}.${third}.0/24`;
const subnet2 = `${net16}.${third + 1}.252/30`;
const id = (name: string) => `${name}-${tag}`;

const sh = async (cmd: string, args: string[]) => (await exec(cmd, args)).stdout;
const inNs = (netns: string, args: string[]) => sh('nsenter', [`--net=${netns}`, ...args]);

let root = '';
const networks: Array<{ network: ContainerNetwork; bridge: string }> = [];
const children: ChildProcess[] = [];

function open(over: Partial<NetworkOptions> = {}, name = bridge): ContainerNetwork {
  const network = createContainerNetwork({
    runDir: path.join(root, 'run'), stateDir: path.join(root, 'state'), bridge: name, subnet, cniPath: CNI, ...over,
  });
  networks.push({ network, bridge: name });
  return network;
}

/** Everything this run could have left on the host, as readable lines; [] means clean. */
async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  const links = await sh('ip', ['-o', 'link']);
  for (const line of links.split('\n')) if (line.includes(`master ${bridge}`)) found.push(`link ${line.split(':')[1].trim()}`);
  for (const dir of ['run/netns', 'run/attachments']) {
    for (const f of await fs.readdir(path.join(root, dir)).catch(() => [])) found.push(`${dir}/${f}`);
  }
  for (const name of [bridge, bridge2]) {
    for (const f of await fs.readdir(path.join(root, 'state/ipam', name)).catch(() => [])) if (net.isIPv4(f)) found.push(`lease ${name}/${f}`);
  }
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mountinfo.split('\n')) if (line.includes(' nsfs ') && line.includes(root)) found.push(`mount ${line.split(' ')[4]}`);
  const rules = await sh('iptables-save', []);
  for (const line of rules.split('\n')) {
    // The network's own rules (masquerade, loopback guard) live until destroy; the last test checks they are gone.
    if ([bridge, bridge2].some((b) => line.includes(`berth ${b} masquerade`) || line.includes(`berth ${b} block incoming localnet connections`))) continue;
    if (line.includes(bridge) || line.includes(`${net16}.${third}.`) || line.includes(`${net16}.${third + 1}.`)) found.push(`iptables ${line}`);
  }
  return found;
}

t.before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-net-'));
});

// Runs even when a test failed: detach what is left, remove bridges and mounts, then the files.
t.teardown(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const { network } of networks) {
    for (const leftover of await network.list().catch(() => [])) await network.detach(leftover).catch(() => undefined);
    await network.destroy().catch(() => undefined);
  }
  for (const name of [bridge, bridge2]) await exec('ip', ['link', 'del', 'dev', name]).catch(() => undefined);
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo.split('\n').map((l) => l.split(' ')[4]).filter((m) => m?.startsWith(root)).reverse();
  for (const m of mounts) await exec('umount', ['-l', m]).catch(() => undefined);
  await fs.rm(root, { recursive: true, force: true });
});

test('options are checked once, at construction', async (t) => {
  const base = { runDir: '/nonexistent', stateDir: '/nonexistent' };
  for (const bad of [{ subnet: '10.0.0.0' }, { subnet: '10.0.0.1/24' }, { subnet: '300.0.0.0/8' }, { subnet: '10.0.0.0/31' }, { bridge: 'a-very-long-bridge-name' }, { bridge: 'br/0' }]) {
    t.throws(() => createContainerNetwork({ ...base, ...bad }), { code: 'invalid-argument' }, JSON.stringify(bad));
  }
});

test('mode host: no namespace at all', async (t) => {
  const network = open();
  t.equal(await network.attach(id('host'), 'host', []), undefined);
  t.same(await network.list(), []);
  await network.detach(id('host'));
});

test('mode none: a namespace with loopback only, up', async (t) => {
  const network = open();
  const a = await network.attach(id('none'), 'none', []);
  t.ok(a && (await isNetns(a.netns)), 'a namespace file');
  t.equal(a!.ip, undefined);
  const links = (await inNs(a!.netns, ['ip', '-o', 'link'])).trim().split('\n');
  t.equal(links.length, 1, 'one interface');
  t.match(links[0], /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  await t.rejects(network.attach(id('none2'), 'none', [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]), { code: 'invalid-argument' });
  await network.detach(id('none'));
  t.notOk(existsSync(a!.netns), 'namespace file removed');
  t.same(await leftovers(), []);
});

test('bridge: two containers reach each other by IP; attach is idempotent; detach twice', async (t) => {
  const network = open();
  const a = (await network.attach(id('a'), 'bridge', []))!;
  const b = (await network.attach(id('b'), 'bridge', []))!;
  t.match(a, { ip: new RegExp(`^${net16}\\.${third}\\.\\d+$`), prefixLength: 24, gateway: `${net16}.${third}.1`, mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/ });
  t.not(a.ip, b.ip);
  t.same(await network.attach(id('a'), 'bridge', []), a, 'a second attach returns the same attachment');
  t.same(await network.list(), [id('a'), id('b')].sort());
  t.match(await inNs(a.netns, ['/bin/busybox', 'ping', '-c1', '-W2', b.ip!]), /1 packets received/, 'a pings b');
  t.match(await inNs(b.netns, ['/bin/busybox', 'ping', '-c1', '-W2', a.ip!]), /1 packets received/, 'b pings a');
  t.match(await inNs(a.netns, ['ip', '-o', 'link', 'show', 'lo']), /UP/, 'loopback up too');
  // The leftovers probe must see an attachment's host side, or its [] below would prove nothing.
  const seen = await leftovers();
  for (const kind of ['link ', 'lease ', 'mount ', 'run/netns/', 'run/attachments/']) t.ok(seen.some((l) => l.startsWith(kind)), `probe sees ${kind.trim()}`);
  await network.detach(id('a'));
  await network.detach(id('a'));
  await network.detach(id('b'));
  await network.detach(id('never-attached'));
  t.same(await leftovers(), []);
});

test('parallel attaches of many ids, and of one id', async (t) => {
  const network = open();
  const ids = [1, 2, 3, 4, 5, 6].map((n) => id(`p${n}`));
  const all = await Promise.all(ids.map((i) => network.attach(i, 'bridge', [])));
  t.equal(new Set(all.map((a) => a!.ip)).size, ids.length, 'distinct addresses');
  const same = await Promise.all([1, 2, 3].map(() => network.attach(id('twin'), 'bridge', [])));
  t.same(same[1], same[0]);
  t.same(same[2], same[0]);
  await Promise.all([...ids, id('twin'), id('twin')].map((i) => network.detach(i)));
  t.same(await leftovers(), []);
});

test('detach after the namespace was lost (a reboot emptied the run dir) still releases the host side', async (t) => {
  const network = open();
  const a = (await network.attach(id('lost'), 'bridge', [{ hostIp: '', hostPort: randomInt(50001, 60000), containerPort: 80, protocol: 'tcp' }]))!;
  await exec('umount', [a.netns]);
  await fs.rm(a.netns);
  await network.detach(id('lost'));
  t.same(await leftovers(), [], 'lease and iptables rules released with an empty CNI_NETNS');
});

test('published ports: TCP reachable on 127.0.0.1, UDP mapped', async (t) => {
  const network = open();
  const tcpPort = randomInt(20000, 40000);
  const udpPort = tcpPort + 1;
  const ports = [
    { hostIp: '', hostPort: tcpPort, containerPort: 8080, protocol: 'tcp' as const },
    { hostIp: '127.0.0.1', hostPort: udpPort, containerPort: 5353, protocol: 'udp' as const },
  ];
  const a = (await network.attach(id('web'), 'bridge', ports))!;
  t.same(a.ports, ports);
  t.ok((await leftovers()).some((l) => l.startsWith('iptables ') && l.includes(id('web'))), 'probe sees the port rules');
  const server = spawn('nsenter', [`--net=${a.netns}`, '/bin/busybox', 'nc', '-l', '-p', '8080', '-e', '/bin/echo', 'hi'], { stdio: 'ignore' });
  children.push(server);
  t.teardown(() => { server.kill('SIGKILL'); });
  t.equal(await fetchLine('127.0.0.1', tcpPort), 'hi', `127.0.0.1:${tcpPort} reaches the container's 8080`);
  const rules = await sh('iptables-save', ['-t', 'nat']);
  t.match(rules, new RegExp(`-d 127\\.0\\.0\\.1/32 -p udp -m udp --dport ${udpPort} -j DNAT --to-destination ${a.ip}:5353`), 'udp DNAT rule');
  t.equal((await fs.readFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8')).trim(), '1', 'portmap set route_localnet on the bridge');
  server.kill('SIGKILL');
  await network.detach(id('web'));
  t.same(await leftovers(), []);
});

test('a container cannot reach what the host serves on 127.0.0.1 (CVE-2020-8558); published ports still work from the host', async (t) => {
  const network = open();
  const hostPort = randomInt(20000, 40000);
  const a = (await network.attach(id('lo'), 'bridge', [{ hostIp: '', hostPort, containerPort: 8080, protocol: 'tcp' }]))!;
  t.equal((await fs.readFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, 'utf8')).trim(), '1', 'portmap opened route_localnet on the bridge');
  const guard = `berth ${bridge} block incoming localnet connections`;
  const rule = (await sh('iptables', ['-S', 'INPUT'])).split('\n').find((l) => l.includes(guard));
  t.equal(rule, `-A INPUT ! -s 127.0.0.0/8 -d 127.0.0.0/8 -i ${bridge} -m comment --comment "${guard}" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    'drop what comes in on the bridge for 127.0.0.0/8, unless the host made or DNATed the connection');
  t.equal((await sh('iptables', ['-S', 'INPUT'])).split('\n').filter((l) => l.includes(guard)).length, 1, 'once, however many attachments');

  // Something the host serves on its loopback only.
  const secret = net.createServer((s) => s.end('host-secret\n'));
  await new Promise<void>((resolve) => secret.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { secret.close(); });
  const secretPort = (secret.address() as net.AddressInfo).port;
  // The attack: the container sends to 127.0.0.1 through its gateway (the host), as a pod with
  // CAP_NET_RAW can; here, as root, by routing 127.0.0.1 out of eth0.
  await inNs(a.netns, ['ip', 'addr', 'del', '127.0.0.1/8', 'dev', 'lo']);
  await inNs(a.netns, ['sysctl', '-q', '-w', 'net.ipv4.conf.eth0.route_localnet=1']);
  await inNs(a.netns, ['ip', 'route', 'add', '127.0.0.1/32', 'via', a.gateway!, 'dev', 'eth0', 'onlink']);
  const attempt = async () => exec('nsenter', [`--net=${a.netns}`, '/bin/busybox', 'nc', '-w', '2', '127.0.0.1', String(secretPort)], { timeout: 5000 })
    .then((r) => r.stdout, () => '');
  t.equal(await attempt(), '', 'the host\'s 127.0.0.1 is not reachable from the container');
  const dropped = (await sh('iptables', ['-L', 'INPUT', '-v', '-n', '-x'])).split('\n').find((l) => l.includes(guard));
  t.ok(Number(dropped?.trim().split(/\s+/)[0]) > 0, `the guard dropped it: ${dropped?.trim()}`);

  // The same attempt without the guard succeeds: the test does reach the host's loopback.
  await exec('iptables', ['-w', '-D', 'INPUT', '-i', bridge, '-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'comment', '--comment', guard,
    '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP']);
  t.equal((await attempt()).trim(), 'host-secret', 'without the guard, the container reads the host\'s secret');
  await network.detach(id('lo'));
  // A new instance (an agent restart) puts the guard back with its first attachment.
  const again = open();
  const b = (await again.attach(id('lo2'), 'bridge', [{ hostIp: '', hostPort, containerPort: 8080, protocol: 'tcp' }]))!;
  t.ok((await sh('iptables', ['-S', 'INPUT'])).includes(guard), 'the guard is back');
  const server = spawn('nsenter', [`--net=${b.netns}`, '/bin/busybox', 'nc', '-l', '-p', '8080', '-e', '/bin/echo', 'from-the-container'], { stdio: 'ignore' });
  children.push(server);
  t.teardown(() => { server.kill('SIGKILL'); });
  t.equal(await fetchLine('127.0.0.1', hostPort), 'from-the-container', `the host's 127.0.0.1:${hostPort} still reaches the container (DNAT)`);
  server.kill('SIGKILL');
  await again.detach(id('lo2'));
  t.same(await leftovers(), []);
});

test('ports in use: published by another attachment, or held by a socket of the host', async (t) => {
  const network = open();
  const base = randomInt(20000, 40000);
  const tcp = (hostPort: number, hostIp = '') => ({ hostIp, hostPort, containerPort: 80, protocol: 'tcp' as const });
  await network.attach(id('holder'), 'bridge', [tcp(base), { ...tcp(base + 1), protocol: 'udp' }]);
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(base + 2, '127.0.0.1', resolve));
  t.teardown(() => { listener.close(); });
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(base + 3, '0.0.0.0', resolve));
  t.teardown(() => { udp.close(); });

  const asked = [tcp(base), { ...tcp(base + 1), protocol: 'udp' as const }, tcp(base + 1), tcp(base + 2), { ...tcp(base + 3), protocol: 'udp' as const }, tcp(base + 4)];
  t.same(await network.portsInUse(asked), [
    { port: asked[0], holder: { attachment: id('holder') } },
    { port: asked[1], holder: { attachment: id('holder') } },
    { port: asked[3], holder: 'host' },
    { port: asked[4], holder: 'host' },
  ], 'tcp and udp apart; a listener on 127.0.0.1 counts; a free port does not');
  t.same(await network.portsInUse([tcp(base)], id('holder')), [], 'the asker\'s own attachment does not count');
  t.same(await network.portsInUse([tcp(base + 4)]), [], 'probing let go of the port');
  await network.detach(id('holder'));
  t.same(await network.portsInUse([tcp(base)]), [], 'free once detached');
  t.same(await leftovers(), []);
});

test('invalid ports are refused before anything is made', async (t) => {
  const network = open();
  const bad = [
    { hostIp: '', hostPort: 0, containerPort: 80, protocol: 'tcp' as const },
    { hostIp: '::1', hostPort: 80, containerPort: 80, protocol: 'tcp' as const },
    { hostIp: '', hostPort: 80, containerPort: 80, protocol: 'sctp' as 'tcp' },
  ];
  for (const p of bad) await t.rejects(network.attach(id('bad'), 'bridge', [p]), { code: 'invalid-argument' }, JSON.stringify(p));
  const dup = { hostIp: '', hostPort: 81, containerPort: 80, protocol: 'tcp' as const };
  await t.rejects(network.attach(id('bad'), 'bridge', [dup, { ...dup, containerPort: 81 }]), { code: 'invalid-argument', message: /published twice/ });
  t.same(await leftovers(), []);
});

test('after a restart, a new instance re-adopts and detaches', async (t) => {
  const before = open();
  const a = (await before.attach(id('keep'), 'bridge', [{ hostIp: '', hostPort: randomInt(40001, 50000), containerPort: 80, protocol: 'tcp' }]))!;
  const after = open();
  t.same(await after.list(), [id('keep')]);
  t.same(await after.attach(id('keep'), 'bridge', []), a, 're-adopted: the recorded attachment');
  await t.rejects(after.destroy(), { code: 'failed-precondition' }, 'destroy refuses while attachments remain');
  await after.detach(id('keep'));
  t.same(await leftovers(), []);
});

/** A plugin directory with the real bridge, host-local and loopback, and `portmap` as given (or missing). */
async function pluginDir(name: string, portmap?: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir);
  for (const p of ['bridge', 'host-local', 'loopback']) await fs.symlink(path.join(CNI, p), path.join(dir, p));
  if (portmap !== undefined) await fs.writeFile(path.join(dir, 'portmap'), portmap, { mode: 0o755 });
  return dir;
}

const ONE_PORT = [{ hostIp: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' as const }];

test('a missing plugin fails before anything is made', async (t) => {
  const dir = await pluginDir('cni-no-portmap');
  const network = open({ cniPath: dir });
  const err = await network.attach(id('missing'), 'bridge', ONE_PORT).catch((e: unknown) => e);
  t.ok(isBerthError(err, 'not-found'), String(err));
  t.equal((err as Error).message, `container ${id('missing')} network: cni plugin portmap: no executable in ${dir}`);
  t.same(await network.list(), []);
  t.same(await leftovers(), []);
});

test('a plugin failing late in the chain: the earlier ones are rolled back', async (t) => {
  // Fault injection: a `portmap` that answers ADD with a CNI error object (a two-line message)
  // after the real bridge plugin made a veth and a lease; its DEL succeeds.
  const dir = await pluginDir('cni-failing-portmap', [
    '#!/bin/sh',
    'cat >/dev/null',
    '[ "$CNI_COMMAND" = ADD ] || exit 0',
    'printf \'{"cniVersion":"1.0.0","code":7,"msg":"port 8080 refused","details":"first line\\\\nsecond line"}\'',
    'exit 1',
  ].join('\n'));
  const network = open({ cniPath: dir });
  const err = await network.attach(id('late'), 'bridge', ONE_PORT).catch((e: unknown) => e);
  t.ok(isBerthError(err, 'invalid-argument'), String(err));
  t.equal((err as Error).message, `container ${id('late')} network: cni plugin portmap ADD: port 8080 refused: first line second line`);
  t.same(await network.list(), []);
  t.same(await leftovers(), [], 'the bridge plugin\'s veth and lease are gone');
});

test('a plugin error (IPAM exhausted) is one line naming the plugin, and leaves nothing', async (t) => {
  // A /30 holds the gateway and one container.
  const network = open({ bridge: bridge2, subnet: subnet2 }, bridge2);
  const first = (await network.attach(id('only'), 'bridge', []))!;
  t.equal(first.prefixLength, 30);
  const veths = async () => (await sh('ip', ['-o', 'link'])).split('\n').filter((l) => l.includes(`master ${bridge2}`));
  const linksBefore = await veths();
  const err = await network.attach(id('full'), 'bridge', []).catch((e: unknown) => e);
  t.ok(isBerthError(err, 'resource-exhausted'), String(err));
  t.match((err as Error).message, new RegExp(`^container ${id('full')} network: cni plugin bridge ADD: .*no IP addresses available`));
  t.notMatch((err as Error).message, /\n/);
  t.same(await veths(), linksBefore, 'no veth of the failed container');
  t.same(await network.list(), [id('only')]);
  await network.detach(id('only'));
  await network.destroy();
  t.notOk((await sh('ip', ['-o', 'link'])).includes(`${bridge2}:`), 'second bridge removed');
  t.same(await leftovers(), []);
});

test('destroy removes the bridge and the netns mount; the host is clean', async (t) => {
  const network = open();
  await network.destroy();
  t.notOk((await sh('ip', ['-o', 'link'])).includes(`${bridge}:`), 'bridge removed');
  const mountinfo = await fs.readFile('/proc/self/mountinfo', 'utf8');
  t.notOk(mountinfo.includes(root), 'no mount left under the run dir');
  t.notOk((await sh('iptables-save', [])).includes(`${net16}.${third}.`), 'no rule for the subnet left, masquerade included');
  t.notOk((await sh('iptables-save', [])).includes(`berth ${bridge} `), 'nor the loopback guard');
  t.same(await leftovers(), []);
});

/** Connect, read the first line; retried while the server in the namespace is still starting. */
async function fetchLine(host: string, port: number): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host, port });
        let data = '';
        socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
        socket.on('data', (b) => { data += b.toString(); });
        socket.on('error', reject);
        socket.on('close', () => (data ? resolve(data.trim()) : reject(new Error('closed without data'))));
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
