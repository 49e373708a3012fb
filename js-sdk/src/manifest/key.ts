/**
 * The manifest cache's key: a manifest's JSON text. Pure functions (no wasm, no
 * browser globals), unit-tested in js-sdk/test/unit/manifest-key.test.ts.
 */

/** How a mark (a NUL character) looks in JSON text. */
export const KEY_MARK = "\\u0000";

/**
 * The cache key of a manifest: its JSON text, with values JSON cannot carry marked, so
 * a manifest holding NaN or a function never shares a key with a valid one. Throws
 * TypeError on a cycle (JSON.stringify's).
 */
export function manifestKey(manifest: unknown): string {
  // The plain JSON.stringify is V8's fast path (a replacer is several times slower on
  // a 10k-node manifest); the marking pass runs only when there is something to mark.
  let plain: string | undefined;
  try {
    plain = JSON.stringify(manifest) as string | undefined;
  } catch {
    plain = undefined; // a BigInt (marked below); a cycle throws again below
  }
  if (plain !== undefined && isPlainJson(manifest)) return plain;
  const text = JSON.stringify(manifest, (_key, value: unknown) => {
    if (typeof value === "number" && !Number.isFinite(value)) return `\u0000${value}`;
    if (typeof value === "function" || typeof value === "symbol" || typeof value === "bigint" || ArrayBuffer.isView(value))
      return `\u0000${typeof value}`;
    return value;
  }) as string | undefined;
  return text ?? `${KEY_MARK}undefined`;
}

/**
 * Whether a key is exactly the manifest's JSON (nothing was marked): then the runtime
 * may read the text, which is several times faster than walking the object across the
 * wasm boundary. A marked manifest is given to the runtime as the object, so its strict
 * JSON reader names what JSON cannot carry.
 */
export function isExactJson(key: string): boolean {
  return !key.includes(KEY_MARK);
}

/**
 * Whether `value` holds only what JSON carries as it is (no NaN, functions, typed
 * arrays...). Only the key's fast path asks this: which values a manifest may hold is
 * the runtime's rule (its strict JSON reader), not this function's.
 */
export function isPlainJson(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    switch (typeof v) {
      case "string":
      case "boolean":
        continue;
      case "number":
        if (!Number.isFinite(v)) return false;
        continue;
      case "object":
        if (v === null) continue;
        if (ArrayBuffer.isView(v)) return false;
        if (Array.isArray(v)) {
          for (const x of v) stack.push(x);
        } else {
          for (const key in v) stack.push((v as Record<string, unknown>)[key]);
        }
        continue;
      default:
        return false; // undefined, function, symbol, bigint
    }
  }
  return true;
}
