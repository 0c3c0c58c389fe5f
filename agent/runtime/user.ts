// Resolving a container's user ("name", "uid", "name:group", "uid:gid", empty for root) through
// the image's own /etc/passwd and /etc/group, as docker and runc do: the image, not the host,
// says who "nobody" is.

import { BerthError } from '../../proto/errors';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: every group of the group file that lists the user by name. */
  additionalGids: number[];
  /** From the passwd entry; "/" when the user has none. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

// Lines of "a:b:c..." files; comments, blank and malformed lines are skipped as libc does.
function rows(text: string | undefined, minFields: number): string[][] {
  if (!text) return [];
  return text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'))
    .filter((f) => f.length >= minFields);
}

const isId = (s: string) => /^\d+$/.test(s);
const MAX_ID = 2 ** 31 - 1;

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return rows(text, 6)
    .filter((f) => isId(f[2]!) && isId(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return rows(text, 3)
    .filter((f) => isId(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

function id(s: string, what: string, spec: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_ID) {
    throw new BerthError('invalid-argument', `invalid user "${spec}": ${what} ${s} out of range`);
  }
  return n;
}

/** `passwd` and `group` are the image's files (undefined when it has none). */
export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const [userPart = '', groupPart, extra] = spec.split(':');
  if (extra !== undefined) throw new BerthError('invalid-argument', `invalid user "${spec}": expected USER[:GROUP]`);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);

  let uid = 0;
  let gid = 0;
  let name: string | undefined = 'root';
  let home = '/root';
  if (userPart !== '') {
    const byName = users.find((u) => u.name === userPart);
    const byId = isId(userPart) ? users.find((u) => u.uid === Number(userPart)) : undefined;
    const entry = byName ?? byId;
    if (entry) {
      ({ uid, gid, name, home } = entry);
    } else if (isId(userPart)) {
      // A numeric user need not exist in the image: it runs with group 0 and home "/".
      uid = id(userPart, 'uid', spec);
      name = undefined;
      home = '/';
    } else {
      throw new BerthError('invalid-argument', `unable to find user ${userPart}: no matching entries in passwd file`);
    }
  } else {
    const root = users.find((u) => u.uid === 0);
    if (root) home = root.home;
  }
  if (groupPart !== undefined && groupPart !== '') {
    const entry = groups.find((g) => g.name === groupPart) ?? (isId(groupPart) ? { gid: id(groupPart, 'gid', spec) } : undefined);
    if (!entry) throw new BerthError('invalid-argument', `unable to find group ${groupPart}: no matching entries in group file`);
    gid = entry.gid;
  }
  const additionalGids = name === undefined
    ? []
    : [...new Set(groups.filter((g) => g.members.includes(name!) && g.gid !== gid).map((g) => g.gid))];
  return { uid, gid, additionalGids, home };
}
