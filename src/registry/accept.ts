// What a manifest request accepts. The registry picks what to answer from this list, and the digest
// it reports is the digest of what it answered: ask for less than the docker client does and a
// registry may convert, or answer 404, and the digest would not be the one the deploy pins. These
// are the types moby's puller accepts today (schema 1 is gone from docker since 28; a registry that
// still only has schema 1 manifests answers 404 here, as docker itself would fail to pull them).
// https://github.com/moby/moby/blob/master/daemon/internal/distribution/pull_v2.go (manifest types)
// https://github.com/opencontainers/image-spec/blob/main/media-types.md

export const MANIFEST_MEDIA_TYPES = [
  /** Docker manifest list (multi-platform). */
  "application/vnd.docker.distribution.manifest.list.v2+json",
  /** OCI image index (multi-platform). */
  "application/vnd.oci.image.index.v1+json",
  /** Docker image manifest, schema 2. */
  "application/vnd.docker.distribution.manifest.v2+json",
  /** OCI image manifest. */
  "application/vnd.oci.image.manifest.v1+json",
] as const;

/** The Accept header of a manifest HEAD/GET. */
export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");
