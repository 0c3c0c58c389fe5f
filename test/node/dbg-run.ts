import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { startController } from '../../controller';
import { loadClusterApi } from '../../proto';
import { buildImage, busyboxLayer, pushImage } from '../../test/fixtures/images';
import { startRegistry } from '../../test/fixtures/registry';
import { makeTestHost } from '../../test/fixtures/agent';

async function main() {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (f: () => unknown) => teardowns.push(f) };
  const registry = await startRegistry(t as never);
  const image = await buildImage({ layers: [busyboxLayer()], config: { config: { Cmd: ['sh'] } } });
  await pushImage(registry.host, 'box:1', image);
  fs.rmSync('/tmp/dbg/root', { recursive: true, force: true });
  fs.mkdirSync('/tmp/dbg/root/ctl', { recursive: true });
  const controller = await startController({ dataRoot: '/tmp/dbg/root/ctl', listen: '127.0.0.1:0' });
  const host = makeTestHost(t as never);
  const agent = spawn('node', ['dist/cli/main.js', 'agent', '--data-root', '/tmp/dbg/root/agent-root', '--socket', '/tmp/dbg/a.sock', '--run-dir', host.runDir, '--cgroup-parent', host.cgroupParent, '--bridge', host.bridge, '--subnet', host.subnet, '--controller', controller.address, '--node-name', 'n1'], { stdio: 'inherit' });
  const client = new (loadClusterApi().berth.cluster.v1.Cluster)(controller.address, grpc.credentials.createInsecure()) as any;
  const pod = JSON.parse(process.argv[2] ?? 'null') ?? { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: `${registry.host}/box:1`, command: ['sh', '-c', 'echo hi; exec sleep 100'] }] } };
  pod.spec.containers.forEach((c: any) => { c.image = c.image.replace('REG', registry.host); });
  await new Promise((r) => setTimeout(r, 1500));
  await new Promise((res, rej) => client.apply({ objects: [{ json: JSON.stringify(pod) }] }, (e: any, r: any) => (e ? rej(e) : res(r))));
  for (let i = 0; i < Number(process.env.ROUNDS ?? 8); i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const o: any = await new Promise((res) => client.get({ kind: 'Pod', namespace: 'default', name: pod.metadata.name }, (e: any, r: any) => res(e ? { json: JSON.stringify({ error: e.details }) } : r)));
    console.log('STATUS', JSON.stringify(JSON.parse(o.json).status ?? JSON.parse(o.json)));
  }
  await new Promise((res) => client.delete({ kind: 'Pod', namespace: 'default', name: pod.metadata.name }, () => res(0)));
  await new Promise((r) => setTimeout(r, 4000));
  const o: any = await new Promise((res) => client.get({ kind: 'Pod', namespace: 'default', name: pod.metadata.name }, (e: any, r: any) => res(e ? { json: JSON.stringify({ error: e.details }) } : r)));
  console.log('AFTER DELETE', o.json.slice(0, 300));
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await controller.stop();
  for (const f of teardowns.reverse()) await f();
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
