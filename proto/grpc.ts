// The gRPC side of the contract, for the agent and the controller (which load grpc-js; the CLI
// imports only types from here): service constructors from the descriptors compiled at build
// time (npm run gen: proto/build-descriptor.js), typed with the definitions proto-loader-gen-types
// writes to proto/gen, and the one conversion of a failure into a gRPC status. Nothing parses a
// .proto file at run time.

import * as grpc from '@grpc/grpc-js';
import { BerthError, GRPC_STATUS } from './errors';
import { agentDefinition, clusterDefinition } from './definition';
import type { ProtoGrpcType } from './gen/agent';
import type { ProtoGrpcType as ClusterProtoGrpcType } from './gen/cluster';

type V1 = ProtoGrpcType['berth']['agent']['v1'];

/** The agent's services (its message types are not loaded: nothing needs them at run time). */
export interface AgentApi {
  berth: { agent: { v1: Pick<V1, 'Images' | 'Containers' | 'System' | 'Builder'> } };
}

let agentApi: AgentApi | undefined;

export function loadAgentApi(): AgentApi {
  agentApi ??= grpc.loadPackageDefinition(agentDefinition()) as unknown as AgentApi;
  return agentApi;
}

type ClusterV1 = ClusterProtoGrpcType['berth']['cluster']['v1'];

/** The controller's services: Cluster for users, Node for agents. */
export interface ClusterApi {
  berth: { cluster: { v1: Pick<ClusterV1, 'Cluster' | 'Node'> } };
}

let clusterApi: ClusterApi | undefined;

export function loadClusterApi(): ClusterApi {
  clusterApi ??= grpc.loadPackageDefinition(clusterDefinition()) as unknown as ClusterApi;
  return clusterApi;
}

export type { ProtoGrpcType as AgentProto } from './gen/agent';
export type { ImagesClient } from './gen/berth/agent/v1/Images';
export type { ContainersClient } from './gen/berth/agent/v1/Containers';
export type { SystemClient } from './gen/berth/agent/v1/System';
export type { BuilderClient } from './gen/berth/agent/v1/Builder';
export type { Progress__Output as ProgressMessage } from './gen/berth/agent/v1/Progress';
export type { ClusterClient } from './gen/berth/cluster/v1/Cluster';
export type { NodeClient } from './gen/berth/cluster/v1/Node';
export type { ClusterHandlers } from './gen/berth/cluster/v1/Cluster';
export type { NodeHandlers } from './gen/berth/cluster/v1/Node';

/**
 * Any failure as the gRPC status a client reads back with fromStatus (proto/errors.ts). An error
 * outside the vocabulary is a bug: it is logged here, once, and the caller sees INTERNAL.
 */
export function toServiceError(err: unknown): grpc.ServiceError {
  const known = err instanceof BerthError;
  const status = known ? GRPC_STATUS[err.code] : grpc.status.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  if (!known || err.code === 'internal') console.error('internal error:', err);
  return Object.assign(new Error(message), { code: status, details: message, metadata: new grpc.Metadata() });
}
