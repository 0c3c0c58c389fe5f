// RUN --mount, as BuildKit reads it: a comma-separated list of key[=value] fields (quotes allowed,
// as in CSV), `type` bind (the default), cache, tmpfs, secret or ssh. What each mount gives the
// step, and what of it goes into the step's cache key, is the builder's (builder.ts runStep); this
// file only reads the flag and says what is wrong with it, by name. Pure.

import * as path from 'node:path';

export type RunMount =
  /** Files of the context, a stage or an image, read-only unless `readwrite` (writes are then thrown away). */
  | { type: 'bind'; target: string; source: string; from?: string; readwrite: boolean }
  /** A directory kept between builds on this node (compilers' and package managers' caches), never in a layer. */
  | { type: 'cache'; target: string; id: string; sharing: 'shared' | 'private' | 'locked'; readonly: boolean; mode: number; uid: number; gid: number }
  /** An empty directory for the step's duration. */
  | { type: 'tmpfs'; target: string }
  /** A secret the build was given (`berth build --secret`), as a file (and/or an environment variable), never in a layer. */
  | { type: 'secret'; id: string; target?: string; env?: string; required: boolean; mode: number; uid: number; gid: number };

const TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
const KEYS: Record<(typeof TYPES)[number], string[]> = {
  bind: ['target', 'source', 'from', 'readwrite', 'readonly'],
  cache: ['target', 'source', 'from', 'id', 'sharing', 'readonly', 'readwrite', 'mode', 'uid', 'gid'],
  tmpfs: ['target', 'size'],
  secret: ['target', 'id', 'env', 'required', 'mode', 'uid', 'gid'],
  ssh: [],
};
/** Other spellings BuildKit accepts. */
const ALIASES: Record<string, string> = { dst: 'target', destination: 'target', src: 'source', ro: 'readonly', rw: 'readwrite' };

export class MountError extends Error {}

/**
 * One --mount flag's value; `workdir`: the step's working directory (a relative target is inside
 * it); `expand`: variable substitution, applied to each value once the fields are split (as
 * BuildKit does: a variable's commas or quotes cannot make fields of their own).
 */
export function parseRunMount(text: string, workdir: string, expand: (value: string) => string = (v) => v): RunMount {
  const fields = new Map<string, string | undefined>();
  for (const field of splitFields(text)) {
    const eq = field.indexOf('=');
    const rawKey = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const key = ALIASES[rawKey] ?? rawKey;
    if (key === '') throw new MountError(`--mount=${text}: an empty field`);
    if (fields.has(key)) throw new MountError(`--mount=${text}: "${rawKey}" is given twice`);
    fields.set(key, eq < 0 ? undefined : expand(field.slice(eq + 1)));
  }
  const type = (fields.get('type') ?? 'bind').toLowerCase();
  fields.delete('type');
  if (!(TYPES as readonly string[]).includes(type)) throw new MountError(`--mount=${text}: unknown mount type "${type}" (bind, cache, tmpfs, secret or ssh)`);
  const t = type as (typeof TYPES)[number];
  if (t === 'ssh') throw new MountError(`--mount=${text}: type=ssh is not supported (berth build forwards no SSH agent)`);
  for (const key of fields.keys()) {
    if (!KEYS[t].includes(key)) throw new MountError(`--mount=${text}: "${key}" is not an option of type=${t} (${KEYS[t].join(', ')})`);
  }
  const value = (key: string): string | undefined => fields.get(key);
  const flag = (key: string): boolean => {
    if (!fields.has(key)) return false;
    const v = value(key);
    // Go's strconv.ParseBool, as BuildKit reads these.
    if (v === undefined || ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
    throw new MountError(`--mount=${text}: ${key}=${v} is not true or false`);
  };
  const number = (key: string, fallback: number, radix: 8 | 10): number => {
    const v = value(key);
    if (v === undefined) return fallback;
    // IDs up to 2^32-2 (-1 means "none" to chown).
    if (!(radix === 8 ? /^0?[0-7]{1,4}$/ : /^\d{1,10}$/).test(v) || parseInt(v, radix) > 0xfffffffe) throw new MountError(`--mount=${text}: ${key}=${v} is not ${radix === 8 ? 'an octal mode such as 0755' : 'a user or group ID'}`);
    return parseInt(v, radix);
  };
  const target = (): string => {
    const v = value('target');
    if (v === undefined || v === '') throw new MountError(`--mount=${text}: type=${t} needs a target`);
    return absolute(v, workdir);
  };

  switch (t) {
    case 'bind': {
      const readonly = flag('readonly');
      const readwrite = flag('readwrite') || (fields.has('readonly') && !readonly);
      if (readonly && readwrite) throw new MountError(`--mount=${text}: both readonly and readwrite`);
      const from = value('from');
      return { type: 'bind', target: target(), source: value('source') ?? '', ...(from ? { from } : {}), readwrite };
    }
    case 'cache': {
      if (fields.has('from') || fields.has('source')) throw new MountError(`--mount=${text}: a cache mount seeded from another stage (from, source) is not supported`);
      const sharing = (value('sharing') ?? 'shared').toLowerCase();
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') throw new MountError(`--mount=${text}: sharing=${sharing}: shared, private or locked`);
      const dir = target();
      const readonly = flag('readonly') || (fields.has('readwrite') && !flag('readwrite'));
      return { type: 'cache', target: dir, id: value('id') || dir, sharing, readonly, mode: number('mode', 0o755, 8), uid: number('uid', 0, 10), gid: number('gid', 0, 10) };
    }
    case 'tmpfs':
      return { type: 'tmpfs', target: target() };
    case 'secret': {
      const env = value('env');
      const id = value('id') || (fields.has('target') ? path.posix.basename(value('target')!) : '');
      if (id === '') throw new MountError(`--mount=${text}: type=secret needs an id (or a target to name it by)`);
      if (env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) throw new MountError(`--mount=${text}: env=${env} is not a variable name`);
      // As a file at /run/secrets/ID unless it goes only to a variable.
      const file = fields.has('target') ? target() : env === undefined ? `/run/secrets/${id}` : undefined;
      return { type: 'secret', id, ...(file ? { target: file } : {}), ...(env ? { env } : {}), required: flag('required'), mode: number('mode', 0o400, 8), uid: number('uid', 0, 10), gid: number('gid', 0, 10) };
    }
  }
}

/** The fields of a CSV line: commas separate, double quotes group (a doubled quote is one). */
function splitFields(text: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) throw new MountError(`--mount=${text}: an unterminated quote`);
  out.push(field);
  return out.filter((f) => f !== '');
}

const absolute = (target: string, workdir: string): string => path.posix.resolve(workdir || '/', target);
