// Where each object lives in the store: /registry/<plural>/<namespace>/<name> for namespaced
// kinds, /registry/<plural>/<name> for the others, and /registry/<group>/<plural>/... for custom
// kinds (as Kubernetes lays out etcd; the group keeps them clear of berth's own keys).

import { kindInfo, type KindInfo, type Resource } from '../../proto/resources';
import { BerthError } from '../../proto/errors';

export const REGISTRY_PREFIX = '/registry/';

export function infoOf(kind: string): KindInfo {
  const info = kindInfo(kind);
  if (!info) throw new BerthError('invalid-argument', `the server doesn't have a resource type "${kind}"`);
  return info;
}

const resourcePath = (info: KindInfo): string => ('definition' in info ? `${info.apiVersion.split('/')[0]}/${info.plural}` : info.plural);

export function objectKey(info: KindInfo, namespace: string | undefined, name: string): string {
  return info.namespaced
    ? `${REGISTRY_PREFIX}${resourcePath(info)}/${namespace || 'default'}/${name}`
    : `${REGISTRY_PREFIX}${resourcePath(info)}/${name}`;
}

/** The prefix of every object of a kind, or of those in one namespace. */
export function listPrefix(info: KindInfo, namespace?: string): string {
  return info.namespaced && namespace
    ? `${REGISTRY_PREFIX}${resourcePath(info)}/${namespace}/`
    : `${REGISTRY_PREFIX}${resourcePath(info)}/`;
}

export function keyOfObject(obj: Resource): string {
  return objectKey(infoOf(obj.kind), obj.metadata.namespace, obj.metadata.name ?? '');
}

/** `pods "web-1"`, `deployments.apps "web"`: how Kubernetes names an object in its messages. */
export function describeObject(info: KindInfo, name: string): string {
  const group = info.apiVersion.includes('/') ? `.${info.apiVersion.split('/')[0]}` : '';
  return `${info.plural}${group} "${name}"`;
}
