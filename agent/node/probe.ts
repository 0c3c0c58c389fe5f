// Probes, the pure part: a probe's settings with Kubernetes' defaults, where it is sent, and how
// a result moves the probe's verdict (successThreshold, failureThreshold). Running probes is in
// prober.ts, their timing in probe-runner.ts.

import type { Container, Probe } from '../../proto/resources';
import { BerthError } from '../../proto/errors';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

export type ProbeTarget =
  | { type: 'exec'; command: string[] }
  | { type: 'tcp'; host: string; port: number }
  | { type: 'http'; scheme: 'http' | 'https'; host: string; port: number; path: string; headers: Record<string, string> }
  | { type: 'grpc'; host: string; port: number; service: string };

/** The verdict of a probe for one run of a container. */
export interface ProbeState {
  /** Liveness starts healthy, readiness and startup not: each changes only at its threshold. */
  healthy: boolean;
  successes: number;
  failures: number;
  /** What the last failed try said. */
  message?: string;
}

const seconds = (v: number | undefined, fallback: number, min: number) => Math.max(min, typeof v === 'number' && Number.isFinite(v) ? v : fallback) * 1000;
const count = (v: number | undefined, fallback: number) => Math.max(1, Math.floor(typeof v === 'number' && Number.isFinite(v) ? v : fallback));

export function probeSettings(probe: Probe, kind: ProbeKind): ProbeSettings {
  return {
    initialDelayMs: seconds(probe.initialDelaySeconds, 0, 0),
    periodMs: seconds(probe.periodSeconds, 10, 1),
    timeoutMs: seconds(probe.timeoutSeconds, 1, 1),
    // A liveness or startup probe's success threshold must be 1 (Kubernetes validates it so).
    successThreshold: kind === 'readiness' ? count(probe.successThreshold, 1) : 1,
    failureThreshold: count(probe.failureThreshold, 3),
  };
}

export function initialProbeState(kind: ProbeKind): ProbeState {
  return { healthy: kind === 'liveness', successes: 0, failures: 0 };
}

/** The verdict after one more try. */
export function recordProbeResult(state: ProbeState, ok: boolean, message: string | undefined, settings: ProbeSettings): ProbeState {
  if (ok) {
    const successes = state.successes + 1;
    return { healthy: state.healthy || successes >= settings.successThreshold, successes, failures: 0 };
  }
  const failures = state.failures + 1;
  return { healthy: state.healthy && failures < settings.failureThreshold, successes: 0, failures, ...(message ? { message } : {}) };
}

/** When the next try is due: initialDelay after the container started, then every period. */
export function nextProbeAt(startedAtMs: number, lastTryAtMs: number | undefined, settings: ProbeSettings): number {
  return lastTryAtMs === undefined ? startedAtMs + settings.initialDelayMs : lastTryAtMs + settings.periodMs;
}

/** Where the probe goes: named ports resolve through the container's ports; hosts default to the pod's address. */
export function probeTarget(probe: Probe, container: Container, podIp: string | undefined): ProbeTarget {
  const where = `container ${container.name}`;
  const port = (p: number | string): number => {
    if (typeof p === 'number') return p;
    if (/^\d+$/.test(p)) return Number(p);
    const named = container.ports?.find((cp) => cp.name === p);
    if (!named) throw new BerthError('invalid-argument', `${where}: probe port "${p}" names none of the container's ports`);
    return named.containerPort;
  };
  const host = (h: string | undefined): string => {
    const address = h || podIp;
    if (!address) throw new BerthError('failed-precondition', `${where}: the pod has no address yet`);
    return address;
  };
  if (probe.exec) {
    if (!probe.exec.command?.length) throw new BerthError('invalid-argument', `${where}: exec probe without a command`);
    return { type: 'exec', command: probe.exec.command };
  }
  if (probe.tcpSocket) return { type: 'tcp', host: host(probe.tcpSocket.host), port: port(probe.tcpSocket.port) };
  if (probe.httpGet) {
    const g = probe.httpGet;
    const path = g.path ? (g.path.startsWith('/') ? g.path : `/${g.path}`) : '/';
    return {
      type: 'http',
      scheme: g.scheme === 'HTTPS' ? 'https' : 'http',
      host: host(g.host),
      port: port(g.port),
      path,
      headers: Object.fromEntries((g.httpHeaders ?? []).map((h) => [h.name, h.value])),
    };
  }
  if (probe.grpc) return { type: 'grpc', host: host(undefined), port: probe.grpc.port, service: probe.grpc.service ?? '' };
  throw new BerthError('invalid-argument', `${where}: a probe needs exec, tcpSocket, httpGet or grpc`);
}
