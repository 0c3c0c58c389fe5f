// The service proxy on a real kernel: a "node" network namespace with a bridge, three "pod"
// namespaces on it (two serving, one a client) and an "outside" namespace joined to the node by
// a veth; the proxy programs nftables in the node namespace. Connections through ClusterIPs and
// a NodePort reach the endpoints, spread or sticky as asked; a pod reaches itself (hairpin); a
// service without endpoints refuses at once; changes apply incrementally; a refused script names
// its line and the next sync rewrites the table; destroy leaves nothing. Every namespace is this
// run's own (random names) and removed on teardown, failed or not.

import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { compileServiceProxyOptions, planProxy, ServiceProxy, type ProxyRuleset } from '../../agent/network/proxy';
import { nftError } from '../../agent/network/proxy/proxy-host';
import { SERVICE_NAME_LABEL, type EndpointSlice, type Service, type ServiceSpec } from '../../proto/resources';

const exec = promisify(execFile);

// Addresses live inside this run's namespaces only, so fixed ones cannot meet another run's.
const BRIDGE_IP = '10.99.0.1';
const CLUSTER_CIDR = '10.99.0.0/24';
const NODE_IP = '10.98.0.1';
const OUTSIDE_IP = '10.98.0.2';
const POD_IPS = ['10.99.0.10', '10.99.0.11', '10.99.0.12'];
const SERVER_PORT = 8080;

/** Answers each connection with its name and the address it sees the client at, then closes. */
const SERVER = `
const net = require('net');
const [name, port] = process.argv.slice(1);
net.createServer((s) => { s.on('error', () => {}); s.end(name + ' ' + s.remoteAddress + '\\n'); })
  .listen(Number(port), '0.0.0.0', () => console.log('listening'));
`;

/** Makes COUNT connections one after another, each given TIMEOUT ms; prints [{answer|error, ms}] as JSON. */
const CLIENT = `
const net = require('net');
const [host, port, count, timeoutMs] = process.argv.slice(1);
const once = () => new Promise((resolve) => {
  const started = Date.now();
  let data = '';
  const s = net.connect({ host, port: Number(port) });
  const done = (r) => { s.destroy(); resolve({ ...r, ms: Date.now() - started }); };
  s.setTimeout(Number(timeoutMs), () => done({ error: 'timeout' }));
  s.on('data', (c) => (data += c));
  s.on('end', () => done({ answer: data.trim() }));
  s.on('error', (e) => done({ error: e.code }));
});
(async () => { const out = []; for (let i = 0; i < Number(count); i++) out.push(await once()); console.log(JSON.stringify(out)); })();
`;

interface Reply { answer?: string; error?: string; ms: number }

interface Hosts {
  node: string;
  pods: string[];
  outside: string;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The namespaces and links; their removal is registered before anything is made. */
function makeHosts(t: Test): Hosts {
  const tag = randomBytes(3).toString('hex');
  const hosts: Hosts = { node: `bpx${tag}-node`, pods: [0, 1, 2].map((i) => `bpx${tag}-p${i}`), outside: `bpx${tag}-out` };
  const made: string[] = [];
  t.teardown(() => {
    // The veths and the bridge go with the namespaces.
    for (const ns of made.reverse()) spawnSync('ip', ['netns', 'del', ns]);
  });
  const add = (ns: string) => {
    ip('netns', 'add', ns);
    made.push(ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  };
  add(hosts.node);
  execFileSync('ip', ['netns', 'exec', hosts.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  ip('-n', hosts.node, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', hosts.node, 'addr', 'add', `${BRIDGE_IP}/24`, 'dev', 'br0');
  ip('-n', hosts.node, 'link', 'set', 'br0', 'up');
  hosts.pods.forEach((pod, i) => {
    add(pod);
    ip('-n', hosts.node, 'link', 'add', `vp${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod);
    ip('-n', hosts.node, 'link', 'set', `vp${i}`, 'master', 'br0', 'up');
    // A pod reaching itself through a Service leaves and comes back by the same port.
    execFileSync('bridge', ['-n', hosts.node, 'link', 'set', 'dev', `vp${i}`, 'hairpin', 'on']);
    ip('-n', pod, 'addr', 'add', `${POD_IPS[i]}/24`, 'dev', 'eth0');
    ip('-n', pod, 'link', 'set', 'eth0', 'up');
    ip('-n', pod, 'route', 'add', 'default', 'via', BRIDGE_IP);
  });
  add(hosts.outside);
  ip('-n', hosts.node, 'link', 'add', 'ext0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', hosts.outside);
  ip('-n', hosts.node, 'addr', 'add', `${NODE_IP}/30`, 'dev', 'ext0');
  ip('-n', hosts.node, 'link', 'set', 'ext0', 'up');
  ip('-n', hosts.outside, 'addr', 'add', `${OUTSIDE_IP}/30`, 'dev', 'eth0');
  ip('-n', hosts.outside, 'link', 'set', 'eth0', 'up');
  // The node's way out: a ClusterIP with no endpoints is routed (to be refused in the forward
  // hook) rather than unreachable.
  ip('-n', hosts.node, 'route', 'add', 'default', 'via', OUTSIDE_IP);
  return hosts;
}

async function startServer(t: Test, netns: string, name: string): Promise<void> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', SERVER, name, String(SERVER_PORT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  }));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`server ${name} in ${netns} exited ${code}`)));
  });
}

async function connect(netns: string, host: string, port: number, count: number, timeoutMs = 3000): Promise<Reply[]> {
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, '-e', CLIENT, host, String(port), String(count), String(timeoutMs)]);
  return JSON.parse(stdout) as Reply[];
}

const service = (name: string, clusterIP: string, spec: Partial<ServiceSpec> = {}): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
  spec: { clusterIP, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...spec },
});

const slice = (svc: string, ips: string[]): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: `${svc}-1`, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: svc } },
  addressType: 'IPv4',
  endpoints: ips.map((a) => ({ addresses: [a], conditions: { ready: true }, nodeName: 'node' })),
  ports: [{ name: 'http', port: SERVER_PORT, protocol: 'TCP' }],
});

const answers = (replies: Reply[]) => replies.map((r) => r.answer ?? `error ${r.error}`);
const names = (replies: Reply[]) => [...new Set(replies.map((r) => r.answer?.split(' ')[0] ?? `error ${r.error}`))].sort();

t.test('options, and nft\'s errors read back to the line', async (t) => {
  t.same(compileServiceProxyOptions({}).command, ['nft']);
  t.equal(compileServiceProxyOptions({}).table, 'berth');
  t.same(compileServiceProxyOptions({ netns: 'n1', table: 'berth-br.0' }).command, ['ip', 'netns', 'exec', 'n1', 'nft']);
  t.throws(() => compileServiceProxyOptions({ table: 'no spaces' }), { code: 'invalid-argument', message: /service proxy table name "no spaces"/ });
  t.throws(() => compileServiceProxyOptions({ netns: '../x' }), { code: 'invalid-argument' });
  const script = 'add table ip berth\nadd chain ip berth x\nadd rule ip berth x goto nowhere\n';
  const stderr = '/dev/stdin:3:26-32: Error: Could not process rule: No such file or directory\nadd rule ip berth x goto nowhere\n                         ^^^^^^^\n';
  t.equal(nftError(script, stderr, 1).message, 'nft: line 3: Could not process rule: No such file or directory: add rule ip berth x goto nowhere');
  t.equal(nftError(script, 'Error: something else\n', 1).message, 'nft: Error: something else');
  t.equal(nftError(script, '', null, 'SIGKILL').message, 'nft: killed by SIGKILL');
});

t.test('the service proxy programs a node namespace', async (t) => {
  const hosts = makeHosts(t);
  const [pod0, pod1, client] = hosts.pods as [string, string, string];
  await startServer(t, pod0, 'pod0');
  await startServer(t, pod1, 'pod1');

  const services = [
    service('web', '10.96.0.10', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 'http', nodePort: 30080 }] }),
    service('sticky', '10.96.0.11', { sessionAffinity: 'ClientIP' }),
    service('solo', '10.96.0.12'),
    service('empty', '10.96.0.13'),
    service('headless', 'None'),
  ];
  const slices = (web: string[]) => [slice('web', web), slice('sticky', POD_IPS.slice(0, 2)), slice('solo', [POD_IPS[0]!])];
  const rulesetWith = (web: string[]) => planProxy({ services, slices: slices(web), nodeName: 'node', nodeIps: [NODE_IP], clusterCidr: CLUSTER_CIDR });

  // What a previous agent left: replaced by the first sync, in the same transaction.
  execFileSync('ip', ['netns', 'exec', hosts.node, 'nft', '-f', '-'], { input: 'add table ip berth\nadd chain ip berth left-over\n' });
  const log: string[] = [];
  const proxy = new ServiceProxy({ netns: hosts.node, log: (line) => log.push(line) });
  t.teardown(() => proxy.destroy().catch(() => undefined));
  const first = await proxy.sync(rulesetWith(POD_IPS.slice(0, 2)));
  t.equal(first.mode, 'full', 'the first sync writes the table whole');
  const nft = (...args: string[]) => execFileSync('ip', ['netns', 'exec', hosts.node, 'nft', ...args], { encoding: 'utf8' });
  t.notMatch(nft('list', 'table', 'ip', 'berth'), /left-over/, 'what was there before is gone');
  t.match(nft('list', 'table', 'ip', 'berth'), /comment "berth"/);

  await t.test('a ClusterIP spreads connections over both endpoints; pods see the client\'s own address', async (t) => {
    const replies = await connect(client, '10.96.0.10', 80, 40);
    t.same(names(replies), ['pod0', 'pod1'], answers(replies).join(', '));
    t.ok(replies.every((r) => r.answer?.endsWith(` ${POD_IPS[2]}`)), 'no masquerade between pods');
  });

  await t.test('session affinity ClientIP: one client, one endpoint', async (t) => {
    const replies = await connect(client, '10.96.0.11', 80, 15);
    t.equal(names(replies).length, 1, answers(replies).join(', '));
    t.ok(replies.every((r) => r.answer), 'every connection answered');
  });

  await t.test('hairpin: a pod reaches itself through its Service', async (t) => {
    const replies = await connect(pod0, '10.96.0.12', 80, 3);
    t.same(answers(replies), Array(3).fill(`pod0 ${BRIDGE_IP}`), 'answered by itself, masqueraded to the bridge address');
  });

  await t.test('a NodePort answers from outside the node, masqueraded', async (t) => {
    const replies = await connect(hosts.outside, NODE_IP, 30080, 20);
    t.same(names(replies), ['pod0', 'pod1'], answers(replies).join(', '));
    t.ok(replies.every((r) => r.answer?.endsWith(` ${BRIDGE_IP}`)), 'the reply comes back through the node');
    const fromNode = await connect(hosts.node, NODE_IP, 30080, 3);
    t.ok(fromNode.every((r) => r.answer), `and from the node itself: ${answers(fromNode).join(', ')}`);
    const clusterIpFromNode = await connect(hosts.node, '10.96.0.12', 80, 2);
    t.same(answers(clusterIpFromNode), Array(2).fill(`pod0 ${BRIDGE_IP}`), 'a ClusterIP from the node (outside the cluster CIDR) is masqueraded');
  });

  await t.test('a Service with no endpoints refuses at once', async (t) => {
    const replies = await connect(client, '10.96.0.13', 80, 3);
    t.same(replies.map((r) => r.error), ['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
    t.ok(replies.every((r) => r.ms < 1000), `refused in ${replies.map((r) => r.ms).join(', ')} ms, not timed out`);
    const other = await connect(client, '10.96.0.99', 80, 1, 500);
    t.not(other[0]!.error, 'ECONNREFUSED', 'an address that is no Service is not refused by the proxy');
  });

  await t.test('an endpoint removed: an incremental sync, and it gets no more connections', async (t) => {
    const result = await proxy.sync(rulesetWith([POD_IPS[0]!]));
    t.equal(result.mode, 'incremental');
    t.ok(result.lines < 10, `${result.lines} lines`);
    const replies = await connect(client, '10.96.0.10', 80, 15);
    t.same(names(replies), ['pod0'], answers(replies).join(', '));
    t.equal((await proxy.sync(rulesetWith([POD_IPS[0]!]))).mode, 'unchanged', 'the same ruleset again: nft is not run');
  });

  await t.test('a refused script names its line; the next sync rewrites the table', async (t) => {
    const good = rulesetWith(POD_IPS.slice(0, 2));
    const bad: ProxyRuleset = { ...good, chains: { ...good.chains, broken: { rules: ['goto no-such-chain'] } } };
    await t.rejects(proxy.sync(bad), { code: 'internal', message: /^nft: line \d+: Could not process rule: No such file or directory.*: add rule ip berth broken goto no-such-chain/ });
    t.match(log.at(-1), /the next sync rewrites table ip berth whole/);
    const next = await proxy.sync(good);
    t.equal(next.mode, 'full');
    t.same(names(await connect(client, '10.96.0.10', 80, 20)), ['pod0', 'pod1'], 'both endpoints again');
  });

  await t.test('syncs run one at a time; those waiting coalesce into the newest', async (t) => {
    const a = proxy.sync(rulesetWith([]));
    const b = proxy.sync(rulesetWith(POD_IPS.slice(0, 2)));
    t.equal(a, b, 'asked before the first started: one sync, of the newer ruleset, answers both');
    t.equal((await a).mode, 'unchanged', 'the table already held the newer one: the older was never applied');
    t.same(names(await connect(client, '10.96.0.10', 80, 20)), ['pod0', 'pod1']);
    const c = proxy.sync(rulesetWith([POD_IPS[1]!]));
    await new Promise((resolve) => setImmediate(resolve)); // c's nft is running
    const d = proxy.sync(rulesetWith([POD_IPS[0]!]));
    t.not(c, d, 'a running sync is left alone; the next waits for it');
    const [rc, rd] = await Promise.all([c, d]);
    t.same([rc.mode, rd.mode], ['incremental', 'incremental']);
    t.same(names(await connect(client, '10.96.0.10', 80, 10)), ['pod0'], 'the last one asked is what the table holds');
  });

  await t.test('destroy removes the table, and again is harmless', async (t) => {
    await proxy.destroy();
    t.notMatch(nft('list', 'tables'), /table ip berth\b/);
    await proxy.destroy();
    const replies = await connect(client, '10.96.0.13', 80, 1, 500);
    t.not(replies[0]!.error, 'ECONNREFUSED', 'no rules answer for the Service any more');
  });
});
