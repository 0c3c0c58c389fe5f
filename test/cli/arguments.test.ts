// The cluster verbs' arguments: the controller's address and where it comes from, which verbs
// are the cluster's, flags and their errors in kubectl's words, apply sets.

import * as path from 'node:path';
import t from 'tap';
import { applyFlags } from '../../cli/cluster/apply-round';
import { applySetName, defaultApplySet } from '../../cli/cluster/apply-set';
import { parseFlags } from '../../cli/common/args';
import { CliError } from '../../cli/common/errors';
import { errorText, ServerError, serverErrorOf } from '../../cli/cluster/errors';
import { getRequest } from '../../cli/cluster/get';
import { isClusterVerb } from '../../cli/cluster';
import { parseTargets, singleTarget } from '../../cli/cluster/resource-names';
import { DEFAULT_SERVER, resolveServer, serverOfConfig, type ServerAddress } from '../../cli/cluster/server-address';
import { parseHostPort } from '../../cli/grpc/grpc-lite';

const HOME = '/home/u';
const CONFIG = '/home/u/.berth/config';
const files = (map: Record<string, string>) => (f: string) => map[f];

t.test('controller address: --server, then BERTH_SERVER, then ~/.berth/config, then the default', async (t) => {
  const config = files({ [CONFIG]: 'server: 10.0.0.1:7443\n' });
  t.same(resolveServer({ flag: '10.0.0.9:1', env: { BERTH_SERVER: '10.0.0.8:2' }, home: HOME, readFile: config }), { address: '10.0.0.9:1', source: 'flag' });
  t.same(resolveServer({ flag: undefined, env: { BERTH_SERVER: '10.0.0.8:2' }, home: HOME, readFile: config }), { address: '10.0.0.8:2', source: 'env' });
  t.same(resolveServer({ flag: undefined, env: {}, home: HOME, readFile: config }), { address: '10.0.0.1:7443', source: 'config' });
  t.same(resolveServer({ flag: undefined, env: {}, home: HOME, readFile: files({}) }), { address: DEFAULT_SERVER, source: 'default' });
  t.equal(DEFAULT_SERVER, '127.0.0.1:7443', 'the controller\'s default --listen');
  t.same(resolveServer({ flag: undefined, env: { BERTH_SERVER: '' }, home: HOME, readFile: files({ [CONFIG]: '# nothing here\n' }) }).source, 'default', 'an empty variable and a config without server configure nothing');
  t.throws(() => resolveServer({ flag: 'localhost', env: {}, home: HOME, readFile: files({}) }), { message: '--server: "localhost" is not HOST:PORT (for example 127.0.0.1:7443)' });
  t.throws(() => resolveServer({ flag: undefined, env: { BERTH_SERVER: 'a:b' }, home: HOME, readFile: files({}) }), { message: /^BERTH_SERVER: "a:b" is not HOST:PORT/ });
  t.throws(() => resolveServer({ flag: undefined, env: {}, home: HOME, readFile: files({ [CONFIG]: 'server: 70000\n' }) }), { message: /^\/home\/u\/\.berth\/config: server: "70000" is not HOST:PORT/ });
});

t.test('config file: one line, or any YAML mapping with server', async (t) => {
  t.equal(serverOfConfig('server: "[::1]:7443"  # local\n', CONFIG), '[::1]:7443');
  t.equal(serverOfConfig('# the cluster\nnamespace: shop\nserver: h:1\n', CONFIG), 'h:1');
  t.equal(serverOfConfig('', CONFIG), undefined);
  t.throws(() => serverOfConfig('server: [1, 2\n', CONFIG), { message: /^\/home\/u\/\.berth\/config: not valid YAML/ });
  t.throws(() => serverOfConfig('- a\n', CONFIG), { message: '/home/u/.berth/config: expected a mapping such as "server: 127.0.0.1:7443"' });
  t.throws(() => serverOfConfig('server: 5\nx: 1\n', CONFIG), { message: '/home/u/.berth/config: server: must be a string HOST:PORT' });
});

t.test('HOST:PORT', async (t) => {
  t.same(parseHostPort('127.0.0.1:7443'), { host: '127.0.0.1', port: 7443 });
  t.same(parseHostPort('controller.local:80'), { host: 'controller.local', port: 80 });
  t.same(parseHostPort('[::1]:7443'), { host: '::1', port: 7443 });
  for (const bad of ['::1:7443', 'host', 'host:0', 'host:65536', ':80', 'host:80x']) t.equal(parseHostPort(bad), undefined, bad);
});

t.test('logs and diff are the cluster\'s only when a controller is configured', async (t) => {
  const none = (): ServerAddress => ({ address: DEFAULT_SERVER, source: 'default' });
  const env = (): ServerAddress => ({ address: 'h:1', source: 'env' });
  const broken = (): ServerAddress => {
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
  t.same(getRequest(['all']).kinds.map((k) => k.kind), ['Pod', 'Deployment', 'ReplicaSet']);
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
