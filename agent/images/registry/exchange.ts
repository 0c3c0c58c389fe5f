// The request machinery of the distribution-spec client (the pull side is fetch.ts, the push
// side upload.ts, the RegistryClient they make together client.ts).
//
// Every request goes through `exchange`: pick the Authorization for the endpoint, send, follow
// redirects by hand (dropping credentials when the host changes), answer one 401 by learning the
// challenge and resending, and retry 429/5xx/connection errors with exponential back-off and
// jitter. Status codes the caller does not expect become one-line BerthErrors via `statusError`.

import type { Readable } from 'node:stream';
import { BerthError, isBerthError } from '../../../proto/errors';
import { type Descriptor, isConfigType, isLayerType, type Reference } from '../../oci';
import { Authorizer } from './auth';
import { CredentialStore, defaultAuthFile, normalizeRegistryKey, type Credentials } from './credentials';
import { HostResolver, loadRegistriesConfig, type Endpoint } from './hosts';
import { HttpTransport, drain, headerOf, readBody, readErrorBody, type HttpResponse } from './http';
import type { RegistryOptions } from './types';

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

export interface Exchange {
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

/** Requests to registries: endpoints, credentials, auth, redirects, retries, status errors. */
export class RegistryExchange {
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

  /**
   * A view of this client whose lookups try `credentials` (by normalised registry host) first;
   * transport, hosts and settings are shared, tokens are obtained anew for these credentials.
   */
  withCredentials(credentials: ReadonlyMap<string, Credentials>): this {
    if (credentials.size === 0) return this;
    const view = Object.create(this) as this;
    const base = (ep: Endpoint) => this.credentialsFor(ep);
    const own = (ep: Endpoint) => credentials.get(normalizeRegistryKey(ep.host)) ?? (ep.mirror ? undefined : credentials.get(normalizeRegistryKey(ep.domain)));
    view.credentialsFor = (ep: Endpoint) => ep.auth ?? own(ep) ?? base(ep);
    (view as unknown as { authorizer: Authorizer }).authorizer = this.newAuthorizer((ep) => view.credentialsFor(ep));
    return view;
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
  async onPullEndpoints<T>(ref: Reference, fn: (ep: Endpoint) => Promise<T>): Promise<T> {
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
        return new BerthError('unauthenticated', `${subject}: registry ${ep.host} answered ${said} (${creds ? `the credentials for ${ep.host} were rejected` : `no credentials for ${ep.host}; log in first`})`);
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
export function blobKind(desc: Descriptor): string {
  return isLayerType(desc.mediaType) ? 'layer' : isConfigType(desc.mediaType) ? 'config' : 'blob';
}
