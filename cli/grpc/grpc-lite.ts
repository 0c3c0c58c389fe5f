// A small gRPC client over node:http2, for the CLI: loading grpc-js costs a CLI call more time
// than the call itself. It speaks what a grpc-js server needs (the agent's on a unix socket, the
// controller's on TCP over TLS) and no more: length-prefixed messages without
// compression, `te: trailers`, the status in the trailers (or in the headers of a trailers-only
// response), TLS with a client certificate or a bearer token. No deadlines, retries or other metadata.
//
// Clients have the shape of grpc-js's generated ones for the calls the CLI makes: a unary method
// takes (request, callback); a server stream is an object-mode Readable; a client stream takes a
// callback and returns a Writable; a bidi stream is a Duplex. Errors are grpc-js ServiceError-like
// objects ({ code, details }) for fromAgentStatus.

import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import type { LiteMethod } from './lite-definition';

/** gRPC status numbers used here (grpc-js `status`). */
const OK = 0;
const CANCELLED = 1;
const INTERNAL = 13;
const UNAVAILABLE = 14;

export interface CallError extends Error {
  code: number;
  details: string;
}

const callError = (code: number, details: string): CallError => Object.assign(new Error(`${code} ${details}`), { code, details });

/** TLS to the controller: the CA to verify it with, and the client's certificate and key. */
export interface ChannelTls {
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  /** Verify the controller's certificate for this name rather than the host dialled. */
  serverName?: string;
  /** Sent as `authorization: Bearer ...` on every call. */
  token?: string;
}

/** Where a channel connects: a unix socket (the agent) or a TCP address (the controller, over TLS). */
export type ChannelTarget = { socket: string } | { host: string; port: number; tls?: ChannelTls };

/** A TCP connection that has not been established after this long fails the calls waiting on it. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * "HOST:PORT", "[::1]:PORT" → a TCP target; undefined when `address` is not of that form.
 */
export function parseHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

/**
 * One HTTP/2 connection, made on the first call and shared by the clients made from it. `close`
 * lets the process exit once the calls in flight are done. A string target is a unix socket path.
 */
export class Channel {
  private session: http2.ClientHttp2Session | undefined;
  private sessionError: Error | undefined;
  private readonly target: ChannelTarget;

  constructor(target: ChannelTarget | string) {
    this.target = typeof target === 'string' ? { socket: target } : target;
  }

  private connect(): net.Socket {
    if ('socket' in this.target) return net.connect(this.target.socket);
    const { host, port } = this.target;
    const t = this.target.tls;
    const socket = t
      ? tls.connect({
        host, port, ALPNProtocols: ['h2'],
        ...(t.caPem ? { ca: t.caPem } : {}),
        ...(t.certPem && t.keyPem ? { cert: t.certPem, key: t.keyPem } : {}),
        ...(t.serverName ? { servername: t.serverName } : net.isIP(host) ? {} : { servername: host }),
      })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    // An address that drops packets would otherwise leave the call waiting for the OS's timeout.
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect ETIMEDOUT ${this.authority} (no answer in ${CONNECT_TIMEOUT_MS / 1000}s)`), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
    timer.unref();
    socket.once(t ? 'secureConnect' : 'connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  }

  private get authority(): string {
    if ('socket' in this.target) return 'localhost';
    return this.target.host.includes(':') ? `[${this.target.host}]:${this.target.port}` : `${this.target.host}:${this.target.port}`;
  }

  request(path: string): http2.ClientHttp2Stream {
    if (!this.session || this.session.destroyed || this.session.closed) {
      this.sessionError = undefined;
      const scheme = 'socket' in this.target || !this.target.tls ? 'http' : 'https';
      const session = http2.connect(`${scheme}://${this.authority}`, { createConnection: () => this.connect() });
      session.on('error', (err) => (this.sessionError = err));
      this.session = session;
    }
    return this.session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'berth-cli',
      ...('tls' in this.target && this.target.tls?.token ? { authorization: `Bearer ${this.target.tls.token}` } : {}),
    });
  }

  /** Why the connection failed, if it did. */
  get connectionError(): Error | undefined {
    return this.sessionError;
  }

  close(): void {
    this.session?.close();
  }
}

/** A call: messages in (object mode) are framed onto the HTTP/2 stream, frames out are decoded. */
export class Call extends Duplex {
  private readonly stream: http2.ClientHttp2Stream;
  private buffered: Buffer = Buffer.alloc(0);
  private status: number | undefined;
  private message = '';
  private failure: Error | undefined;

  constructor(channel: Channel, private readonly method: LiteMethod) {
    super({ objectMode: true });
    this.stream = channel.request(method.path);
    const s = this.stream;
    s.on('response', (headers) => {
      const code = headers[':status'];
      if (code !== 200) {
        this.failure = callError(code === 503 ? UNAVAILABLE : INTERNAL, `unexpected HTTP status ${code}`);
        return;
      }
      this.readStatus(headers); // trailers-only
      this.finishWithStatus();
    });
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('trailers', (trailers) => {
      this.readStatus(trailers);
      this.finishWithStatus();
    });
    s.on('error', (err: Error) => (this.failure ??= err));
    s.on('close', () => {
      if (this.status === OK) {
        this.push(null);
        return;
      }
      if (this.status !== undefined) {
        this.destroy(callError(this.status, this.message));
        return;
      }
      // A stream cancelled because its connection failed carries that failure as its cause.
      const cause = (this.failure as { cause?: unknown } | undefined)?.cause;
      const connect = channel.connectionError ?? (cause instanceof Error ? cause : undefined);
      if (connect) this.destroy(callError(UNAVAILABLE, `No connection established. Last error: ${connect.message}`));
      else if (this.failure && 'code' in this.failure && typeof this.failure.code === 'number') this.destroy(this.failure);
      else if (s.rstCode === http2.constants.NGHTTP2_CANCEL) this.destroy(callError(CANCELLED, 'Cancelled on client'));
      else this.destroy(callError(UNAVAILABLE, this.failure?.message ?? `stream closed without a status (RST_STREAM code ${s.rstCode})`));
    });
  }

  /**
   * The server sent its status: the call is over, whether or not this side has finished writing
   * (a bidi call such as exec keeps its stdin open). Closing the stream lets 'close' report it.
   */
  private finishWithStatus(): void {
    if (this.status !== undefined && !this.stream.closed) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }

  /** Abandon the call: the server sees it cancelled. */
  cancel(): void {
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private readStatus(headers: http2.IncomingHttpHeaders): void {
    const status = headers['grpc-status'];
    if (status === undefined) return;
    this.status = Number(status);
    const message = headers['grpc-message'];
    if (typeof message === 'string') {
      try {
        this.message = decodeURIComponent(message);
      } catch {
        this.message = message;
      }
    }
  }

  private onData(chunk: Buffer): void {
    let b = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (b.length >= 5) {
      const length = b.readUInt32BE(1);
      if (b.length < 5 + length) break;
      if (b[0] !== 0) {
        this.failure = callError(INTERNAL, 'compressed message received; compression is not supported');
        this.cancel();
        return;
      }
      let message: object;
      try {
        message = this.method.responseDeserialize(b.subarray(5, 5 + length));
      } catch (err) {
        this.failure = callError(INTERNAL, `failed to parse server response: ${(err as Error).message}`);
        this.cancel();
        return;
      }
      if (!this.push(message)) this.stream.pause();
      b = b.subarray(5 + length);
    }
    this.buffered = b;
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(message: object, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    let bytes: Buffer;
    try {
      bytes = this.method.requestSerialize(message);
    } catch (err) {
      done(err as Error);
      return;
    }
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    bytes.copy(frame, 5);
    // A failed write is the stream failing: its status (or the connection's error) is reported
    // when it closes.
    this.stream.write(frame, () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.stream.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.stream.closed) this.stream.close(err ? http2.constants.NGHTTP2_CANCEL : http2.constants.NGHTTP2_NO_ERROR);
    done(err);
  }
}

type Callback = (err: CallError | null, res?: object) => void;

/** The single response of a unary or client-streaming call. */
function settle(call: Call, callback: Callback): void {
  let response: object | undefined;
  call.on('data', (m: object) => (response = m));
  call.on('error', (err: CallError) => callback(err));
  call.on('end', () => (response ? callback(null, response) : callback(callError(INTERNAL, 'no response message'))));
}

/** A client for one service, with grpc-js's method names and calling conventions. */
export function makeClient(channel: Channel, methods: Record<string, LiteMethod>): Record<string, unknown> & { close(): void } {
  const client: Record<string, unknown> & { close(): void } = { close: () => channel.close() };
  for (const [name, m] of Object.entries(methods)) {
    if (!m.requestStream && !m.responseStream) {
      client[name] = (req: object, callback: Callback) => {
        const call = new Call(channel, m);
        settle(call, callback);
        call.end(req);
        return call;
      };
    } else if (!m.requestStream) {
      client[name] = (req: object) => {
        const call = new Call(channel, m);
        call.end(req);
        return call;
      };
    } else if (!m.responseStream) {
      client[name] = (callback: Callback) => {
        const call = new Call(channel, m);
        settle(call, callback);
        return call;
      };
    } else {
      client[name] = () => new Call(channel, m);
    }
  }
  return client;
}
