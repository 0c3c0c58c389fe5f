// docker run's option values, parsed and checked: ports, volumes, limits, names. Pure: the one
// host fact they need (does a volume's source exist) is passed in.

import * as os from 'node:os';
import { BerthError } from '../../proto/errors';
import type { PortMapping } from '../network';
import { parseProfile, type SecurityConfig } from './seccomp';
import type { VolumeMount } from './spec';
import type { LogConfig } from './types';

const bad = (message: string) => new BerthError('invalid-argument', message);

/** -p [IP:]HOST:CONTAINER[/tcp|udp] (HOST may be empty: any free port is not supported, so it is required). */
export function parsePort(spec: string): PortMapping {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(spec);
  if (!m) throw bad(`invalid port specification "${spec}": expected [IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]`);
  const [, hostIp = '0.0.0.0', host, container, protocol = 'tcp'] = m;
  const port = (s: string) => {
    const n = Number(s);
    if (n < 1 || n > 65535) throw bad(`invalid port specification "${spec}": port ${s} is out of range 1-65535`);
    return n;
  };
  return { hostIp, hostPort: port(host!), containerPort: port(container!), protocol: protocol as 'tcp' | 'udp' };
}

/** -v HOST:CONTAINER[:ro|rw]; the host path must exist (berth does not create it). */
export function parseVolume(spec: string, exists: (path: string) => boolean): VolumeMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw bad(`invalid volume specification "${spec}": expected HOST_PATH:CONTAINER_PATH[:ro]`);
  const [source, destination, mode = 'rw'] = parts as [string, string, string?];
  if (!source.startsWith('/')) throw bad(`invalid volume specification "${spec}": the host path must be absolute (named volumes are not supported)`);
  if (!destination.startsWith('/')) throw bad(`invalid volume specification "${spec}": the container path must be absolute`);
  if (destination === '/') throw bad(`invalid volume specification "${spec}": the container path cannot be "/"`);
  if (mode !== 'ro' && mode !== 'rw') throw bad(`invalid volume specification "${spec}": unknown mode "${mode}" (ro or rw)`);
  if (!exists(source)) throw bad(`invalid volume specification "${spec}": host path ${source} does not exist`);
  return { source, destination, readonly: mode === 'ro' };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
/** docker's minimum; below it the container could not even start its process. */
const MIN_MEMORY = 6 * 1024 * 1024;

/** --memory 64m, 1g, 1048576 */
export function parseMemory(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(value.trim());
  if (!m) throw bad(`invalid memory limit "${value}": expected a number with an optional unit (b, k, m, g)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (bytes < MIN_MEMORY) throw bad(`invalid memory limit "${value}": the minimum is 6MB`);
  return bytes;
}

/** --cpus 1.5 */
export function parseCpus(value: string, available = os.availableParallelism()): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value.trim()) || !(n >= 0.01) || n > available) {
    throw bad(`invalid --cpus "${value}": the range of CPUs is from 0.01 to ${available}`);
  }
  return n;
}

/** --pids-limit N (>= 1; docker treats 0 and -1 as unlimited, which is the default here). */
export function parsePidsLimit(value: string): number | undefined {
  if (!/^-?\d+$/.test(value.trim())) throw bad(`invalid --pids-limit "${value}": expected an integer`);
  const n = Number(value);
  return n <= 0 ? undefined : n;
}

/** docker's json-file options berth keeps; the rest of that driver's (labels, env, tag) add nothing `logs` shows. */
const LOG_OPTS = ['max-size', 'max-file', 'compress'];
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

/**
 * --log-driver and --log-opt KEY=VALUE, as docker's json-file driver reads them: max-size in
 * decimal units (10m is 10,000,000 bytes, as docker's units.FromHumanSize), max-file >= 1 (the
 * files kept, the current one included; it needs max-size to mean anything), compress (the
 * rotated files gzipped; needs max-file >= 2 and max-size). Absent: `fallback`.
 */
export function parseLogOptions(driver: string, opts: readonly string[], fallback: LogConfig): LogConfig {
  if (driver !== '' && driver !== 'json-file') {
    throw bad(`invalid --log-driver "${driver}": berth has the json-file driver only`);
  }
  if (opts.length === 0) return fallback;
  const given = new Map<string, string>();
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    if (eq <= 0) throw bad(`invalid --log-opt "${opt}": expected KEY=VALUE`);
    const key = opt.slice(0, eq);
    if (!LOG_OPTS.includes(key)) throw bad(`unknown log opt '${key}' for json-file log driver (berth has ${LOG_OPTS.join(', ')})`);
    given.set(key, opt.slice(eq + 1));
  }
  const config: LogConfig = { maxFiles: 1 };
  const size = given.get('max-size');
  if (size !== undefined) {
    const m = /^(\d+(?:\.\d+)?) ?([kmgtp]?)i?b?$/i.exec(size);
    if (!m) throw bad(`invalid --log-opt max-size "${size}": expected a size such as 10m (k, m, g: decimal units)`);
    const bytes = Math.floor(Number(m[1]) * DECIMAL[m[2]!.toLowerCase()]!);
    if (!(bytes > 0)) throw bad(`invalid --log-opt max-size "${size}": max-size must be a positive number`);
    config.maxBytes = bytes;
  }
  const files = given.get('max-file');
  if (files !== undefined) {
    if (!/^-?\d+$/.test(files)) throw bad(`invalid --log-opt max-file "${files}": expected an integer`);
    if (Number(files) < 1) throw bad(`invalid --log-opt max-file "${files}": max-file cannot be less than 1`);
    config.maxFiles = Number(files);
  }
  const compress = given.get('compress');
  if (compress !== undefined) {
    const on = parseBool(compress);
    if (on === undefined) throw bad(`invalid --log-opt compress "${compress}": expected true or false`);
    if (on && (config.maxFiles < 2 || config.maxBytes === undefined)) {
      throw bad('invalid --log-opt compress=true: compress cannot be true when max-file is less than 2 or max-size is not set');
    }
    if (on) config.compress = true;
  }
  return config;
}

/** Go's strconv.ParseBool, which docker uses. */
function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return undefined;
}

const SECURITY_OPT_SYNTAX = 'expected seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges[=true|false]';

/**
 * --security-opt values, docker's syntax (KEY=VALUE, or the older KEY:VALUE). A profile file is
 * read by the CLI, which sends its JSON in place of the path, as docker's does; the profile is
 * checked here, so a bad one fails the create rather than the start.
 */
export function parseSecurityOpts(values: string[]): Omit<SecurityConfig, 'apparmorProfile'> {
  const security: Omit<SecurityConfig, 'apparmorProfile'> = { seccomp: { type: 'runtime-default' }, noNewPrivileges: false };
  for (const opt of values) {
    // Named whole: the CLI finds it in the message and puts back the path the user gave.
    const shown = opt;
    const sep = /[=:]/.exec(opt);
    const key = sep ? opt.slice(0, sep.index) : opt;
    const value = sep ? opt.slice(sep.index + 1) : undefined;
    switch (key) {
      case 'seccomp':
        if (value === 'unconfined') security.seccomp = { type: 'unconfined' };
        else if (value?.trimStart().startsWith('{')) {
          try {
            parseProfile(value);
          } catch (err) {
            throw bad(`invalid --security-opt "${shown}": ${(err as Error).message}`);
          }
          security.seccomp = { type: 'profile', json: value };
        } else {
          throw bad(`invalid --security-opt "${shown}": the value is "unconfined" or a profile's JSON (berth run reads a profile file's path into its JSON)`);
        }
        break;
      case 'no-new-privileges':
        if (value === undefined || value === 'true') security.noNewPrivileges = true;
        else if (value === 'false') security.noNewPrivileges = false;
        else throw bad(`invalid --security-opt "${shown}": no-new-privileges takes true or false`);
        break;
      case 'apparmor':
      case 'label':
      case 'systempaths':
      case 'proc-opts':
        throw bad(`invalid --security-opt "${shown}": ${key} options are not supported by berth (${SECURITY_OPT_SYNTAX})`);
      default:
        throw bad(`invalid --security-opt "${shown}": ${SECURITY_OPT_SYNTAX}`);
    }
  }
  return security;
}

/** Container names as docker allows them: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
export function checkName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(bare)) {
    throw bad(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return bare;
}

const ADJECTIVES = ['brave', 'calm', 'eager', 'fond', 'keen', 'lucid', 'merry', 'nimble', 'proud', 'quiet', 'sharp', 'steady', 'swift', 'tidy', 'vivid', 'wise'];
const NOUNS = ['anchor', 'barge', 'buoy', 'cutter', 'dinghy', 'ferry', 'galley', 'harbor', 'jetty', 'keel', 'mooring', 'pier', 'quay', 'rudder', 'skiff', 'wharf'];

/** A readable name for a container without one, avoiding those taken. */
export function generateName(taken: (name: string) => boolean, random = Math.random): string {
  for (let i = 0; ; i++) {
    const name = `${ADJECTIVES[Math.floor(random() * ADJECTIVES.length)]}_${NOUNS[Math.floor(random() * NOUNS.length)]}${i > 3 ? i : ''}`;
    if (!taken(name)) return name;
  }
}
