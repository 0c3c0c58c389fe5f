// What a privileged container gets of its host (runc's and containerd's choices): every device
// node under /dev except the per-container ones (pts, shm, mqueue, fd, the console), and every
// capability the agent itself holds: a capability it lacks could not be granted (this matters
// where the agent runs with a reduced set, as in a sandbox without CAP_SYS_RESOURCE).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_CAPABILITIES_BY_NUMBER } from './capabilities';
import type { LinuxDevice, PrivilegedHost } from './spec';

/** Directories of /dev each container has its own of. */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** The device nodes under `root` (default /dev), for linux.devices. */
export function hostDevices(root = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = [];
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!(dir === root && SKIPPED_DIRS.has(entry.name))) walk(full);
        continue;
      }
      if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
      if (full === path.join(root, 'console')) continue;
      const st = fs.statSync(full, { bigint: true });
      const rdev = st.rdev;
      // Linux's dev_t: 12 bits of major and 20 of minor, split across the word.
      const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
      const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
      out.push({ path: full, type: entry.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) });
    }
  };
  walk(root);
  return out;
}

/** The capabilities in a /proc/<pid>/status mask line's hex (CapEff). */
export function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return ALL_CAPABILITIES_BY_NUMBER.filter((_name, bit) => (mask >> BigInt(bit)) & 1n);
}

/** This process's effective capabilities. */
export function ownCapabilities(): string[] {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '0';
  return capabilitiesOfMask(hex);
}

export function privilegedHost(): PrivilegedHost {
  return { devices: hostDevices(), capabilities: ownCapabilities() };
}
