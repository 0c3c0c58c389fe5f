// The CLI's light codecs for the Cluster service against protobufjs (what the controller uses):
// the same bytes both ways for every message the CLI sends or receives.

import t from 'tap';
import { clusterDefinition } from '../../proto/definition';
import { descriptor } from '../../proto/gen/cluster-descriptor';
import { clusterLiteDefinition, liteDefinition, reachableMessages } from '../../cli/grpc/lite-definition';

type Full = { path: string; requestSerialize: (v: object) => Buffer; requestDeserialize: (b: Buffer) => object; responseSerialize: (v: object) => Buffer; responseDeserialize: (b: Buffer) => object };

const lite = clusterLiteDefinition()['berth.cluster.v1.Cluster']!;
const full = clusterDefinition()['berth.cluster.v1.Cluster'] as unknown as Record<string, Full>;

const requests: Record<string, object> = {
  Apply: { objects: [{ json: '{"kind":"Pod"}' }, { json: '{}' }], dryRun: true, applySet: 'files-0123', prune: true },
  Get: { kind: 'Deployment', namespace: 'shop', name: 'wéb' },
  List: { kind: 'pods', namespace: '', labelSelector: 'app=web,tier in (a,b)', fieldSelector: 'spec.nodeName=n1' },
  Update: { json: '{"kind":"Deployment","spec":{"replicas":3}}' },
  Delete: { kind: 'Pod', namespace: 'default', name: 'x' },
  Watch: { kind: 'Event', namespace: 'default', labelSelector: '', fieldSelector: 'involvedObject.name=x', resourceVersion: '42' },
  Logs: { namespace: 'default', name: 'p', container: 'c', follow: true, tailLines: -1, timestamps: true },
};

const responses: Record<string, object> = {
  Apply: { results: [{ kind: 'Deployment', namespace: 'default', name: 'web', action: 'configured', object: { json: '{"a":1}' } }, { kind: 'Namespace', namespace: '', name: 'shop', action: 'created', object: null }] },
  Get: { json: '{"kind":"Pod"}' },
  List: { items: [{ json: '{}' }, { json: '{"x":"ü"}' }], resourceVersion: '9007199254740993' },
  Update: { json: '' },
  Delete: { deleted: [{ json: '{}' }] },
  Watch: { type: 'SYNCED', object: null, resourceVersion: '17' },
  Logs: { data: Buffer.from([0, 1, 2, 0xff, 10]) },
};

t.test('only the Cluster service, with every method', async (t) => {
  t.same(Object.keys(clusterLiteDefinition()), ['berth.cluster.v1.Cluster']);
  t.same(Object.keys(lite).sort(), Object.keys(full).sort());
  t.ok(lite.Watch!.responseStream && !lite.Watch!.requestStream, 'Watch streams its responses');
  t.ok(lite.Logs!.responseStream);
  t.equal(lite.Get!.path, '/berth.cluster.v1.Cluster/Get');
});

t.test('requests: the light encoding decodes with protobufjs to what was sent', async (t) => {
  for (const [method, req] of Object.entries(requests)) {
    t.same(full[method]!.requestDeserialize(lite[method]!.requestSerialize(req)), req, `${method} request`);
  }
});

t.test('responses: what the controller encodes, the CLI decodes as grpc-js would', async (t) => {
  for (const [method, res] of Object.entries(responses)) {
    const bytes = full[method]!.responseSerialize(res);
    t.same(lite[method]!.responseDeserialize(bytes), full[method]!.responseDeserialize(bytes), `${method} response`);
  }
});

t.test('reachableMessages keeps what the roots reach and nothing else', async (t) => {
  const pruned = reachableMessages(descriptor.messages as never, ['berth.cluster.v1.ApplyResponse']) as { nested: { berth: { nested: { cluster: { nested: { v1: { nested: Record<string, unknown> } } } } } } };
  t.same(Object.keys(pruned.nested.berth.nested.cluster.nested.v1.nested).sort(), ['ApplyResponse', 'ApplyResult', 'Object']);
  t.ok(liteDefinition()['berth.agent.v1.Images']!.Pull, 'the agent\'s services are still there');
});
