/**
 * Identity of this build. `scripts/build.mjs` overwrites the compiled file with the
 * package version and a content hash of every runtime file (the service worker's
 * cache name carries the same hash).
 */
export const BUILD = { version: "dev", hash: "dev" };
