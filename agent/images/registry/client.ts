// The distribution-spec client behind RegistryClient (see ./types.ts for the contract).
//
// Every request goes through `exchange`: pick the Authorization for the endpoint, send, follow
// redirects by hand (dropping credentials when the host changes), answer one 401 by learning the
// challenge and resending, and retry 429/5xx/connection errors with exponential back-off and
// jitter. Status codes the caller does not expect become one-line BerthErrors via `statusError`.

import { Readable, Transform } from 'node:stream';
import { BerthError, isBerthError } from '../../../proto/errors';
import { Hasher, checkDigest, isDigest, sha256, sizeMismatch } from '../../oci/digest';
import { MediaType, bareMediaType, isConfigType, isLayerType } from '../../oci/media-types';
import { formatReference, manifestSelector } from '../../oci/reference';
import type { Descriptor, Digest, Reference } from '../../oci/types';
import { Authorizer, repositoryScope } from './auth';
import { CredentialStore, defaultAuthFile, type Credentials } from './credentials';
import { HostResolver, loadRegistriesConfig, type Endpoint } from './hosts';
import { HttpTransport, drain, headerOf, readBody, readErrorBody, type HttpResponse } from './http';
import type { BlobReadOptions, RegistryClient, RegistryOptions, ResolvedManifest } from './types';

/** RegistryOptions with every default applied. */
export interface CompiledRegistryOptions {
  insecureRegistries: string[];
  authFiles: string[];
  maxManifestBytes: number;
  maxAttempts: number;
  backoffMs: number;
  /** Longest wait honoured from a Retry-After header, and longest back-off. */
  maxBackoffMs: number;
  /** Uploads above this size go in PATCH chunks of this size. */
  chunkSize: number;
}

export function compileOptions(o: RegistryOptions): CompiledRegistryOptions {
  const positive = (v: number | undefined, name: string, dflt: number, min = 1): number => {
    if (v === undefined) return dflt;
    if (!Number.isFinite(v) || v < min) throw new BerthError('invalid-argument', `registry option ${name} must be a number >= ${min}, got ${v}`);
    return v;
  };
  return {
    insecureRegistries: [...(o.insecureRegistries ?? [])],
    authFiles: [...(o.authFiles ?? []), defaultAuthFile()],
    maxManifestBytes: positive(o.maxManifestBytes, 'maxManifestBytes', 4 * 1024 * 1024),
    maxAttempts: positive(o.maxAttempts, 'maxAttempts', 5),
    backoffMs: positive(o.backoffMs, 'backoffMs', 200, 0),
    maxBackoffMs: 30_000,
    chunkSize: 16 * 1024 * 1024,
  };
}

type Body = () => Buffer | Readable;

interface Exchange {
  ep: Endpoint;
  method: string;
  /** A path under the endpoint's base (/v2/...), or an absolute URL (an upload Location). */
  target: string | URL;
  headers?: Record<string, string>;
  body?: Body;
  scopes: readonly string[];
  /** What the request is about, for messages: 127.0.0.1:5000/x:tag. */
  subject: string;
  /** Replaces the credential lookup (login). */
  credentials?: Credentials;
}

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class DistributionClient implements RegistryClient {
  readonly options: CompiledRegistryOptions;
  readonly hosts: HostResolver;
  private readonly transport = new HttpTransport();
  private readonly credentialStore: CredentialStore;
  private readonly authorizer: Authorizer;

  constructor(options: RegistryOptions = {}) {
    this.options = compileOptions(options);
    this.hosts = new HostResolver(loadRegistriesConfig(options.registriesConfig), this.options.insecureRegistries);
    this.credentialStore = new CredentialStore(this.options.authFiles);
    this.authorizer = this.newAuthorizer((ep) => this.credentialsFor(ep));
  }

  /** Close idle keep-alive connections. The client stays usable. */
  close(): void {
    this.transport.close();
  }

  credentialsFor(ep: Endpoint): Credentials | undefined {
    return ep.auth ?? this.credentialStore.get(ep.host) ?? (ep.mirror ? undefined : this.credentialStore.get(ep.domain));
  }

  // ---- pull side ----

  async getManifest(ref: Reference, accept: readonly string[]): Promise<ResolvedManifest> {
    const subject = formatReference(ref);
    return this.onPullEndpoints(ref, async (ep) => {
      const res = await this.exchange({
        ep, method: 'GET', target: `/v2/${ref.path}/manifests/${manifestSelector(ref)}`,
        headers: { accept: accept.join(', ') }, scopes: [repositoryScope(ref.path, 'pull')], subject,
      });
      if (res.status !== 200) throw await this.statusError(ep, res, subject, 'manifest');
      const max = this.options.maxManifestBytes;
      const bytes = await readBody(res, max, (size) => new BerthError('resource-exhausted',
        `manifest ${subject} from ${ep.host} is ${size === undefined ? 'more than' : size} bytes, past the ${max} byte limit`));
      const digest = sha256(bytes);
      if (ref.digest !== undefined && digest !== ref.digest) {
        throw new BerthError('data-loss', `manifest ${subject} from ${ep.host}: digest mismatch: got ${digest}`);
      }
      const mediaType = documentMediaType(bytes, headerOf(res, 'content-type'), subject);
      if (!accept.includes(mediaType)) {
        throw new BerthError('data-loss', `manifest ${subject} from ${ep.host} is ${mediaType}, expected one of ${accept.join(', ')}`);
      }
      return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
    });
  }

  async getBlob(ref: Reference, desc: Descriptor, maxBytes: number): Promise<Buffer> {
    if (desc.size > maxBytes) {
      throw new BerthError('resource-exhausted', `${blobKind(desc)} ${desc.digest} of ${formatReference(ref)} is ${desc.size} bytes, past the ${maxBytes} byte limit`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.openBlob(ref, desc) as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  openBlob(ref: Reference, desc: Descriptor, options: BlobReadOptions = {}): Readable {
    return new BlobStream(this, ref, desc, options);
  }

  /**
   * GET a blob from the first pull endpoint that has it, from `offset` on (a Range request when
   * offset > 0). Used by BlobStream; answers 200 or 206, anything else is thrown.
   */
  async fetchBlob(ref: Reference, desc: Descriptor, offset: number, ep?: Endpoint): Promise<{ ep: Endpoint; res: HttpResponse }> {
    const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${desc.digest}`;
    const once = async (e: Endpoint): Promise<{ ep: Endpoint; res: HttpResponse }> => {
      const headers: Record<string, string> = {};
      if (offset > 0) headers.range = `bytes=${offset}-`;
      const res = await this.exchange({ ep: e, method: 'GET', target: `/v2/${ref.path}/blobs/${desc.digest}`, headers, scopes: [repositoryScope(ref.path, 'pull')], subject });
      if (res.status === 200 || (res.status === 206 && offset > 0)) return { ep: e, res };
      throw await this.statusError(e, res, subject, 'blob');
    };
    return ep ? once(ep) : this.onPullEndpoints(ref, once);
  }

  // ---- push side (the registry itself, never a mirror) ----

  async hasBlob(ref: Reference, digest: Digest): Promise<boolean> {
    const ep = this.hosts.origin(ref.domain);
    const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${digest}`;
    const res = await this.exchange({ ep, method: 'HEAD', target: `/v2/${ref.path}/blobs/${digest}`, scopes: [repositoryScope(ref.path, 'pull')], subject });
    drain(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.statusError(ep, res, subject, 'blob');
  }

  async mountBlob(ref: Reference, digest: Digest, fromPath: string): Promise<boolean> {
    const ep = this.hosts.origin(ref.domain);
    const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${digest}`;
    const query = new URLSearchParams({ mount: digest, from: fromPath });
    const scopes = [repositoryScope(ref.path, 'pull,push'), repositoryScope(fromPath, 'pull')];
    const res = await this.exchange({ ep, method: 'POST', target: `/v2/${ref.path}/blobs/uploads/?${query}`, body: () => Buffer.alloc(0), scopes, subject });
    if (res.status === 201) {
      drain(res);
      return true;
    }
    if (res.status === 202) {
      // The registry could not mount and opened an upload session instead: give it back.
      drain(res);
      const location = headerOf(res, 'location');
      if (location) await this.cancelUpload(ep, new URL(location, res.url), scopes, subject);
      return false;
    }
    throw await this.statusError(ep, res, subject, 'blob');
  }

  async uploadBlob(ref: Reference, desc: Descriptor, open: () => Readable, options: { chunkSize?: number; onProgress?: (sent: number) => void } = {}): Promise<void> {
    const ep = this.hosts.origin(ref.domain);
    const subject = `${formatReference({ domain: ref.domain, path: ref.path })}@${desc.digest}`;
    const scopes = [repositoryScope(ref.path, 'pull,push')];
    const chunkSize = options.chunkSize ?? this.options.chunkSize;
    const what = blobKind(desc);
    let location = await this.startUpload(ep, ref, scopes, subject);

    try {
      if (desc.size <= chunkSize) {
        const res = await this.exchange({
          ep, method: 'PUT', target: withDigest(location, desc.digest), scopes, subject,
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
          body: () => open().pipe(verifyingCounter(what, desc, options.onProgress)),
        });
        if (res.status !== 201) throw await this.statusError(ep, res, subject, 'upload');
        drain(res);
        return;
      }

      const hasher = new Hasher();
      let pending: Buffer[] = [];
      let pendingSize = 0;
      let sent = 0;
      const flush = async (): Promise<void> => {
        const chunk = Buffer.concat(pending);
        pending = [];
        pendingSize = 0;
        const res = await this.exchange({
          ep, method: 'PATCH', target: location, scopes, subject,
          headers: { 'content-type': 'application/octet-stream', 'content-range': `${sent}-${sent + chunk.length - 1}` },
          body: () => chunk,
        });
        if (res.status !== 202) throw await this.statusError(ep, res, subject, 'upload');
        drain(res);
        sent += chunk.length;
        const next = headerOf(res, 'location');
        if (next) location = new URL(next, res.url);
        options.onProgress?.(sent);
      };
      for await (const data of open() as AsyncIterable<Buffer>) {
        hasher.update(data);
        if (hasher.size > desc.size) throw sizeMismatch(what, desc.digest, hasher.size, desc.size);
        let rest = data;
        while (pendingSize + rest.length >= chunkSize) {
          const take = chunkSize - pendingSize;
          pending.push(rest.subarray(0, take));
          pendingSize += take;
          rest = rest.subarray(take);
          await flush();
        }
        if (rest.length > 0) {
          pending.push(rest);
          pendingSize += rest.length;
        }
      }
      if (pendingSize > 0) await flush();
      const mismatch = checkDigest(what, desc, hasher.size, hasher.digest());
      if (mismatch) throw mismatch;
      const res = await this.exchange({ ep, method: 'PUT', target: withDigest(location, desc.digest), scopes, subject, body: () => Buffer.alloc(0) });
      if (res.status !== 201) throw await this.statusError(ep, res, subject, 'upload');
      drain(res);
    } catch (err) {
      await this.cancelUpload(ep, location, scopes, subject);
      throw err;
    }
  }

  async putManifest(ref: Reference, mediaType: string, bytes: Buffer): Promise<Digest> {
    const digest = sha256(bytes);
    if (ref.digest !== undefined && ref.digest !== digest) {
      throw new BerthError('invalid-argument', `manifest for ${formatReference(ref)} hashes to ${digest}, not the reference's digest`);
    }
    const ep = this.hosts.origin(ref.domain);
    const subject = formatReference(ref);
    const res = await this.exchange({
      ep, method: 'PUT', target: `/v2/${ref.path}/manifests/${manifestSelector(ref)}`,
      headers: { 'content-type': mediaType }, body: () => bytes, scopes: [repositoryScope(ref.path, 'pull,push')], subject,
    });
    if (res.status !== 201 && res.status !== 200) throw await this.statusError(ep, res, subject, 'manifest');
    drain(res);
    return digest;
  }

  async login(domain: string, username: string, password: string): Promise<void> {
    const ep = this.hosts.origin(domain);
    const credentials = { username, password };
    const res = await this.exchange({ ep, method: 'GET', target: '/v2/', scopes: [], subject: domain, credentials });
    drain(res);
    if (res.status !== 200) throw await this.statusError(ep, res, domain, 'login', credentials);
  }

  // ---- plumbing ----

  private newAuthorizer(credentialsFor: (ep: Endpoint) => Credentials | undefined): Authorizer {
    return new Authorizer(credentialsFor, async (url, headers, ep) => {
      const res = await this.exchange({ ep: { ...ep, host: url.host, base: url.origin, insecureSkipVerify: false }, method: 'GET', target: url, headers, scopes: [], subject: ep.host, noAuth: true } as Exchange & { noAuth: true });
      const body = await readBody(res, 1024 * 1024, () => new BerthError('resource-exhausted', `token response from ${url.origin} too large`));
      return { status: res.status, statusText: res.statusText, body };
    }, (h) => this.hosts.allowsPlainHttp(h));
  }

  /** Run `fn` on each pull endpoint in order until one succeeds; the last failure is thrown. */
  private async onPullEndpoints<T>(ref: Reference, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    const endpoints = this.hosts.pullEndpoints(ref.domain);
    let last: unknown;
    for (const ep of endpoints) {
      try {
        return await fn(ep);
      } catch (err) {
        last = err;
        if (!isBerthError(err) || err.code === 'internal' || err.code === 'invalid-argument') throw err;
      }
    }
    throw last;
  }

  private async startUpload(ep: Endpoint, ref: Reference, scopes: readonly string[], subject: string): Promise<URL> {
    const res = await this.exchange({ ep, method: 'POST', target: `/v2/${ref.path}/blobs/uploads/`, body: () => Buffer.alloc(0), scopes, subject });
    if (res.status !== 202) throw await this.statusError(ep, res, subject, 'upload');
    drain(res);
    const location = headerOf(res, 'location');
    if (!location) throw new BerthError('unavailable', `registry ${ep.host} opened an upload for ${subject} without a Location`);
    return new URL(location, res.url);
  }

  private async cancelUpload(ep: Endpoint, location: URL, scopes: readonly string[], subject: string): Promise<void> {
    try {
      const res = await this.exchange({ ep, method: 'DELETE', target: location, scopes, subject });
      drain(res);
    } catch {
      // Best effort: an abandoned session is collected by the registry.
    }
  }

  /**
   * One logical request: auth, redirects, one re-send after a 401 challenge, retries with back-off
   * on 429/5xx/connection errors. Returns the final response (any status but 429/5xx).
   */
  async exchange(x: Exchange & { noAuth?: boolean }): Promise<HttpResponse> {
    const { maxAttempts } = this.options;
    const authorizer = x.credentials ? this.newAuthorizer(() => x.credentials) : this.authorizer;
    const url = typeof x.target === 'string' ? new URL(x.ep.base + x.target) : x.target;
    const describe = `${x.method} ${url.pathname}`;
    let reauthorized = false;
    let lastFailure = '';
    let lastStatus = 0;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let res: HttpResponse;
      try {
        const auth = x.noAuth ? undefined : await authorizer.header(x.ep, x.scopes);
        const headers = { ...x.headers };
        if (auth) headers.authorization = auth;
        res = await this.sendFollowing(x.ep, url, x.method, headers, x.body);
      } catch (err) {
        if (isBerthError(err)) throw err;
        lastStatus = 0;
        lastFailure = `could not be reached for ${describe}: ${(err as Error).message}`;
        if (attempt < maxAttempts) await sleep(this.backoff(attempt));
        continue;
      }
      if (res.status === 401 && !x.noAuth && !reauthorized) {
        if (authorizer.challenged(x.ep, headerOf(res, 'www-authenticate'), x.scopes)) {
          drain(res);
          reauthorized = true;
          attempt--; // learning the challenge is not a failed attempt
          continue;
        }
        return res;
      }
      if (res.status === 429 || res.status >= 500) {
        drain(res);
        lastStatus = res.status;
        lastFailure = `answered ${res.status} ${res.statusText} for ${describe}`;
        if (attempt < maxAttempts) await sleep(this.retryDelay(attempt, headerOf(res, 'retry-after')));
        continue;
      }
      return res;
    }
    const code = lastStatus === 429 ? 'resource-exhausted' : 'unavailable';
    throw new BerthError(code, `registry ${x.ep.host} ${lastFailure} after ${maxAttempts} attempts`);
  }

  /** Send, following redirects; Authorization only ever goes to the endpoint's own host. */
  private async sendFollowing(ep: Endpoint, url: URL, method: string, headers: Record<string, string>, body: Body | undefined): Promise<HttpResponse> {
    let current = url;
    let currentMethod = method;
    let currentBody = body;
    const origin = url.host;
    for (let hop = 0; ; hop++) {
      const h = { ...headers };
      if (current.host !== origin) delete h.authorization;
      if (currentBody === undefined) delete h['content-length'];
      const res = await this.transport.send({
        url: current, method: currentMethod, headers: h, body: currentBody?.(),
        insecureSkipVerify: ep.insecureSkipVerify && current.host === new URL(ep.base).host,
      });
      const location = headerOf(res, 'location');
      if (!REDIRECTS.has(res.status) || !location || currentMethod === 'POST' || currentMethod === 'PUT' || currentMethod === 'PATCH') return res;
      drain(res);
      if (hop >= MAX_REDIRECTS) throw new BerthError('unavailable', `registry ${ep.host}: more than ${MAX_REDIRECTS} redirects for ${method} ${url.pathname}`);
      const next = new URL(location, current);
      if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.hosts.allowsPlainHttp(next.host))) {
        throw new BerthError('unavailable', `registry ${ep.host} redirected ${method} ${url.pathname} to ${next.protocol}//${next.host}, which is neither HTTPS nor an allowed plain-HTTP host`);
      }
      if (res.status === 303) {
        currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
        currentBody = undefined;
      }
      current = next;
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.options.backoffMs * 2 ** (attempt - 1), this.options.maxBackoffMs);
    return base / 2 + Math.random() * (base / 2);
  }

  private retryDelay(attempt: number, retryAfter: string | undefined): number {
    if (retryAfter !== undefined) {
      const secs = Number(retryAfter);
      const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(retryAfter) - Date.now();
      if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, this.options.maxBackoffMs);
    }
    return this.backoff(attempt);
  }

  /** The one-line error for a status the caller did not expect. Consumes the body. */
  async statusError(ep: Endpoint, res: HttpResponse, subject: string, kind: 'manifest' | 'blob' | 'upload' | 'login', override?: Credentials): Promise<BerthError> {
    const text = await readErrorBody(res);
    let code = '';
    let detail = '';
    try {
      const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      code = doc.errors?.[0]?.code ?? '';
      detail = doc.errors?.[0]?.message ?? '';
    } catch {
      // not a distribution error document
    }
    const said = `${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}`;
    const creds = override ?? this.credentialsFor(ep);
    switch (res.status) {
      case 401:
        return new BerthError('unauthenticated', `${subject}: registry ${ep.host} answered ${said} (${creds ? `credentials for ${creds.username} rejected` : `no credentials for ${ep.host}; log in first`})`);
      case 403:
        return new BerthError('permission-denied', `${subject}: registry ${ep.host} answered ${said}${creds ? ` for ${creds.username}` : ''}`);
      case 404: {
        const what = code ? code.toLowerCase().replace(/_/g, ' ') : kind === 'manifest' ? 'manifest unknown' : kind === 'blob' ? 'blob unknown' : 'not found';
        return new BerthError('not-found', `${what}: ${subject} not found${ep.host !== subject.split('/')[0] ? ` on ${ep.host}` : ''}`);
      }
      case 400:
        return new BerthError('invalid-argument', `${subject}: registry ${ep.host} refused ${kind}: ${said}${code ? ` (${code})` : ''}`);
      default:
        return new BerthError('failed-precondition', `${subject}: registry ${ep.host} answered ${said}${code ? ` (${code})` : ''}`);
    }
  }
}

/** A layer/config/blob word for messages, from the descriptor's media type. */
function blobKind(desc: Descriptor): string {
  return isLayerType(desc.mediaType) ? 'layer' : isConfigType(desc.mediaType) ? 'config' : 'blob';
}

function withDigest(location: URL, digest: Digest): URL {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u;
}

/** Counts (onProgress) and verifies bytes being uploaded; a source that lies fails the upload. */
function verifyingCounter(what: string, desc: Descriptor, onProgress?: (sent: number) => void): Transform {
  const hasher = new Hasher();
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hasher.update(chunk);
      if (hasher.size > desc.size) return done(sizeMismatch(what, desc.digest, hasher.size, desc.size));
      onProgress?.(hasher.size);
      done(null, chunk);
    },
    flush(done) {
      done(checkDigest(what, desc, hasher.size, hasher.digest()));
    },
  });
}

/** The document's own mediaType; the Content-Type only when it has none; inferred for bare OCI documents. */
function documentMediaType(bytes: Buffer, contentType: string | undefined, subject: string): string {
  let doc: { mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; schemaVersion?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BerthError('data-loss', `manifest ${subject} is not valid JSON`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new BerthError('data-loss', `manifest ${subject} is not a JSON object`);
  if (typeof doc.mediaType === 'string' && doc.mediaType !== '') return doc.mediaType;
  const header = bareMediaType(contentType);
  if (header && header !== 'application/json' && header !== 'application/octet-stream' && header !== 'text/plain') return header;
  if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  if (doc.config !== undefined && Array.isArray(doc.layers)) return MediaType.ociManifest;
  return header || 'application/octet-stream';
}

/**
 * A blob download as one Readable. Bytes are hashed and counted as they pass; a connection cut
 * mid-body is resumed on the same endpoint with `Range: bytes=N-` (a 206 must start at N; a 200
 * restarts the body and its first N bytes are skipped). The stream ends only after size and
 * digest matched; otherwise it errors ('data-loss' for wrong bytes, 'unavailable' when it could
 * not be resumed). Backpressure: the response is paused whenever push() says the consumer is full.
 */
class BlobStream extends Readable {
  private readonly hasher = new Hasher();
  private readonly what: string;
  private res?: HttpResponse;
  private ep?: Endpoint;
  private connecting = false;
  private finished = false;
  private fruitless = 0;
  private lastCut = '';

  constructor(private readonly client: DistributionClient, private readonly ref: Reference, private readonly desc: Descriptor, private readonly opts: BlobReadOptions) {
    super();
    this.what = blobKind(desc);
    if (!isDigest(desc.digest)) throw new BerthError('invalid-argument', `invalid digest "${desc.digest}" for ${formatReference(ref)}`);
  }

  override _read(): void {
    if (this.res) this.res.body.resume();
    else if (!this.connecting && !this.finished) void this.connect();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.finished = true;
    this.res?.body.destroy();
    this.res = undefined;
    cb(err);
  }

  private async connect(): Promise<void> {
    this.connecting = true;
    const offset = this.hasher.size;
    try {
      if (offset > 0) this.opts.onResume?.(offset);
      const { ep, res } = await this.client.fetchBlob(this.ref, this.desc, offset, this.ep);
      if (this.finished) {
        res.body.destroy();
        return;
      }
      this.ep = ep;
      let skip = 0;
      if (res.status === 206) {
        const m = /^bytes (\d+)-/.exec(headerOf(res, 'content-range') ?? '');
        if (!m || Number(m[1]) !== offset) {
          res.body.destroy();
          throw new BerthError('data-loss', `${this.what} ${this.desc.digest}: registry ${ep.host} answered a range starting at ${m ? m[1] : '(none)'}, asked for ${offset}`);
        }
      } else {
        skip = offset;
      }
      this.attach(res, skip);
    } catch (err) {
      this.fail(err);
    } finally {
      this.connecting = false;
    }
  }

  private attach(res: HttpResponse, skip: number): void {
    this.res = res;
    const before = this.hasher.size;
    let settled = false;
    const settle = (cut: Error | undefined): void => {
      if (settled) return;
      settled = true;
      this.res = undefined;
      if (this.finished) return;
      if (this.hasher.size > before) this.fruitless = 0;
      else this.fruitless++;
      if (cut === undefined) this.complete();
      else this.scheduleResume(cut);
    };
    res.body.on('data', (data: Buffer) => {
      if (settled || this.finished) return;
      let chunk = data;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      this.hasher.update(chunk);
      if (this.hasher.size > this.desc.size) {
        this.fail(sizeMismatch(this.what, this.desc.digest, this.hasher.size, this.desc.size));
        return;
      }
      this.opts.onProgress?.(this.hasher.size);
      if (!this.push(chunk)) res.body.pause();
    });
    res.body.on('end', () => settle(skip > 0 ? new Error('response ended before the resume offset') : undefined));
    res.body.on('error', (err) => settle(err));
    res.body.on('close', () => settle(new Error('connection closed mid-body')));
  }

  private complete(): void {
    const err = checkDigest(this.what, this.desc, this.hasher.size, this.hasher.digest());
    if (err) return this.fail(err);
    this.finished = true;
    this.push(null);
  }

  private scheduleResume(cut: Error): void {
    this.lastCut = cut.message;
    const { maxAttempts } = this.client.options;
    if (this.fruitless >= maxAttempts) {
      this.fail(new BerthError('unavailable', `${this.what} ${this.desc.digest} from ${this.ep?.host ?? this.ref.domain}: connection cut at ${this.hasher.size} of ${this.desc.size} bytes (${this.lastCut}); could not resume after ${maxAttempts} attempts`));
      return;
    }
    const delay = this.fruitless === 0 ? 0 : Math.min(this.client.options.backoffMs * 2 ** (this.fruitless - 1), this.client.options.maxBackoffMs);
    this.connecting = true;
    setTimeout(() => {
      this.connecting = false;
      if (!this.finished) void this.connect();
    }, delay);
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.res?.body.destroy();
    this.res = undefined;
    this.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}
