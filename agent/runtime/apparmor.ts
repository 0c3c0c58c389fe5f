// AppArmor: where the host has it enabled and a container profile loaded, containers run under it
// (as docker runs them under docker-default). berth does not write or load a profile itself: it
// uses `berth-default` when an administrator loaded one, else docker's `docker-default` when
// Docker left it loaded. Without AppArmor (or without either profile) nothing is set, and
// nothing fails: runc refuses a profile the kernel does not know.

import { readFileSync } from 'node:fs';
import { BerthError } from '../../proto/errors';

/** In the order they are preferred. */
export const APPARMOR_PROFILES = ['berth-default', 'docker-default'];

export interface AppArmorHost {
  /** /sys/module/apparmor/parameters/enabled: "Y" when enabled. */
  enabled?: string;
  /** /sys/kernel/security/apparmor/profiles: one "NAME (MODE)" per line. */
  profiles?: string;
}

/** The profile to run containers under, or undefined. Pure over what the host says. */
export function chooseAppArmorProfile(host: AppArmorHost): string | undefined {
  if (host.enabled?.trim() !== 'Y' || host.profiles === undefined) return undefined;
  const loaded = new Set(host.profiles.split('\n').map((line) => line.replace(/\s+\([^)]*\)\s*$/, '').trim()).filter(Boolean));
  return APPARMOR_PROFILES.find((p) => loaded.has(p));
}

/** What a container (a pod's) asks of AppArmor: Kubernetes' securityContext.appArmorProfile. */
export interface AppArmorRequest {
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhostProfile?: string;
}

/**
 * The profile a container runs under. Asked for nothing: the host's default profile, if loaded.
 * Unconfined: none. RuntimeDefault or Localhost: as the kubelet, refused on a host without
 * AppArmor ("Cannot enforce AppArmor: ..."); RuntimeDefault needs a default profile loaded, a
 * Localhost profile's name goes to runc, which refuses one the kernel does not know. Pure.
 */
export function appArmorProfileFor(request: AppArmorRequest | undefined, host: { enabled: boolean; defaultProfile?: string }): string | undefined {
  if (!request) return host.defaultProfile;
  if (request.type === 'Unconfined') return undefined;
  if (!host.enabled) throw new BerthError('failed-precondition', 'Cannot enforce AppArmor: AppArmor is not enabled on the host');
  if (request.type === 'Localhost') return request.localhostProfile;
  if (!host.defaultProfile) throw new BerthError('failed-precondition', `Cannot enforce AppArmor: no default profile (${APPARMOR_PROFILES.join(' or ')}) is loaded on the host`);
  return host.defaultProfile;
}

/** Whether the kernel has AppArmor enabled. */
export function hostAppArmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

/** Read once when the agent starts. */
export function hostAppArmorProfile(): string | undefined {
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  };
  const enabled = read('/sys/module/apparmor/parameters/enabled');
  return chooseAppArmorProfile({
    ...(enabled !== undefined ? { enabled } : {}),
    ...(enabled?.trim() === 'Y' ? { profiles: read('/sys/kernel/security/apparmor/profiles') ?? '' } : {}),
  });
}
