// The agent's gRPC API: service constructors from the descriptor compiled at build time (npm run
// gen: proto/build-descriptor.js), typed with the definitions proto-loader-gen-types writes to
// proto/gen. Nothing parses agent.proto at run time.

import * as grpc from '@grpc/grpc-js';
import { packageDefinition, type ConversionOptions } from './descriptor';
import { descriptor } from './gen/agent-descriptor';
import type { ProtoGrpcType } from './gen/agent';

/** What `npm run gen` generated the types for: int64 as strings, enums by name, defaults set. */
const LOADER_OPTIONS: ConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

type V1 = ProtoGrpcType['berth']['agent']['v1'];

/** The agent's services (its message types are not loaded: nothing needs them at run time). */
export interface AgentApi {
  berth: { agent: { v1: Pick<V1, 'Images' | 'Containers'> } };
}

let agentApi: AgentApi | undefined;

export function loadAgentApi(): AgentApi {
  agentApi ??= grpc.loadPackageDefinition(packageDefinition(descriptor, LOADER_OPTIONS)) as unknown as AgentApi;
  return agentApi;
}

export type { ProtoGrpcType as AgentProto } from './gen/agent';
export type { ImagesClient } from './gen/berth/agent/v1/Images';
export type { ContainersClient } from './gen/berth/agent/v1/Containers';
export type { Progress__Output as ProgressMessage } from './gen/berth/agent/v1/Progress';
