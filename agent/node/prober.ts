// Running one try of a probe: exec in the container, a TCP connect or an HTTP GET to the pod's
// address from the host (the host reaches the bridge). Every try ends within the probe's timeout.

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
  }
}
