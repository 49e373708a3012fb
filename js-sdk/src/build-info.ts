/**
 * Identity of this build. `scripts/build.mjs` bundles it into `index.js` and stamps it
 * there with the package version and a content hash of every runtime file and of the
 * SDK module (the service worker's cache name carries the same hash). Run from the
 * sources, it is "dev".
 */
export const BUILD = { version: "dev", hash: "dev" };
