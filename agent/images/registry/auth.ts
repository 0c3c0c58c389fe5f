// Registry authentication: the WWW-Authenticate challenge a registry answers 401 with says how
// to authenticate. Basic: send the credentials on each request. Bearer: fetch a token from the
// challenge's realm for a service and scopes (anonymously, or with Basic credentials) and send it;
// tokens are cached per realm, service, scopes and user until shortly before they expire.

import { BerthError } from '../../../proto/errors';
import type { Credentials } from './credentials';
import type { Endpoint } from './hosts';

export interface Challenge {
  /** Lowercased scheme: 'basic', 'bearer'. */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parse a WWW-Authenticate header: `Bearer realm="https://a/token",service="s",scope="repository:x:pull"`,
 * possibly several challenges separated by commas (`Basic realm="r", Bearer realm="t"`).
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && /[\s,]/.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    const start = i;
    const word = token();
    if (word === '') {
      i++;
      continue;
    }
    let j = i;
    while (j < n && header[j] === ' ') j++;
    if (header[j] === '=' && current) {
      // an auth-param of the current challenge (token68 values are not used by registries)
      i = j + 1;
      while (i < n && header[i] === ' ') i++;
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const vs = i;
        while (i < n && header[i] !== ',') i++;
        value = header.slice(vs, i).trim();
      }
      current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: header.slice(start, i).toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** A Basic Authorization header value. */
export const basicAuth = (c: Credentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** The scope strings for a repository: repository:library/busybox:pull(,push). */
export const repositoryScope = (path: string, actions: 'pull' | 'pull,push'): string => `repository:${path}:${actions}`;

/** Fetches a token; implemented by the client so token requests get the same retries and TLS rules. */
export type TokenFetcher = (url: URL, headers: Record<string, string>, ep: Endpoint) => Promise<{ status: number; statusText: string; body: Buffer }>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Tokens are dropped this long before they expire, so one is never sent as it expires. */
const EXPIRY_MARGIN_MS = 10_000;
/** The distribution token spec's default lifetime when a token response names none. */
const DEFAULT_TOKEN_SECONDS = 60;

export class Authorizer {
  /** Last challenge seen per endpoint host: we authenticate pre-emptively after the first 401. */
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly credentialsFor: (ep: Endpoint) => Credentials | undefined,
    private readonly fetchToken: TokenFetcher,
    private readonly allowsPlainHttp: (hostPort: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Record the challenge of a 401. Returns true if a retry with (new) credentials could help. */
  challenged(ep: Endpoint, wwwAuthenticate: string | undefined, scopes: readonly string[]): boolean {
    const all = parseChallenges(wwwAuthenticate ?? '');
    const challenge = all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
    if (!challenge) return false;
    const previous = this.challenges.get(ep.host);
    this.challenges.set(ep.host, challenge);
    if (challenge.scheme === 'bearer') {
      // Whatever token we sent is not good enough for these scopes any more.
      this.tokens.delete(this.tokenKey(ep, challenge, scopes));
      return true;
    }
    // Basic: retrying only helps if we were not already sending the credentials.
    return this.credentialsFor(ep) !== undefined && previous?.scheme !== 'basic';
  }

  /** The Authorization header to send to `ep` for `scopes`, if its challenge is known. */
  async header(ep: Endpoint, scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.challenges.get(ep.host);
    if (!challenge) return undefined;
    const creds = this.credentialsFor(ep);
    if (challenge.scheme === 'basic') {
      if (!creds) return undefined;
      if (ep.base.startsWith('http:') && !this.allowsPlainHttp(ep.host)) return undefined;
      return basicAuth(creds);
    }
    const key = this.tokenKey(ep, challenge, scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return `Bearer ${cached.token}`;
    const token = await this.requestToken(ep, challenge, scopes, creds);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  private tokenKey(ep: Endpoint, c: Challenge, scopes: readonly string[]): string {
    return [ep.host, c.params.realm, c.params.service, [...scopes].sort().join(' '), this.credentialsFor(ep)?.username ?? ''].join('\n');
  }

  private async requestToken(ep: Endpoint, c: Challenge, scopes: readonly string[], creds: Credentials | undefined): Promise<CachedToken> {
    const realm = c.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new BerthError('unauthenticated', `registry ${ep.host} sent a Bearer challenge without a usable realm ("${realm ?? ''}")`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.allowsPlainHttp(url.host))) {
      throw new BerthError('unauthenticated', `registry ${ep.host}: refusing token realm ${url.origin} (plain HTTP to a host that is neither loopback nor insecure)`);
    }
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds) {
      url.searchParams.set('account', creds.username);
      headers.authorization = basicAuth(creds);
    }
    const who = creds ? `the credentials for ${ep.host}` : 'anonymous access';
    const res = await this.fetchToken(url, headers, ep);
    if (res.status === 401) {
      throw new BerthError('unauthenticated', `registry ${ep.host}: token server ${url.origin}${url.pathname} refused ${who} (401 ${res.statusText})`);
    }
    if (res.status === 403) {
      throw new BerthError('permission-denied', `registry ${ep.host}: token server ${url.origin}${url.pathname} denied ${who} for ${scopes.join(' ')} (403 ${res.statusText})`);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new BerthError('unavailable', `registry ${ep.host}: token server ${url.origin}${url.pathname} answered ${res.status} ${res.statusText}`);
    }
    let doc: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      doc = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new BerthError('unavailable', `registry ${ep.host}: token server ${url.origin}${url.pathname} answered something that is not JSON`);
    }
    const token = doc.token ?? doc.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new BerthError('unavailable', `registry ${ep.host}: token server ${url.origin}${url.pathname} answered without a token`);
    }
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS;
    return { token, expiresAt: this.now() + seconds * 1000 - EXPIRY_MARGIN_MS };
  }
}
