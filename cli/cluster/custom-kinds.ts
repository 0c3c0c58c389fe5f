// The cluster's custom kinds, learnt from its discovery answer (the Discover call) when a command
// names a kind, or a manifest carries one, that the CLI does not know: only then, so that commands
// on built-in kinds cost no extra round trip.

import { kindInfo, setCustomKinds } from '../../proto/resources';
import type { ClusterClient } from './types';

/** Fill the catalog of custom kinds from the cluster. */
export async function learnCustomKinds(client: Pick<ClusterClient, 'discover'>): Promise<void> {
  setCustomKinds(await client.discover());
}

/**
 * Learn the custom kinds when the command's first word after the verb is not a known kind
 * (`get shirts`, `delete shirt/blue`, `get pods,crontabs`).
 */
export async function learnKindsFor(argv: readonly string[], client: Pick<ClusterClient, 'discover'>): Promise<void> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (!first) return;
  const words = first.split(',').map((w) => w.split('/')[0]!).filter(Boolean);
  if (words.some((w) => w !== 'all' && !kindInfo(w.replace(/\.v1$/, '')))) await learnCustomKinds(client);
}
