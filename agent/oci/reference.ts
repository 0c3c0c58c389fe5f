// Image references with Docker's rules: `busybox` is docker.io/library/busybox:latest, the first
// path component is a registry host only if it looks like one (has '.' or ':' or is localhost),
// `name@sha256:<hex>` pins a digest, and a tag and a digest may both be given (the digest wins).

import { BerthError } from '../../proto/errors';
import { parseDigest } from './digest';
import type { Digest, Reference } from './types';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAINS = new Set(['index.docker.io', 'registry-1.docker.io']);
const OFFICIAL_PREFIX = 'library/';
const MAX_NAME = 255;

const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const HOST_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

const invalid = (s: string, why: string): BerthError =>
  new BerthError('invalid-argument', `invalid reference "${s}": ${why}`);

/** Parse a reference; throws BerthError('invalid-argument') naming the input and what is wrong. */
export function parseReference(s: string): Reference {
  if (s === '') throw invalid(s, 'empty');
  if (/\s/.test(s)) throw invalid(s, 'contains whitespace');

  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      digest = parseDigest(d);
    } catch (err) {
      throw invalid(s, (err as Error).message);
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(s, `invalid tag "${tag}" (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')`);
  }
  if (rest === '') throw invalid(s, 'missing repository name');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      if (!DOMAIN_RE.test(first)) throw invalid(s, `invalid registry host "${first}"`);
      domain = LEGACY_DOMAINS.has(first) ? DEFAULT_DOMAIN : first;
      path = rest.slice(slash + 1);
    } else if (first !== first.toLowerCase() && /[a-z]/i.test(first)) {
      // A capitalised first component is neither a host nor a valid repository component.
      throw invalid(s, 'repository name must be lowercase');
    }
  }
  if (path === '') throw invalid(s, 'missing repository name');
  for (const component of path.split('/')) {
    if (component === '') throw invalid(s, 'empty path component');
    if (component !== component.toLowerCase()) throw invalid(s, 'repository name must be lowercase');
    if (!COMPONENT_RE.test(component)) throw invalid(s, `invalid repository component "${component}"`);
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  if (domain.length + 1 + path.length > MAX_NAME) throw invalid(s, `repository name longer than ${MAX_NAME} characters`);

  if (tag === undefined && digest === undefined) tag = 'latest';
  const ref: Reference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** domain/path, e.g. docker.io/library/busybox. */
export const repositoryName = (ref: Pick<Reference, 'domain' | 'path'>): string => `${ref.domain}/${ref.path}`;

/** The full canonical form: docker.io/library/busybox:latest, host/x@sha256:..., host/x:t@sha256:... */
export function formatReference(ref: Reference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The short name users type: docker.io/library/busybox -> busybox, docker.io/u/x -> u/x. */
export function familiarName(ref: Pick<Reference, 'domain' | 'path'>): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_PREFIX) && ref.path.indexOf('/', OFFICIAL_PREFIX.length) < 0
    ? ref.path.slice(OFFICIAL_PREFIX.length)
    : ref.path;
}

/** The familiar form with tag and digest: busybox:latest, busybox@sha256:... */
export function familiarString(ref: Reference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** The same repository pinned to a digest (no tag): what repoDigests hold. */
export const withDigest = (ref: Pick<Reference, 'domain' | 'path'>, digest: Digest): Reference => ({ domain: ref.domain, path: ref.path, digest });

/** The same repository under a tag (no digest). */
export const withTag = (ref: Pick<Reference, 'domain' | 'path'>, tag: string): Reference => ({ domain: ref.domain, path: ref.path, tag });

/** What to ask the registry for: the digest when there is one (it wins over the tag), else the tag. */
export const manifestSelector = (ref: Reference): string => ref.digest ?? ref.tag ?? 'latest';
