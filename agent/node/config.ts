// `berth agent --controller ...` options, checked and defaulted once.

import * as os from 'node:os';
import { isIPv4 } from 'node:net';
import { BerthError } from '../../proto/errors';
import { isNodeName } from '../../proto/trust';
import { KUBELET_RESTART_BACKOFF, type RestartBackoff } from '../runtime';
import type { NodeConfig, NodeOptions } from './types';

const bad = (message: string) => new BerthError('invalid-argument', message);

/** Kubernetes' label rules: an optional DNS-subdomain prefix and a name of up to 63 characters. */
const LABEL_KEY = /^(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** --extended-resource example.com/dongle=4: a domain-qualified name (not kubernetes.io's) and a whole count. */
export function parseExtendedResource(value: string): [string, number] {
  const eq = value.indexOf('=');
  const name = eq < 0 ? value : value.slice(0, eq);
  const count = eq < 0 ? '' : value.slice(eq + 1);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name) || name.startsWith('kubernetes.io/')) {
    throw bad(`invalid --extended-resource "${value}": expected DOMAIN/NAME=COUNT, such as example.com/dongle=4 (not in kubernetes.io)`);
  }
  if (!/^\d+$/.test(count)) throw bad(`invalid --extended-resource "${value}": the count must be a whole number`);
  return [name, Number(count)];
}

/** --labels k=v,k2=v2 */
export function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of value.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    if (eq < 0) throw bad(`invalid --labels entry "${item}": expected KEY=VALUE`);
    const key = item.slice(0, eq);
    const v = item.slice(eq + 1);
    if (!LABEL_KEY.test(key)) throw bad(`invalid --labels key "${key}": a label name of letters, digits, '-', '_', '.', with an optional DNS prefix/`);
    if (!LABEL_VALUE.test(v)) throw bad(`invalid --labels value "${v}" for "${key}": up to 63 letters, digits, '-', '_', '.'`);
    labels[key] = v;
  }
  return labels;
}

/** A pod's processes and threads unless --pod-pids-limit says otherwise: plenty for a service, not a fork bomb. */
export const DEFAULT_POD_PIDS_LIMIT = 4096;
export const DEFAULT_SECCOMP_ROOT = '/var/lib/berth/seccomp';

/** --pod-pids-limit N: -1 for unlimited, else at least 1. */
export function parsePodPidsLimit(value: string): number {
  return checkPodPidsLimit(/^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN, value);
}

function checkPodPidsLimit(n: number, shown: string = String(n)): number {
  if (!Number.isSafeInteger(n) || (n !== -1 && n < 1)) throw bad(`invalid --pod-pids-limit "${shown}": -1 (unlimited) or a number of processes, at least 1`);
  return n;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** --pod-restart-backoff INITIAL:MAX, durations such as 10s:5m (the default) or 200ms:2s. */
export function parseRestartBackoff(value: string): { initialMs: number; maxMs: number } {
  const [initial, max, extra] = value.split(':');
  const ms = (text: string | undefined) => {
    const m = DURATION.exec(text?.trim() ?? '');
    return m ? Math.round(Number(m[1]) * UNIT_MS[m[2]!]!) : NaN;
  };
  const initialMs = ms(initial);
  const maxMs = ms(max);
  if (extra !== undefined || !(initialMs >= 1) || !(maxMs >= initialMs)) {
    throw bad(`invalid --pod-restart-backoff "${value}": expected INITIAL:MAX durations (ms, s, m, h) with MAX at least INITIAL, e.g. 10s:5m`);
  }
  return { initialMs, maxMs };
}

/** The kubelet resets a container's back-off once it has run without crashing for twice the cap. */
export function restartBackoffOf(o: { initialMs: number; maxMs: number }): RestartBackoff {
  return { initialMs: o.initialMs, maxMs: o.maxMs, resetAfterMs: 2 * o.maxMs };
}

/** HOST:PORT, [IPv6]:PORT */
function checkController(address: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw bad(`invalid --controller "${address}": expected HOST:PORT`);
  return address;
}

/** The host's first non-loopback IPv4 address (interfaces in the order the kernel lists them). */
export function defaultNodeIp(interfaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces()): string {
  for (const addresses of Object.values(interfaces)) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}

export function compileNodeOptions(options: NodeOptions): NodeConfig {
  const hostname = os.hostname();
  const nodeName = options.nodeName ?? hostname.toLowerCase();
  if (!isNodeName(nodeName)) throw bad(`invalid node name "${nodeName}": lower-case letters, digits, '-' and '.' (a DNS name); set one with --node-name`);
  const nodeIp = options.nodeIp ?? defaultNodeIp();
  if (!isIPv4(nodeIp)) throw bad(`invalid --node-ip "${nodeIp}": expected an IPv4 address`);
  const pids = checkPodPidsLimit(options.podPidsLimit ?? DEFAULT_POD_PIDS_LIMIT);
  return {
    controller: checkController(options.controller),
    nodeName,
    labels: { ...options.labels },
    extendedResources: { ...options.extendedResources },
    nodeIp,
    hostname,
    podPidsLimit: pids === -1 ? undefined : pids,
    restartBackoff: options.podRestartBackoff ? restartBackoffOf(options.podRestartBackoff) : KUBELET_RESTART_BACKOFF,
    seccompRoot: options.seccompRoot ?? DEFAULT_SECCOMP_ROOT,
    ingressPorts: options.ingressPorts?.http || options.ingressPorts?.https ? { ...options.ingressPorts } : undefined,
    metricsResolutionMs: options.metricsResolutionMs ?? DEFAULT_METRICS_RESOLUTION_MS,
  };
}

/** metrics-server's default resolution. */
const DEFAULT_METRICS_RESOLUTION_MS = 15_000;

/** --ingress-http-port / --ingress-https-port: a TCP port, or 0 for none. */
export function parseIngressPort(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw bad(`invalid --${flag} "${value}": expected a port number from 1 to 65535 (0: none)`);
  return port;
}
