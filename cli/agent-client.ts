// The CLI's connection to the local agent's unix socket.

import * as grpc from '@grpc/grpc-js';
import { loadAgentApi, type ContainersClient, type ImagesClient } from '../proto';
import { fromServiceError } from '../agent/server/errors';

export const DEFAULT_AGENT_SOCKET = '/run/berth/agent.sock';

export function agentSocket(flag: string | undefined): string {
  return flag ?? process.env.BERTH_AGENT ?? DEFAULT_AGENT_SOCKET;
}

export function imagesClient(socket: string): ImagesClient {
  const { Images } = loadAgentApi().berth.agent.v1;
  return new Images(`unix://${socket}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

export function containersClient(socket: string): ContainersClient {
  const { Containers } = loadAgentApi().berth.agent.v1;
  return new Containers(`unix://${socket}`, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

/** Promise form of a unary call; failures come back as BerthErrors. */
export function call<Req, Res>(
  method: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method(req, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res as Res))),
  );
}

/** Drain a server stream, handing each message to `onMessage`. */
export function consume<T>(stream: grpc.ClientReadableStream<T>, onMessage: (m: T) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', onMessage);
    stream.on('error', (err: grpc.ServiceError) => reject(fromServiceError(err)));
    stream.on('end', () => resolve());
  });
}
