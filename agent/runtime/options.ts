// docker run's option values, parsed and checked: ports, volumes, limits, names. Pure: the one
// host fact they need (does a volume's source exist) is passed in.

import * as os from 'node:os';
import { BerthError } from '../../proto/errors';
import type { PortMapping } from '../network';
import { parseProfile, type SecurityConfig } from './seccomp';
import type { VolumeMount } from './spec';

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
