// The cluster verbs' arguments: the controller's address and where it comes from, which verbs
// are the cluster's, flags and their errors in kubectl's words, apply sets.

import * as path from 'node:path';
import t from 'tap';
import { applyFlags } from '../../cli/cluster/apply-round';
import { applySetName, defaultApplySet } from '../../cli/cluster/apply-set';
import { parseFlags, sizeFlag } from '../../cli/common/args';
import { CliError } from '../../cli/common/errors';
import { errorText, ServerError, serverErrorOf } from '../../cli/cluster/errors';
import { getRequest } from '../../cli/cluster/get';
import { isClusterVerb } from '../../cli/cluster';
import { parseTargets, singleTarget } from '../../cli/cluster/resource-names';
import { DEFAULT_SERVER, legacyServerOf, resolveConnection, type Connection, type ConnectionFlags } from '../../cli/cluster/connection';
import { parseHostPort } from '../../cli/grpc/grpc-lite';
import { readSecrets } from '../../cli/node/build';

const HOME = '/home/u';
const CONFIG = '/home/u/.berth/config';
const files = (map: Record<string, string>) => (f: string) => map[f];

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: berth
  cluster:
    server: https://10.0.0.1:7443
    certificate-authority-data: ${Buffer.from('CA').toString('base64')}
users:
- name: admin
  user:
    client-certificate-data: ${Buffer.from('CERT').toString('base64')}
    client-key: keys/admin.key
contexts:
- name: admin@berth
  context: { cluster: berth, user: admin, namespace: shop }
- name: other
  context: { cluster: berth, user: nobody }
current-context: admin@berth
`;

const resolve = (flags: ConnectionFlags, env: NodeJS.ProcessEnv, map: Record<string, string>) => resolveConnection({ flags, env, home: HOME, readFile: files(map) });

t.test('controller address: --server, then BERTH_SERVER, then the kubeconfig, then the default', async (t) => {
  const config = { [CONFIG]: KUBECONFIG, '/home/u/.berth/keys/admin.key': 'KEY' };
  const fromFile = resolve({}, {}, config);
  t.same(fromFile, {
    address: '10.0.0.1:7443', source: 'config', configFiles: [CONFIG],
    credentials: { context: 'admin@berth', server: '10.0.0.1:7443', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY', namespace: 'shop' },
  }, 'server, CA, certificate, and the key from a path relative to the file');
  t.same(resolve({ server: '10.0.0.9:1' }, { BERTH_SERVER: '10.0.0.8:2' }, config).address, '10.0.0.9:1');
  t.same(resolve({ server: 'https://10.0.0.9:1' }, {}, config).credentials?.certPem, 'CERT', '--server keeps the context\'s credentials');
  t.same(resolve({}, { BERTH_SERVER: '10.0.0.8:2' }, config).source, 'env');
  t.same(resolve({}, {}, {}), { address: DEFAULT_SERVER, source: 'default', configFiles: [CONFIG] });
  t.equal(DEFAULT_SERVER, '127.0.0.1:7443', 'the controller\'s default --listen');
  t.equal(resolve({}, { BERTH_SERVER: '' }, { [CONFIG]: '# nothing here\n' }).source, 'default', 'an empty variable and an empty config configure nothing');
  t.throws(() => resolve({ server: 'localhost' }, {}, {}), { message: '--server: "localhost" is not HOST:PORT (for example 127.0.0.1:7443)' });
  t.throws(() => resolve({}, { BERTH_SERVER: 'a:b' }, {}), { message: /^BERTH_SERVER: "a:b" is not HOST:PORT/ });
});

t.test('which kubeconfig: --kubeconfig, BERTH_CONFIG, KUBECONFIG (merged), ~/.berth/config', async (t) => {
  const other = KUBECONFIG.replace('10.0.0.1', '10.0.0.2').replace('current-context: admin@berth', 'current-context: other');
  const map = { [CONFIG]: KUBECONFIG, '/k/a': other, '/k/b': KUBECONFIG, '/home/u/.berth/keys/admin.key': 'KEY', '/k/keys/admin.key': 'KEY2' };
  t.equal(resolve({ kubeconfig: '/k/b' }, { BERTH_CONFIG: '/k/a' }, map).credentials?.keyPem, 'KEY2', '--kubeconfig first; paths relative to that file');
  t.equal(resolve({ context: 'admin@berth' }, { BERTH_CONFIG: '/k/a', KUBECONFIG: '/k/b' }, map).address, '10.0.0.2:7443', 'BERTH_CONFIG before KUBECONFIG');
  t.throws(() => resolve({}, { BERTH_CONFIG: '/k/a' }, map), { message: /\/k\/a: context "other": user "nobody" not found/ }, 'and its current context is used');
  t.equal(resolve({ context: 'admin@berth' }, { KUBECONFIG: '/k/a:/k/b' }, map).address, '10.0.0.2:7443', 'merged: the first file to name a cluster wins');
  t.throws(() => resolve({ kubeconfig: '/nope' }, {}, map), { message: '--kubeconfig: /nope: no such file' });
  t.throws(() => resolve({ context: 'nope' }, {}, map), { message: /context "nope" not found/ });
});

t.test('a config file of the older form names a server only; bad files are named', async (t) => {
  t.equal(legacyServerOf('server: "[::1]:7443"  # local\n'), '[::1]:7443');
  t.equal(legacyServerOf('# the cluster\nnamespace: shop\nserver: h:1\n'), 'h:1');
  t.equal(legacyServerOf(KUBECONFIG), undefined);
  t.same(resolve({}, {}, { [CONFIG]: 'server: 10.0.0.1:7443\n' }), { address: '10.0.0.1:7443', source: 'config', configFiles: [CONFIG] });
  t.throws(() => resolve({}, {}, { [CONFIG]: 'server: 70000\n' }), { message: /^\/home\/u\/\.berth\/config: server: "70000" is not HOST:PORT/ });
  t.throws(() => resolve({}, {}, { [CONFIG]: 'clusters: [1, 2\n' }), { message: /^\/home\/u\/\.berth\/config: not valid YAML/ });
  t.throws(() => resolve({}, {}, { [CONFIG]: '- a\n' }), { message: /^\/home\/u\/\.berth\/config: top level: expected a kubeconfig mapping/ });
  const key = { '/home/u/.berth/keys/admin.key': 'KEY' };
  t.throws(() => resolve({}, {}, { ...key, [CONFIG]: KUBECONFIG.replace('server: https://10.0.0.1:7443', 'server: http://10.0.0.1:7443') }), { message: /the controller serves only https/ });
  t.throws(() => resolve({}, {}, { ...key, [CONFIG]: KUBECONFIG.replace('certificate-authority-data:', 'insecure-skip-tls-verify: true\n    x:') }), { message: /insecure-skip-tls-verify is not supported/ });
  t.throws(() => resolve({}, {}, { [CONFIG]: KUBECONFIG }), { message: '/home/u/.berth/config: /home/u/.berth/keys/admin.key: no such file' });
});

t.test('HOST:PORT', async (t) => {
  t.same(parseHostPort('127.0.0.1:7443'), { host: '127.0.0.1', port: 7443 });
  t.same(parseHostPort('controller.local:80'), { host: 'controller.local', port: 80 });
  t.same(parseHostPort('[::1]:7443'), { host: '::1', port: 7443 });
  for (const bad of ['::1:7443', 'host', 'host:0', 'host:65536', ':80', 'host:80x']) t.equal(parseHostPort(bad), undefined, bad);
});

t.test('logs and diff are the cluster\'s only when a controller is configured', async (t) => {
  const none = (): Pick<Connection, 'source'> => ({ source: 'default' });
  const env = (): Pick<Connection, 'source'> => ({ source: 'env' });
  const broken = (): Pick<Connection, 'source'> => {
    throw new CliError('bad config');
  };
  t.ok(isClusterVerb('get', {}, none));
  t.ok(isClusterVerb('rollout', {}, none));
  t.notOk(isClusterVerb('ps', { server: 'h:1' }, env), 'a node verb stays the node\'s');
  t.notOk(isClusterVerb('logs', {}, none), 'no controller configured: docker\'s logs');
  t.ok(isClusterVerb('logs', {}, env));
  t.ok(isClusterVerb('diff', { server: 'h:1', agent: '/s' }, none), '--server wins');
  t.notOk(isClusterVerb('diff', { agent: '/s' }, env), '--agent alone asks for the node\'s');
  t.ok(isClusterVerb('logs', {}, broken), 'a broken config is reported by the cluster verb');
});

t.test('flag errors in kubectl\'s words', async (t) => {
  t.throws(() => parseFlags(['--bogus'], {}), new CliError('unknown flag: --bogus'));
  t.throws(() => parseFlags(['-n'], { namespace: { type: 'string', short: 'n' } }), new CliError('flag needs an argument: --namespace'));
  t.same(parseFlags(['--wait'], { wait: { type: 'string' } }, { wait: '5m' }).values, { wait: '5m' }, 'a bare optional-value flag gets its default');
  t.same(parseFlags(['--wait=30s'], { wait: { type: 'string' } }, { wait: '5m' }).values, { wait: '30s' });
});

t.test('apply flags', async (t) => {
  const cwd = '/work/app';
  const f = applyFlags(['-f', 'a.yaml', '-f', 'dir', '--wait', '--prune'], cwd);
  t.same({ ...f, applySet: undefined }, { paths: ['a.yaml', 'dir'], dryRun: 'none', prune: true, applySet: undefined, waitMs: 300_000, watch: false, namespace: undefined, output: undefined });
  t.equal(f.applySet, defaultApplySet(['a.yaml', 'dir'], cwd));
  t.equal(applyFlags(['-f', 'a.yaml', '--wait=30s'], cwd).waitMs, 30_000);
  t.equal(applyFlags(['-f', 'a.yaml', '--dry-run'], cwd).dryRun, 'client', 'bare --dry-run is client, as kubectl took it');
  t.equal(applyFlags(['-f', 'a.yaml', '--dry-run=server'], cwd).dryRun, 'server');
  t.equal(applyFlags(['-f', 'a.yaml', '--applyset', 'shop'], cwd).applySet, 'shop');
  const errors: Array<[string[], string | RegExp]> = [
    [[], 'must specify one of -f and -k (berth apply -f FILE|DIR|-)'],
    [['-f', 'a.yaml', 'extra'], 'unexpected arguments: extra (apply takes its manifests with -f)'],
    [['-f', 'a.yaml', '--dry-run=maybe'], 'Invalid dry-run value (maybe). Must be "none", "server", or "client".'],
    [['-f', 'a.yaml', '--wait=soon'], 'invalid argument "soon" for "--wait" flag: expected a duration such as 30s, 5m or 1h'],
    [['-f', '-', '--watch'], '--watch needs files or directories to watch, not -f -'],
    [['-f', 'a.yaml', '--wait', '--dry-run=server'], /^--wait cannot be combined with --dry-run/],
    [['-f', '-', '--prune'], /^--prune with -f - needs --applyset NAME/],
    [['-f', 'a.yaml', '--applyset', 'Bad_Name'], /^--applyset "Bad_Name": must be lower-case/],
    [['-f', 'a.yaml', '-o', 'wide'], 'unable to match a printer suitable for the output format "wide", allowed formats are: yaml,json,name'],
  ];
  for (const [argv, message] of errors) t.throws(() => applyFlags(argv, cwd), { message }, argv.join(' '));
});

t.test('the default apply set: the same files are the same set, from anywhere', async (t) => {
  const a = defaultApplySet(['app.yaml', 'dir/'], '/work/app');
  t.match(a, /^files-[0-9a-f]{16}$/);
  t.equal(defaultApplySet(['../app/dir', path.join('/work/app', 'app.yaml')], '/work/other'), a, 'absolute paths, order and trailing slashes do not matter');
  t.not(defaultApplySet(['app.yaml'], '/work/app'), a, 'other files, another set');
  t.equal(applySetName(undefined, ['-'], '/x', false), defaultApplySet(['-'], '/y'), 'stdin is one set wherever it is applied from');
});

t.test('get: kinds, names, KIND/NAME and their errors', async (t) => {
  const r = getRequest(['po', 'a', 'b', '-n', 'shop', '-o', 'wide']);
  t.same(r.targets.map((x) => [x.info.kind, x.name]), [['Pod', 'a'], ['Pod', 'b']]);
  t.same([r.namespace, r.output, r.allNamespaces], ['shop', 'wide', false]);
  t.same(getRequest(['deploy,rs', '-A']).kinds.map((k) => k.kind), ['Deployment', 'ReplicaSet']);
  t.same(getRequest(['-A', 'pods']).namespace, undefined);
  t.same(getRequest(['all']).kinds.map((k) => k.kind), ['Pod', 'ReplicationController', 'Service', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet', 'Job', 'CronJob'], 'all: what kubectl lists, Services included');
  t.same(getRequest(['deployment/web', 'pod/x']).targets.map((x) => `${x.info.kind}/${x.name}`), ['Deployment/web', 'Pod/x']);
  t.throws(() => getRequest([]), { message: /^you must specify the type of resource to get/ });
  t.throws(() => getRequest(['widgets']), { message: 'the server doesn\'t have a resource type "widgets"' });
  t.throws(() => getRequest(['pods', 'x', '-l', 'app=web']), { message: 'name cannot be provided when a selector is specified' });
  t.throws(() => getRequest(['pods,deploy', '-w']), { message: /^watch is only supported on individual resources/ });
  t.throws(() => getRequest(['pods', '-o', 'table']), { message: /^unable to match a printer suitable for the output format "table"/ });
  t.throws(() => getRequest(['pods', '--watch-only']), { message: 'unknown flag: --watch-only' });
});

t.test('targets for scale and rollout', async (t) => {
  t.same(singleTarget(['deployment/web'], 'u', ['Deployment']).name, 'web');
  t.same(singleTarget(['deploy', 'web'], 'u', ['Deployment']).name, 'web');
  t.throws(() => singleTarget(['pod/x'], 'berth scale', ['Deployment']), { message: 'pods cannot be used here (berth scale); it works on: deployments' });
  t.throws(() => singleTarget(['deploy', 'a', 'b'], 'berth scale', ['Deployment']), { message: 'berth scale takes exactly one resource' });
  t.throws(() => parseTargets(['deployment/'], 'u'), { message: 'arguments in resource/name form must have a single resource and name, got "deployment/"' });
});

t.test('errors print as kubectl prints them', async (t) => {
  t.equal(errorText(new ServerError('not-found', 'pods "x" not found')), 'Error from server (NotFound): pods "x" not found');
  t.equal(errorText(new CliError('bad flag')), 'error: bad flag');
  t.equal(errorText(serverErrorOf({ code: 10, details: 'the object has been modified', message: '' }, 'h:1')), 'Error from server (Conflict): the object has been modified');
  const refused = serverErrorOf({ code: 14, details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7443', message: '' }, '127.0.0.1:7443');
  t.ok(refused.connection);
  t.match(errorText(refused), /^The connection to the controller 127\.0\.0\.1:7443 was refused/);
});

t.test('sizes, as docker reads --keep-storage: binary units with or without i and B; junk refused by name', async (t) => {
  const cases: Array<[string, number]> = [['100', 100], ['1k', 1024], ['512MB', 512 * 1024 ** 2], ['2Gi', 2 * 1024 ** 3], ['2GiB', 2 * 1024 ** 3], ['1.5g', 1.5 * 1024 ** 3], ['5ki', 5 * 1024], ['1T', 1024 ** 4], ['7b', 7]];
  for (const [text, bytes] of cases) t.equal(sizeFlag('keep-storage', text), bytes, text);
  for (const bad of ['ten', '2Q', '-1G', '1 GB x', '']) {
    t.throws(() => sizeFlag('builder-keep-storage', bad), { message: `invalid --builder-keep-storage "${bad}": a size such as 512MB or 2GB` }, JSON.stringify(bad));
  }
});

t.test('build --secret: from a file, a variable, the variable named by the id; bad ones named', async (t) => {
  const dir = t.testdir({ token: 'from-file' });
  process.env.BERTH_TEST_SECRET = 'from-env';
  process.env.berth_id_secret = 'by-id';
  t.teardown(() => {
    delete process.env.BERTH_TEST_SECRET;
    delete process.env.berth_id_secret;
  });
  const got = readSecrets([`id=a,src=${path.join(dir, 'token')}`, 'id=b,env=BERTH_TEST_SECRET', 'id=berth_id_secret', 'id=c,type=env,src=BERTH_TEST_SECRET']);
  t.same(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.toString()])), { a: 'from-file', b: 'from-env', berth_id_secret: 'by-id', c: 'from-env' });
  const bad: Array<[string, RegExp]> = [
    ['src=/x', /invalid --secret "src=\/x": id=ID is required/],
    ['id=a,path=/x', /unexpected key "path" \(id, src, env, type\)/],
    ['id=a,type=ssh', /type=ssh: file or env/],
    ['id=a,env=BERTH_UNSET_VARIABLE', /--secret id=a: the environment variable BERTH_UNSET_VARIABLE is not set/],
    [`id=a,src=${path.join(dir, 'missing')}`, /--secret id=a: cannot read .*missing: ENOENT/],
  ];
  for (const [flag, message] of bad) t.throws(() => readSecrets([flag]), { constructor: CliError, message }, flag);
});
