// berth certificate approve|deny NAME...: kubectl's verbs for CertificateSigningRequests, through
// the approval subresource ("certificatesigningrequest.certificates.k8s.io/NAME approved").

import { CliError } from '../common/errors';
import { parseFlags } from '../common/args';
import type { Verb } from './types';

export const certificate: Verb = async (ctx, argv) => {
  const { positionals } = parseFlags(argv, {});
  const [action, ...names] = positionals;
  if ((action !== 'approve' && action !== 'deny') || names.length === 0) throw new CliError('berth certificate approve|deny CSR_NAME...');
  for (const name of names) {
    await ctx.client.approveCertificate(name, action === 'approve');
    ctx.out(`certificatesigningrequest.certificates.k8s.io/${name} ${action === 'approve' ? 'approved' : 'denied'}\n`);
  }
  return 0;
};
