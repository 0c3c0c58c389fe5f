// Loads the .proto contracts at run time (proto-loader) and types them with the generated
// definitions in proto/gen (npm run gen).

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ProtoGrpcType as AgentProto } from './gen/agent';

/** proto/ in the source tree, whether we run from sources (ts) or from dist/. */
function protoDir(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'proto', 'agent.proto');
    if (existsSync(candidate)) return path.dirname(candidate);
  }
  throw new Error(`proto/agent.proto not found above ${__dirname}`);
}

const LOADER_OPTIONS: protoLoader.Options = { longs: String, enums: String, defaults: true, oneofs: true };

let agentApi: AgentProto | undefined;

export function loadAgentApi(): AgentProto {
  agentApi ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(path.join(protoDir(), 'agent.proto'), LOADER_OPTIONS),
  ) as unknown as AgentProto;
  return agentApi;
}

export type { ProtoGrpcType as AgentProto } from './gen/agent';
export type { ImagesClient } from './gen/berth/agent/v1/Images';
export type { ContainersClient } from './gen/berth/agent/v1/Containers';
export type { Progress__Output as ProgressMessage } from './gen/berth/agent/v1/Progress';
