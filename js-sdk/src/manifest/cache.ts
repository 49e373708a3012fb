/**
 * The manifest cache: each distinct manifest (by {@link manifestKey}) is parsed and
 * validated once and kept under a numeric id, which is what requests name in the
 * workers (the body goes only with a worker's first request of an id). At most
 * `capacity` are kept; the least recently used is forgotten, here and in the workers.
 */
import { ManifestError } from "../errors.js";
import type { ManifestObject } from "../protocol/executor.js";
import type { ValidationReport } from "../types.js";
import { isExactJson, manifestKey } from "./key.js";

/** Distinct manifests kept validated (and named in the workers) by default. */
export const MANIFEST_CACHE = 64;

/** A validated manifest: its id in the workers and a snapshot of its body. */
export interface PreparedManifest {
  id: number;
  body: ManifestObject;
  needsPython: boolean;
  /** Whether some of its nodes run on servers (the validation report's `remote_nodes`). */
  hasRemoteNodes: boolean;
  /** Model files its nodes need (the validation report's `models`). */
  modelFiles: string[];
  /** Their bytes, once fetched. */
  models: Map<string, Uint8Array>;
  /** `input_data` of the original SDK's `{manifest, input_data}` file form (wire items). */
  inputData?: unknown[];
}

/** What the cache asks the runtime (the main-thread wasm): validation and the file forms. */
export interface ManifestRules {
  /** The runtime's validation of a manifest object or its JSON text. */
  validate(manifest: unknown): ValidationReport;
  /** `input_data` when the JSON text is a `{manifest, input_data}` file, else undefined. */
  inputData(text: string): unknown[] | undefined;
}

export class ManifestCache {
  private entries = new Map<string, PreparedManifest>();
  private nextId = 1;

  /**
   * `forget` is told each id the cache drops; `refuseModules` refuses manifests with
   * inline Python (the `pythonModules: false` option).
   */
  constructor(
    private rules: ManifestRules,
    private forget: (id: number) => void,
    private refuseModules = false,
    private capacity = MANIFEST_CACHE,
  ) {}

  /** How many manifests are kept. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Validation of `manifest` (an object or JSON text) by the runtime, keyed: when the
   * key is exactly its JSON the text is read, otherwise the object (so the error names
   * the value JSON cannot carry).
   */
  validate(manifest: unknown): ValidationReport {
    return typeof manifest === "string" ? this.rules.validate(manifest) : this.validateKeyed(manifest, manifestKey(manifest));
  }

  /** The runtime's validation of `manifest`, whose key is `key`: the text when it is exactly the JSON. */
  private validateKeyed(manifest: unknown, key: string): ValidationReport {
    return this.rules.validate(isExactJson(key) ? key : manifest);
  }

  /**
   * The prepared form of `manifest` (an object or JSON text), validated on first sight.
   * Throws ManifestError when it is not JSON, not JSON data (a cycle), invalid, or has
   * inline Python that is refused.
   */
  prepare(manifest: Record<string, unknown> | string): PreparedManifest {
    let parsed: Record<string, unknown>;
    try {
      parsed = typeof manifest === "string" ? (JSON.parse(manifest) as Record<string, unknown>) : manifest;
    } catch (err) {
      throw new ManifestError(`manifest is not valid JSON: ${(err as Error).message}`, [{ path: "$", message: "not valid JSON" }]);
    }
    let key: string;
    try {
      key = manifestKey(parsed);
    } catch (err) {
      // JSON.stringify throws on a cycle.
      throw new ManifestError(`the manifest is not JSON data: ${(err as Error).message}`, [
        { path: "$", message: "not JSON data (a cycle?)" },
      ]);
    }
    const known = this.entries.get(key);
    if (known) {
      // Most recently used last: the oldest is the one forgotten.
      this.entries.delete(key);
      this.entries.set(key, known);
      return known;
    }
    const report = this.validateKeyed(parsed, key);
    if (!report.valid) throw ManifestError.of(report.errors, report.warnings);
    const modules = (parsed.python as { modules?: Record<string, unknown> } | undefined)?.modules;
    if (this.refuseModules && modules && Object.keys(modules).length > 0) {
      throw ManifestError.of(
        [{ path: "$.python.modules", message: "inline Python is refused here (pythonModules: false)" }],
        report.warnings,
      );
    }
    const prepared: PreparedManifest = {
      id: this.nextId++,
      // A snapshot: later changes to the caller's object make a new manifest.
      body: JSON.parse(key) as ManifestObject,
      needsPython: report.python_nodes.length > 0 || report.python_packages.length > 0,
      hasRemoteNodes: (report.remote_nodes ?? []).length > 0,
      models: new Map(),
      modelFiles: report.models ?? [],
      inputData: this.rules.inputData(key),
    };
    this.entries.set(key, prepared);
    if (this.entries.size > this.capacity) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, PreparedManifest];
      this.entries.delete(oldestKey);
      this.forget(oldest.id);
    }
    return prepared;
  }
}
