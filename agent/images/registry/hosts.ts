// Endpoint selection: which base URLs serve a registry domain, in which order, with which TLS
// settings and credentials. Mirrors come from a k3s-format registries.yaml:
//
//   mirrors:
//     docker.io:
//       endpoint: ["http://127.0.0.1:5000"]
//   configs:
//     "127.0.0.1:5000":
//       auth: { username: u, password: p }
//       tls: { insecure_skip_verify: true }
//
// Mirrors are tried in order, then the registry itself (as k3s/containerd fall back to the default
// endpoint). Plain HTTP is allowed only for loopback hosts and hosts listed as insecure; Docker
// Hub's API lives at registry-1.docker.io.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { BerthError } from '../../../proto/errors';
import type { Credentials } from './credentials';
import { normalizeRegistryKey } from './credentials';

export interface Endpoint {
  /** The registry domain of the reference this endpoint serves (docker.io, 127.0.0.1:5000). */
  domain: string;
  /** host[:port] actually spoken to; names the registry in messages. */
  host: string;
  /** scheme://host[:port] plus any path prefix, no trailing slash; /v2/... is appended. */
  base: string;
  /** Is this a mirror (pull only) rather than the registry itself? */
  mirror: boolean;
  /** Skip TLS certificate verification (registries.yaml tls.insecure_skip_verify). */
  insecureSkipVerify: boolean;
  /** Credentials configured for this endpoint in registries.yaml, if any. */
  auth?: Credentials;
}

interface HostConfig {
  auth?: Credentials;
  insecureSkipVerify: boolean;
}

export interface RegistriesConfig {
  mirrors: Map<string, string[]>;
  configs: Map<string, HostConfig>;
}

const DOCKER_HUB_API = 'registry-1.docker.io';

/** Is host[:port] a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostnameOf(hostPort).toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The host name of host[:port] or [v6]:port, without brackets or port. */
export function hostnameOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon >= 0 && hostPort.indexOf(':') === colon ? hostPort.slice(0, colon) : hostPort;
}

export function parseRegistriesConfig(text: string, file = 'registries.yaml'): RegistriesConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new BerthError('invalid-argument', `${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const out: RegistriesConfig = { mirrors: new Map(), configs: new Map() };
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object') throw new BerthError('invalid-argument', `${file}: expected a mapping with mirrors and configs`);
  const { mirrors, configs } = doc as { mirrors?: Record<string, { endpoint?: unknown }>; configs?: Record<string, { auth?: Record<string, unknown>; tls?: Record<string, unknown> }> };
  for (const [name, mirror] of Object.entries(mirrors ?? {})) {
    const endpoints = mirror?.endpoint ?? [];
    if (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== 'string')) {
      throw new BerthError('invalid-argument', `${file}: mirrors.${name}.endpoint must be a list of URLs`);
    }
    out.mirrors.set(name === '*' ? '*' : normalizeRegistryKey(name), endpoints as string[]);
  }
  for (const [name, config] of Object.entries(configs ?? {})) {
    const hc: HostConfig = { insecureSkipVerify: config?.tls?.insecure_skip_verify === true };
    const a = config?.auth;
    if (a && typeof a.username === 'string' && typeof a.password === 'string') hc.auth = { username: a.username, password: a.password };
    else if (a && typeof a.auth === 'string') {
      const text = Buffer.from(a.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon > 0) hc.auth = { username: text.slice(0, colon), password: text.slice(colon + 1) };
    }
    out.configs.set(normalizeRegistryKey(name), hc);
  }
  return out;
}

export function loadRegistriesConfig(file: string | undefined): RegistriesConfig {
  if (!file) return { mirrors: new Map(), configs: new Map() };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BerthError('invalid-argument', `registries config ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseRegistriesConfig(text, file);
}

/** Chooses endpoints for a domain; compiled once from the options. */
export class HostResolver {
  private readonly insecure: Set<string>;
  constructor(private readonly config: RegistriesConfig, insecureRegistries: readonly string[] = []) {
    this.insecure = new Set(insecureRegistries.map(normalizeRegistryKey));
  }

  /** May plain HTTP be spoken to host[:port]? */
  allowsPlainHttp(hostPort: string): boolean {
    const h = normalizeRegistryKey(hostPort);
    return isLoopbackHost(h) || this.insecure.has(h) || this.insecure.has(hostnameOf(h));
  }

  /** The registry itself (no mirrors): what pushes and logins use. */
  origin(domain: string): Endpoint {
    const host = domain === 'docker.io' ? DOCKER_HUB_API : domain;
    const scheme = this.allowsPlainHttp(host) ? 'http' : 'https';
    return this.endpoint(domain, host, `${scheme}://${host}`, false);
  }

  /** Endpoints to pull from, in order: mirrors, then the registry itself. */
  pullEndpoints(domain: string): Endpoint[] {
    const key = normalizeRegistryKey(domain);
    const mirrors = this.config.mirrors.get(key) ?? this.config.mirrors.get('*') ?? [];
    const out: Endpoint[] = [];
    for (const raw of mirrors) {
      const ep = this.mirrorEndpoint(domain, raw);
      if (!out.some((e) => e.base === ep.base)) out.push(ep);
    }
    const origin = this.origin(domain);
    if (!out.some((e) => e.base === origin.base)) out.push(origin);
    return out;
  }

  private mirrorEndpoint(domain: string, raw: string): Endpoint {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
    let url: URL;
    try {
      url = new URL(withScheme);
    } catch {
      throw new BerthError('invalid-argument', `registries config: mirror endpoint "${raw}" for ${domain} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BerthError('invalid-argument', `registries config: mirror endpoint "${raw}" for ${domain}: scheme must be http or https`);
    }
    if (url.protocol === 'http:' && !this.allowsPlainHttp(url.host)) {
      throw new BerthError('invalid-argument', `registries config: mirror endpoint "${raw}" for ${domain} is plain HTTP to a host that is neither loopback nor in insecureRegistries`);
    }
    const prefix = url.pathname.replace(/\/+$/, '').replace(/\/v2$/, '');
    return this.endpoint(domain, url.host, `${url.protocol}//${url.host}${prefix}`, true);
  }

  private endpoint(domain: string, host: string, base: string, mirror: boolean): Endpoint {
    const hc = this.config.configs.get(normalizeRegistryKey(host)) ?? (mirror ? undefined : this.config.configs.get(normalizeRegistryKey(domain)));
    const ep: Endpoint = { domain, host, base, mirror, insecureSkipVerify: hc?.insecureSkipVerify ?? false };
    if (hc?.auth) ep.auth = hc.auth;
    return ep;
  }
}
