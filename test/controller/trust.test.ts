// The cluster CA: made once and kept (key 0600), its certificates accepted by openssl and by a real
// mutual-TLS handshake on loopback, and every request it must not sign refused.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import t, { type Test } from 'tap';
import { openClusterCa } from '../../controller/trust';
import { caPin } from '../../proto/trust';
import { createCsr, generateKeyPair, privateKeyPem } from '../../proto/trust/x509';

async function nodeCsr(subject: string) {
  const keys = await generateKeyPair();
  return { csr: await createCsr(keys, subject), keyPem: await privateKeyPem(keys.privateKey) };
}

function opensslVerify(t: Test, caPem: string, certPem: string, purpose: string): string {
  const dir = t.testdir({ 'ca.crt': caPem, 'leaf.crt': certPem });
  return execFileSync('openssl', ['verify', '-purpose', purpose, '-CAfile', path.join(dir, 'ca.crt'), path.join(dir, 'leaf.crt')]).toString();
}

t.test('made on first open, the same on the next; the key is for root alone', async (t) => {
  const dir = path.join(t.testdir(), 'pki');
  const ca = await openClusterCa(dir);
  t.equal(fs.statSync(path.join(dir, 'ca.key')).mode & 0o777, 0o600);
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  t.equal(ca.pin, caPin(fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8')));
  const again = await openClusterCa(dir);
  t.equal(again.certPem, ca.certPem, 'reopened, not remade');
  t.same(fs.readdirSync(dir).sort(), ['ca.crt', 'ca.key'], 'no temporary file left');
  fs.rmSync(path.join(dir, 'ca.key'));
  await t.rejects(openClusterCa(dir), { code: 'failed-precondition', message: /cluster CA .*ca\.crt is there but its key .*ca\.key is not/ });
});

t.test('serving and client certificates that openssl and TLS accept', async (t) => {
  const ca = await openClusterCa(path.join(t.testdir(), 'pki'));
  const serving = await ca.issueServing(['127.0.0.1', 'localhost']);
  t.match(opensslVerify(t, ca.certPem, serving.certPem, 'sslserver'), /: OK/);
  const node = await nodeCsr('CN=system:node:n1, O=system:nodes');
  const clientPem = await ca.signClient(node.csr, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  t.match(opensslVerify(t, ca.certPem, clientPem, 'sslclient'), /: OK/);

  // A real handshake on loopback: the server requires a client certificate from this CA.
  const seen: (tls.PeerCertificate | undefined)[] = [];
  const server = tls.createServer({ key: serving.keyPem, cert: serving.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (socket) => {
    seen.push(socket.getPeerCertificate());
    socket.end('hello\n');
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const connect = (options: tls.ConnectionOptions) => new Promise<string>((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, ...options });
    let data = '';
    socket.on('data', (d) => (data += d));
    // Under TLS 1.3 a refused client certificate may surface as a close after the handshake.
    socket.on('end', () => resolve(data ? `ok ${data.trim()}` : 'closed without an answer'));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
  });
  t.equal(await connect({ key: node.keyPem, cert: clientPem }), 'ok hello', 'the node is let in');
  t.match(seen[0], { subject: { CN: 'system:node:n1', O: 'system:nodes' } }, 'and the server knows who it is');
  t.notMatch(await connect({}), /^ok/, 'no client certificate: refused');

  const foreign = await openClusterCa(path.join(t.testdir(), 'other-pki'));
  const stranger = await nodeCsr('CN=system:node:n1, O=system:nodes');
  const strangerPem = await foreign.signClient(stranger.csr, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  t.notMatch(await connect({ key: stranger.keyPem, cert: strangerPem }), /^ok/, 'a certificate of another CA: refused');
  t.match(await connect({ key: node.keyPem, cert: clientPem, ca: foreign.certPem }), /^error .*(SELF_SIGNED|UNABLE|CERT)/, 'and a client pinned to another CA does not trust this server');
  t.equal(seen.length, 1, 'only the node got through');
});

t.test('what the CA refuses to sign', async (t) => {
  const ca = await openClusterCa(path.join(t.testdir(), 'pki'));
  const n2 = await nodeCsr('CN=system:node:n2, O=system:nodes');
  await t.rejects(ca.signClient(n2.csr, { commonName: 'system:node:n1', organizations: ['system:nodes'] }),
    { code: 'permission-denied', message: 'certificate request asks for "system:node:n2", but the caller may only be "system:node:n1"' }, 'node n1 asking to be n2');
  const noName = await nodeCsr('O=system:nodes');
  await t.rejects(ca.signClient(noName.csr, { commonName: 'alice', organizations: [] }), { code: 'permission-denied', message: /asks for no common name/ });
  await t.rejects(ca.signClient('not a request', { commonName: 'alice', organizations: [] }), { code: 'invalid-argument', message: 'certificate request for alice: not a PEM PKCS#10 request' });
  // A request whose signature does not match its key: the subject bytes changed after signing.
  const alice = await nodeCsr('CN=alice');
  const der = Buffer.from(alice.csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = der.indexOf(Buffer.from('alice'));
  der.write('alicf', at);
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await t.rejects(ca.signClient(tampered, { commonName: 'alicf', organizations: [] }), { code: 'invalid-argument', message: 'certificate request for alicf: its signature does not match its key' });
  await t.rejects(ca.issueServing([]), { code: 'invalid-argument' });

  // The subject is the controller's, not the requester's: extra groups asked for are not granted.
  const greedy = await nodeCsr('CN=bob, O=system:masters');
  const bobPem = await ca.signClient(greedy.csr, { commonName: 'bob', organizations: ['dev'] });
  const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: bobPem }).toString().trim();
  t.equal(subject, 'subject=O=dev,CN=bob');
});
