// The CLI's connection to the local agent's unix socket, over cli/grpc/grpc-lite.ts with the codecs of
// cli/grpc/wire-codec.ts (not grpc-js and protobufjs, whose loading alone took longer than a call).

import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { BerthError, fromStatus, GRPC_STATUS } from '../../proto/errors';
import type { BuilderClient, ContainersClient, ImagesClient, SystemClient } from '../../proto/grpc';
import { liteDefinition } from '../grpc/lite-definition';
import { Channel, makeClient } from '../grpc/grpc-lite';

export const DEFAULT_AGENT_SOCKET = '/run/berth/agent.sock';

export function agentSocket(flag: string | undefined): string {
  return flag ?? process.env.BERTH_AGENT ?? DEFAULT_AGENT_SOCKET;
}

const channels = new Map<string, Channel>();
const channelTo = (socket: string) => channels.get(socket) ?? channels.set(socket, new Channel(socket)).get(socket)!;

/**
 * The generated client types describe grpc-js's clients; grpc-lite's have the same method names
 * and the calling conventions the CLI uses (no metadata, call options or deadlines).
 */
const service = (socket: string, name: string) =>
  makeClient(channelTo(socket), liteDefinition()[`berth.agent.v1.${name}`]!);

export function imagesClient(socket: string): ImagesClient {
  return service(socket, 'Images') as unknown as ImagesClient;
}

export function containersClient(socket: string): ContainersClient {
  return service(socket, 'Containers') as unknown as ContainersClient;
}

export function builderClient(socket: string): BuilderClient {
  return service(socket, 'Builder') as unknown as BuilderClient;
}

export function systemClient(socket: string): SystemClient {
  return service(socket, 'System') as unknown as SystemClient;
}

/** The BerthError for a failed call to the agent; a socket nobody answers on says so plainly. */
export function fromAgentStatus(err: { code: number; details: string; message: string }): BerthError {
  // Only the client's own connection failure: an error the agent sent (a registry it could not
  // reach, ECONNREFUSED and all) is the agent's to tell.
  if (err.code === GRPC_STATUS.unavailable && /^No connection established/.test(err.details) && /connect|ECONNREFUSED|ENOENT/.test(err.details)) {
    return new BerthError('unavailable', `cannot reach the agent: ${err.details}`, { cause: err });
  }
  return fromStatus(err);
}

/** Promise form of a unary call; failures come back as BerthErrors. */
export function call<Req, Res>(
  method: (req: Req, cb: (err: ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method(req, (err, res) => (err ? reject(fromAgentStatus(err)) : resolve(res as Res))),
  );
}

/** Drain a server stream, handing each message to `onMessage`. */
export function consume<T>(stream: ClientReadableStream<T>, onMessage: (m: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', onMessage);
    stream.on('error', (err: ServiceError) => reject(fromAgentStatus(err)));
    stream.on('end', () => resolve());
  });
}
