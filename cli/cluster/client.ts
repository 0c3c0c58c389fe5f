// The ClusterClient over the CLI's own gRPC client (cli/grpc/grpc-lite.ts) on TLS: documents are JSON
// in `Object` messages; every failure becomes a ServerError naming the controller's address.

import type { CustomResourceDefinition, Pod, Resource } from '../../proto/resources';
import type { VersionInfo } from '../../proto/version';
import { clusterLiteDefinition } from '../grpc/lite-definition';
import { Channel, makeClient, parseHostPort, type Call, type CallError } from '../grpc/grpc-lite';
import { CliError } from '../common/errors';
import { serverErrorOf } from './errors';
import type { Connection } from './connection';
import type { ApplyAction, ApplyCall, ApplyResultItem, ClusterClient, ExecOutput, ListCall, LogsCall, Stream, TokenInfo, WatchCall, WatchEvent, WatchEventType } from './types';

type Unary = (req: object, cb: (err: CallError | null, res?: object) => void) => Call;
type ServerStream = (req: object) => Call;

interface WireObject {
  json: string;
}

export function connectCluster(connection: Connection): ClusterClient {
  const server = connection.address;
  const target = parseHostPort(server);
  if (!target) throw new CliError(`controller address "${server}" is not HOST:PORT`);
  const c = connection.credentials;
  if (!c?.caPem) {
    const where = connection.configFiles.join(':');
    throw new CliError(`no credentials for the controller at ${server}: ${c ? `the context "${c.context}" in ${where} names no certificate-authority` : `${where} has no kubeconfig context`} (copy the controller's <data-root>/admin.kubeconfig to ~/.berth/config, or point BERTH_CONFIG or --kubeconfig at one)`);
  }
  const channel = new Channel({ ...target, tls: c });
  const raw = makeClient(channel, clusterLiteDefinition()['berth.cluster.v1.Cluster']!) as Record<string, Unary | ServerStream> & { close(): void };

  const call = <Res>(method: string, req: object): Promise<Res> =>
    new Promise((resolve, reject) => {
      (raw[method] as Unary)(req, (err, res) => (err ? reject(serverErrorOf(err, server)) : resolve(res as Res)));
    });

  /** A server stream (or the reading side of a bidi `call` already open), failures as ServerErrors. */
  const stream = <T>(method: string, req: object, convert: (m: object) => T, open?: Call): Stream<T> => {
    const c = open ?? (raw[method] as ServerStream)(req);
    let cancelled = false;
    // Until iterated, a failure must not go unhandled.
    c.on('error', () => undefined);
    return {
      cancel() {
        cancelled = true;
        c.cancel();
        c.destroy();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for await (const m of c) yield convert(m as object);
        } catch (err) {
          if (cancelled) return;
          throw serverErrorOf(err as CallError, server);
        }
      },
    };
  };

  return {
    server,
    async apply(objects, options: ApplyCall) {
      const res = await call<{ results: Array<{ action: string; object: WireObject | null }> }>('Apply', {
        objects: objects.map(toWire),
        dryRun: options.dryRun,
        applySet: options.applySet,
        prune: options.prune,
      });
      return res.results.map((r): ApplyResultItem => ({ action: r.action as ApplyAction, object: fromWire(r.object) }));
    },
    async get<T extends Resource>(kind: string, namespace: string | undefined, name: string) {
      return fromWire(await call<WireObject>('Get', { kind, namespace: namespace ?? '', name })) as T;
    },
    async list<T extends Resource>(kind: string, options: ListCall = {}) {
      const res = await call<{ items: WireObject[]; resourceVersion: string }>('List', {
        kind,
        namespace: options.namespace ?? '',
        labelSelector: options.labelSelector ?? '',
        fieldSelector: options.fieldSelector ?? '',
      });
      return { items: res.items.map((o) => fromWire(o) as T), resourceVersion: res.resourceVersion };
    },
    async update<T extends Resource>(object: T) {
      return fromWire(await call<WireObject>('Update', toWire(object))) as T;
    },
    async delete(kind, namespace, name) {
      const res = await call<{ deleted: WireObject[] }>('Delete', { kind, namespace: namespace ?? '', name });
      return res.deleted.map(fromWire);
    },
    async approveCertificate(name: string, approve: boolean) {
      return fromWire(await call<WireObject>('ApproveCertificate', { name, approve, reason: '', message: '' }));
    },
    async metrics(kind: 'pods' | 'nodes', options: ListCall = {}) {
      const res = await call<{ items: WireObject[] }>('Metrics', { kind, namespace: options.namespace ?? '', labelSelector: options.labelSelector ?? '', fieldSelector: '' });
      return res.items.map((o) => JSON.parse(o.json)) as never;
    },
    async version() {
      return call<VersionInfo>('Version', {});
    },
    async discover() {
      const res = await call<{ items: WireObject[] }>('Discover', {});
      return res.items.map((o) => JSON.parse(o.json) as CustomResourceDefinition);
    },
    async evict(namespace, name) {
      const res = await call<{ deleted: WireObject[] }>('Evict', { namespace, name });
      return fromWire(res.deleted[0]!) as Pod;
    },
    watch(kind, options: WatchCall = {}) {
      return stream('Watch', {
        kind,
        namespace: options.namespace ?? '',
        labelSelector: options.labelSelector ?? '',
        fieldSelector: options.fieldSelector ?? '',
        resourceVersion: options.resourceVersion ?? '',
      }, (m): WatchEvent => {
        const e = m as { type: string; object: WireObject | null; resourceVersion: string };
        return { type: e.type as WatchEventType, ...(e.object?.json ? { object: fromWire(e.object) } : {}), resourceVersion: e.resourceVersion };
      });
    },
    logs(options: LogsCall) {
      return stream('Logs', {
        namespace: options.namespace,
        name: options.name,
        container: options.container ?? '',
        follow: options.follow,
        tailLines: options.tailLines,
        timestamps: options.timestamps,
      }, (m) => (m as { data: Buffer }).data);
    },
    portForward(target) {
      const c = (raw.PortForward as unknown as () => Call)();
      c.write({ open: target });
      return Object.assign(stream('PortForward', {}, (m) => (m as { data: Buffer }).data, c), {
        write: (data: Buffer) => void c.write({ data }),
        end: () => void c.end(),
      });
    },
    exec(target) {
      const c = (raw.Exec as unknown as () => Call)();
      c.write({ open: target });
      const output = (m: object): ExecOutput => {
        const f = m as { stdout?: Buffer; stderr?: Buffer; exit?: { code?: number } };
        return f.stdout ? { stdout: f.stdout } : f.stderr ? { stderr: f.stderr } : f.exit ? { exitCode: f.exit.code ?? 0 } : {};
      };
      return Object.assign(stream('Exec', {}, output, c), {
        write: (stdin: Buffer) => void c.write({ stdin }),
        resize: (rows: number, cols: number) => void c.write({ resize: { rows, cols } }),
        end: () => void c.write({ stdinEnd: {} }),
      });
    },
    createToken: (req) => call('CreateToken', req),
    async listTokens() {
      return (await call<{ tokens: TokenInfo[] }>('ListTokens', {})).tokens;
    },
    async deleteToken(id) {
      await call('DeleteToken', { id });
    },
    issueUserCertificate: (req) => call('IssueUserCertificate', req),
    reviewAccess: (req) => call('ReviewAccess', req),
    close() {
      channel.close();
    },
  };
}

const toWire = (object: Resource): WireObject => ({ json: JSON.stringify(object) });

function fromWire(o: WireObject | null): Resource {
  if (!o?.json) throw new CliError('the controller sent an empty object');
  return JSON.parse(o.json) as Resource;
}
