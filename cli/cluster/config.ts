// berth config view [--raw] | get-contexts | current-context | use-context NAME: the kubeconfig,
// read and switched as kubectl config does. No controller is called.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { formatKubeconfig, mergeKubeconfigs, parseKubeconfig, type Kubeconfig } from '../../proto/trust/kubeconfig';
import { parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import { renderTable } from '../common/table';
import { configFiles, legacyServerOf, readIfExists, type ConnectionFlags } from './connection';

const SECRET_FIELDS = ['client-key-data', 'token'];
const DATA_FIELDS = ['certificate-authority-data', 'client-certificate-data'];

export async function config(argv: string[], flags: ConnectionFlags, out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  const files = configFiles({ flags, env: process.env, home: process.env.HOME || os.homedir() });
  const read = (): Kubeconfig => mergeKubeconfigs(files.flatMap((f) => {
    const text = readIfExists(f);
    return text === undefined || legacyServerOf(text) !== undefined ? [] : [parseKubeconfig(text, f)];
  }));
  switch (sub) {
    case 'view': {
      const { values } = parseFlags(rest, { raw: { type: 'boolean' }, minify: { type: 'boolean' } });
      const merged = read();
      let shown: Kubeconfig = merged;
      if (values.minify) {
        const ctx = merged.contexts.find((c) => c.name === merged['current-context']);
        if (!ctx) throw new CliError('current-context must exist in order to minify');
        shown = {
          ...merged,
          contexts: [ctx],
          clusters: merged.clusters.filter((c) => c.name === ctx.context.cluster),
          users: merged.users.filter((u) => u.name === ctx.context.user),
        };
      }
      out(formatKubeconfig(values.raw ? shown : redacted(shown)));
      return 0;
    }
    case 'current-context': {
      const current = read()['current-context'];
      if (!current) throw new CliError('current-context is not set');
      out(`${current}\n`);
      return 0;
    }
    case 'get-contexts': {
      const { positionals } = parseFlags(rest, {});
      const merged = read();
      const contexts = positionals.length ? merged.contexts.filter((c) => positionals.includes(c.name)) : merged.contexts;
      for (const n of positionals) if (!contexts.some((c) => c.name === n)) throw new CliError(`context ${n} not found`);
      out(renderTable(['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'], contexts.map((c) => [
        c.name === merged['current-context'] ? '*' : '', c.name, c.context.cluster, c.context.user, c.context.namespace ?? '',
      ])));
      return 0;
    }
    case 'use-context': {
      const { positionals } = parseFlags(rest, {});
      if (positionals.length !== 1) throw new CliError('"berth config use-context NAME" requires exactly one NAME');
      const name = positionals[0]!;
      if (!read().contexts.some((c) => c.name === name)) throw new CliError(`no context exists with the name: "${name}"`);
      // As kubectl: the file that sets current-context, else the first one.
      const file = files.find((f) => {
        const text = readIfExists(f);
        return text !== undefined && legacyServerOf(text) === undefined && parseKubeconfig(text, f)['current-context'];
      }) ?? files[0]!;
      const text = readIfExists(file);
      const own = text === undefined ? parseKubeconfig('', file) : parseKubeconfig(text, file);
      own['current-context'] = name;
      fs.writeFileSync(file, formatKubeconfig(own), { mode: 0o600 });
      out(`Switched to context "${name}".\n`);
      return 0;
    }
    default:
      throw new CliError(`unknown command "config ${sub ?? ''}": berth config view|get-contexts|current-context|use-context`);
  }
}

/** As kubectl config view: certificate data shown as DATA+OMITTED, keys and tokens as REDACTED. */
function redacted(config: Kubeconfig): Kubeconfig {
  const hide = (entry: Record<string, unknown>) => Object.fromEntries(Object.entries(entry).map(([k, v]) =>
    [k, SECRET_FIELDS.includes(k) ? 'REDACTED' : DATA_FIELDS.includes(k) ? 'DATA+OMITTED' : v]));
  return {
    ...config,
    clusters: config.clusters.map((c) => ({ ...c, cluster: hide(c.cluster as unknown as Record<string, unknown>) as unknown as typeof c.cluster })),
    users: config.users.map((u) => ({ ...u, user: hide(u.user as unknown as Record<string, unknown>) as unknown as typeof u.user })),
  };
}
