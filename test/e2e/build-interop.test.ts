// An image berth builds is one other engines accept: built from a two-stage Dockerfile (a copy
// between stages, a file deleted from the base, a directory replaced, hard links, owners and
// modes), pushed to a real registry, then copied by skopeo (which checks every digest) and
// unpacked by umoci: the manifest and config are valid by the OCI image-spec's own schemas, and
// umoci's tree is the one a berth container of the image sees.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { validateDocument } from '../../agent/oci/validate';
import { startTestAgent } from '../fixtures/agent';
import { buildImage, fullBusyboxLayer, pushImage } from '../fixtures/images';
import { startRegistry } from '../fixtures/registry';

t.test('a berth-built image, pushed, is what skopeo and umoci read', async (t) => {
  const registry = await startRegistry(t);
  await pushImage(registry.host, 'lib/busybox:1', await buildImage({
    layers: [fullBusyboxLayer()],
    config: { config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } },
  }));
  const base = `${registry.host}/lib/busybox:1`;
  const dir = t.testdir({
    ctx: {
      Dockerfile: `FROM ${base} AS build
RUN mkdir -p /out && echo compiled > /out/app && chmod 750 /out/app && ln -s app /out/app-link
FROM ${base}
COPY --from=build /out/ /opt/app/
RUN mkdir -p /srv/old && echo old > /srv/old/f && echo old > /srv/top
RUN rm /bin/vi && rm -rf /srv && mkdir /srv && echo fresh > /srv/only
RUN mkdir /data && echo kept > /data/keep && ln /data/keep /data/hard && chown 1000:50 /data/keep
ENV GREETING=hi
CMD ["/opt/app/app"]
`,
    },
    work: {},
  });
  const agent = await startTestAgent(t, path.join(dir, 'agent'));
  const ref = `${registry.host}/interop:1`;
  const built = await agent.berthAsync(['build', '-q', '-t', ref, path.join(dir, 'ctx')]);
  t.equal(built.status, 0, built.stderr);
  const pushed = await agent.berthAsync(['push', ref]);
  t.equal(pushed.status, 0, pushed.stderr);

  // skopeo verifies each blob against its digest as it copies.
  const layout = path.join(dir, 'work', 'layout');
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:1`], { stdio: 'pipe' });
  const blob = (digest: string) => JSON.parse(fs.readFileSync(path.join(layout, 'blobs', ...digest.split(':')), 'utf8'));
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const manifest = blob(index.manifests[0].digest);
  const config = blob(manifest.config.digest);
  t.doesNotThrow(() => validateDocument('manifest', manifest, 'manifest'), 'the manifest is valid by the image-spec schema');
  t.doesNotThrow(() => validateDocument('config', config, 'config'), 'the config too');
  t.equal(config.rootfs.diff_ids.length, manifest.layers.length, 'one diff ID per layer');
  t.equal(config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length, manifest.layers.length, 'history rows with a layer match the layers');
  t.ok(config.config.Env.includes('GREETING=hi'));
  t.same(config.config.Cmd, ['/opt/app/app']);

  execFileSync('umoci', ['unpack', '--image', `${layout}:1`, path.join(dir, 'work', 'bundle')], { stdio: 'pipe' });
  const rootfs = path.join(dir, 'work', 'bundle', 'rootfs');
  const at = (p: string) => path.join(rootfs, p);
  t.equal(fs.readFileSync(at('opt/app/app'), 'utf8'), 'compiled\n', 'the file copied from the other stage');
  t.equal(fs.statSync(at('opt/app/app')).mode & 0o7777, 0o750, 'its mode');
  t.equal(fs.readlinkSync(at('opt/app/app-link')), 'app', 'a symlink stays one');
  t.notOk(fs.existsSync(at('bin/vi')), 'a file deleted from the base is gone (a whiteout)');
  t.ok(fs.existsSync(at('bin/sh')), 'its siblings stay');
  t.same(fs.readdirSync(at('srv')), ['only'], 'a directory replaced shows only its new content (opaque)');
  const keep = fs.statSync(at('data/keep'));
  t.equal(fs.statSync(at('data/hard')).ino, keep.ino, 'hard links are one inode');
  t.same([keep.uid, keep.gid], [1000, 50], 'owners kept');

  // The same tree in a berth container of the image.
  const seen = await agent.berthAsync(['run', '--rm', '--network', 'none', ref, 'sh', '-c',
    'cat /opt/app/app; stat -c %a /opt/app/app; readlink /opt/app/app-link; test -e /bin/vi || echo no-vi; ls /srv; stat -c %u:%g /data/keep; [ /data/keep -ef /data/hard ] && echo linked']);
  t.equal(seen.stdout, 'compiled\n750\napp\nno-vi\nonly\n1000:50\nlinked\n', seen.stderr);
});
