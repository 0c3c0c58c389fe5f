// The HTTP transport under the registry client: one request, no retries, no redirects followed
// (the client follows them itself so it can drop credentials across hosts). node:http rather than
// fetch so bodies are plain Readables with backpressure and TLS verification can be relaxed per
// endpoint (registries.yaml tls.insecure_skip_verify).

import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import { BerthError } from '../../../proto/errors';

export interface HttpRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable;
  insecureSkipVerify?: boolean;
}

export interface HttpResponse {
  url: URL;
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** A socket idle this long is a dead connection (retried like any connection error). */
const IDLE_TIMEOUT_MS = 60_000;

export class HttpTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly insecureAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });

  send(req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const isHttps = req.url.protocol === 'https:';
      const agent = isHttps ? (req.insecureSkipVerify ? this.insecureAgent : this.httpsAgent) : this.httpAgent;
      const mod = isHttps ? https : http;
      const headers: Record<string, string> = { 'user-agent': 'berth/0.1', ...req.headers };
      if (Buffer.isBuffer(req.body)) headers['content-length'] = String(req.body.length);
      const r = mod.request(req.url, { method: req.method, headers, agent });
      r.setTimeout(IDLE_TIMEOUT_MS, () => r.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000}s`)));
      r.once('error', reject);
      r.once('response', (res) => {
        resolve({ url: req.url, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: res });
      });
      if (req.body === undefined) r.end();
      else if (Buffer.isBuffer(req.body)) r.end(req.body);
      else {
        const src = req.body;
        src.once('error', (err) => r.destroy(err));
        src.pipe(r);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.insecureAgent.destroy();
  }
}

/** Discard a response body we do not need, so the connection can be reused. */
export function drain(res: HttpResponse): void {
  res.body.on('error', () => undefined);
  res.body.resume();
}

/**
 * Read a whole body, refusing more than `max` bytes: early on Content-Length, and again while
 * reading (a server may send no length or lie). `tooBig` builds the error to throw.
 */
export async function readBody(res: HttpResponse, max: number, tooBig: (size: number | undefined) => BerthError): Promise<Buffer> {
  const declared = res.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    res.body.destroy();
    throw tooBig(Number(declared));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      res.body.destroy();
      throw tooBig(undefined);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Read a small body (an error document) best-effort: at most 64 KiB, never throws. */
export async function readErrorBody(res: HttpResponse): Promise<string> {
  try {
    const buf = await readBody(res, 64 * 1024, () => new BerthError('resource-exhausted', 'error body too large'));
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

export const headerOf = (res: HttpResponse, name: string): string | undefined => {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

export const isReadable = (x: unknown): x is Readable => x instanceof Readable;
