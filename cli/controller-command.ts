// berth controller: run the API server, the store and the control loops in the foreground until
// SIGINT/SIGTERM.

import { DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR, DEFAULT_LEADER_LEASE_MS, DEFAULT_NODE_CIDR_MASK_SIZE, DEFAULT_LISTEN, DEFAULT_NODE_GRACE_PERIOD_MS, DEFAULT_POD_EVICTION_TIMEOUT_MS, startController } from '../controller';
import { durationFlag, intFlag, parseFlags } from './common/args';
import { CliError } from './common/errors';

export const DEFAULT_CONTROLLER_DATA_ROOT = '/var/lib/berth/controller';

export async function runControllerCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, {
    'data-root': { type: 'string', default: DEFAULT_CONTROLLER_DATA_ROOT },
    listen: { type: 'string', default: DEFAULT_LISTEN },
    store: { type: 'string', default: 'sqlite' },
    'node-grace-period': { type: 'string' },
    'pod-eviction-timeout': { type: 'string' },
    'tls-san': { type: 'string', multiple: true },
    'node-cert-validity': { type: 'string' },
    'etcd-cafile': { type: 'string' },
    'etcd-certfile': { type: 'string' },
    'etcd-keyfile': { type: 'string' },
    'etcd-insecure': { type: 'boolean' },
    'leader-elect-lease-duration': { type: 'string' },
    'cluster-cidr': { type: 'string', default: DEFAULT_CLUSTER_CIDR },
    'node-cidr-mask-size': { type: 'string' },
    'pod-network': { type: 'string', default: 'vxlan' },
    'service-cidr': { type: 'string', default: DEFAULT_SERVICE_CIDR },
    'service-node-port-range': { type: 'string', default: DEFAULT_NODE_PORT_RANGE },
    'encryption-provider-config': { type: 'string' },
  });
  if (positionals.length > 0) throw new CliError(`berth controller takes no arguments (got "${positionals[0]}")`);
  const controller = await startController({
    dataRoot: values['data-root'],
    listen: values.listen,
    store: values.store,
    nodeGracePeriodMs: durationFlag('--node-grace-period', values['node-grace-period']) ?? DEFAULT_NODE_GRACE_PERIOD_MS,
    podEvictionTimeoutMs: durationFlag('--pod-eviction-timeout', values['pod-eviction-timeout']) ?? DEFAULT_POD_EVICTION_TIMEOUT_MS,
    log: (line) => process.stdout.write(`${line}\n`),
    tlsSans: values['tls-san'] ?? [],
    clusterCidr: values['cluster-cidr'],
    podNetwork: values['pod-network'],
    serviceCidr: values['service-cidr'],
    nodePortRange: values['service-node-port-range'],
    ...(values['encryption-provider-config'] ? { encryptionConfig: values['encryption-provider-config'] } : {}),
    nodeCidrMaskSize: intFlag('--node-cidr-mask-size', values['node-cidr-mask-size']) ?? DEFAULT_NODE_CIDR_MASK_SIZE,
    leaderLeaseMs: durationFlag('--leader-elect-lease-duration', values['leader-elect-lease-duration']) ?? DEFAULT_LEADER_LEASE_MS,
    etcd: {
      ...(values['etcd-cafile'] ? { caFile: values['etcd-cafile'] } : {}),
      ...(values['etcd-certfile'] ? { certFile: values['etcd-certfile'] } : {}),
      ...(values['etcd-keyfile'] ? { keyFile: values['etcd-keyfile'] } : {}),
      insecure: values['etcd-insecure'] ?? false,
    },
    ...(values['node-cert-validity'] ? { nodeCertificateValidityMs: durationFlag('--node-cert-validity', values['node-cert-validity']) } : {}),
  });
  process.stdout.write(`berth controller: listening on ${controller.address} (data root ${values['data-root']}, store ${values.store})\n`);
  process.stdout.write(`berth controller: admin kubeconfig ${controller.adminKubeconfig} (cp it to ~/.berth/config); join agents with a token from berth token create\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await controller.stop();
}
