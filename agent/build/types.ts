// The builder's vocabulary: what `berth build` asks for and what it is told while it runs.
//
// A build reads a Dockerfile into stages and builds the stages its target needs, each from its
// FROM (an image, pulled if missing; `scratch`; or an earlier stage), independent stages at the
// same time. A stage's state is a stack of layers and a config. Each instruction that changes
// files (RUN, COPY, ADD, WORKDIR when it creates the directory) is one step: its cache key is
// computed from the stack below, the instruction and, for COPY/ADD, the content of what it
// copies; a key the cache has reuses the stored layer, otherwise the step runs in an overlay over
// the stack (RUN: a container through runc) and what it changed becomes one layer. The other
// instructions change only the config. At the end the target stage's layers and config become
// an image in the image store, named by the tags asked for. A failed or cancelled build leaves no
// image, container or mount; the layers of the steps that did finish stay in the cache.

export interface BuildRequest {
  /** The context directory on this host. */
  contextDir: string;
  /** The Dockerfile's text, and its name for messages (Dockerfile, -, path/to/Dockerfile). */
  dockerfile: string;
  dockerfileName: string;
  /** The .dockerignore's text, when there is one. */
  ignore?: string;
  /** name[:tag] each; none: an untagged image. */
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** Pull every FROM image even when present. */
  pull: boolean;
  labels: Record<string, string>;
  /** RUN's network: 'default' (a bridge attachment with outbound access) or 'none' (loopback only). */
  network: 'default' | 'none';
  /** SOURCE_DATE_EPOCH: timestamps of the image, its history and new files are clamped to it. */
  sourceDateEpoch?: number;
  /** --secret: what RUN --mount=type=secret reads, by ID. Never stored, never in a cache key. */
  secrets?: Map<string, Buffer>;
}

export type StepStatus =
  /** Running now. */
  | 'started'
  /** Its result came from the cache. */
  | 'cached'
  | 'done'
  | 'error';

export type BuildEvent =
  | { kind: 'step'; id: number; name: string; status: StepStatus; elapsedMs?: number; error?: string }
  | { kind: 'output'; id: number; stream: 'stdout' | 'stderr'; data: Buffer }
  | { kind: 'warning'; message: string }
  | { kind: 'done'; imageId: string; tags: string[] };

export type BuildSink = (event: BuildEvent) => void;
