// berth user create NAME [--group G]... [--validity 8760h] [-o FILE]: a kubeconfig for a new
// user. The key is made here and never leaves this machine; the controller signs a certificate
// for it naming the user (CN) and groups (O), which RBAC bindings then refer to.

import * as fs from 'node:fs';
import { buildKubeconfig, formatKubeconfig } from '../../proto/trust/kubeconfig';
import { durationFlag, parseFlags } from '../common/args';
import { CliError } from '../common/errors';
import type { Verb } from './types';

export const user: Verb = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  if (sub !== 'create') throw new CliError(`unknown command "user ${sub ?? ''}": berth user create NAME [--group G]...`);
  const { values, positionals } = parseFlags(rest, {
    group: { type: 'string', multiple: true },
    validity: { type: 'string' },
    output: { type: 'string', short: 'o' },
  });
  if (positionals.length !== 1) throw new CliError('"berth user create NAME" requires exactly one NAME');
  const name = positionals[0]!;
  if (!/^[A-Za-z0-9][A-Za-z0-9@._-]*$/.test(name)) throw new CliError(`invalid user name "${name}": letters, digits, '@', '.', '_', '-'`);
  const groups = values.group ?? [];
  for (const g of groups) if (!/^[A-Za-z0-9][A-Za-z0-9:@._-]*$/.test(g)) throw new CliError(`invalid group "${g}": letters, digits, ':', '@', '.', '_', '-'`);
  const validityMs = durationFlag('--validity', values.validity);
  const { generateKeyPair, privateKeyPem, createCsr } = await import('../../proto/trust/x509');
  const keys = await generateKeyPair();
  const csrPem = await createCsr(keys, `CN=${name}`);
  const signed = await ctx.client.issueUserCertificate({ name, groups, csrPem, validitySeconds: Math.floor((validityMs ?? 0) / 1000) });
  const text = formatKubeconfig(buildKubeconfig({
    cluster: 'berth',
    server: ctx.client.server,
    caPem: signed.caPem,
    user: name,
    certPem: signed.certificatePem,
    keyPem: await privateKeyPem(keys.privateKey),
  }));
  if (values.output) {
    fs.writeFileSync(values.output, text, { mode: 0o600, flag: 'wx' });
    ctx.out(`user "${name}"${groups.length ? ` (groups ${groups.join(', ')})` : ''}: kubeconfig written to ${values.output}\n`);
  } else {
    ctx.out(text);
  }
  return 0;
};
