// Identities of layer stacks.

import { sha256 } from './digest';
import type { Digest } from './types';

/**
 * Chain IDs per the OCI image spec: the first layer's chain ID is its diff ID; each next one is
 * sha256 of "<parent chain ID> <diff ID>". Equal chain IDs mean equal filesystems up to that layer.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : sha256(`${parent} ${diffId}`));
  }
  return out;
}
