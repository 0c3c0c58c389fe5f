// The OCI image vocabulary: digests, descriptors, platforms, references, image configs.
//
// Pure data with no lifecycle: the image-spec's and distribution-spec's words as the agent reads
// and writes them. Every layer of the agent may use them; this folder imports nothing of the
// agent but the native addon's level (nothing, in fact) and proto/.

export type Digest = `sha256:${string}`;

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

/** A parsed image reference, Docker's rules: `busybox` is docker.io/library/busybox:latest. */
export interface Reference {
  /** Registry host[:port], docker.io for Docker Hub. */
  domain: string;
  /** Repository path within the registry, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: Digest;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    /** Docker's extension (the OCI config has no health check): nanosecond durations. */
    Healthcheck?: Healthcheck;
    /** The shell a Dockerfile's shell-form commands run with (SHELL). */
    Shell?: string[];
    /** Dockerfile instructions a build FROM this image runs first (ONBUILD). */
    OnBuild?: string[] | null;
  };
  rootfs: { type: 'layers'; diff_ids: Digest[] };
  history?: HistoryEntry[];
}

export interface Healthcheck {
  /** ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command]. */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}
