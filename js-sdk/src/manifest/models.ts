/**
 * Model files (ONNX weights) the runtime asks for: fetched once per SDK instance, from
 * the package's files (or `assetsURL`), only for manifests whose validation report names
 * them in `models`.
 */
import { ASSET_FILES, fetchAsset } from "../assets.js";
import type { AssetName, AssetURLs } from "../assets.js";
import { AssetError } from "../errors.js";

/** Model files fetched, or being fetched, by file name. */
export class ModelFiles {
  private files = new Map<string, Promise<Uint8Array>>();

  constructor(private assets: AssetURLs) {}

  /**
   * A model file's bytes (`file` as the report names it, e.g. `silero_vad_v6.onnx`).
   * Rejects with AssetError when it cannot be fetched (tried again on the next call) or
   * when this SDK ships no such file.
   */
  get(file: string): Promise<Uint8Array> {
    let bytes = this.files.get(file);
    if (!bytes) {
      const role = (Object.keys(ASSET_FILES) as AssetName[]).find((r) => ASSET_FILES[r] === file);
      bytes = role
        ? fetchAsset(this.assets[role], "onnx")
        : Promise.reject(new AssetError(`the runtime asks for a model file this SDK does not ship: ${file}`, file));
      this.files.set(file, bytes);
      bytes.catch(() => this.files.delete(file));
    }
    return bytes;
  }
}
