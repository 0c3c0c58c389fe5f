// The CLI's cluster verbs (kubectl's): their vocabulary and their one dependency, the controller.
//
// Lifecycle of a verb: main.ts resolves the controller's address (server-address.ts) and calls
// runClusterVerb (index.ts), which parses the verb's flags, opens one ClusterClient, runs the verb
// and closes the client. Verbs print kubectl's lines and return their exit status; they throw a
// CliError for what the user got wrong and a ServerError for what the controller refused, and
// runClusterVerb prints either in kubectl's words. Everything a verb prints about objects (tables,
// statuses, ages, descriptions, diffs) is computed by pure functions over the objects and a `now`.

import type { CustomResourceDefinition, NodeMetrics, Pod, PodMetrics, Resource } from '../../proto/resources';
import type { VersionInfo } from '../../proto/version';

export type ApplyAction = 'created' | 'configured' | 'unchanged' | 'pruned';

export interface ApplyResultItem {
  action: ApplyAction;
  /** The object as stored (or as it would be, in a dry run; as it was, when pruned). */
  object: Resource;
}

export interface ApplyCall {
  dryRun: boolean;
  /** The name under which the controller records what this apply applied (for prune). */
  applySet: string;
  prune: boolean;
}

export interface ListCall {
  /** Absent or '': every namespace. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WatchCall extends ListCall {
  /** Absent: the current objects first (ADDED...), then SYNCED, then changes. */
  resourceVersion?: string;
}

/** ADDED | MODIFIED | DELETED carry an object; SYNCED ends the initial list; RESYNC: a fresh list follows. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNCED' | 'RESYNC';

export interface WatchEvent {
  type: WatchEventType;
  object?: Resource;
  resourceVersion: string;
}

/** A server stream the caller iterates and may abandon. */
export interface Stream<T> extends AsyncIterable<T> {
  /** Stop the stream (the server sees it cancelled); the iteration then ends without an error. */
  cancel(): void;
}

/** Bytes from the pod as the iteration; `write` sends, `end` half-closes, `cancel` drops. */
export interface ExecOutput {
  stdout?: Buffer;
  stderr?: Buffer;
  exitCode?: number;
}

export interface ExecStream extends Stream<ExecOutput> {
  write(data: Buffer): void;
  /** The terminal's new size (an exec with tty). */
  resize(rows: number, cols: number): void;
  end(): void;
}

export interface PortForwardStream extends Stream<Buffer> {
  write(data: Buffer): void;
  end(): void;
}

export interface LogsCall {
  namespace: string;
  name: string;
  container?: string;
  follow: boolean;
  /** -1: everything. */
  tailLines: number;
  timestamps: boolean;
}

/** The Cluster service as the verbs use it: documents in and out, failures as ServerErrors. */
export interface ClusterClient {
  /** HOST:PORT, for messages. */
  readonly server: string;
  apply(objects: Resource[], call: ApplyCall): Promise<ApplyResultItem[]>;
  get<T extends Resource = Resource>(kind: string, namespace: string | undefined, name: string): Promise<T>;
  list<T extends Resource = Resource>(kind: string, call?: ListCall): Promise<{ items: T[]; resourceVersion: string }>;
  /** Refused (ServerError code 'conflict') when metadata.resourceVersion is not the stored one. */
  update<T extends Resource>(object: T): Promise<T>;
  delete(kind: string, namespace: string | undefined, name: string): Promise<Resource[]>;
  /** Delete a pod only if its disruption budget allows (pods/eviction); a resource-exhausted error when not now. */
  evict(namespace: string, name: string): Promise<Pod>;
  /** Approve (or deny) a CertificateSigningRequest: its approval subresource. */
  approveCertificate(name: string, approve: boolean): Promise<Resource>;
  /** Measured usage (metrics.k8s.io): the pods of a namespace (all: undefined) or the nodes. */
  metrics(kind: 'pods', call?: ListCall): Promise<PodMetrics[]>;
  metrics(kind: 'nodes', call?: ListCall): Promise<NodeMetrics[]>;
  watch(kind: string, call?: WatchCall): Stream<WatchEvent>;
  logs(call: LogsCall): Stream<Buffer>;
  /** A connection to a pod's port through the controller (kubectl port-forward). */
  portForward(target: { namespace: string; name: string; port: number }): PortForwardStream;
  /** A command in a pod's container (kubectl exec), or with `attach` its own process (kubectl attach): output and exit code as they come; write/end feed its stdin. */
  exec(target: { namespace: string; name: string; container: string; command: string[]; stdin: boolean; tty?: boolean; size?: { rows: number; cols: number }; attach?: boolean }): ExecStream;
  createToken(call: { ttlSeconds: number; description: string }): Promise<{ token: string; id: string; expires: string }>;
  listTokens(): Promise<TokenInfo[]>;
  deleteToken(id: string): Promise<void>;
  /** Sign a request for a user's key; returns the certificate and the cluster CA (PEM). */
  issueUserCertificate(call: { name: string; groups: string[]; csrPem: string; validitySeconds: number }): Promise<{ certificatePem: string; caPem: string }>;
  reviewAccess(call: AccessReview): Promise<{ allowed: boolean; reason: string; user: string }>;
  /** The controller's version. */
  version(): Promise<VersionInfo>;
  /** The CustomResourceDefinitions whose kinds the cluster serves. */
  discover(): Promise<CustomResourceDefinition[]>;
  close(): void;
}

export interface TokenInfo {
  id: string;
  description: string;
  expires: string;
  created: string;
  /** The node that joined with it; '' while unused. */
  usedBy: string;
}

export interface AccessReview {
  verb: string;
  resource: string;
  namespace: string;
  name: string;
  /** '' for the caller itself. */
  user: string;
  groups: string[];
}

/** Where a verb writes, and its clock: injected so that tests can run verbs in process. */
export interface VerbContext {
  client: ClusterClient;
  out: (text: string) => void;
  err: (text: string) => void;
  now: () => Date;
  /** Standard input as text, for `-f -`. */
  readStdin: () => string;
}

/** A verb returns its exit status. */
export type Verb = (ctx: VerbContext, argv: string[]) => Promise<number>;
