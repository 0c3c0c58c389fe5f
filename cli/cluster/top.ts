// berth top pod|node [NAME] [-n NS | -A] [-l SEL] [--containers] [--sort-by cpu|memory]: the usage
// the agents measured, as kubectl top prints metrics-server's (CPU in millicores, memory in Mi).

import type { NodeMetrics, PodMetrics } from '../../proto/resources';
import { parseCpu, parseMemory } from '../../proto/resources';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { renderTable } from '../common/table';
import type { Verb } from './types';

const cpu = (q: string) => `${parseCpu(q)}m`;
const mib = (q: string) => `${Math.round(parseMemory(q) / 1024 / 1024)}Mi`;

export const top: Verb = async (ctx, argv) => {
  const { values, positionals } = parseFlags(argv, {
    namespace: { type: 'string', short: 'n' },
    'all-namespaces': { type: 'boolean', short: 'A' },
    selector: { type: 'string', short: 'l' },
    containers: { type: 'boolean' },
    'sort-by': { type: 'string' },
  });
  const [what, name] = positionals;
  const sortBy = values['sort-by'];
  if (sortBy !== undefined && sortBy !== 'cpu' && sortBy !== 'memory') throw new CliError(`--sort-by accepts only cpu or memory (got ${JSON.stringify(sortBy)})`);
  const order = <T>(rows: T[], usage: (r: T) => { cpu: string; memory: string }) =>
    sortBy ? [...rows].sort((a, b) => (sortBy === 'cpu' ? parseCpu(usage(b).cpu) - parseCpu(usage(a).cpu) : parseMemory(usage(b).memory) - parseMemory(usage(a).memory))) : rows;
  if (what === 'node' || what === 'nodes' || what === 'no') {
    let nodes: NodeMetrics[] = await ctx.client.metrics('nodes', values.selector ? { labelSelector: values.selector } : {});
    if (name) nodes = nodes.filter((n) => n.metadata.name === name);
    if (nodes.length === 0) throw new CliError(name ? `nodes "${name}" not found in the metrics (its agent has not reported yet)` : 'metrics not available yet: the agents report every 15 s');
    nodes = order(nodes, (n) => n.usage).sort((a, b) => (sortBy ? 0 : a.metadata.name.localeCompare(b.metadata.name)));
    ctx.out(renderTable(['NAME', 'CPU(cores)', 'MEMORY(bytes)'], nodes.map((n) => [n.metadata.name, cpu(n.usage.cpu), mib(n.usage.memory)])));
    return 0;
  }
  if (what !== 'pod' && what !== 'pods' && what !== 'po') throw new CliError('berth top pod|node [NAME] [-n NS | -A] [-l SEL] [--containers] [--sort-by cpu|memory]');
  const all = values['all-namespaces'] === true;
  const namespace = values.namespace || 'default';
  let pods: PodMetrics[] = await ctx.client.metrics('pods', { ...(all ? {} : { namespace }), ...(values.selector ? { labelSelector: values.selector } : {}) });
  if (name) pods = pods.filter((p) => p.metadata.name === name);
  if (pods.length === 0) {
    throw new CliError(name ? `pods "${name}" not found in the metrics (not running, or not measured yet)` : `no metrics of pods${all ? '' : ` in namespace "${namespace}"`} yet: the agents report every 15 s`);
  }
  const total = (p: PodMetrics) => ({
    cpu: `${p.containers.reduce((a, c) => a + parseCpu(c.usage.cpu), 0)}m`,
    memory: String(p.containers.reduce((a, c) => a + parseMemory(c.usage.memory), 0)),
  });
  pods = order(pods, total);
  if (!sortBy) pods.sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
  const ns = (p: PodMetrics) => (all ? [p.metadata.namespace] : []);
  if (values.containers) {
    const rows = pods.flatMap((p) => p.containers.map((c) => [...ns(p), p.metadata.name, c.name, cpu(c.usage.cpu), mib(c.usage.memory)]));
    ctx.out(renderTable([...(all ? ['NAMESPACE'] : []), 'POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)'], rows));
    return 0;
  }
  ctx.out(renderTable([...(all ? ['NAMESPACE'] : []), 'NAME', 'CPU(cores)', 'MEMORY(bytes)'], pods.map((p) => [...ns(p), p.metadata.name, cpu(total(p).cpu), mib(total(p).memory)])));
  return 0;
};
