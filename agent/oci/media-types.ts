// Media types of the documents and blobs the image service handles (OCI image-spec and Docker
// schema2), and how a layer's compression is told from its media type or its first bytes.

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Refused: schema1 is deprecated and unsupported. */
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

export const MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
/** What a pull asks for when resolving a tag: any image manifest or index. */
export const MANIFEST_OR_INDEX_TYPES: readonly string[] = [...INDEX_TYPES, ...MANIFEST_TYPES];
export const CONFIG_TYPES: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

export const isManifestType = (mt: string): boolean => MANIFEST_TYPES.includes(mt);
export const isIndexType = (mt: string): boolean => INDEX_TYPES.includes(mt);
export const isConfigType = (mt: string): boolean => CONFIG_TYPES.includes(mt);

export type Compression = 'gzip' | 'zstd' | 'none';

const LAYER_COMPRESSION: Record<string, Compression> = {
  [MediaType.ociLayer]: 'none',
  [MediaType.ociLayerGzip]: 'gzip',
  [MediaType.ociLayerZstd]: 'zstd',
  [MediaType.ociLayerNondistributable]: 'none',
  [MediaType.ociLayerNondistributableGzip]: 'gzip',
  [MediaType.ociLayerNondistributableZstd]: 'zstd',
  [MediaType.dockerLayerGzip]: 'gzip',
  [MediaType.dockerLayerForeignGzip]: 'gzip',
};

/** The compression a layer media type declares, or undefined if it is not a layer type we know. */
export const layerCompression = (mt: string): Compression | undefined => LAYER_COMPRESSION[mt];

export const isLayerType = (mt: string): boolean => mt in LAYER_COMPRESSION;

/** Foreign (Docker) and nondistributable (OCI) layers: their blobs may live outside the registry (urls). */
export const isForeignLayerType = (mt: string): boolean =>
  mt === MediaType.dockerLayerForeignGzip || mt.startsWith('application/vnd.oci.image.layer.nondistributable.');

/** The layer media type for a compression, in the OCI or Docker family (Docker has no zstd/none). */
export function layerMediaType(compression: Compression, family: 'oci' | 'docker' = 'oci'): string {
  if (family === 'docker' && compression === 'gzip') return MediaType.dockerLayerGzip;
  return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

/** Tell compression from a blob's first bytes (gzip 1f 8b, zstd frame 28 b5 2f fd), else 'none'. */
export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** A Content-Type header without parameters, lowercased. */
export const bareMediaType = (contentType: string | undefined): string =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase();
