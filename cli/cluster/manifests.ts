// Manifests as the verbs take them: -f paths read, parsed and validated by
// proto/manifests (every error with file:line:col), then placed in -n's namespace.

import { customKinds, kindInfo, setCustomKinds, type Resource } from '../../proto/resources';
import { CliError } from '../common/errors';

export interface LoadedManifests {
  objects: Resource[];
  /** Every error, formatted ("app.yaml:14:9: spec...: must be a string"); when any, send nothing. */
  errors: string[];
}

/**
 * Read, parse and validate `paths` ('-' is standard input); then -n's namespace, if given.
 * `learnKinds` is asked once when a document's kind is neither built in, nor known, nor defined by
 * a CustomResourceDefinition among the documents: the cluster may serve it.
 */
export async function loadObjects(paths: string[], readStdin: () => string, namespace: string | undefined, learnKinds?: () => Promise<void>): Promise<LoadedManifests> {
  const { readSources, validateSources, parseManifestText, isDefinition } = await import('../../proto/manifests');
  const read = readSources(paths, readStdin);
  if (learnKinds) {
    const values = read.sources.flatMap((s) => parseManifestText(s).documents.map((d) => d.value as { kind?: unknown } | null));
    const defined = new Set(values.filter(isDefinition).map((d) => d.spec.names.kind));
    if (values.some((v) => typeof v?.kind === 'string' && !kindInfo(v.kind) && !defined.has(v.kind))) await learnKinds();
  }
  const loaded = validateSources(read.sources);
  const documents = loaded.documents;
  // The kinds the documents define are kinds for the rest of the command (its output names them).
  const defined = documents.map((d) => d.object).filter(isDefinition);
  if (defined.length > 0) setCustomKinds([...customKinds().map((k) => k.definition).filter((d) => !defined.some((n) => n.spec.names.kind === d.spec.names.kind)), ...defined]);
  const messages = [...read.errors, ...loaded.errors].map((e) => e.message);
  const objects: Resource[] = [];
  for (const doc of documents) {
    try {
      objects.push(inNamespace(doc.object, namespace));
    } catch (err) {
      messages.push(`${doc.source}:${doc.position.line}:${doc.position.column}: ${(err as Error).message}`);
    }
  }
  return { objects, errors: messages };
}

/**
 * The objects named by manifests, for delete -f: only kind and name must be there (a manifest
 * that no longer validates can still name what to delete).
 */
export async function loadReferences(paths: string[], readStdin: () => string, namespace: string | undefined): Promise<LoadedManifests> {
  const { readSources, parseManifestText } = await import('../../proto/manifests');
  const { sources, errors } = readSources(paths, readStdin);
  const messages = errors.map((e) => e.message);
  const objects: Resource[] = [];
  for (const source of sources) {
    const parsed = parseManifestText(source);
    messages.push(...parsed.errors.map((e) => e.message));
    for (const doc of parsed.documents) {
      const at = `${doc.source}:${doc.position.line}:${doc.position.column}`;
      const v = doc.value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
      if (!v || typeof v.kind !== 'string' || !kindInfo(v.kind)) {
        messages.push(`${at}: not a document of a known kind`);
        continue;
      }
      if (typeof v.metadata?.name !== 'string' || !v.metadata.name) {
        messages.push(`${at}: metadata.name: is required`);
        continue;
      }
      try {
        objects.push(inNamespace(v as unknown as Resource, namespace));
      } catch (err) {
        messages.push(`${at}: ${(err as Error).message}`);
      }
    }
  }
  return { objects, errors: messages };
}

/** As kubectl: -n fills in a missing namespace and must agree with one that is written. */
export function inNamespace(obj: Resource, namespace: string | undefined): Resource {
  const info = kindInfo(obj.kind);
  if (!info?.namespaced || namespace === undefined) return obj;
  const written = obj.metadata?.namespace;
  if (written && written !== namespace) {
    throw new CliError(`the namespace from the provided object "${written}" does not match the namespace "${namespace}". You must pass '--namespace=${written}' to perform this operation.`);
  }
  return { ...obj, metadata: { ...obj.metadata, namespace } } as Resource;
}
