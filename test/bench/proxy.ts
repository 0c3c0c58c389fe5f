// The proxy suite: what programming the service proxy costs at scale. In a network namespace of
// its own, RUNS times: a full sync of 1,000 Services x 10 endpoints onto an empty host, then one
// endpoint of one Service replaced and synced, then one endpoint added to another (its number of
// endpoints changes). Each is timed in three parts, medians printed with their ratio to the aim:
// plan (planProxy over every Service and slice: the agent re-plans the whole cluster per sync),
// the script (renderRuleset / diffRuleset) and nft (its process from start to exit, reached
// through `ip netns exec`, which adds a few ms an agent in the host namespace does not pay).
//
// Aims: a full sync under 1 s, one change under 50 ms.
//
// kube-proxy's published figures, for scale (whole-cluster network programming latency, not one
// node's sync, and measured on 5,000 nodes): KEP-3453 (iptables, partial restores) took the 50th
// percentile of network_programming_duration_seconds in the 5,000-node test from about 27 s to
// about 13 s, and to about 5 s with --iptables-min-sync-period 1s. KEP-3866 (nftables) gives no
// sync-time figure: its 1,000-node job performs "quite satisfactory" without minSyncPeriod, and
// its data-plane latency stays flat with the number of Services where iptables' grows linearly.
//
// The table (types.ts) has a few chains however many Services: a spread-N chain per number of
// endpoints (1 to 16 always), the endpoints as elements of one map per protocol. It used to have one chain per
// endpoint, as kube-proxy's has (11,011 here), and nft 1.0.6 reads every chain and set of a table
// back before any change: that read was most of every sync. Measured on this bench before the
// change (2 CPUs, loaded): full sync 1,846 ms (plan 287 + render 193 + nft 1,448), one endpoint
// changed 141 ms (plan 14 + diff 8 + nft 122); nft -c of a one-rule script took 110 ms.
//
// What is left of one change is mostly starting nft: its process, through `ip netns exec` here,
// costs the floor printed last (a check of an empty script) whatever the table holds.

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { planProxy, ServiceProxy, type ProxyInput, type SyncResult } from '../../agent/network/proxy';
import { SERVICE_NAME_LABEL, type EndpointSlice, type Service } from '../../proto/resources';
import { deepFreeze } from '../fixtures/frozen';
import { median } from './cluster-common';

const SERVICES = 1_000;
const ENDPOINTS = 10;
const RUNS = Number(process.env.BENCH_PROXY_RUNS ?? 9);
const FULL_AIM_MS = 1_000;
const CHANGE_AIM_MS = 50;

const ms = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e6;
const podIp = (n: number) => `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`;

function cluster(): ProxyInput {
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < SERVICES; i++) {
    const name = `svc-${String(i).padStart(4, '0')}`;
    const namespace = `ns-${i % 10}`;
    services.push({
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace },
      spec: { clusterIP: `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    slices.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: 'IPv4',
      endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({ addresses: [podIp(i * ENDPOINTS + e)], conditions: { ready: true }, nodeName: `node-${e % 3}` })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  // Frozen, as the agent's watch keeps them: the planner reuses what it planned for an unchanged Service.
  return { services: services.map(deepFreeze), slices: slices.map(deepFreeze), nodeName: 'node-0', nodeIps: ['192.168.0.10'], clusterCidr: '10.244.0.0/16' };
}

/** The same cluster with one endpoint of one Service replaced by a new pod. */
function oneChanged(input: ProxyInput): ProxyInput {
  const slices = [...input.slices];
  const i = Math.floor(SERVICES / 2);
  const s = slices[i]!;
  slices[i] = deepFreeze({ ...s, endpoints: s.endpoints.map((e, j) => (j === 3 ? { ...e, addresses: ['10.245.0.1'] } : e)) });
  return { ...input, slices };
}

interface Sample { plan: number; script: number; nft: number; lines: number }

/** nft checking (-c: parsed, cached, sent, not committed) a script against the loaded table. */
function nftCheck(netns: string, script: string): number {
  const started = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', netns, 'nft', '-c', '-f', '-'], { input: script, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft -c: ${r.stderr.trim()}`);
  return ms(started);
}

/** The same cluster with one endpoint more for one Service: its number of endpoints changes, so its address moves to another spread chain. */
function oneAdded(input: ProxyInput): ProxyInput {
  const slices = [...input.slices];
  const i = Math.floor(SERVICES / 3);
  const s = slices[i]!;
  slices[i] = deepFreeze({ ...s, endpoints: [...s.endpoints, { addresses: ['10.245.0.2'], conditions: { ready: true }, nodeName: 'node-0' }] });
  return { ...input, slices };
}

export async function proxySuite(log: (line: string) => void): Promise<void> {
  const netns = `bpb${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    const full: Sample[] = [];
    const change: Sample[] = [];
    const added: Sample[] = [];
    const floor: number[] = [];
    const start: number[] = [];
    let chains = 0;
    let elements = 0;
    const timed = async (proxy: ServiceProxy, input: ProxyInput, mode: SyncResult['mode']): Promise<Sample> => {
      const started = process.hrtime.bigint();
      const ruleset = planProxy(input);
      const plan = ms(started);
      chains = Object.keys(ruleset.chains).length;
      elements = Object.values(ruleset.maps).reduce((n, m) => n + m.elements.reduce((k, g) => k + g.length, 0), 0)
        + Object.values(ruleset.sets).reduce((n, set) => n + set.elements.length, 0);
      const result = await proxy.sync(ruleset);
      if (result.mode !== mode) throw new Error(`synced ${result.mode}, not ${mode}`);
      return { plan, script: result.diffMs, nft: result.nftMs, lines: result.lines };
    };
    for (let run = 0; run < RUNS; run++) {
      // New objects each run: the first plan of a run starts from nothing, as an agent's first does.
      const input = cluster();
      const proxy = new ServiceProxy({ netns, log });
      try {
        full.push(await timed(proxy, input, 'full'));
        change.push(await timed(proxy, oneChanged(input), 'incremental'));
        added.push(await timed(proxy, oneAdded(oneChanged(input)), 'incremental'));
        floor.push(nftCheck(netns, 'add rule ip berth reject-chain reject\n'));
        start.push(nftCheck(netns, '\n'));
      } finally {
        await proxy.destroy();
      }
      log(`proxy run ${run + 1}/${RUNS}: full ${total(full.at(-1)!).toFixed(0)} ms, one change ${total(change.at(-1)!).toFixed(1)} ms, one added ${total(added.at(-1)!).toFixed(1)} ms`);
    }
    log('');
    log(`service proxy: ${SERVICES} Services x ${ENDPOINTS} endpoints: ${chains} chains, ${elements.toLocaleString('en')} map and set elements; medians of ${RUNS} runs (nft 1.0.6, through ip netns exec)`);
    log(row('full sync from nothing', full, 'render', FULL_AIM_MS));
    log(row('one endpoint changed', change, 'diff', CHANGE_AIM_MS));
    log(row('one endpoint added', added, 'diff', CHANGE_AIM_MS));
    log(`  nft's floor on this table: ${median(floor).toFixed(1)} ms to check a one-rule script (nft -c), of which ${median(start).toFixed(1)} ms to check an empty one (starting nft)`);
  } finally {
    spawnSync('ip', ['netns', 'del', netns]);
  }
}

const total = (s: Sample) => s.plan + s.script + s.nft;

function row(what: string, samples: Sample[], scriptName: string, aimMs: number): string {
  const m = (f: (s: Sample) => number) => median(samples.map(f));
  const sum = m(total);
  const verdict = sum < aimMs ? 'within' : 'over';
  const digits = aimMs < 100 ? 1 : 0;
  return `  ${what.padEnd(24)} plan ${m((s) => s.plan).toFixed(digits)} + ${scriptName} ${m((s) => s.script).toFixed(digits)} + nft ${m((s) => s.nft).toFixed(digits)} = ${sum.toFixed(digits)} ms `
    + `(${m((s) => s.lines)} lines; aim < ${aimMs} ms: ${verdict}, ${(sum / aimMs).toFixed(2)} of it)`;
}
