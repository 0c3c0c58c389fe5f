// The Node document an agent registers: who it is, what it has, how to reach it.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { formatKibibytes, INGRESS_PORTS_ANNOTATION, LOCAL_PATH_ROOT_ANNOTATION, type Node } from '../../proto/resources';
import type { IngressPorts, NodeConfig } from './types';

/** Kept back from allocatable memory for the agent and the system: 5% of it, at most 512 MiB. */
export function memoryReserve(totalBytes: number): number {
  return Math.min(512 * 1024 * 1024, Math.floor(totalBytes * 0.05));
}

export const MAX_PODS = '110';

export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  osImage: string;
  kernelVersion: string;
  architecture: string;
  containerRuntimeVersion: string;
  agentVersion: string;
}

export function nodeDocument(config: Pick<NodeConfig, 'nodeName' | 'labels' | 'nodeIp' | 'hostname'> & { extendedResources?: Record<string, number> }, facts: HostFacts): Node {
  const extended = Object.fromEntries(Object.entries(config.extendedResources ?? {}).map(([k, v]) => [k, String(v)]));
  const capacity = { cpu: String(facts.cpus), memory: formatKibibytes(facts.memoryBytes), pods: MAX_PODS, ...extended };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: config.nodeName,
      labels: {
        'kubernetes.io/hostname': config.nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': facts.architecture,
        ...config.labels,
      },
    },
    status: {
      capacity,
      allocatable: { ...capacity, memory: formatKibibytes(facts.memoryBytes - memoryReserve(facts.memoryBytes)) },
      addresses: [
        { type: 'InternalIP', address: config.nodeIp },
        { type: 'Hostname', address: config.hostname },
      ],
      nodeInfo: {
        osImage: facts.osImage,
        kernelVersion: facts.kernelVersion,
        architecture: facts.architecture,
        containerRuntimeVersion: facts.containerRuntimeVersion,
        agentVersion: facts.agentVersion,
      },
    },
  };
}

/** The node's document with the directory its local-path volumes go in, which the provisioner names volumes after. */
export function withLocalPathRoot(node: Node, storageDir: string): Node {
  return { ...node, metadata: { ...node.metadata, annotations: { ...node.metadata.annotations, [LOCAL_PATH_ROOT_ANNOTATION]: storageDir } } };
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** What this host is; read once at start. */
export async function hostFacts(runc = '/usr/sbin/runc'): Promise<HostFacts> {
  const osRelease = readText('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? 'Linux';
  let runcVersion = 'unknown';
  try {
    const { stdout } = await promisify(execFile)(runc, ['--version']);
    runcVersion = /runc version (\S+)/.exec(stdout)?.[1] ?? runcVersion;
  } catch {
    // reported as unknown
  }
  return {
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    osImage: pretty,
    kernelVersion: os.release(),
    architecture: GOARCH[process.arch] ?? process.arch,
    containerRuntimeVersion: `runc://${runcVersion}`,
    agentVersion: agentVersion(),
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** package.json's version, found from here (agent/node) or from the build (dist/agent/node). */
function agentVersion(): string {
  for (const up of ['../..', '../../..']) {
    const text = readText(path.join(__dirname, up, 'package.json'));
    if (text) {
      try {
        const { name, version } = JSON.parse(text) as { name?: string; version?: string };
        if (name === 'berth' && version) return `v${version}`;
      } catch {
        // not ours
      }
    }
  }
  return 'unknown';
}

/** Tell the controller this node serves Ingresses, and on which ports (for their status). */
export function withIngressPorts(node: Node, ports: IngressPorts | undefined): Node {
  if (!ports) return node;
  const text = [ports.http ? `http=${ports.http}` : '', ports.https ? `https=${ports.https}` : ''].filter(Boolean).join(',');
  return { ...node, metadata: { ...node.metadata, annotations: { ...node.metadata.annotations, [INGRESS_PORTS_ANNOTATION]: text } } };
}
