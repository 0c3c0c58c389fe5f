// Image archives: `berth save` (archive-save.ts) and `berth load` (archive-load.ts), and the
// format they share.
//
// A saved archive is what Docker 25+ writes: one tar that is at the same time an OCI image layout
// (oci-layout, index.json, blobs/sha256/<hex>) and docker save's format (manifest.json naming the
// same blobs, and a `repositories` file), so skopeo, umoci, containerd and every docker can read
// it. Blobs are written as stored, compressed or not, so manifests keep their digests.

import { type Digest, encodedOf } from '../oci';

/** Annotation naming an image in an OCI layout: a tag (Docker, OCI) or a whole reference (skopeo). */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** Annotation with the full image name, as containerd and Docker 25+ write it. */
export const IMAGE_NAME = 'io.containerd.image.name';

/** One image in docker save's manifest.json. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export const blobPath = (digest: Digest): string => `blobs/sha256/${encodedOf(digest)}`;
