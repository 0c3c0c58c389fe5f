// RUN --mount's flag as BuildKit reads it: each type's fields and defaults, and every bad flag
// refused with what is wrong in it. Pure (the mounts themselves: test/cli/build.test.ts).

import t from 'tap';
import { MountError, parseRunMount } from '../../agent/build/run-mounts';

t.test('each type, its defaults and spellings', async (t) => {
  t.same(parseRunMount('target=/src', '/'), { type: 'bind', target: '/src', source: '', readwrite: false }, 'bind is the default type');
  t.same(parseRunMount('type=bind,from=builder,src=/out,dst=out,rw', '/work'), { type: 'bind', target: '/work/out', source: '/out', from: 'builder', readwrite: true }, 'a relative target is in the working directory; src, dst, rw');
  t.same(parseRunMount('type=cache,target=/root/.cache', '/'), { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'shared', readonly: false, mode: 0o755, uid: 0, gid: 0 }, 'a cache is named by its target unless given an id');
  t.same(parseRunMount('type=cache,id=go,target=/go/pkg,sharing=locked,mode=0700,uid=1000,gid=100,ro', '/'), { type: 'cache', target: '/go/pkg', id: 'go', sharing: 'locked', readonly: true, mode: 0o700, uid: 1000, gid: 100 });
  t.same(parseRunMount('type=tmpfs,target=/scratch,size=64m', '/'), { type: 'tmpfs', target: '/scratch' });
  t.same(parseRunMount('type=secret,id=token', '/'), { type: 'secret', id: 'token', target: '/run/secrets/token', required: false, mode: 0o400, uid: 0, gid: 0 }, 'a secret is a file in /run/secrets');
  t.same(parseRunMount('type=secret,id=token,env=TOKEN,required', '/'), { type: 'secret', id: 'token', env: 'TOKEN', required: true, mode: 0o400, uid: 0, gid: 0 }, 'with env and no target: only the variable');
  t.same(parseRunMount('type=secret,target=/etc/aws/credentials', '/'), { type: 'secret', id: 'credentials', target: '/etc/aws/credentials', required: false, mode: 0o400, uid: 0, gid: 0 }, 'named by its target');
  t.same(parseRunMount('"type=bind","target=/a,b"', '/'), { type: 'bind', target: '/a,b', source: '', readwrite: false }, 'quoted fields, as CSV');
  t.same(parseRunMount('type=bind,target=/t,readonly=0', '/'), { type: 'bind', target: '/t', source: '', readwrite: true }, 'booleans as Go reads them');
  t.equal((parseRunMount('type=cache,target=/c,rw=false', '/') as { readonly: boolean }).readonly, true, 'a cache may say rw=false');
  const vars = new Map([['SRC', 'x,rw'], ['DIR', '/cache']]);
  const expand = (v: string) => v.replace(/\$(\w+)/g, (_, k: string) => vars.get(k) ?? '');
  t.same(parseRunMount('type=bind,source=$SRC,target=$DIR', '/', expand), { type: 'bind', target: '/cache', source: 'x,rw', readwrite: false }, 'values are expanded after the fields are split: a variable\'s comma makes no field');
});

t.test('bad flags, one at a time', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['type=volume,target=/x', /unknown mount type "volume" \(bind, cache, tmpfs, secret or ssh\)/],
    ['type=ssh', /type=ssh is not supported/],
    ['type=cache', /type=cache needs a target/],
    ['type=cache,target=/x,size=1g', /"size" is not an option of type=cache/],
    ['type=cache,target=/x,sharing=sometimes', /sharing=sometimes: shared, private or locked/],
    ['type=cache,target=/x,mode=rwx', /mode=rwx is not an octal mode such as 0755/],
    ['type=cache,target=/x,uid=root', /uid=root is not a user or group ID/],
    ['type=cache,target=/x,gid=99999999999', /gid=99999999999 is not a user or group ID/],
    ['type=cache,target=/x,from=builder', /seeded from another stage \(from, source\) is not supported/],
    ['type=bind,target=/x,readonly=maybe', /readonly=maybe is not true or false/],
    ['type=bind,target=/x,target=/y', /"target" is given twice/],
    ['type=secret', /type=secret needs an id/],
    ['type=secret,id=x,env=1BAD', /env=1BAD is not a variable name/],
    ['type=bind,target="/x', /an unterminated quote/],
  ];
  for (const [flag, message] of cases) t.throws(() => parseRunMount(flag, '/'), { constructor: MountError, message }, flag);
});
