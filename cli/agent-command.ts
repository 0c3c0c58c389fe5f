// berth agent: run the node agent in the foreground until SIGINT/SIGTERM.

import {
  DEFAULT_CGROUP_PARENT, DEFAULT_DATA_ROOT, DEFAULT_RUN_DIR, DEFAULT_SOCKET, parseExtendedResource, parseIngressPort, parseLabels, parsePodPidsLimit, parseRestartBackoff, startAgent,
} from '../agent';
import { parseDuration, parseFlags, sizeFlag } from './common/args';
import { CliError } from './common/errors';

export async function runAgentCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, {
    'data-root': { type: 'string', default: DEFAULT_DATA_ROOT },
    socket: { type: 'string', default: DEFAULT_SOCKET },
    'insecure-registry': { type: 'string', multiple: true },
    'registries-config': { type: 'string' },
    'run-dir': { type: 'string', default: DEFAULT_RUN_DIR },
    'cgroup-parent': { type: 'string', default: DEFAULT_CGROUP_PARENT },
    bridge: { type: 'string' },
    subnet: { type: 'string' },
    controller: { type: 'string' },
    'node-name': { type: 'string' },
    labels: { type: 'string' },
    'node-ip': { type: 'string' },
    token: { type: 'string' },
    'pod-pids-limit': { type: 'string' },
    'pod-restart-backoff': { type: 'string' },
    'extended-resource': { type: 'string', multiple: true },
    'ingress-http-port': { type: 'string' },
    'ingress-https-port': { type: 'string' },
    'metric-resolution': { type: 'string' },
    'builder-keep-storage': { type: 'string' },
  });
  if (positionals.length > 0) throw new CliError(`berth agent takes no arguments (got "${positionals[0]}")`);
  const clusterOnly = (['node-name', 'labels', 'node-ip', 'token', 'pod-pids-limit', 'pod-restart-backoff', 'extended-resource', 'ingress-http-port', 'ingress-https-port', 'metric-resolution'] as const).filter((f) => values[f] !== undefined);
  if (!values.controller && clusterOnly.length > 0) {
    throw new CliError(`--${clusterOnly[0]} needs --controller HOST:PORT`);
  }
  const agent = await startAgent({
    dataRoot: values['data-root'],
    socket: values.socket,
    runDir: values['run-dir'],
    cgroupParent: values['cgroup-parent'],
    ...(values['builder-keep-storage'] !== undefined ? { builderKeepStorage: sizeFlag('builder-keep-storage', values['builder-keep-storage']) } : {}),
    ...(values.bridge ? { bridge: values.bridge } : {}),
    ...(values.subnet ? { subnet: values.subnet } : {}),
    registry: {
      insecureRegistries: values['insecure-registry'] ?? [],
      ...(values['registries-config'] ? { registriesConfig: values['registries-config'] } : {}),
    },
    ...(values.controller ? {
      node: {
        controller: values.controller,
        ...(values['node-name'] ? { nodeName: values['node-name'] } : {}),
        ...(values.labels ? { labels: parseLabels(values.labels) } : {}),
        ...(values['node-ip'] ? { nodeIp: values['node-ip'] } : {}),
        ...(values.token ?? process.env.BERTH_TOKEN ? { token: (values.token ?? process.env.BERTH_TOKEN)! } : {}),
        ...(values['pod-pids-limit'] !== undefined ? { podPidsLimit: parsePodPidsLimit(values['pod-pids-limit']) } : {}),
        ...(values['pod-restart-backoff'] !== undefined ? { podRestartBackoff: parseRestartBackoff(values['pod-restart-backoff']) } : {}),
        ...(values['extended-resource'] ? { extendedResources: Object.fromEntries(values['extended-resource'].map(parseExtendedResource)) } : {}),
        ...(values['metric-resolution'] !== undefined ? { metricsResolutionMs: metricResolution(values['metric-resolution']) } : {}),
        ...(values['ingress-http-port'] !== undefined || values['ingress-https-port'] !== undefined ? {
          ingressPorts: {
            ...(values['ingress-http-port'] !== undefined ? { http: parseIngressPort('ingress-http-port', values['ingress-http-port']) } : {}),
            ...(values['ingress-https-port'] !== undefined ? { https: parseIngressPort('ingress-https-port', values['ingress-https-port']) } : {}),
          },
        } : {}),
      },
    } : {}),
  });
  process.stdout.write(`berth agent: serving ${values.socket} (data root ${values['data-root']})\n`);
  if (agent.node) process.stdout.write(`berth agent: node ${agent.node.config.nodeName} (${agent.node.config.nodeIp}) joins controller ${agent.node.config.controller}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await agent.stop();
}

/** --metric-resolution 15s: at least a second (a CPU rate needs two readings apart). */
function metricResolution(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) throw new CliError(`invalid --metric-resolution "${text}": expected a duration of at least 1s, such as 15s`);
  return ms;
}
