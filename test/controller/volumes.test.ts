// Persistent storage decisions: the binder (a claim to the smallest volume that fits, one reserved
// for it first; classes, access modes, selectors), local-path provisioning on the claim's selected
// node for WaitForFirstConsumer classes, the reclaim policies (Retain keeps, Delete deletes what
// berth made, fails for volumes made by hand), a lost volume; and the scheduler's part: a pod
// follows its bound volume's node, waits-for-consumer claims are given the chosen node first, and
// the reasons when nothing fits.

import t from 'tap';
import {
  LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT_ANNOTATION, SELECTED_NODE_ANNOTATION, withDefaults,
  type Node, type PersistentVolume, type PersistentVolumeClaim, type Pod, type StorageClass,
} from '../../proto/resources';
import { plan, type VolumeAction, type VolumePlan, type VolumeWorld } from '../../controller/controllers/volume';
import { plan as schedule } from '../../controller/controllers/scheduler';

const readyNode = (name: string, root = `/var/lib/berth-${name}/storage`): Node => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name }, annotations: { [LOCAL_PATH_ROOT_ANNOTATION]: root } },
  status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '4', memory: '8Gi', pods: '110' } },
});

function claimOf(name: string, spec: Partial<PersistentVolumeClaim['spec']> = {}, annotations?: Record<string, string>): PersistentVolumeClaim {
  return withDefaults<PersistentVolumeClaim>({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: '2024-05-01T12:00:00Z', ...(annotations ? { annotations } : {}) },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
  });
}

function volumeOf(name: string, spec: Partial<PersistentVolume['spec']> = {}, labels?: Record<string, string>): PersistentVolume {
  return withDefaults<PersistentVolume>({
    apiVersion: 'v1', kind: 'PersistentVolume',
    metadata: { name, uid: `pv-${name}`, ...(labels ? { labels } : {}) },
    spec: { capacity: { storage: '2Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/mnt/${name}` }, ...spec },
    status: { phase: 'Available' },
  });
}

const localPath: StorageClass = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'local-path' }, provisioner: LOCAL_PATH_PROVISIONER, reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer' };
const world = (w: Partial<VolumeWorld>): VolumeWorld => ({ claims: [], volumes: [], classes: [localPath], nodes: [readyNode('n1'), readyNode('n2')], ...w });
const of = <K extends VolumeAction['type']>(p: VolumePlan, type: K) => p.actions.filter((a): a is Extract<VolumeAction, { type: K }> => a.type === type);
const reasons = (p: VolumePlan) => of(p, 'event').map((a) => `${a.event.reason}: ${a.event.message}`);

t.test('a claim binds to the smallest volume that fits: class, access modes, size, selector', async (t) => {
  const claim = claimOf('data', { storageClassName: 'manual', selector: { matchLabels: { tier: 'db' } } });
  const volumes = [
    volumeOf('big', { storageClassName: 'manual', capacity: { storage: '10Gi' } }, { tier: 'db' }),
    volumeOf('small', { storageClassName: 'manual', capacity: { storage: '1Gi' } }, { tier: 'db' }),
    volumeOf('tiny', { storageClassName: 'manual', capacity: { storage: '500Mi' } }, { tier: 'db' }),
    volumeOf('other-class', { storageClassName: 'fast', capacity: { storage: '1Gi' } }, { tier: 'db' }),
    volumeOf('read-only', { storageClassName: 'manual', accessModes: ['ReadOnlyMany'], capacity: { storage: '1Gi' } }, { tier: 'db' }),
    volumeOf('unlabelled', { storageClassName: 'manual', capacity: { storage: '1Gi' } }),
  ];
  t.same(of(plan(world({ claims: [claim], volumes })), 'bind').map((a) => a.volume.name), ['small']);
  const reserved = volumeOf('reserved', { storageClassName: 'manual', capacity: { storage: '10Gi' }, claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data' } }, { tier: 'db' });
  t.same(of(plan(world({ claims: [claim], volumes: [...volumes, reserved] })), 'bind').map((a) => a.volume.name), ['reserved'], 'a volume reserved for the claim comes first');
  const two = plan(world({ claims: [claimOf('a', { storageClassName: '' }), claimOf('b', { storageClassName: '' })], volumes: [volumeOf('only')] }));
  t.same(of(two, 'bind').map((a) => `${a.claim.name}->${a.volume.name}`), ['a->only'], 'one volume, two claims: one binds');
  t.same(reasons(two), ['FailedBinding: no persistent volumes available for this claim and no storage class is set']);
  t.same(of(two, 'claim-status').map((a) => `${a.claim.name}:${a.status.phase}`), ['b:Pending']);
});

t.test('WaitForFirstConsumer: the claim waits for a node, then local-path makes a volume there', async (t) => {
  const waiting = plan(world({ claims: [claimOf('data', { storageClassName: 'local-path' })] }));
  t.same(reasons(waiting), ['WaitForFirstConsumer: waiting for first consumer to be created before binding']);
  t.same(of(waiting, 'provision'), []);
  const claim = claimOf('data', { storageClassName: 'local-path' }, { [SELECTED_NODE_ANNOTATION]: 'n2' });
  const made = plan(world({ claims: [claim] }));
  const [provision] = of(made, 'provision');
  t.ok(provision, 'a volume is made');
  const pv = provision!.volume;
  t.equal(pv.metadata.name, 'pvc-uid-data');
  t.equal(pv.spec.hostPath?.path, '/var/lib/berth-n2/storage/pvc-uid-data_default_data', "in the node's local-path root");
  t.same(pv.spec.nodeAffinity?.required?.nodeSelectorTerms, [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n2'] }] }]);
  t.match(pv.spec, { persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'local-path', capacity: { storage: '1Gi' }, claimRef: { name: 'data', uid: 'uid-data' } });
  t.same(reasons(made), ['ProvisioningSucceeded: Successfully provisioned volume pvc-uid-data']);
  // The next pass binds the claim to its reserved volume.
  t.same(of(plan(world({ claims: [claim], volumes: [pv] })), 'bind').map((a) => a.volume.name), ['pvc-uid-data']);
  const gone = plan(world({ claims: [claimOf('x', { storageClassName: 'local-path' }, { [SELECTED_NODE_ANNOTATION]: 'n9' })] }));
  t.match(reasons(gone), [/ProvisioningFailed: .*node "n9" not found/]);
  const immediate = plan(world({ claims: [claimOf('x', { storageClassName: 'lp-now' })], classes: [{ ...localPath, metadata: { name: 'lp-now' }, volumeBindingMode: 'Immediate' }] }));
  t.match(reasons(immediate), [/ProvisioningFailed: .*WaitForFirstConsumer/]);
  const external = plan(world({ claims: [claimOf('x', { storageClassName: 'ebs' })], classes: [{ ...localPath, metadata: { name: 'ebs' }, provisioner: 'ebs.csi.aws.com', volumeBindingMode: 'Immediate' }] }));
  t.match(reasons(external), [/ExternalProvisioning: Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com'/]);
  t.match(reasons(plan(world({ claims: [claimOf('x', { storageClassName: 'nope' })] }))), [/ProvisioningFailed: storageclass.storage.k8s.io "nope" not found/]);
});

t.test('volume attributes classes: claims bind only to volumes of theirs; local-path makes them for its own driver', async (t) => {
  const gold = { apiVersion: 'storage.k8s.io/v1' as const, kind: 'VolumeAttributesClass' as const, metadata: { name: 'gold' }, driverName: LOCAL_PATH_PROVISIONER };
  const foreign = { ...gold, metadata: { name: 'fast' }, driverName: 'ebs.csi.aws.com' };
  const claim = (vac: string) => claimOf('data', { storageClassName: 'local-path', volumeAttributesClassName: vac }, { [SELECTED_NODE_ANNOTATION]: 'n1' });
  const made = plan(world({ claims: [claim('gold')], attributeClasses: [gold, foreign] }));
  const [provision] = of(made, 'provision');
  t.equal(provision?.volume.spec.volumeAttributesClassName, 'gold', 'the volume carries the class');
  const bound = plan(world({ claims: [{ ...claim('gold'), spec: { ...claim('gold').spec, volumeName: provision!.volume.metadata.name } }], volumes: [provision!.volume], attributeClasses: [gold] }));
  t.equal(of(bound, 'claim-status')[0]?.status.currentVolumeAttributesClassName, 'gold', 'the bound claim says which class it has');
  t.match(reasons(plan(world({ claims: [claim('nope')], attributeClasses: [gold] }))), [/ProvisioningFailed: failed to provision volume with StorageClass "local-path": volumeattributesclass\.storage\.k8s\.io "nope" not found/]);
  t.match(reasons(plan(world({ claims: [claim('fast')], attributeClasses: [foreign] }))), [/ProvisioningFailed: .*VolumeAttributesClass "fast" is for driver ebs\.csi\.aws\.com, not berth\.dev\/local-path/]);
  const plain = volumeOf('pv-plain', { storageClassName: 'manual' });
  const golden = volumeOf('pv-gold', { storageClassName: 'manual', volumeAttributesClassName: 'gold' });
  const ask = (vac?: string) => of(plan(world({ claims: [claimOf('c', { storageClassName: 'manual', ...(vac ? { volumeAttributesClassName: vac } : {}) })], volumes: [plain, golden] })), 'bind').map((a) => a.volume.name);
  t.same(ask('gold'), ['pv-gold'], 'a claim asking for gold binds to the gold volume only');
  t.same(ask('silver'), [], 'and to none when none has its class');
  t.same(ask(), ['pv-plain'], 'a claim asking for none binds only to a volume of none');
});

t.test('reclaim: Retain keeps a released volume, Delete deletes the ones berth made, fails for hand-made ones; a bound claim whose volume went is Lost', async (t) => {
  const ref = { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'gone', uid: 'uid-gone' };
  const retained = volumeOf('kept', { claimRef: ref, persistentVolumeReclaimPolicy: 'Retain' });
  retained.status = { phase: 'Bound' };
  const provisioned = volumeOf('pvc-1', { claimRef: ref, persistentVolumeReclaimPolicy: 'Delete' });
  provisioned.metadata.annotations = { 'pv.kubernetes.io/provisioned-by': LOCAL_PATH_PROVISIONER };
  const byHand = volumeOf('manual', { claimRef: ref, persistentVolumeReclaimPolicy: 'Delete' });
  const p = plan(world({ volumes: [retained, provisioned, byHand] }));
  t.same(of(p, 'volume-phase').map((a) => `${a.volume.name}:${a.phase}`), ['kept:Released', 'manual:Failed']);
  t.same(of(p, 'delete-volume').map((a) => a.volume.name), ['pvc-1']);
  t.match(reasons(p), [/VolumeFailedDelete: .*no deletable volume plugin matched/]);
  const lost = claimOf('data', { volumeName: 'vanished' });
  lost.status = { phase: 'Bound' };
  const l = plan(world({ claims: [lost] }));
  t.same(of(l, 'claim-status').map((a) => a.status.phase), ['Lost']);
  t.same(reasons(l), ['ClaimLost: Bound claim has lost its PersistentVolume. Data on the volume is lost!']);
});

function podWith(name: string, claims: string[]): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `pod-${name}`, creationTimestamp: '2024-05-01T12:00:00Z' },
    spec: { containers: [{ name: 'c', image: 'x' }], volumes: claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: c } })) },
  };
}

t.test('the scheduler: a pod follows its bound volume, gives its waiting claims the node first, and says why nothing fits', async (t) => {
  const nodes = [readyNode('n1'), readyNode('n2'), readyNode('n3')];
  const onN3 = volumeOf('pv3', { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n3'] }] }] } } });
  const bound = claimOf('bound', { volumeName: 'pv3' });
  bound.status = { phase: 'Bound' };
  const storage = { claims: [bound], volumes: [onN3], classes: [localPath] };
  t.same(schedule([podWith('a', ['bound'])], nodes, [], storage).bindings.map((b) => b.nodeName), ['n3'], "on its volume's node");

  const waiting = claimOf('fresh', { storageClassName: 'local-path' });
  const s = schedule([podWith('b', ['fresh'])], nodes, [], { ...storage, claims: [waiting] });
  t.same(s.bindings, [], 'not bound before its claim is');
  t.same(s.claimSelections.map((c) => [c.nodeName, c.claims.map((x) => x.name)]), [['n1', ['fresh']]]);
  const selected = claimOf('fresh', { storageClassName: 'local-path' }, { [SELECTED_NODE_ANNOTATION]: 'n2' });
  t.same(schedule([podWith('b', ['fresh'])], nodes, [], { ...storage, claims: [selected] }).claimSelections.map((c) => c.nodeName), ['n2'], 'a claim given a node keeps it');

  const unschedulable = (claims: PersistentVolumeClaim[], volumes: PersistentVolume[] = []) =>
    schedule([podWith('c', claims.map((c) => c.metadata.name!))], nodes, [], { claims, volumes, classes: [localPath, { ...localPath, metadata: { name: 'wffc-static' }, provisioner: 'kubernetes.io/no-provisioner' }] }).unschedulable.map((u) => u.reason);
  t.same(unschedulable([]).length, 0, 'no claims: nothing to say');
  t.same(schedule([podWith('c', ['missing'])], nodes, [], storage).unschedulable.map((u) => u.reason), ['0/3 nodes are available: persistentvolumeclaim "missing" not found.']);
  t.same(unschedulable([claimOf('imm', { storageClassName: '' })]), ['0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.']);
  t.same(unschedulable([claimOf('st', { storageClassName: 'wffc-static' })]), ["0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind."]);
  const boundElsewhere = claimOf('b2', { volumeName: 'pv9' });
  boundElsewhere.status = { phase: 'Bound' };
  const pv9 = volumeOf('pv9', { nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n9'] }] }] } } });
  t.same(unschedulable([boundElsewhere], [pv9]), ['0/3 nodes are available: 3 node(s) had volume node affinity conflict.']);
});
