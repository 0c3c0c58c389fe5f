// Platforms: parsing "os/arch[/variant]" and choosing a manifest from an index.

import { BerthError } from '../../proto/errors';
import type { Descriptor, Platform } from './types';

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export function parsePlatform(s: string): Platform {
  const [os, architecture, variant, extra] = s.split('/');
  if (!os || !architecture || extra !== undefined) {
    throw new BerthError('invalid-argument', `invalid platform "${s}": expected os/arch[/variant]`);
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export const formatPlatform = (p: Platform): string =>
  [p.os, p.architecture, p.variant].filter(Boolean).join('/');

// arm64 images usually carry variant v8 or none; arm without a variant means v7 (as containerd normalises).
const defaultVariant = (p: Platform): string | undefined =>
  p.variant ?? (p.architecture === 'arm64' ? 'v8' : p.architecture === 'arm' ? 'v7' : undefined);

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  return want.os === have.os && want.architecture === have.architecture && defaultVariant(want) === defaultVariant(have);
}

/** The first manifest of an index for `want`; attestation manifests (platform unknown/unknown) never match. */
export function selectManifest(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  return manifests.find((m) => platformMatches(want, m.platform));
}
