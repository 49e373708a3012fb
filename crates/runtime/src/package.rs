//! `.rmpkg` packages: the original RemoteMedia SDK's zip of a pipeline (its
//! `docs/RMPKG_FORMAT.md`), read with the `zip` crate:
//!
//! - `manifest.json` (required): a manifest, or the `{manifest, input_data}` file form;
//! - `metadata.json` (optional): package metadata, returned as it is;
//! - `runtime.wasm` (optional): the original's own executor; this runtime uses its own,
//!   so it is listed and not read;
//! - `deps/` (optional): `deps/**/*.py` files become `python.modules` of the manifest
//!   (`deps/stats.py` is module `stats`, `deps/pkg/util.py` is `pkg.util`); other files
//!   are listed with their sizes.
//!
//! Limits: [`MAX_ENTRIES`] entries, [`MAX_READ_BYTES`] per file read (decompressed
//! bytes are counted, whatever the zip's headers claim).

use std::io::{Cursor, Read};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::validate::{Problem, ValidationReport};

/// Most entries a package may have.
pub const MAX_ENTRIES: usize = 4096;
/// Most decompressed bytes read from one entry (`manifest.json`, `metadata.json`, a `.py`).
pub const MAX_READ_BYTES: u64 = 16 << 20;

/// A package's contents, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Package {
    /// `manifest.json`, with the package's Python files added to `python.modules`.
    pub manifest: Value,
    /// `metadata.json`, if the package has one.
    pub metadata: Option<Value>,
    /// Every entry: its name and decompressed size in bytes (as the zip states it).
    pub files: Vec<PackageFile>,
    /// What was ignored or overridden (a `runtime.wasm`, a module the manifest also defines).
    pub warnings: Vec<Problem>,
}

/// One entry of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageFile {
    /// Path inside the zip.
    pub name: String,
    /// Decompressed size in bytes, as the zip's directory states it.
    pub size: u64,
}

/// Why a package cannot be read: `path` is the entry (or `$` for the zip itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageError {
    /// The entry concerned, or `$`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for PackageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid .rmpkg package: {}: {}", self.path, self.message)
    }
}

impl std::error::Error for PackageError {}

impl PackageError {
    /// The error as a validation report: one problem at `rmpkg:<entry>`, what the CLIs
    /// report (as `RunError::Manifest`) and the SDK's `ManifestError` carries.
    pub fn report(&self) -> ValidationReport {
        let problem = self.problem();
        ValidationReport::unreadable(&problem.path, problem.message)
    }

    /// The error as one problem at [`problem_path`] of its entry.
    pub fn problem(&self) -> Problem {
        Problem {
            path: problem_path(&self.path),
            message: self.message.clone(),
        }
    }
}

/// Where a problem with package entry `entry` (or `$`, the zip itself) is reported among
/// a manifest's problems: `rmpkg:<entry>`, so it cannot be mistaken for a JSON path.
pub fn problem_path(entry: &str) -> String {
    format!("rmpkg:{entry}")
}

/// Validation of a package's bytes: the report of its manifest, with the package's
/// warnings first (at [`problem_path`]), or the one problem that kept it from being read.
pub fn validate(bytes: &[u8], known: crate::validate::KnownTypes<'_>) -> ValidationReport {
    match read(bytes) {
        Err(error) => error.report(),
        Ok(package) => {
            let mut report = crate::validate::validate_value(&package.manifest, known).1;
            let mut warnings: Vec<Problem> = package
                .warnings
                .into_iter()
                .map(|w| Problem {
                    path: problem_path(&w.path),
                    message: w.message,
                })
                .collect();
            warnings.append(&mut report.warnings);
            report.warnings = warnings;
            report
        }
    }
}

fn fail(path: &str, message: impl Into<String>) -> PackageError {
    PackageError {
        path: path.into(),
        message: message.into(),
    }
}

/// Whether `bytes` look like a zip (a local file header, or the end record of an empty zip).
pub fn is_package(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Reads a package from its bytes.
///
/// Errors ([`PackageError`]): not a zip, more than [`MAX_ENTRIES`] entries, no
/// `manifest.json`, an entry over [`MAX_READ_BYTES`], a damaged or encrypted entry,
/// `manifest.json`/`metadata.json` not JSON, a `.py` file not UTF-8.
pub fn read(bytes: &[u8]) -> Result<Package, PackageError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| fail("$", format!("not a readable zip archive: {e}")))?;
    if zip.len() > MAX_ENTRIES {
        return Err(fail(
            "$",
            format!("{} entries (at most {MAX_ENTRIES})", zip.len()),
        ));
    }
    let mut files = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| fail("$", format!("entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| fail("$", format!("entry {i}: {e}")))?
            .to_string();
        if !entry.is_dir() {
            files.push(PackageFile {
                name,
                size: entry.size(),
            });
        }
    }
    let has = |name: &str| files.iter().any(|f| f.name == name);
    if !has("manifest.json") {
        return Err(fail(
            "manifest.json",
            "missing: a package holds its pipeline in manifest.json at the top of the zip",
        ));
    }
    let mut manifest = read_json(&mut zip, "manifest.json")?;
    let metadata = if has("metadata.json") {
        Some(read_json(&mut zip, "metadata.json")?)
    } else {
        None
    };
    let mut warnings = Vec::new();
    if has("runtime.wasm") {
        warnings.push(Problem {
            path: "runtime.wasm".into(),
            message: "the original runtime's executor, not used: this runtime runs its own".into(),
        });
    }
    let mut modules = Map::new();
    for file in &files {
        let Some(module) = module_name(&file.name) else {
            continue;
        };
        let source = String::from_utf8(read_entry(&mut zip, &file.name)?)
            .map_err(|_| fail(&file.name, "Python source is not UTF-8"))?;
        modules.insert(module, Value::String(source));
    }
    if !modules.is_empty() {
        add_modules(&mut manifest, modules, &mut warnings)?;
    }
    Ok(Package {
        manifest,
        metadata,
        files,
        warnings,
    })
}

/// `deps/pkg/util.py` -> `pkg.util`; `None` for anything else.
fn module_name(path: &str) -> Option<String> {
    let inner = path.strip_prefix("deps/")?.strip_suffix(".py")?;
    let parts: Vec<&str> = inner.split('/').collect();
    let valid = parts.iter().all(|p| {
        !p.is_empty()
            && !p.starts_with(|c: char| c.is_ascii_digit())
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    valid.then(|| parts.join("."))
}

/// Adds `modules` to the `python.modules` of the manifest (inside a `{manifest, ...}`
/// wrapper if that is the file's form); a module the manifest defines itself wins.
fn add_modules(
    file: &mut Value,
    modules: Map<String, Value>,
    warnings: &mut Vec<Problem>,
) -> Result<(), PackageError> {
    let wrapped = !std::ptr::eq(crate::manifest::manifest_part(file).0, &*file);
    let manifest = if wrapped { &mut file["manifest"] } else { file };
    let Some(root) = manifest.as_object_mut() else {
        return Err(fail("manifest.json", "expected a JSON object"));
    };
    let python = root
        .entry("python")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(python) = python.as_object_mut() else {
        return Err(fail("manifest.json", "python: expected an object"));
    };
    let own = python
        .entry("modules")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(own) = own.as_object_mut() else {
        return Err(fail("manifest.json", "python.modules: expected an object"));
    };
    for (name, source) in modules {
        if own.contains_key(&name) {
            warnings.push(Problem {
                path: format!("deps/{}.py", name.replace('.', "/")),
                message: format!(
                    "the manifest defines python.modules.{name} itself; the package's file is not used"
                ),
            });
        } else {
            own.insert(name, source);
        }
    }
    Ok(())
}

fn read_json<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Value, PackageError> {
    let bytes = read_entry(zip, name)?;
    serde_json::from_slice(&bytes).map_err(|e| fail(name, format!("not valid JSON: {e}")))
}

/// An entry's decompressed bytes, at most [`MAX_READ_BYTES`] of them.
fn read_entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, PackageError> {
    let entry = zip
        .by_name(name)
        .map_err(|e| fail(name, format!("cannot be read: {e}")))?;
    let mut bytes = Vec::new();
    // The header's size may lie (a zip bomb): count what decompression gives instead.
    entry
        .take(MAX_READ_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(name, format!("damaged: {e}")))?;
    if bytes.len() as u64 > MAX_READ_BYTES {
        return Err(fail(
            name,
            format!("more than {MAX_READ_BYTES} bytes when decompressed"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_come_from_deps_python_files_only() {
        assert_eq!(module_name("deps/stats.py").as_deref(), Some("stats"));
        assert_eq!(module_name("deps/pkg/util.py").as_deref(), Some("pkg.util"));
        assert_eq!(module_name("deps/model.bin"), None);
        assert_eq!(module_name("stats.py"), None);
        assert_eq!(module_name("deps/../evil.py"), None);
        assert_eq!(module_name("deps/1bad.py"), None);
    }

    #[test]
    fn bytes_that_are_not_a_zip_are_a_clear_error() {
        assert!(!is_package(b"{\"version\": \"v1\"}"));
        let err = read(b"PK\x03\x04 not really").unwrap_err();
        assert_eq!(err.path, "$");
        assert!(err.message.contains("zip"), "{err}");
    }
}
