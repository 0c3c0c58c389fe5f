// CertificateSigningRequests against a real controller, as Kubernetes' "issue a certificate for a
// user" task goes: a key and a request made with openssl, the CSR applied (the requestor is the
// caller, whatever the document says), approved with `berth certificate approve`, signed by the
// cluster CA with the subject asked for, and the certificate working as that user; a denial, the
// approval rules and Kubernetes' validation.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { parse, stringify } from 'yaml';
import type { CertificateSigningRequest } from '../../proto/resources';
import { startTestController } from '../fixtures/controller';
import { runCli } from '../fixtures/agent';
import { eventually } from '../fixtures/wait';

t.test('a user\'s certificate through a CSR', async (t) => {
  const dir = t.testdir();
  const controller = await startTestController(t, dir);
  const berth = controller.berth;
  const request = (name: string, subject: string) => {
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.csr`), '-subj', subject], { stdio: 'ignore' });
    return fs.readFileSync(path.join(dir, `${name}.csr`)).toString('base64');
  };
  const csr = (name: string, body: string, extra = '', { usages = 'client auth', seconds = 86400 } = {}) => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, `apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: ${name}}
spec:
  request: ${body}
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: ${seconds}
  usages: [${usages}]
${extra}`);
    return file;
  };

  const janeFile = csr('jane', request('jane', '/CN=jane/O=dev'), '  username: admin\n  groups: [system:masters]\n');
  const applied = berth(['apply', '-f', janeFile]);
  t.equal(applied.stdout, 'certificatesigningrequest.certificates.k8s.io/jane created\n', applied.stderr);
  const stored = JSON.parse(berth(['get', 'csr', 'jane', '-o', 'json']).stdout) as CertificateSigningRequest;
  t.not(stored.spec.username, 'admin', 'the requestor is the caller, not what the document claims');
  t.ok(stored.spec.groups?.includes('system:authenticated'), 'with the groups of the caller');
  t.match(berth(['get', 'csr']).stdout, /NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION\njane\s+\S+\s+kubernetes\.io\/kube-apiserver-client\s+\S+\s+24h\s+Pending/);
  t.equal(berth(['apply', '-f', janeFile]).stdout, 'certificatesigningrequest.certificates.k8s.io/jane unchanged\n', 'applying it again changes nothing');

  t.equal(berth(['certificate', 'approve', 'jane']).stdout, 'certificatesigningrequest.certificates.k8s.io/jane approved\n');
  const issued = await eventually('the certificate', () => {
    const c = JSON.parse(berth(['get', 'csr', 'jane', '-o', 'json']).stdout) as CertificateSigningRequest;
    return c.status?.certificate ? c : undefined;
  }, 30_000, 200);
  t.match(issued.status?.conditions, [{ type: 'Approved', status: 'True', reason: 'KubectlApprove' }]);
  t.match(berth(['get', 'csr', 'jane']).stdout, /Approved,Issued/);
  const cert = new X509Certificate(Buffer.from(issued.status!.certificate!, 'base64'));
  t.match(cert.subject, /CN=jane/);
  t.match(cert.subject, /O=dev/, 'the subject the request asked for');
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  t.ok(days > 0.9 && days <= 1.01, `valid for the day asked (${days.toFixed(2)} days)`);

  // The certificate works: the controller knows its holder as jane of dev (who may do nothing yet).
  const admin = parse(fs.readFileSync(controller.kubeconfig, 'utf8')) as { users: Array<{ user: Record<string, string> }> };
  admin.users[0]!.user = { 'client-certificate-data': issued.status!.certificate!, 'client-key-data': fs.readFileSync(path.join(dir, 'jane.key')).toString('base64') };
  const janeConfig = path.join(dir, 'jane.kubeconfig');
  fs.writeFileSync(janeConfig, stringify(admin), { mode: 0o600 });
  const asJane = runCli(['--kubeconfig', janeConfig, 'get', 'pods']);
  t.match(asJane.stderr, /User "jane" cannot list resource "pods"/, 'requests signed with it are jane\'s');

  const bobFile = csr('bob', request('bob', '/CN=bob'));
  t.equal(berth(['apply', '-f', bobFile]).status, 0);
  t.equal(berth(['certificate', 'deny', 'bob']).stdout, 'certificatesigningrequest.certificates.k8s.io/bob denied\n');
  t.match(berth(['certificate', 'approve', 'bob']).stderr, /Approved and Denied conditions are mutually exclusive/);
  await new Promise((r) => setTimeout(r, 500));
  const denied = JSON.parse(berth(['get', 'csr', 'bob', '-o', 'json']).stdout) as CertificateSigningRequest;
  t.equal(denied.status?.certificate, undefined, 'a denied request is never signed');
  t.match(berth(['get', 'csr', 'bob']).stdout, /\sDenied\n/);

  t.match(berth(['user', 'create', 'root2', '--group', 'system:masters', '-o', path.join(dir, 'root2.kubeconfig')]).stderr, /signer with system:masters group is not allowed/, 'no second system:masters certificate by user create either');

  // Kubernetes' validation, each on its own.
  t.match(berth(['apply', '-f', csr('junk', Buffer.from('not a request').toString('base64'))]).stderr, /spec\.request: Invalid value: \[\]byte\{\.\.\.\}: PEM block type must be CERTIFICATE REQUEST/);
  t.match(berth(['apply', '-f', csr('server', request('server', '/CN=x'), '', { usages: 'server auth' })]).stderr, /spec\.usages: unsupported key usage: server auth/);
  t.match(berth(['apply', '-f', csr('short', request('short', '/CN=y'), '', { seconds: 60 })]).stderr, /spec\.expirationSeconds: must be seconds, at least 600/);
  fs.writeFileSync(janeFile, fs.readFileSync(janeFile, 'utf8').replace('expirationSeconds: 86400', 'expirationSeconds: 3600'));
  t.match(berth(['apply', '-f', janeFile]).stderr, /certificatesigningrequests\.certificates\.k8s\.io "jane" is invalid: spec: Forbidden: field is immutable/, 'a request never changes');
});
