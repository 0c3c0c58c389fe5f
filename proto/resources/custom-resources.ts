// Custom resources: the kinds a cluster's CustomResourceDefinitions add (apiextensions.k8s.io/v1),
// and the catalog through which every process learns them. The catalog is what makes a custom
// kind a kind like the others: kindInfo() looks here after the built-in kinds, so the
// store keys, authorization, `berth get shirts` and owner references need nothing of their own.
//
// Who fills the catalog: the controller, from the definitions in its store (at start, on every
// change it watches, and when a name it does not know is asked for); the CLI, from the
// controller's discovery answer when a command names a kind it does not know. Only definitions
// whose names are accepted are in it (acceptedDefinitions): a name taken by a built-in kind or by
// an older definition leaves the newer definition out, with its NamesAccepted condition saying why.
//
// Pure apart from the catalog's one module-level map; nothing here does I/O.

import { KINDS, type Condition, type CustomResourceDefinition, type CustomResourceDefinitionVersion, type KindInfo } from './types';

/** A custom kind as the catalog holds it: a KindInfo (storage version) and its definition. */
export interface CustomKindInfo extends KindInfo {
  definition: CustomResourceDefinition;
}

const catalog = new Map<string, CustomKindInfo>();

/** The definition's storage version, or its first. */
export function storageVersion(crd: CustomResourceDefinition): CustomResourceDefinitionVersion {
  return crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]!;
}

export function customKindInfo(crd: CustomResourceDefinition): CustomKindInfo {
  const names = crd.spec.names;
  const aliases = [names.kind.toLowerCase(), names.singular ?? names.kind.toLowerCase(), ...(names.shortNames ?? []),
    `${names.plural}.${crd.spec.group}`, `${(names.singular ?? names.kind.toLowerCase())}.${crd.spec.group}`, `${names.kind.toLowerCase()}.${crd.spec.group}`];
  return {
    kind: names.kind as KindInfo['kind'],
    apiVersion: `${crd.spec.group}/${storageVersion(crd).name}` as KindInfo['apiVersion'],
    plural: names.plural,
    aliases: [...new Set(aliases)],
    namespaced: crd.spec.scope !== 'Cluster',
    definition: crd,
  };
}

/** The names a kind is known by: kind (lower-case), plural, singular, short names. */
function namesOf(info: KindInfo): string[] {
  return [info.kind.toLowerCase(), info.plural, ...info.aliases.filter((a) => !a.includes('.'))];
}

/**
 * Which definitions have their names accepted, oldest first, and why each other one has not: a
 * kind, plural, singular or short name a built-in kind or an older definition already answers to.
 * (Kubernetes lets two groups share a kind; berth's API names kinds without their group, so here
 * a kind's names are the cluster's.)
 */
export function acceptedDefinitions(crds: readonly CustomResourceDefinition[], builtins: readonly KindInfo[]): { accepted: CustomResourceDefinition[]; refused: Map<string, string> } {
  const taken = new Map<string, string>();
  for (const info of builtins) for (const n of namesOf(info)) taken.set(n, `the built-in kind ${info.kind}`);
  const accepted: CustomResourceDefinition[] = [];
  const refused = new Map<string, string>();
  const byAge = [...crds].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const crd of byAge) {
    const names = namesOf(customKindInfo(crd));
    const clash = names.find((n) => taken.has(n));
    if (clash) {
      refused.set(crd.metadata.name ?? '', `"${clash}" is already in use by ${taken.get(clash)}`);
      continue;
    }
    for (const n of names) taken.set(n, `CustomResourceDefinition ${crd.metadata.name}`);
    accepted.push(crd);
  }
  return { accepted, refused };
}

/** Replace the catalog's custom kinds with those of these (accepted) definitions. */
export function setCustomKinds(crds: readonly CustomResourceDefinition[]): void {
  catalog.clear();
  for (const crd of crds) catalog.set(crd.spec.names.kind, customKindInfo(crd));
}

/** Every custom kind the catalog holds. */
export function customKinds(): CustomKindInfo[] {
  return [...catalog.values()];
}

/** The custom kind a name (kind, plural, singular, short name, `plural.group`) means, case-insensitive. */
export function customKindInfoByName(name: string): CustomKindInfo | undefined {
  const n = name.toLowerCase();
  for (const info of catalog.values()) {
    if (info.kind.toLowerCase() === n || info.plural === n || info.aliases.includes(n)) return info;
  }
  return undefined;
}

/**
 * The KindInfo for a kind, a plural, or an alias (case-insensitive), built-in first, then the
 * custom kinds the catalog holds; undefined when unknown.
 */
export function kindInfo(name: string): KindInfo | undefined {
  const n = name.toLowerCase();
  return KINDS.find((k) => k.kind.toLowerCase() === n || k.plural === n || k.aliases.includes(n)) ?? customKindInfoByName(name);
}

/** The definition behind a kind, when it is a custom one. */
export function definitionOf(kind: string): CustomResourceDefinition | undefined {
  return catalog.get(kind)?.definition;
}

export const isCustomKind = (kind: string): boolean => catalog.has(kind);

/** The condition types a definition's status carries, as Kubernetes' apiextensions controllers set them. */
export function definitionStatus(crd: CustomResourceDefinition, refusal: string | undefined, now: string, previous?: CustomResourceDefinition['status']): NonNullable<CustomResourceDefinition['status']> {
  const condition = (type: string, ok: boolean, reason: string, message: string): Condition => {
    const was = previous?.conditions?.find((c) => c.type === type);
    const status = ok ? 'True' : 'False';
    return { type, status, reason, message, lastTransitionTime: was?.status === status ? was.lastTransitionTime : now } as Condition;
  };
  const stored = new Set(previous?.storedVersions ?? []);
  stored.add(storageVersion(crd).name);
  return {
    conditions: [
      condition('NamesAccepted', !refusal, refusal ? 'NameConflict' : 'NoConflicts', refusal ?? 'no conflicts found'),
      condition('Established', !refusal, refusal ? 'NotAccepted' : 'InitialNamesAccepted', refusal ? 'not all names are accepted' : 'the initial names have been accepted'),
    ],
    acceptedNames: refusal ? { kind: '', plural: '' } : { ...crd.spec.names, singular: crd.spec.names.singular ?? crd.spec.names.kind.toLowerCase(), listKind: crd.spec.names.listKind ?? `${crd.spec.names.kind}List` },
    storedVersions: [...stored],
  };
}
