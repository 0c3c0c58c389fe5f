// What the rest of the agent may import from the registry client.

import { DistributionClient } from './client';
import type { RegistryClient, RegistryOptions } from './types';

export type { BlobReadOptions, RegistryClient, RegistryOptions, ResolvedManifest } from './types';
export { DistributionClient } from './client';
export { compileOptions, type CompiledRegistryOptions } from './exchange';
export { parseChallenges, type Challenge } from './auth';
export { authsOf, CredentialStore, normalizeRegistryKey, readAuthFile, type Credentials } from './credentials';
export { HostResolver, isLoopbackHost, parseRegistriesConfig, type Endpoint } from './hosts';

/** A registry client for one agent. Options are validated and defaulted here, once. */
export function createRegistryClient(options: RegistryOptions = {}): RegistryClient & { close(): void } {
  return new DistributionClient(options);
}
