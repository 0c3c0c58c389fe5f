// The shared trust vocabulary: node identities, the CA pin a join token carries, and the token's
// format with an error for each malformed part.

import { execFileSync } from 'node:child_process';
import t from 'tap';
import { caPin, formatJoinToken, nodeNameOf, nodeUser, parseJoinToken } from '../../proto/trust';
import { createCsr, generateKeyPair, x509 } from '../../proto/trust/x509';

t.test('node identities', async (t) => {
  t.equal(nodeUser('n1'), 'system:node:n1');
  t.equal(nodeNameOf('system:node:n1'), 'n1');
  t.equal(nodeNameOf('system:node:'), undefined, 'no name, no node');
  t.equal(nodeNameOf('alice'), undefined);
});

t.test("the CA pin is the SHA-256 of the key's SubjectPublicKeyInfo, as kubeadm computes it", async (t) => {
  const keys = await generateKeyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=test-ca', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const pem = ca.toString('pem');
  const spki = execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: pem });
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: spki });
  const openssl = execFileSync('sha256sum', { input: der }).toString().split(' ')[0];
  t.equal(caPin(pem), `sha256:${openssl}`);
  const again = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=renewed-ca', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  t.equal(caPin(again.toString('pem')), caPin(pem), 'a CA re-issued with its key keeps its pin');
});

t.test('join tokens: round trip, and each malformed part named', async (t) => {
  const token = { caPin: `sha256:${'ab'.repeat(32)}`, id: 'abc123', secret: '0123456789abcdef' };
  const text = formatJoinToken(token);
  t.equal(text, `K10${'ab'.repeat(32)}::abc123.0123456789abcdef`);
  t.same(parseJoinToken(` ${text}\n`), token, 'surrounding blanks are ignored');
  const cases: [string, RegExp][] = [
    ['abc123.0123456789abcdef', /invalid join token: it does not start with K10/],
    [`K10${'ab'.repeat(31)}::abc123.0123456789abcdef`, /the CA hash is not 64 lower-case hex digits/],
    [`K10${'AB'.repeat(32)}::abc123.0123456789abcdef`, /the CA hash is not 64 lower-case hex digits/],
    [`K10${'ab'.repeat(32)}::ABC123.0123456789abcdef`, /the token id is not 6 characters/],
    [`K10${'ab'.repeat(32)}::abc123:0123456789abcdef`, /the token id is not 6 characters/],
    [`K10${'ab'.repeat(32)}::abc123.short`, /the token secret is not 16 characters/],
  ];
  for (const [input, message] of cases) {
    t.throws(() => parseJoinToken(input), { code: 'invalid-argument', message }, input.slice(0, 20));
    try {
      parseJoinToken(input);
    } catch (err) {
      t.notMatch((err as Error).message, /0123456789abcdef/, 'the secret is never echoed');
    }
  }
});

t.test('a certificate request carries the subject and proves its key', async (t) => {
  const keys = await generateKeyPair();
  const csr = new x509.Pkcs10CertificateRequest(await createCsr(keys, 'CN=system:node:n1, O=system:nodes'));
  t.same(csr.subjectName.getField('CN'), ['system:node:n1']);
  t.same(csr.subjectName.getField('O'), ['system:nodes']);
  t.ok(await csr.verify());
});
