// The agent process: the node's image service (and later its containers) served over gRPC on a
// unix socket to local clients.

import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadAgentApi } from '../proto';
import { BerthError } from './errors';
import { ImageService } from './images/service';
import type { RegistryOptions } from './images/registry';
import { imagesHandlers } from './server/images';

export interface AgentOptions {
  dataRoot: string;
  socket: string;
  registry?: RegistryOptions;
}

export const DEFAULT_DATA_ROOT = '/var/lib/berth';
export const DEFAULT_SOCKET = '/run/berth/agent.sock';

export interface RunningAgent {
  images: ImageService;
  stop(): Promise<void>;
}

// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH = 107;

export async function startAgent(options: AgentOptions): Promise<RunningAgent> {
  if (Buffer.byteLength(options.socket) > MAX_SOCKET_PATH) {
    throw new BerthError('invalid-argument', `socket path ${options.socket} is longer than ${MAX_SOCKET_PATH} bytes, the limit of a unix socket address`);
  }
  await fs.mkdir(options.dataRoot, { recursive: true, mode: 0o711 });
  const releaseLock = await lockDataRoot(options.dataRoot);
  try {
    const images = await ImageService.open({ root: options.dataRoot, ...(options.registry ? { registry: options.registry } : {}) });
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    server.addService(loadAgentApi().berth.agent.v1.Images.service, imagesHandlers(images));
    await fs.mkdir(path.dirname(options.socket), { recursive: true });
    // The lock says no other agent owns this data root, so a socket file left here is stale.
    await fs.rm(options.socket, { force: true });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix://${options.socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    await fs.chmod(options.socket, 0o660);
    return {
      images,
      async stop() {
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await images.close();
        await fs.rm(options.socket, { force: true });
        await releaseLock();
      },
    };
  } catch (err) {
    await releaseLock();
    throw err;
  }
}

/** One agent per data root: a pid file, taken over only when its process is gone. */
async function lockDataRoot(dataRoot: string): Promise<() => Promise<void>> {
  const file = path.join(dataRoot, 'agent.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, String(process.pid), { flag: 'wx' });
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new BerthError('failed-precondition', `data root ${dataRoot} is in use by another agent (pid ${pid})`);
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new BerthError('internal', `cannot lock data root ${dataRoot}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
