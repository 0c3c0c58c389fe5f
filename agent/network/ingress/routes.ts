// The ingress controller's decisions, pure: which Ingresses it serves and where each request goes.
//
// Matching follows the Ingress API's rules as ingress-nginx applies them: the request's host picks
// one group of rules (an exact host before a wildcard one, "*.example.com" standing for exactly one
// label, before the rules without a host); in that group the longest matching path wins, Exact
// before Prefix at equal length, the oldest Ingress on a tie. Prefix matches whole '/'-separated
// elements ("/foo" matches "/foo" and "/foo/bar", not "/foobar"); ImplementationSpecific is Prefix
// here. A request no path matches goes to the oldest default backend, else nowhere (404).

import { SERVICE_NAME_LABEL, servedByBerth, type IngressBackend } from '../../../proto/resources';
import type { Backend, Route, RouteInput, RouteTable, TlsEntry, Upstream } from './types';

export function planRoutes(input: RouteInput): RouteTable {
  const served = input.ingresses.filter((i) => servedByBerth(i, input.classes))
    .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || key(a).localeCompare(key(b)));
  const routes: Route[] = [];
  const defaults: RouteTable['defaults'] = [];
  const tls: TlsEntry[] = [];
  for (const ingress of served) {
    const namespace = ingress.metadata.namespace ?? 'default';
    const resolve = (b: IngressBackend) => resolveBackend(b, namespace, input);
    if (ingress.spec.defaultBackend) defaults.push({ backend: resolve(ingress.spec.defaultBackend), ingress: key(ingress) });
    for (const rule of ingress.spec.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const path = p.pathType === 'Exact' ? p.path ?? '/' : trimTrailingSlashes(p.path || '/');
        routes.push({
          ...(rule.host ? { host: rule.host.toLowerCase() } : {}),
          pathType: p.pathType === 'Exact' ? 'Exact' : 'Prefix',
          path,
          backend: resolve(p.backend),
          ingress: key(ingress),
          created: ingress.metadata.creationTimestamp ?? '',
        });
      }
    }
    for (const entry of ingress.spec.tls ?? []) {
      if (entry.secretName) tls.push({ namespace, secretName: entry.secretName, hosts: (entry.hosts ?? []).map((h) => h.toLowerCase()) });
    }
  }
  return { routes, defaults, tls, served: served.map(key) };
}

/**
 * The path a request target is matched by, as nginx normalises it: percent-escapes decoded, '.'
 * and '..' resolved, repeated slashes merged; the query left out. Undefined for a target that is
 * not a path, or climbs above the root: such a request is refused (400), never matched raw (where
 * `/public/../admin` would pass a `/public` rule and reach `/admin`).
 */
export function normalizedPath(target: string): string | undefined {
  let raw = target.split('?')[0]!.split('#')[0]!;
  if (/^https?:\/\//i.test(raw)) raw = raw.replace(/^https?:\/\/[^/]*/i, '') || '/';
  if (!raw.startsWith('/')) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  const out: string[] = [];
  for (const segment of decoded.split('/').slice(1)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(segment);
  }
  const trailing = decoded.endsWith('/') && out.length > 0 ? '/' : '';
  return `/${out.join('/')}${trailing}`;
}

/** The backend a request for `host` (a Host header: its port is ignored) and the normalized `path` goes to; undefined: none (404). */
export function matchRoute(table: RouteTable, host: string | undefined, path: string): Backend | undefined {
  const name = hostName(host);
  const exact = table.routes.filter((r) => r.host !== undefined && r.host === name);
  const wildcard = table.routes.filter((r) => r.host?.startsWith('*.') && wildcardMatches(r.host, name));
  const anyHost = table.routes.filter((r) => r.host === undefined);
  const group = exact.length ? exact : wildcard.length ? wildcard : anyHost;
  let best: Route | undefined;
  for (const route of group) {
    if (!pathMatches(route, path)) continue;
    if (!best || better(route, best)) best = route;
  }
  return best?.backend ?? table.defaults[0]?.backend;
}

/** The TLS entry for an SNI name: one listing the host (exactly, else by wildcard), else one listing no hosts. */
export function matchTls(table: RouteTable, servername: string | undefined): TlsEntry | undefined {
  const name = (servername ?? '').toLowerCase();
  return table.tls.find((e) => e.hosts.includes(name))
    ?? table.tls.find((e) => e.hosts.some((h) => h.startsWith('*.') && wildcardMatches(h, name)))
    ?? table.tls.find((e) => e.hosts.length === 0);
}

function better(a: Route, b: Route): boolean {
  if (a.path.length !== b.path.length) return a.path.length > b.path.length;
  if (a.pathType !== b.pathType) return a.pathType === 'Exact';
  return a.created < b.created;
}

function pathMatches(route: Route, path: string): boolean {
  if (route.pathType === 'Exact') return path === route.path;
  if (route.path === '/') return true;
  return path === route.path || path.startsWith(`${route.path}/`);
}

function wildcardMatches(pattern: string, host: string): boolean {
  const suffix = pattern.slice(1); // ".example.com"
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, host.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

function hostName(host: string | undefined): string {
  const h = (host ?? '').toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

function trimTrailingSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

const key = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name ?? ''}`;

/** A backend's ready endpoints now, from its Service and EndpointSlices. */
function resolveBackend(backend: IngressBackend, namespace: string, input: RouteInput): Backend {
  if (!backend.service) {
    const r = backend.resource;
    return { name: `${namespace}/${r?.kind ?? '?'}/${r?.name ?? '?'}`, upstreams: [], problem: 'resource backends are not served by berth\'s ingress controller' };
  }
  const { name: serviceName, port } = backend.service;
  const name = `${namespace}/${serviceName}:${port.number ?? port.name}`;
  const svc = input.services.find((s) => s.metadata.name === serviceName && (s.metadata.namespace ?? 'default') === namespace);
  if (!svc) return { name, upstreams: [], problem: `service "${namespace}/${serviceName}" not found` };
  const svcPort = (svc.spec.ports ?? []).find((p) => (port.number !== undefined ? p.port === port.number : p.name === port.name));
  if (!svcPort) return { name, upstreams: [], problem: `service "${namespace}/${serviceName}" has no port ${port.number ?? port.name}` };
  const upstreams: Upstream[] = [];
  const seen = new Set<string>();
  for (const slice of input.slices) {
    if ((slice.metadata.namespace ?? 'default') !== namespace || slice.metadata.labels?.[SERVICE_NAME_LABEL] !== serviceName || slice.addressType !== 'IPv4') continue;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === (svcPort.name ?? '') && (p.protocol ?? 'TCP') === 'TCP');
    if (slicePort?.port === undefined) continue;
    for (const ep of slice.endpoints) {
      const ip = ep.addresses[0];
      if (!ip || ep.conditions?.ready === false) continue;
      const id = `${ip}:${slicePort.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      upstreams.push({ ip, port: slicePort.port });
    }
  }
  upstreams.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
  return upstreams.length ? { name, upstreams } : { name, upstreams, problem: `service "${namespace}/${serviceName}" has no ready endpoints` };
}
