// Manifests as the verbs take them: -f paths read, parsed and validated by
// proto/manifests (every error with file:line:col), then placed in -n's namespace.

import { kindInfo, type Resource } from '../../proto/resources';
import { CliError } from '../common/errors';

export interface LoadedManifests {
  objects: Resource[];
  /** Every error, formatted ("app.yaml:14:9: spec...: must be a string"); when any, send nothing. */
  errors: string[];
}

/** Read, parse and validate `paths` ('-' is standard input); then -n's namespace, if given. */
export async function loadObjects(paths: string[], readStdin: () => string, namespace: string | undefined): Promise<LoadedManifests> {
  const { loadManifests } = await import('../../proto/manifests');
  const { documents, errors } = loadManifests(paths, readStdin);
  const messages = errors.map((e) => e.message);
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
