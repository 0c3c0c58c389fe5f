// Pod cgroups over a directory laid out like /sys/fs/cgroup (v1: one tree per controller; v2: one
// unified tree), so that the rules are checked without a host: where a limit is written, what is
// removed, and the ceiling a pod's limit may not exceed. The real hierarchy is exercised by the
// node tests.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t, { type Test } from 'tap';
import { CgroupGroups, checkGroupName, effectivePidsLimit } from '../../agent/runtime';

function v1(t: Test) {
  const dir = t.testdir({ cgroup: { pids: { berth: { 'pids.max': '10000\n' } }, memory: { berth: {} }, cpu: { berth: {} } }, kernel: { pid_max: '32768\n', 'threads-max': '192738\n' } });
  return { root: path.join(dir, 'cgroup'), kernelDir: path.join(dir, 'kernel') };
}

t.test('cgroup v1: the limit goes to the pids tree; removal covers every tree runc made the group in', async (t) => {
  const { root, kernelDir } = v1(t);
  const groups = new CgroupGroups({ parent: '/berth/', root, kernelDir });
  t.notOk(groups.exists('pod-1'));
  groups.ensure('pod-1', { pids: 4096 });
  t.ok(groups.exists('pod-1'));
  t.same(groups.list(), ['pod-1']);
  t.equal(fs.readFileSync(path.join(root, 'pids/berth/pod-1/pids.max'), 'utf8'), '4096');
  t.equal(groups.pidsLimit('pod-1'), 4096);
  groups.ensure('pod-1', {});
  t.equal(fs.readFileSync(path.join(root, 'pids/berth/pod-1/pids.max'), 'utf8'), 'max', 'ensure rewrites the limit: none');
  t.equal(groups.pidsLimit('pod-1'), undefined);
  // runc makes the group in the other trees when it makes a container's cgroup below it.
  fs.mkdirSync(path.join(root, 'memory/berth/pod-1/c1'), { recursive: true });
  fs.rmSync(path.join(root, 'pids/berth/pod-1/pids.max'));
  t.throws(() => groups.remove('pod-1'), { code: 'failed-precondition', message: /still holds a container/ }, 'not while a container is inside');
  fs.rmdirSync(path.join(root, 'memory/berth/pod-1/c1'));
  groups.remove('pod-1');
  for (const tree of ['pids', 'memory', 'cpu']) t.notOk(fs.existsSync(path.join(root, tree, 'berth/pod-1')), `gone from ${tree}`);
  groups.remove('pod-1');
  t.pass('removing again is harmless');
});

t.test("the ceiling: the kernel's pid_max and threads-max, and the parents' pids limits", async (t) => {
  const { root, kernelDir } = v1(t);
  t.equal(new CgroupGroups({ parent: '/berth', root, kernelDir }).pidsCeiling(), 10000, "the agent's parent says 10000");
  fs.writeFileSync(path.join(root, 'pids/berth/pids.max'), 'max\n');
  t.equal(new CgroupGroups({ parent: '/berth', root, kernelDir }).pidsCeiling(), 32768, 'then pid_max');
  t.same(effectivePidsLimit(4096, 32768), { pids: 4096, clamped: false });
  t.same(effectivePidsLimit(100_000, 32768), { pids: 32768, clamped: true });
  t.same(effectivePidsLimit(undefined, 32768), { clamped: false }, 'unlimited stays unlimited');
});

t.test('cgroup v2: pids is enabled down to the group, which holds its own limit', async (t) => {
  const dir = t.testdir({ cgroup: { 'cgroup.controllers': 'cpu memory pids\n', 'cgroup.subtree_control': 'memory\n' }, kernel: {} });
  const root = path.join(dir, 'cgroup');
  const groups = new CgroupGroups({ parent: '/berth', root, kernelDir: path.join(dir, 'kernel') });
  groups.ensure('pod-2', { pids: 64 });
  t.equal(fs.readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8'), '+pids', 'the root passes pids down');
  t.equal(fs.readFileSync(path.join(root, 'berth/cgroup.subtree_control'), 'utf8'), '+pids', 'and the parent');
  t.equal(fs.readFileSync(path.join(root, 'berth/pod-2/pids.max'), 'utf8'), '64');
  fs.rmSync(path.join(root, 'berth/pod-2/pids.max'));
  groups.remove('pod-2');
  t.notOk(fs.existsSync(path.join(root, 'berth/pod-2')));
});

t.test('a group name is one path segment', async (t) => {
  t.equal(checkGroupName('pod-0123-abcd'), 'pod-0123-abcd');
  for (const bad of ['..', '.', 'a/b', '', '../x', '-x']) t.throws(() => checkGroupName(bad), { code: 'invalid-argument', message: `invalid cgroup group name "${bad}"` });
});
