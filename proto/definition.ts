// The agent API's methods with their message codecs, without grpc-js: what the agent hands to
// grpc-js and what the CLI's own HTTP/2 client (cli/grpc/grpc-lite.ts) frames on the wire.

import { packageDefinition, type ConversionOptions } from './descriptor';
import { descriptor } from './gen/agent-descriptor';
import { descriptor as clusterDescriptor } from './gen/cluster-descriptor';

/** What `npm run gen` generated the types for: int64 as strings, enums by name, defaults set. */
export const LOADER_OPTIONS: ConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

let definition: ReturnType<typeof packageDefinition> | undefined;

/** Fully qualified service name → method name → path, streaming shape and codecs. */
export function agentDefinition(): ReturnType<typeof packageDefinition> {
  definition ??= packageDefinition(descriptor, LOADER_OPTIONS);
  return definition;
}

let clusterDef: ReturnType<typeof packageDefinition> | undefined;

/** The cluster API (controller): the same for proto/cluster.proto. */
export function clusterDefinition(): ReturnType<typeof packageDefinition> {
  clusterDef ??= packageDefinition(clusterDescriptor, LOADER_OPTIONS);
  return clusterDef;
}
