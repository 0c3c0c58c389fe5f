// A `docker save` archive (manifest.json, <hex>.json configs, <hex>/layer.tar layers) of images
// built by the test fixtures, so that dockerd (`docker load`) and berth (`berth load`) get the
// same images from local files, nothing from a registry.

import { buildTar, type BuiltImage, type LayerEntry } from '../fixtures/images';

export interface ArchiveImage {
  /** RepoTags, e.g. 'berth-bench/box:1'. */
  tag: string;
  image: BuiltImage;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** One tar holding every image; layers shared by several images are written once. */
export async function dockerArchive(images: ArchiveImage[]): Promise<Buffer> {
  const entries: LayerEntry[] = [];
  const written = new Set<string>();
  const manifest = images.map(({ tag, image }) => {
    const config = `${hex(image.config.descriptor.digest)}.json`;
    if (!written.has(config)) entries.push({ path: config, type: 'file', content: image.config.bytes });
    written.add(config);
    const layers = image.layers.map((l) => {
      const name = `${hex(l.diffId)}/layer.tar`;
      if (!written.has(name)) entries.push({ path: hex(l.diffId), type: 'dir' }, { path: name, type: 'file', content: l.tar });
      written.add(name);
      return name;
    });
    return { Config: config, RepoTags: [tag], Layers: layers };
  });
  entries.push({ path: 'manifest.json', type: 'file', content: JSON.stringify(manifest) });
  return buildTar(entries);
}
