// Localhost seccomp profiles: only files below the node's profile root, whatever the pod names.

import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { readLocalhostProfile } from '../../agent/node/seccomp-profiles';

t.test('a profile below the root is read; a name that leaves the root is refused', async (t) => {
  const dir = t.testdir({
    seccomp: { 'audit.json': '{"defaultAction":"SCMP_ACT_LOG"}', team: { 'web.json': '{"defaultAction":"SCMP_ACT_ALLOW"}' }, 'a-dir': {} },
    outside: { 'secret.json': '{"leak":true}' },
  });
  const root = path.join(dir, 'seccomp');
  fs.symlinkSync(path.join(dir, 'outside', 'secret.json'), path.join(root, 'escape.json'));
  fs.symlinkSync(path.join(dir, 'outside'), path.join(root, 'out'));
  t.equal(readLocalhostProfile(root, 'audit.json'), '{"defaultAction":"SCMP_ACT_LOG"}');
  t.equal(readLocalhostProfile(root, 'team/web.json'), '{"defaultAction":"SCMP_ACT_ALLOW"}');
  const refused: Array<[string, RegExp]> = [
    ['../outside/secret.json', /^seccomp localhostProfile "\.\.\/outside\/secret\.json": must not contain '\.\.'$/],
    [path.join(dir, 'outside', 'secret.json'), /must be a relative path/],
    ['escape.json', /resolves outside/],
    ['out/secret.json', /resolves outside/],
    ['a-dir', /is not a regular file/],
    ['missing.json', /no such profile under .* \(ENOENT\)/],
    ['', /must not be empty/],
  ];
  for (const [name, message] of refused) t.throws(() => readLocalhostProfile(root, name), { code: 'invalid-argument', message }, name);
});
