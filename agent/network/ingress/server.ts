// The ingress controller's listeners: HTTP and HTTPS on the node, each request sent to an
// upstream of the route the current table gives (types.ts). Upstreams of a backend take requests
// in turn; requests keep their method, path and headers, minus the hop-by-hop ones, plus
// X-Forwarded-For/-Host/-Proto and X-Real-IP as ingress-nginx sets them. An Upgrade request
// (WebSocket) gets a connection of its own to the upstream, spliced both ways once it answers.
// HTTPS serves, by SNI, the certificate of the Ingresses' tls Secret for that host.

import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { pipeline, type Duplex } from 'node:stream';
import type { Secret } from '../../../proto/resources';
import { matchRoute, matchTls, normalizedPath } from './routes';
import type { Backend, RouteTable, TlsEntry, Upstream } from './types';

export interface IngressServerOptions {
  /** Port for HTTP (0: any free one); absent: no HTTP listener. */
  httpPort?: number;
  /** Port for HTTPS (0: any free one); absent: no HTTPS listener. */
  httpsPort?: number;
  /** Address to listen on; default every address of the host. */
  address?: string;
  /** A tls Secret the Ingresses name; undefined when it does not exist. */
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  log(line: string): void;
}

/** Kubernetes' hop-by-hop headers, which a proxy does not pass on (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** How often the certificates are read again (a renewed Secret with the same Ingresses). */
const SECRET_REFRESH_MS = 30_000;
/** An upstream silent this long fails the request with 504, as ingress-nginx's proxy-read-timeout. */
const UPSTREAM_TIMEOUT_MS = 60_000;

const EMPTY: RouteTable = { routes: [], defaults: [], tls: [], served: [] };

export class IngressServer {
  private table: RouteTable = EMPTY;
  private readonly next = new Map<string, number>();
  private readonly contexts = new Map<string, { version: string; context: tls.SecureContext }>();
  private readonly servers: net.Server[] = [];
  private readonly upstreamAgent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });
  private refreshing: Promise<void> = Promise.resolve();
  private refreshQueued = false;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Upgraded connections (both ends): the HTTP servers no longer track them, close() must. */
  private readonly tunnels = new Set<Duplex>();

  constructor(private readonly o: IngressServerOptions) {}

  /** Listen on the ports asked for; resolves with the ports bound. */
  async listen(): Promise<{ http?: number; https?: number }> {
    const out: { http?: number; https?: number } = {};
    if (this.o.httpPort !== undefined) {
      const server = http.createServer((req, res) => this.forward(req, res, 'http'));
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, 'http'));
      out.http = await this.bind(server, this.o.httpPort);
    }
    if (this.o.httpsPort !== undefined) {
      const server = https.createServer({ SNICallback: (name, cb) => this.sni(name, cb) }, (req, res) => this.forward(req, res, 'https'));
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head, 'https'));
      out.https = await this.bind(server, this.o.httpsPort);
    }
    this.refreshTimer = setInterval(() => this.refreshCertificates(), SECRET_REFRESH_MS);
    this.refreshTimer.unref();
    return out;
  }

  /** Serve from this table from now on; certificates it names are read when its TLS entries changed. */
  update(table: RouteTable): void {
    const tlsChanged = JSON.stringify(table.tls) !== JSON.stringify(this.table.tls);
    this.table = table;
    if (tlsChanged) void this.refreshCertificates();
  }

  /** Read the certificates the table names: one read at a time, asks meanwhile folded into one more. */
  refreshCertificates(): Promise<void> {
    if (this.refreshQueued) return this.refreshing;
    this.refreshQueued = true;
    this.refreshing = this.refreshing.then(() => {
      this.refreshQueued = false;
      return this.loadCertificates(this.table.tls);
    });
    return this.refreshing;
  }

  async close(): Promise<void> {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const s of this.tunnels) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => {
      s.close(() => resolve());
      (s as http.Server).closeAllConnections?.();
    })));
    this.upstreamAgent.destroy();
  }

  private bind(server: net.Server, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.o.address, () => {
        server.off('error', reject);
        this.servers.push(server);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private async loadCertificates(entries: readonly TlsEntry[]): Promise<void> {
    const wanted = new Set(entries.map((e) => `${e.namespace}/${e.secretName}`));
    for (const id of [...this.contexts.keys()]) if (!wanted.has(id)) this.contexts.delete(id);
    for (const id of wanted) {
      const [namespace, name] = id.split('/') as [string, string];
      try {
        const secret = await this.o.secret(namespace, name);
        const cert = secret?.data?.['tls.crt'];
        const key = secret?.data?.['tls.key'];
        if (!secret || !cert || !key) {
          this.contexts.delete(id);
          this.o.log(`ingress: tls secret ${id} ${secret ? 'has no tls.crt and tls.key' : 'not found'}`);
          continue;
        }
        const version = secret.metadata.resourceVersion ?? `${cert.length}:${key.length}`;
        if (this.contexts.get(id)?.version === version) continue;
        const context = tls.createSecureContext({ cert: Buffer.from(cert, 'base64'), key: Buffer.from(key, 'base64') });
        this.contexts.set(id, { version, context });
      } catch (err) {
        this.o.log(`ingress: tls secret ${id}: ${(err as Error).message}`);
      }
    }
  }

  private sni(servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void {
    const entry = matchTls(this.table, servername);
    const context = entry && this.contexts.get(`${entry.namespace}/${entry.secretName}`)?.context;
    if (context) cb(null, context);
    else cb(new Error(`no certificate for ${JSON.stringify(servername)}`));
  }

  /** The next upstream of a backend, in turn. */
  private pick(backend: Backend): Upstream | undefined {
    if (backend.upstreams.length === 0) return undefined;
    const i = (this.next.get(backend.name) ?? 0) % backend.upstreams.length;
    this.next.set(backend.name, i + 1);
    return backend.upstreams[i];
  }

  private route(req: http.IncomingMessage): { upstream: Upstream } | { status: number; text: string } {
    const path = normalizedPath(req.url ?? '/');
    if (path === undefined) return { status: 400, text: `400 Bad Request: ${JSON.stringify(req.url)} is not a path this controller routes\n` };
    const backend = matchRoute(this.table, req.headers.host, path);
    if (!backend) return { status: 404, text: 'default backend - 404\n' };
    const upstream = this.pick(backend);
    if (!upstream) return { status: 503, text: `503 Service Unavailable: ${backend.problem ?? backend.name}\n` };
    return { upstream };
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, scheme: 'http' | 'https'): void {
    const routed = this.route(req);
    if ('status' in routed) return void res.writeHead(routed.status, { 'content-type': 'text/plain; charset=utf-8' }).end(routed.text);
    const { upstream } = routed;
    const out = http.request({ host: upstream.ip, port: upstream.port, method: req.method, path: req.url, headers: forwardedHeaders(req, scheme, false), agent: this.upstreamAgent, timeout: UPSTREAM_TIMEOUT_MS });
    let timedOut = false;
    out.on('timeout', () => {
      timedOut = true;
      out.destroy(new Error(`no answer in ${UPSTREAM_TIMEOUT_MS / 1000} s`));
    });
    out.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.headers));
      // An upstream that breaks off mid-answer breaks the client's answer too (never a silent hang).
      pipeline(answer, res, (err) => {
        if (err) res.destroy();
      });
    });
    out.on('error', (err) => {
      const status = timedOut ? 504 : 502;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${status} ${http.STATUS_CODES[status]}: ${upstream.ip}:${upstream.port}: ${err.message}\n`);
      else res.destroy(err);
    });
    // A client that goes away before its answer is complete takes the upstream request with it.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.on('error', () => out.destroy());
    req.pipe(out);
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, scheme: 'http' | 'https'): void {
    const routed = this.route(req);
    if ('status' in routed) return void socket.end(`HTTP/1.1 ${routed.status} ${http.STATUS_CODES[routed.status]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(routed.text)}\r\nConnection: close\r\n\r\n${routed.text}`);
    const { upstream } = routed;
    const conn = net.connect({ port: upstream.port, host: upstream.ip, timeout: UPSTREAM_TIMEOUT_MS }, () => {
      conn.setTimeout(0);
      const headers = forwardedHeaders(req, scheme, true);
      const lines = Object.entries(headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]));
      conn.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) conn.write(head);
      conn.pipe(socket);
      socket.pipe(conn);
    });
    this.tunnels.add(socket);
    this.tunnels.add(conn);
    conn.on('timeout', () => conn.destroy(new Error('connect timeout')));
    conn.on('error', () => socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n'));
    // Either side gone ends the other: an upgraded connection is not half-open-able through a proxy.
    socket.on('error', () => conn.destroy());
    socket.on('close', () => {
      this.tunnels.delete(socket);
      conn.destroy();
    });
    conn.on('close', () => {
      this.tunnels.delete(conn);
      socket.destroy();
    });
  }
}

/** The request's headers as the upstream gets them. */
function forwardedHeaders(req: http.IncomingMessage, scheme: 'http' | 'https', upgrade: boolean): http.OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers);
  if (upgrade) {
    headers.connection = 'Upgrade';
    if (req.headers.upgrade) headers.upgrade = req.headers.upgrade;
  }
  // What the client says of itself is not passed on: the peer is the client (ingress-nginx's
  // default, use-forwarded-headers: false).
  const client = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  headers['x-forwarded-for'] = client;
  headers['x-real-ip'] = client;
  headers['x-forwarded-proto'] = scheme;
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  return headers;
}

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const named = new Set((typeof headers.connection === 'string' ? headers.connection : '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}
