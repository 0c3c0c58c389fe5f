// Credentials from docker config.json files (`auths`), as `docker login` and `berth login` write
// them. Keys name a registry in several historical spellings: "https://index.docker.io/v1/" for
// Docker Hub, a bare host[:port], or a full URL; all are normalised to the reference domain.

import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** "https://index.docker.io/v1/" -> docker.io; "http://h:5000/v2/" -> h:5000; "H:5000" -> h:5000. */
export function normalizeRegistryKey(key: string): string {
  let host = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  return HUB_ALIASES.has(host) ? 'docker.io' : host;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
}

function decodeEntry(entry: AuthEntry): Credentials | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** Read one config.json's auths; a missing or unreadable file is simply empty. */
export function readAuthFile(file: string): Map<string, Credentials> {
  let doc: { auths?: Record<string, AuthEntry> };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return new Map();
  }
  return authsOf(doc?.auths);
}

/**
 * A docker config's `auths` map (a config.json's, a kubernetes.io/dockerconfigjson Secret's, or a
 * legacy .dockercfg, which is that map alone) by normalised registry host; unusable entries skipped.
 */
export function authsOf(auths: unknown): Map<string, Credentials> {
  const out = new Map<string, Credentials>();
  if (auths === null || typeof auths !== 'object') return out;
  for (const [key, entry] of Object.entries(auths as Record<string, AuthEntry>)) {
    if (entry === null || typeof entry !== 'object') continue;
    const creds = decodeEntry(entry);
    const host = normalizeRegistryKey(key);
    if (creds && !out.has(host)) out.set(host, creds);
  }
  return out;
}

/** The default docker config: $DOCKER_CONFIG/config.json or ~/.docker/config.json. */
export function defaultAuthFile(): string {
  const dir = process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/**
 * Looks credentials up in the given files, first match wins. Files are re-read on each lookup (they
 * are small and looked up once per registry challenge) so a `berth login` is seen without restart.
 */
export class CredentialStore {
  constructor(private readonly files: readonly string[]) {}
  get(host: string): Credentials | undefined {
    const key = normalizeRegistryKey(host);
    for (const file of this.files) {
      const found = readAuthFile(file).get(key);
      if (found) return found;
    }
    return undefined;
  }
}
