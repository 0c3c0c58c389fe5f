// The network suite (issue 10's figures), each against its aim, medians of several runs:
//
// 1. pods: pod-to-pod TCP across two network-namespace hosts, for each pod network backend
//    (host-gw, vxlan; a cluster of its own each, network-cluster.ts), against host-to-host on the
//    same veths in the same rounds (order alternating). Throughput: iperf3 (-t SECONDS, the first
//    second omitted, one stream): for the pods, iperf3 -s is the server pod's own process and the
//    client is `berth exec` into the client pod's container: the real pod path, its namespace,
//    veth, bridge, the host's routes (or VXLAN device) and proxy table, and the container's
//    cgroup and seccomp filter; for the hosts, the same iperf3 run with nsenter in the hosts'
//    namespaces. Latency: 64-byte request/response on one connection (network-probe.ts: node,
//    which the pod image has not, run with nsenter in the client pod's and the server pod's
//    namespaces, or the hosts'), p50 and p99 per run. Aims: pod/host >= 0.95x with host-gw,
//    >= 0.8x with vxlan; for latency the same aims apply to host p50 / pod p50 (the pods' speed
//    relative to the hosts').
// 2. connect: new TCP connections from the client pod's namespace to the Service's ClusterIP
//    and straight to the server pod's IP, alternating, p50 and p99; the listener is the same echo
//    server in the server pod's namespace (it accepts at once: busybox httpd, forking per
//    connection, let its backlog overflow and SYNs wait out a 1 s retransmit). Aim: ClusterIP /
//    pod IP < 1.1x.
// 3. dns: the cluster DNS server's figures (dns.ts).
// 4. proxy: the service proxy's sync figures (proxy.ts).
// 5. attach: the agent's network module attaching a pod in 'bridge' mode and detaching it
//    (network-attach.ts), median of RUNS. Aim: attach + detach < 20 ms.
//
// A part that fails is reported as such in the summary; the others still run.

import { execFileSync, spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cleanup } from './cleanup';
import { median } from './cluster-common';
import { dnsSuite } from './dns';
import { attachBench } from './network-attach';
import { buildBenchImage, ECHO_PORT, IPERF_PORT, SERVICE_PORT, startNetCluster, type NetCluster, type PodNetworkBackend } from './network-cluster';
import { runCommand, startDaemon, waitFor } from './proc';
import { proxySuite } from './proxy';

export const NETWORK_PARTS = ['pods', 'connect', 'dns', 'proxy', 'attach'] as const;
export type NetworkPart = (typeof NETWORK_PARTS)[number];
export const NETWORK_BACKENDS: PodNetworkBackend[] = ['host-gw', 'vxlan'];

export interface NetworkOptions {
  /** Rounds of throughput + latency per backend (each: host, then pod, or the reverse). */
  runs: number;
  /** iperf3 -t (one more second is run and omitted). */
  seconds: number;
  /** Round trips per latency run. */
  roundTrips: number;
  /** Connections to each of ClusterIP and pod IP. */
  connects: number;
  /** Timed attach + detach pairs. */
  attachRuns: number;
  backends: PodNetworkBackend[];
  parts: NetworkPart[];
  cleanup: Cleanup;
  log: (line: string) => void;
}

const AIM: Record<PodNetworkBackend, number> = { 'host-gw': 0.95, vxlan: 0.8 };
const CONNECT_AIM = 1.1;
const ATTACH_AIM_MS = 20;
const HOST_IPERF_PORT = 5202;
const PROBE = path.join(__dirname, 'network-probe.js');

/** Nearest-rank percentile. */
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

type Side = 'host' | 'pod';

interface PodFigures {
  backend: PodNetworkBackend;
  mtu: { pod: number; host: number };
  /** Gbit/s per run. */
  gbps: Record<Side, number[]>;
  retransmits: Record<Side, number[]>;
  /** µs per run. */
  p50: Record<Side, number[]>;
  p99: Record<Side, number[]>;
}

interface ConnectFigures {
  backend: PodNetworkBackend;
  clusterIp: number[];
  podIp: number[];
}

interface Row {
  figure: string;
  measured: string;
  aim: string;
  verdict: string;
}

/** `command` in a network namespace; it dies with the bench (should the bench be killed meanwhile). */
const inNetns = (netns: string, command: string[]) => runCommand('setpriv', ['--pdeathsig', 'KILL', '--', 'nsenter', `--net=${netns}`, '--', ...command]);

/** A probe (network-probe.ts) run to its end in a namespace; its JSON line. */
async function probe<T>(netns: string, args: string[]): Promise<T> {
  const r = await inNetns(netns, [process.execPath, PROBE, ...args]);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** A long-running server in a namespace, stopped by the cluster's or the bench's cleanup (whichever comes first). */
async function serveIn(netns: string, command: string[], ready: (out: string) => boolean, cleanup: Cleanup) {
  const d = startDaemon('setpriv', ['--pdeathsig', 'KILL', '--', 'nsenter', `--net=${netns}`, '--', ...command]);
  cleanup.teardown(() => d.stop(3000));
  await waitFor(`${command.slice(0, 2).join(' ')} in ${netns}`, () => {
    if (d.child.exitCode !== null) throw new Error(`${command.join(' ')} exited (${d.child.exitCode}): ${d.output()}`);
    return ready(d.output());
  }, d.output, 10_000);
  return d;
}

interface IperfResult { gbps: number; retransmits: number }

function iperfResult(stdout: string, what: string): IperfResult {
  const doc = JSON.parse(stdout) as { error?: string; end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } } };
  if (doc.error || !doc.end?.sum_received) throw new Error(`iperf3 ${what}: ${doc.error ?? 'no result'}`);
  return { gbps: doc.end.sum_received.bits_per_second / 1e9, retransmits: doc.end.sum_sent?.retransmits ?? 0 };
}

async function podFigures(c: NetCluster, o: NetworkOptions, servers: Cleanup): Promise<PodFigures> {
  const [h0, h1] = [c.hosts[0]!, c.hosts[1]!];
  const hostNs = (h: { netns: string }) => `/run/netns/${h.netns}`;
  await serveIn(hostNs(h1), ['iperf3', '-s', '-p', String(HOST_IPERF_PORT), '--forceflush'], (out) => /Server listening/.test(out), servers);
  await serveIn(hostNs(h1), [process.execPath, PROBE, 'echo', String(ECHO_PORT)], (out) => out.includes('"listening"'), servers);
  const iperfArgs = (ip: string, port: number, seconds: number) => ['-c', ip, '-p', String(port), '-t', String(seconds + 1), '-O', '1', '-J'];
  const iperf = async (side: Side, seconds: number): Promise<IperfResult> => {
    if (side === 'host') {
      return iperfResult((await inNetns(hostNs(h0), ['iperf3', ...iperfArgs(h1.ip, HOST_IPERF_PORT, seconds)])).stdout, 'host to host');
    }
    const r = await c.client.agent.berthAsync(['exec', c.client.container, 'iperf3', ...iperfArgs(c.server.ip, IPERF_PORT, seconds)]);
    if (r.status !== 0 && !r.stdout.trim().startsWith('{')) throw new Error(`berth exec iperf3 (${r.status}): ${(r.stderr || r.stdout).trim().slice(-1000)}`);
    return iperfResult(r.stdout, 'pod to pod');
  };
  const latency = async (side: Side): Promise<number[]> => (side === 'host'
    ? await probe<{ samples: number[] }>(hostNs(h0), ['rr', h1.ip, String(ECHO_PORT), String(o.roundTrips)])
    : await probe<{ samples: number[] }>(c.client.netns, ['rr', c.server.ip, String(ECHO_PORT), String(o.roundTrips)])).samples;

  // Warm-up (not counted): the pod's iperf3 server may only just have started listening.
  await waitFor('the server pod\'s iperf3 to answer', async () => (await iperf('pod', 1).then(() => true, () => false)), () => '', 30_000, 500);
  await iperf('host', 1);

  const f: PodFigures = { backend: c.backend, mtu: { pod: c.podMtu, host: c.hostMtu }, gbps: { host: [], pod: [] }, retransmits: { host: [], pod: [] }, p50: { host: [], pod: [] }, p99: { host: [], pod: [] } };
  for (let round = 0; round < o.runs; round++) {
    const order: Side[] = round % 2 === 0 ? ['host', 'pod'] : ['pod', 'host'];
    for (const side of order) {
      const r = await iperf(side, o.seconds);
      f.gbps[side].push(r.gbps);
      f.retransmits[side].push(r.retransmits);
    }
    for (const side of order) {
      const samples = await latency(side);
      f.p50[side].push(percentile(samples, 50));
      f.p99[side].push(percentile(samples, 99));
    }
    o.log(`bench: ${c.backend} round ${round + 1}/${o.runs}: throughput host ${f.gbps.host.at(-1)!.toFixed(2)} pod ${f.gbps.pod.at(-1)!.toFixed(2)} Gbit/s; `
      + `RTT p50 host ${f.p50.host.at(-1)!.toFixed(0)} pod ${f.p50.pod.at(-1)!.toFixed(0)} µs`);
  }
  return f;
}

async function connectFigures(c: NetCluster, o: NetworkOptions): Promise<ConnectFigures> {
  const viaService = `${c.clusterIp}:${SERVICE_PORT}`;
  const direct = `${c.server.ip}:${ECHO_PORT}`;
  // The proxy programs the Service once its endpoint is ready: until then connects are refused.
  let lastError = '';
  await waitFor(`${viaService} to answer from the client pod`, () => probe(c.client.netns, ['connect', '1', viaService]).then(() => true, (err: Error) => {
    lastError = err.message;
    return false;
  }), () => lastError, 30_000, 300);
  const r = await probe<{ samples: Record<string, number[]> }>(c.client.netns, ['connect', String(o.connects), viaService, direct]);
  o.log(`bench: ${c.backend}: ${o.connects} connects each: ClusterIP p50 ${percentile(r.samples[viaService]!, 50).toFixed(0)} µs, pod IP p50 ${percentile(r.samples[direct]!, 50).toFixed(0)} µs`);
  return { backend: c.backend, clusterIp: r.samples[viaService]!, podIp: r.samples[direct]! };
}

export async function networkSuite(o: NetworkOptions): Promise<{ text: string; failed: boolean }> {
  const { cleanup, log } = o;
  const loadAtStart = os.loadavg();
  const rows: Row[] = [];
  const details: string[] = [];
  let failed = false;
  const fail = (figure: string, err: unknown) => {
    failed = true;
    const message = err instanceof Error ? err.message : String(err);
    log(`bench: ${figure} FAILED: ${err instanceof Error ? (err.stack ?? message) : message}`);
    // The line that names the error, not a stack frame's or a banner's.
    const lines = message.split('\n').map((l) => l.trim()).filter(Boolean);
    const line = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? '';
    rows.push({ figure, measured: `FAILED: ${line.slice(0, 120)}`, aim: '', verdict: '' });
  };
  const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '?');
  const verdict = (met: boolean) => (met ? 'MET' : 'NOT MET');

  // ---- pods and connect, one cluster per backend ----
  if (o.parts.includes('pods') || o.parts.includes('connect')) {
    let image: Awaited<ReturnType<typeof buildBenchImage>> | undefined;
    try {
      execFileSync('sh', ['-c', 'command -v iperf3'], { stdio: 'ignore' });
      image = await buildBenchImage();
    } catch (err) {
      fail('pod network', new Error(`iperf3 is needed (apt-get install -y iperf3; scripts/setup.sh does not install it): ${(err as Error).message}`));
    }
    for (const backend of image ? o.backends : []) {
      let cluster: NetCluster | undefined;
      // What runs in the cluster's namespaces beside it (iperf3 and echo servers) stops before it.
      const servers = new Cleanup();
      cleanup.teardown(() => servers.run());
      try {
        cluster = await startNetCluster(backend, image!, cleanup, log);
        // The Service's endpoint, and the far end of the pods' latency runs.
        await serveIn(cluster.server.netns, [process.execPath, PROBE, 'echo', String(ECHO_PORT)], (out) => out.includes('"listening"'), servers);
        if (o.parts.includes('pods')) {
          try {
            const f = await podFigures(cluster, o, servers);
            const g = { host: median(f.gbps.host), pod: median(f.gbps.pod) };
            const l50 = { host: median(f.p50.host), pod: median(f.p50.pod) };
            const l99 = { host: median(f.p99.host), pod: median(f.p99.pod) };
            const tRatio = g.pod / g.host;
            const lRatio = l50.host / l50.pod;
            rows.push({ figure: `${backend}: pod-to-pod throughput / host-to-host`, measured: `${g.pod.toFixed(2)} / ${g.host.toFixed(2)} Gbit/s = ${tRatio.toFixed(3)}x`, aim: `>= ${AIM[backend]}x`, verdict: verdict(tRatio >= AIM[backend]) });
            rows.push({ figure: `${backend}: RTT p50 host / pod (p99)`, measured: `${fmt(l50.host)} / ${fmt(l50.pod)} µs = ${lRatio.toFixed(3)}x (p99 ${fmt(l99.host)} / ${fmt(l99.pod)} µs)`, aim: `>= ${AIM[backend]}x`, verdict: verdict(lRatio >= AIM[backend]) });
            details.push(`${backend} (MTU pods ${f.mtu.pod}, hosts ${f.mtu.host}; ${o.runs} rounds, iperf3 -t ${o.seconds} one stream, ${o.roundTrips} round trips of 64 bytes per run):`);
            for (const side of ['host', 'pod'] as Side[]) {
              details.push(`  ${side.padEnd(4)} Gbit/s ${f.gbps[side].map((x) => x.toFixed(2)).join(' ')} (median ${median(f.gbps[side]).toFixed(2)}; retransmits ${f.retransmits[side].join(' ')}); `
                + `RTT p50 µs ${f.p50[side].map((x) => x.toFixed(0)).join(' ')}, p99 µs ${f.p99[side].map((x) => x.toFixed(0)).join(' ')}`);
            }
          } catch (err) {
            fail(`${backend}: pod-to-pod`, err);
          }
        }
        if (o.parts.includes('connect')) {
          try {
            const f = await connectFigures(cluster, o);
            const p50 = { svc: percentile(f.clusterIp, 50), pod: percentile(f.podIp, 50) };
            const p99 = { svc: percentile(f.clusterIp, 99), pod: percentile(f.podIp, 99) };
            const ratio = p50.svc / p50.pod;
            rows.push({ figure: `${backend}: connect p50 ClusterIP / pod IP (p99)`, measured: `${fmt(p50.svc)} / ${fmt(p50.pod)} µs = ${ratio.toFixed(3)}x (p99 ${fmt(p99.svc)} / ${fmt(p99.pod)} µs = ${(p99.svc / p99.pod).toFixed(2)}x)`, aim: `< ${CONNECT_AIM}x`, verdict: verdict(ratio < CONNECT_AIM) });
            // A connect of a second or more waited for a SYN to be sent again (the first RTO is 1 s).
            const resent = (xs: number[]) => xs.filter((x) => x >= 900_000).length;
            details.push(`${backend} connects (${o.connects} each, alternating, cross-host): ClusterIP p50 ${fmt(p50.svc)} p90 ${fmt(percentile(f.clusterIp, 90))} p99 ${fmt(p99.svc)} µs; `
              + `pod IP p50 ${fmt(p50.pod)} p90 ${fmt(percentile(f.podIp, 90))} p99 ${fmt(p99.pod)} µs; connects of >= 0.9 s (a SYN sent again): ClusterIP ${resent(f.clusterIp)}, pod IP ${resent(f.podIp)}`);
          } catch (err) {
            fail(`${backend}: connect`, err);
          }
        }
      } catch (err) {
        fail(`${backend}: cluster`, err);
      } finally {
        await servers.run();
        await cluster?.stop();
      }
    }
  }

  // ---- the DNS and proxy suites, their lines kept for the report ----
  const captured = (into: string[]) => (line: string) => {
    into.push(line);
    log(line);
  };
  if (o.parts.includes('dns')) {
    const lines: string[] = [];
    try {
      await dnsSuite(captured(lines));
      const load = /(\d+) q\/s, p50 (\d+) µs, p99 (\d+) µs/.exec(lines.join('\n'));
      const update = /resolves: median ([\d.]+) ms/.exec(lines.join('\n'));
      rows.push({ figure: 'DNS: 1,000 Services, 32 UDP clients', measured: load ? `${load[1]} q/s, p50 ${load[2]} µs, p99 ${load[3]} µs` : 'see the dns lines', aim: '-', verdict: '' });
      rows.push({ figure: 'DNS: update() -> the new name resolves', measured: update ? `median ${update[1]} ms` : 'see the dns lines', aim: '-', verdict: '' });
      details.push(...lines.filter((l) => !/on 127\.0\.0\.1:/.test(l)));
    } catch (err) {
      fail('DNS', err);
    }
  }
  if (o.parts.includes('proxy')) {
    const lines: string[] = [];
    try {
      await proxySuite(captured(lines));
      const start = lines.findIndex((l) => l.startsWith('service proxy:'));
      const report = start >= 0 ? lines.slice(start) : lines.filter((l) => /aim/.test(l));
      details.push(...report);
      for (const [label, re] of [['proxy: full sync, 1,000 Services x 10', /full sync from nothing.*?= ([\d.]+) ms.*aim < (\d+) ms/], ['proxy: one endpoint changed', /one endpoint changed.*?= ([\d.]+) ms.*aim < (\d+) ms/]] as const) {
        const m = re.exec(lines.join('\n'));
        rows.push(m
          ? { figure: label, measured: `${m[1]} ms`, aim: `< ${m[2]} ms`, verdict: verdict(Number(m[1]) < Number(m[2])) }
          : { figure: label, measured: 'see the proxy lines', aim: '', verdict: '' });
      }
    } catch (err) {
      fail('proxy', err);
    }
  }

  // ---- attach + detach ----
  if (o.parts.includes('attach')) {
    try {
      const s = await attachBench(o.attachRuns, cleanup);
      const pairs = s.attach.map((a, i) => a + s.detach[i]!);
      const total = median(pairs);
      rows.push({ figure: 'pod network attach + detach (bridge, CNI)', measured: `${total.toFixed(1)} ms (attach ${median(s.attach).toFixed(1)} + detach ${median(s.detach).toFixed(1)})`, aim: `< ${ATTACH_AIM_MS} ms`, verdict: verdict(total < ATTACH_AIM_MS) });
      details.push(`attach + detach, ${o.attachRuns} pairs in a namespace of their own (agent/network createContainerNetwork, 'bridge'): `
        + `median ${total.toFixed(1)} ms, p90 ${percentile(pairs, 90).toFixed(1)} ms, min ${Math.min(...pairs).toFixed(1)} ms; attach median ${median(s.attach).toFixed(1)} ms, detach median ${median(s.detach).toFixed(1)} ms`);
    } catch (err) {
      fail('attach + detach', err);
    }
  }

  // ---- the report ----
  const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const iperfVersion = spawnSync('iperf3', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0]?.trim() ?? 'iperf3 not installed';
  const out: string[] = [''];
  out.push(`network: host ${os.cpus().length} cores, node ${process.version}, ${iperfVersion}; load average at start ${loads(loadAtStart)}, at end ${loads(os.loadavg())}; ${new Date().toISOString().slice(0, 10)}`);
  if (details.length) out.push('', ...details);
  out.push('');
  const header: Row = { figure: 'figure', measured: 'measured (medians)', aim: 'aim', verdict: '' };
  const all = [header, ...rows];
  const w = { figure: Math.max(...all.map((r) => r.figure.length)), measured: Math.max(...all.map((r) => r.measured.length)), aim: Math.max(...all.map((r) => r.aim.length)) };
  for (const r of all) out.push(`${r.figure.padEnd(w.figure)}   ${r.measured.padEnd(w.measured)}   ${r.aim.padEnd(w.aim)}   ${r.verdict}`.trimEnd());
  return { text: out.join('\n'), failed };
}
