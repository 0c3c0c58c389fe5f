// Running one try of a probe: exec in the container, a TCP connect, an HTTP GET or a gRPC health
// check (grpc.health.v1.Health/Check) to the pod's address from the host (the host reaches the
// bridge). Every try ends within the probe's timeout.

import * as grpc from '@grpc/grpc-js';
import { Reader, Writer } from 'protobufjs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { ProbeTarget } from './probe';

export interface ProbeOutcome {
  ok: boolean;
  /** Why it failed (or what an exec printed). */
  message?: string;
}

/** Runs a command in the container: resolves with its exit code and output. */
export type ContainerExec = (command: string[], signal: AbortSignal) => Promise<{ exitCode: number; output: string }>;

const MAX_OUTPUT = 10 * 1024;

export async function runProbe(target: ProbeTarget, timeoutMs: number, exec: ContainerExec): Promise<ProbeOutcome> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeOutcome>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve({ ok: false, message: `probe timed out after ${timeoutMs / 1000}s` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([tryOnce(target, exec, abort.signal), timeout]);
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

async function tryOnce(target: ProbeTarget, exec: ContainerExec, signal: AbortSignal): Promise<ProbeOutcome> {
  switch (target.type) {
    case 'exec': {
      const { exitCode, output } = await exec(target.command, signal);
      const text = output.slice(0, MAX_OUTPUT).trim();
      return exitCode === 0 ? { ok: true, ...(text ? { message: text } : {}) } : { ok: false, message: `command ${JSON.stringify(target.command.join(' '))} exited with ${exitCode}${text ? `: ${text}` : ''}` };
    }
    case 'tcp':
      return new Promise((resolve) => {
        const socket = net.connect({ host: target.host, port: target.port });
        const done = (outcome: ProbeOutcome) => {
          socket.destroy();
          resolve(outcome);
        };
        signal.addEventListener('abort', () => socket.destroy(), { once: true });
        socket.once('connect', () => done({ ok: true }));
        socket.once('error', (err) => done({ ok: false, message: `dial tcp ${target.host}:${target.port}: ${err.message}` }));
      });
    case 'http':
      return new Promise((resolve) => {
        const url = `${target.scheme}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.path}`;
        const request = (target.scheme === 'https' ? https : http).request(url, {
          method: 'GET',
          headers: { 'user-agent': 'berth-probe/1.0', accept: '*/*', ...target.headers },
          signal,
          // Kubernetes does not verify a probed server's certificate either.
          ...(target.scheme === 'https' ? { rejectUnauthorized: false } : {}),
        }, (res) => {
          const code = res.statusCode ?? 0;
          res.resume();
          resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
        });
        request.once('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
        request.end();
      });
    case 'grpc':
      return grpcHealthCheck(target.host, target.port, target.service, signal);
  }
}

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** One Health/Check call, as Kubernetes' gRPC probe makes it: SERVING passes, anything else fails. */
function grpcHealthCheck(host: string, port: number, service: string, signal: AbortSignal): Promise<ProbeOutcome> {
  const address = `${host}:${port}`;
  return new Promise((resolve) => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    // HealthCheckRequest { string service = 1; }
    const request = service ? Buffer.from(Writer.create().uint32(10).string(service).finish()) : Buffer.alloc(0);
    const call = client.makeUnaryRequest('/grpc.health.v1.Health/Check', (b: Buffer) => b, (b: Buffer) => b, request, (err, response) => {
      client.close();
      if (err) {
        resolve({ ok: false, message: err.code === grpc.status.UNAVAILABLE ? `timeout: failed to connect service "${address}": ${err.details}` : `rpc error: code = ${grpc.status[err.code]} desc = ${err.details}` });
        return;
      }
      const status = servingStatus(response ?? Buffer.alloc(0));
      resolve(status === 1 ? { ok: true } : { ok: false, message: `service unhealthy (responded with "${SERVING_STATUS[status] ?? status}")` });
    });
    signal.addEventListener('abort', () => {
      call.cancel();
      client.close();
    }, { once: true });
  });
}

/** HealthCheckResponse { ServingStatus status = 1; }: 0 (UNKNOWN) when absent. */
function servingStatus(bytes: Buffer): number {
  const reader = Reader.create(bytes);
  let status = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) status = reader.int32();
    else reader.skipType(tag & 7);
  }
  return status;
}
