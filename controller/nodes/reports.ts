// What an agent reports is checked before it is stored, as the API server validates a kubelet's
// status update: a node's certificate lets it write the status of its own pods and events about
// them, not arbitrary documents into them. Pure.

import { BerthError } from '../../proto/errors';
import type { PodStatus } from '../../proto/resources';

/** A pod's status in JSON is a few KiB; anything near this is not a status. */
export const MAX_STATUS_BYTES = 64 * 1024;
/** Kubernetes truncates an event's message to 1 KiB; so does berth. */
export const MAX_EVENT_MESSAGE = 1024;

const PHASES = new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);
const STATES = new Set(['waiting', 'running', 'terminated']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The status, or invalid-argument naming the first field that is wrong. */
export function checkPodStatus(json: string, where: string): PodStatus {
  if (Buffer.byteLength(json) > MAX_STATUS_BYTES) throw new BerthError('invalid-argument', `${where}: ${Buffer.byteLength(json)} bytes, more than a status may be (${MAX_STATUS_BYTES})`);
  let status: unknown;
  try {
    status = JSON.parse(json);
  } catch (err) {
    throw new BerthError('invalid-argument', `${where}: not a JSON document: ${(err as Error).message}`);
  }
  const bad = (field: string, what: string) => new BerthError('invalid-argument', `${where}: ${field}: ${what}`);
  if (!isObject(status)) throw bad('status', 'must be an object');
  if (status.phase !== undefined && !PHASES.has(status.phase as string)) throw bad('phase', `must be one of ${[...PHASES].join(', ')}`);
  for (const key of ['reason', 'message', 'hostIP', 'podIP', 'startTime'] as const) {
    if (status[key] !== undefined && typeof status[key] !== 'string') throw bad(key, 'must be a string');
  }
  if (status.conditions !== undefined) {
    if (!Array.isArray(status.conditions)) throw bad('conditions', 'must be a list');
    status.conditions.forEach((c, i) => {
      if (!isObject(c) || typeof c.type !== 'string' || !['True', 'False', 'Unknown'].includes(c.status as string)) throw bad(`conditions[${i}]`, 'must have a type and a status of True, False or Unknown');
    });
  }
  if (status.containerStatuses !== undefined) {
    if (!Array.isArray(status.containerStatuses)) throw bad('containerStatuses', 'must be a list');
    status.containerStatuses.forEach((c, i) => {
      const at = `containerStatuses[${i}]`;
      if (!isObject(c) || typeof c.name !== 'string' || typeof c.ready !== 'boolean' || !Number.isInteger(c.restartCount) || (c.restartCount as number) < 0) {
        throw bad(at, 'must have a name, ready (true or false) and a restartCount of 0 or more');
      }
      for (const key of ['state', 'lastState'] as const) {
        const s = c[key];
        if (s === undefined) continue;
        if (!isObject(s) || Object.keys(s).some((k) => !STATES.has(k)) || Object.keys(s).length > 1) throw bad(`${at}.${key}`, 'must be one of waiting, running, terminated');
      }
    });
  }
  return status as PodStatus;
}

/** An event as an agent may post it: a reason, a message (cut to 1 KiB), Normal or Warning. */
export function checkEventReport<E>(event: E): E {
  const bad = (what: string) => new BerthError('invalid-argument', `event: ${what}`);
  if (!isObject(event)) throw bad('must be an object');
  if (typeof event.reason !== 'string' || !/^[A-Za-z][A-Za-z0-9]{0,127}$/.test(event.reason)) throw bad('reason must be a CamelCase word of up to 128 letters and digits');
  if (event.message !== undefined && typeof event.message !== 'string') throw bad('message must be a string');
  if (event.type !== undefined && event.type !== 'Normal' && event.type !== 'Warning') throw bad('type must be Normal or Warning');
  const message = event.message as string | undefined;
  return (message && message.length > MAX_EVENT_MESSAGE ? { ...event, message: `${message.slice(0, MAX_EVENT_MESSAGE - 3)}...` } : event) as E;
}
