// The kubeconfig file, as kubectl reads it: named clusters (server, CA), users (client certificate
// and key, or a bearer token), contexts pairing them, and the current context. The controller
// writes one for its admin, `berth user create` one per user, and the CLI reads its server and
// credentials from one, so a file works with both berth and kubectl.
//
// Pure: text in, text out. Reading the files a config names (certificate-authority, client-key...)
// is the caller's, through the `readFile` it passes, relative to the config's own directory.

import * as path from 'node:path';
import type * as Yaml from 'yaml';
import { BerthError } from '../errors';

// The YAML library is loaded when a kubeconfig is read or written, not when this module is: the
// CLI imports it on every command's path, and most commands (--help, the node verbs) read none.
const yaml = (): typeof Yaml => require('yaml') as typeof Yaml;

export interface KubeconfigCluster {
  server: string;
  'certificate-authority-data'?: string;
  'certificate-authority'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
}

export interface KubeconfigUser {
  'client-certificate-data'?: string;
  'client-key-data'?: string;
  'client-certificate'?: string;
  'client-key'?: string;
  token?: string;
  tokenFile?: string;
}

export interface KubeconfigContext {
  cluster: string;
  user: string;
  namespace?: string;
}

export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: Array<{ name: string; cluster: KubeconfigCluster }>;
  users: Array<{ name: string; user: KubeconfigUser }>;
  contexts: Array<{ name: string; context: KubeconfigContext }>;
  'current-context': string;
  preferences?: Record<string, unknown>;
}

/** What a client needs to reach and prove itself to a controller. */
export interface Credentials {
  /** The context these came from ('' for the old `server:` form). */
  context: string;
  /** HOST:PORT. */
  server: string;
  /** PEM; undefined: the file names none (a TLS handshake will then fail, nothing falls back). */
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  token?: string;
  /** The name to verify the controller's certificate against, when not the server's host. */
  serverName?: string;
  namespace?: string;
}

const b64 = (pem: string) => Buffer.from(pem).toString('base64');
const unb64 = (data: string) => Buffer.from(data, 'base64').toString('utf8');

/** A kubeconfig with one cluster, one user with a client certificate, one context (current). */
export function buildKubeconfig(input: { cluster: string; server: string; caPem: string; user: string; certPem: string; keyPem: string; namespace?: string }): Kubeconfig {
  const context = `${input.user}@${input.cluster}`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: input.cluster, cluster: { server: serverUrl(input.server), 'certificate-authority-data': b64(input.caPem) } }],
    users: [{ name: input.user, user: { 'client-certificate-data': b64(input.certPem), 'client-key-data': b64(input.keyPem) } }],
    contexts: [{ name: context, context: { cluster: input.cluster, user: input.user, ...(input.namespace ? { namespace: input.namespace } : {}) } }],
    'current-context': context,
    preferences: {},
  };
}

export const formatKubeconfig = (config: Kubeconfig): string => yaml().stringify(config, { lineWidth: 0 });

/** "HOST:PORT" → "https://HOST:PORT" (a URL is what kubectl expects in `server`). */
export const serverUrl = (hostPort: string): string => (/^https?:\/\//.test(hostPort) ? hostPort : `https://${hostPort}`);

/**
 * The file's text as a kubeconfig, every problem an invalid-argument error naming the file and the
 * field. An empty file is an empty config.
 */
export function parseKubeconfig(text: string, file: string): Kubeconfig {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw new BerthError('invalid-argument', `${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const empty: Kubeconfig = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': '' };
  if (doc === null || doc === undefined) return empty;
  const bad = (where: string, what: string) => new BerthError('invalid-argument', `${file}: ${where}: ${what}`);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad('top level', 'expected a kubeconfig mapping (apiVersion: v1, kind: Config, clusters, users, contexts)');
  const d = doc as Record<string, unknown>;
  if (d.kind !== undefined && d.kind !== 'Config') throw bad('kind', `expected Config, got ${JSON.stringify(d.kind)}`);
  const named = <T>(key: string, inner: string): Array<{ name: string } & Record<string, T>> => {
    const list = d[key];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) throw bad(key, 'expected a list');
    return list.map((entry, i) => {
      if (typeof entry !== 'object' || entry === null) throw bad(`${key}[${i}]`, 'expected a mapping with name and ' + inner);
      const e = entry as Record<string, unknown>;
      if (typeof e.name !== 'string' || !e.name) throw bad(`${key}[${i}].name`, 'expected a non-empty string');
      const body = e[inner] ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(`${key}[${i}].${inner}`, 'expected a mapping');
      return { name: e.name, [inner]: body } as { name: string } & Record<string, T>;
    });
  };
  const clusters = named<KubeconfigCluster>('clusters', 'cluster');
  clusters.forEach((c, i) => {
    if (typeof c.cluster.server !== 'string' || !c.cluster.server) throw bad(`clusters[${i}].cluster.server`, 'expected https://HOST:PORT');
  });
  const contexts = named<KubeconfigContext>('contexts', 'context');
  contexts.forEach((c, i) => {
    if (typeof c.context.cluster !== 'string') throw bad(`contexts[${i}].context.cluster`, 'expected the name of a cluster');
    if (typeof c.context.user !== 'string') throw bad(`contexts[${i}].context.user`, 'expected the name of a user');
  });
  const current = d['current-context'] ?? '';
  if (typeof current !== 'string') throw bad('current-context', 'expected a string');
  return {
    ...(d as object),
    apiVersion: 'v1',
    kind: 'Config',
    clusters: clusters as unknown as Kubeconfig['clusters'],
    users: named<KubeconfigUser>('users', 'user') as unknown as Kubeconfig['users'],
    contexts: contexts as unknown as Kubeconfig['contexts'],
    'current-context': current,
  };
}

/**
 * Several files merged as kubectl merges $KUBECONFIG: the first file to name a cluster, user or
 * context wins, and the first current-context set wins.
 */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const merged: Kubeconfig = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], 'current-context': '' };
  for (const c of configs) {
    for (const key of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of c[key]) {
        if (!(merged[key] as Array<{ name: string }>).some((e) => e.name === entry.name)) (merged[key] as Array<{ name: string }>).push(entry);
      }
    }
    if (!merged['current-context'] && c['current-context']) merged['current-context'] = c['current-context'];
  }
  return merged;
}

/** "https://h:p" → "h:p"; a URL path or another scheme is refused. */
export function hostPortOfServer(server: string, where: string): string {
  const m = /^(?:(https?):\/\/)?([^/]+?)\/?$/.exec(server.trim());
  if (!m) throw new BerthError('invalid-argument', `${where}: "${server}" is not https://HOST:PORT`);
  if (m[1] === 'http') throw new BerthError('invalid-argument', `${where}: "${server}": the controller serves only https`);
  const hostPort = m[2]!;
  return /:\d+$/.test(hostPort) ? hostPort : `${hostPort}:443`;
}

/**
 * The credentials of a context (the current one by default). `readFile` reads the files a config
 * names by path (certificate-authority, client-certificate, client-key, tokenFile), resolved against
 * `file`'s directory as kubectl does.
 */
export function credentialsOf(config: Kubeconfig, file: string, readFile: (file: string) => string, contextName?: string): Credentials {
  const name = contextName || config['current-context'];
  const bad = (what: string) => new BerthError('invalid-argument', `${file}: ${what}`);
  if (!name) throw bad('no current-context (set one with berth config use-context NAME)');
  const context = config.contexts.find((c) => c.name === name)?.context;
  if (!context) throw bad(`context "${name}" not found (berth config get-contexts lists them)`);
  const cluster = config.clusters.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw bad(`context "${name}": cluster "${context.cluster}" not found`);
  const user = config.users.find((u) => u.name === context.user)?.user;
  if (!user) throw bad(`context "${name}": user "${context.user}" not found`);
  if (cluster['insecure-skip-tls-verify']) throw bad(`cluster "${context.cluster}": insecure-skip-tls-verify is not supported: berth always verifies the controller (give certificate-authority-data)`);
  const dir = path.dirname(file);
  const fromFile = (p: string) => readFile(path.resolve(dir, p));
  const pem = (data: string | undefined, filePath: string | undefined) => (data ? unb64(data) : filePath ? fromFile(filePath) : undefined);
  const caPem = pem(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const certPem = pem(user['client-certificate-data'], user['client-certificate']);
  const keyPem = pem(user['client-key-data'], user['client-key']);
  if ((certPem === undefined) !== (keyPem === undefined)) throw bad(`user "${context.user}": a client certificate needs its key, and a key its certificate`);
  const token = user.token ?? (user.tokenFile ? fromFile(user.tokenFile).trim() : undefined);
  return {
    context: name,
    server: hostPortOfServer(cluster.server, `${file}: cluster "${context.cluster}": server`),
    ...(caPem !== undefined ? { caPem } : {}),
    ...(certPem !== undefined ? { certPem, keyPem: keyPem! } : {}),
    ...(token ? { token } : {}),
    ...(cluster['tls-server-name'] ? { serverName: cluster['tls-server-name'] } : {}),
    ...(context.namespace ? { namespace: context.namespace } : {}),
  };
}
