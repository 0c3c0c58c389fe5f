// berth create configmap|secret against a real controller: literals, files, a directory, env
// files, docker-registry and tls Secrets, dry runs, and the mistakes kubectl names; `berth create
// IMAGE` stays docker's.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import type { ConfigMap, Secret } from '../../proto/resources';
import { runCli } from '../fixtures/agent';
import { startTestController } from '../fixtures/controller';

t.test('create configmap and secret', async (t) => {
  const dir = t.testdir({
    'app.properties': 'mode=fast\n', conf: { 'a.txt': 'A', 'b.bin': Buffer.from([0xff, 0x00, 0xfe]) },
    'vars.env': '# settings\nLEVEL=debug\n\nNAME=berth app\n', 'bad.env': 'NOEQUALS\n',
    'tls.crt': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', 'tls.key': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
  });
  const ctl = await startTestController(t, dir);
  const berth = (args: string[]) => ctl.berth(args);
  const f = (name: string) => path.join(dir, name);

  const made = berth(['create', 'configmap', 'app', '--from-literal', 'color=blue', '--from-file', f('app.properties'), '--from-file', `renamed=${f('app.properties')}`, '--from-file', f('conf'), '--from-env-file', f('vars.env')]);
  t.equal(made.stdout, 'configmap/app created\n', made.stderr);
  const cm = JSON.parse(berth(['get', 'configmap', 'app', '-o', 'json']).stdout) as ConfigMap;
  t.same(cm.data, { color: 'blue', 'app.properties': 'mode=fast\n', renamed: 'mode=fast\n', 'a.txt': 'A', LEVEL: 'debug', NAME: 'berth app' });
  t.same(cm.binaryData, { 'b.bin': Buffer.from([0xff, 0x00, 0xfe]).toString('base64') }, 'bytes that are not UTF-8 go to binaryData');
  t.match(berth(['get', 'cm']).stdout, /app\s+7\s+/, 'get: the DATA column counts both maps');
  t.match(berth(['create', 'configmap', 'app', '--from-literal', 'x=1']).stderr, /AlreadyExists.*configmaps "app" already exists/);
  t.match(berth(['create', 'configmap', 'dup', '--from-literal', 'k=1', '--from-literal', 'k=2']).stderr, /cannot add key k, another key by that name already exists in ConfigMap "dup"/);
  t.match(berth(['create', 'configmap', 'env', '--from-env-file', f('bad.env')]).stderr, /bad\.env:1: expected KEY=VALUE/);
  t.match(berth(['create', 'configmap', 'missing', '--from-file', f('nope')]).stderr, /error reading .*nope: no such file or directory/);

  t.equal(berth(['create', 'secret', 'generic', 'db', '--from-literal', 'password=s3cret']).stdout, 'secret/db created\n');
  const secret = JSON.parse(berth(['get', 'secret', 'db', '-o', 'json']).stdout) as Secret;
  t.same([secret.type, secret.data], ['Opaque', { password: Buffer.from('s3cret').toString('base64') }], '-o json shows base64, as kubectl');
  const described = berth(['describe', 'secret', 'db']).stdout;
  t.match(described, /password:\s+6 bytes/);
  t.notOk(described.includes('s3cret') || described.includes(Buffer.from('s3cret').toString('base64')), 'describe never shows a value');
  t.equal(berth(['create', 'secret', 'docker-registry', 'pull', '--docker-server', 'registry.example:5000', '--docker-username', 'u', '--docker-password', 'p']).status, 0);
  const pull = JSON.parse(berth(['get', 'secret', 'pull', '-o', 'json']).stdout) as Secret;
  t.equal(pull.type, 'kubernetes.io/dockerconfigjson');
  t.same(JSON.parse(Buffer.from(pull.data!['.dockerconfigjson']!, 'base64').toString()), { auths: { 'registry.example:5000': { username: 'u', password: 'p', auth: Buffer.from('u:p').toString('base64') } } });
  t.equal(berth(['create', 'secret', 'tls', 'web-tls', '--cert', f('tls.crt'), '--key', f('tls.key')]).status, 0);
  t.match(berth(['get', 'secrets']).stdout, /web-tls\s+kubernetes\.io\/tls\s+2\s+/);
  t.match(berth(['create', 'secret', 'tls', 'x', '--cert', f('tls.key'), '--key', f('tls.key')]).stderr, /not a PEM certificate/);

  const dry = berth(['create', 'configmap', 'preview', '--from-literal', 'a=1', '--dry-run=client', '-o', 'yaml']);
  t.match(dry.stdout, /^kind: ConfigMap$/m);
  t.match(dry.stdout, /^ {2}a: "1"$/m);
  t.equal(berth(['get', 'cm', 'preview']).status, 1, 'a client dry run stores nothing');
  t.match(berth(['create', 'thing', 'x']).stderr, /./, 'an unknown kind is not the cluster\'s create');

  // With no controller named, `create IMAGE` is docker's (it asks the agent, which is absent here).
  const docker = runCli(['--agent', path.join(dir, 'no-agent.sock'), 'create', 'busybox']);
  t.match(docker.stderr, /cannot reach the agent/, "docker's create, not kubectl's");
  fs.rmSync(path.join(dir, 'conf'), { recursive: true });
});
