//! `remotemedia run MANIFEST [--input FILE]...` (`docs/execution.md`): runs a manifest natively
//! and prints the result JSON of `docs/execution.md` on stdout. Other commands: `validate
//! MANIFEST`, `nodes`, `errors`, and `serve` (the runtime as a server, [`serve`]). MANIFEST is a JSON file or an `.rmpkg` package; Python nodes run
//! in embedded CPython (the `python` feature).
//!
//! `--max-frames N` and `--max-output-values N` set the executor's [`Limits`].
//!
//! `--input` takes any file, and its content decides, never its name: JSON (the first
//! byte other than white space is `[` or `{`) is items in wire form (an array, or one
//! item); anything else, an audio file of any format for instance, is one binary item
//! of its bytes. Errors go to stderr as a readable line plus the error JSON, with exit
//! status 1.

mod serve;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use remotemedia_runtime::executor::{CancelFlag, Executor};
use remotemedia_runtime::{catalog, manifest, native_python, package, wire, Limits, RuntimeData};
use serde_json::{json, Value};

const USAGE: &str = "usage:
  remotemedia run MANIFEST [--input FILE]...   run a pipeline (a JSON manifest or an
                                               .rmpkg package), print the result JSON
  remotemedia bench MANIFEST [--input FILE]... [--repeat N]
                                               time N runs after a warm-up; print
                                               {runs, median_ms, min_ms, max_ms}
  remotemedia validate MANIFEST [LIMITS]       print {valid, errors, warnings}
  remotemedia nodes [--markdown|--typescript]  the node catalog (Rust nodes and Python
                                               built-ins, every parameter, each output's
                                               shape), as JSON, as the Markdown of
                                               docs/nodes.md, or as the SDK's output
                                               types (js-sdk/src/nodes.ts)
  remotemedia errors                           the error kinds: {kind, name, fields,
                                               doc} (docs/errors.json)
  remotemedia serve [OPTIONS]                  the runtime as a server: the original SDK's
                                               gRPC services, gRPC-Web, a WebSocket
                                               transport (/ws), GET /health and /metrics

--input FILE: any file; its content decides. JSON (an array of items in wire form,
or one item) is read as items; anything else (an audio file of any format, whatever
its name) is passed as one binary item; repeat for more inputs. Without
--input, a manifest file in the original SDK's {\"manifest\", \"input_data\"} form
runs on its input_data.

LIMITS (run, bench, validate): --max-frames N (chunk sizes, hops; default 16777216)
and --max-output-values N (float32 values one node may make from one item: a decoded
file, a spectrogram; default 134217728).

OPTIONS of serve (docs/remote.md):
  --listen HOST:PORT        where (default 127.0.0.1:50051; port 0 picks one)
  --token TOKEN             require authorization: Bearer TOKEN (default: the
                            REMOTEMEDIA_TOKEN environment variable, else none)
  --cors-origin ORIGIN      allow pages of ORIGIN (repeat; * for any; default none)
  --max-sessions N          streaming sessions at once (default 64)
  --max-message-bytes N     largest message either way (default 16777216)
  --max-queued-chunks N     chunks a session holds before backpressure (default 16)
  --session-idle-s S        close a session silent for S seconds (default 60)
  --run-timeout-s S         longest ExecutePipeline (default 300)
  --shutdown-grace-s S      on SIGTERM, how long sessions get to close (default 10)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) if print_line(&output) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(Failure { message, json }) => {
            let _ = writeln!(std::io::stderr(), "remotemedia: {message}");
            if let Some(json) = json {
                print_line(&json.to_string());
            }
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` and a newline to stdout. A reader that went away (`| head`, a parent
/// that stopped reading) is not a panic, as `println!` makes it: the output is dropped
/// and `false` returned.
pub(crate) fn print_line(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush()).is_ok()
}

struct Failure {
    message: String,
    json: Option<Value>,
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure {
            message,
            json: None,
        }
    }
}

fn run(args: &[String]) -> Result<String, Failure> {
    // Python nodes run in embedded CPython (feature `python`); without it they fail clearly.
    // Nodes on servers (`host`, RemotePipelineNode) go over gRPC, with REMOTEMEDIA_TOKEN
    // as the bearer token where the manifest gives none.
    let token = std::env::var("REMOTEMEDIA_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let executor = Executor::default()
        .with_external(native_python::provider())
        .with_remote(remotemedia_server::client::provider(token));
    match args.first().map(String::as_str) {
        Some("run") => {
            let (manifest_path, inputs, limits) = parse_run_args(&args[1..])?;
            let executor = executor.with_limits(limits);
            let file = read_manifest_file(Path::new(&manifest_path))?;
            let manifest = executor.parse(&file).map_err(|e| Failure {
                message: e.to_string(),
                json: Some(e.to_json()),
            })?;
            let items = read_inputs(&inputs, &file, &manifest_path)?;
            let result = pollster::block_on(executor.run(&manifest, items, &CancelFlag::new()))
                .map_err(|e| Failure {
                    message: e.to_string(),
                    json: Some(e.to_json()),
                })?;
            // Streamed: a result holding an hour of audio is never also held as text.
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            result
                .write_json(&mut out)
                .and_then(|()| std::io::Write::flush(&mut out))
                .map_err(|e| format!("cannot write the result: {e}"))?;
            Ok(String::new())
        }
        Some("bench") => {
            let mut rest: Vec<String> = args[1..].to_vec();
            let mut repeat = 5usize;
            if let Some(at) = rest.iter().position(|a| a == "--repeat") {
                repeat = rest
                    .get(at + 1)
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--repeat needs a whole number > 0\n{USAGE}"))?;
                rest.drain(at..at + 2);
            }
            let (manifest_path, inputs, limits) = parse_run_args(&rest)?;
            let executor = executor.with_limits(limits);
            let file = read_manifest_file(Path::new(&manifest_path))?;
            let manifest = executor.parse(&file).map_err(|e| e.to_string())?;
            let items = read_inputs(&inputs, &file, &manifest_path)?;
            let mut times = Vec::with_capacity(repeat);
            for round in 0..=repeat {
                let started = std::time::Instant::now();
                pollster::block_on(executor.run(&manifest, items.clone(), &CancelFlag::new()))
                    .map_err(|e| e.to_string())?;
                if round > 0 {
                    times.push(started.elapsed().as_secs_f64() * 1000.0); // round 0 warms up
                }
            }
            times.sort_by(f64::total_cmp);
            Ok(json!({
                "runs": repeat,
                "median_ms": times[times.len() / 2],
                "min_ms": times[0],
                "max_ms": times[times.len() - 1],
            })
            .to_string())
        }
        Some("validate") => {
            let (path, inputs, limits) = parse_run_args(&args[1..])?;
            if !inputs.is_empty() {
                return Err(format!("validate takes no --input\n{USAGE}").into());
            }
            let manifest = read_manifest_file(Path::new(&path))?;
            let (_, report) = executor.with_limits(limits).validate(&manifest);
            let text = serde_json::to_string_pretty(&report).unwrap_or_default();
            if report.valid {
                Ok(text)
            } else {
                Err(Failure {
                    message: report.to_string(),
                    json: serde_json::to_value(&report).ok(),
                })
            }
        }
        Some("nodes") => match &args[1..] {
            [] => Ok(
                serde_json::to_string_pretty(&catalog::catalog_json(executor.registry()))
                    .unwrap_or_default(),
            ),
            [flag] if flag == "--markdown" => Ok(catalog::catalog_markdown(executor.registry())),
            [flag] if flag == "--typescript" => {
                Ok(catalog::catalog_typescript(executor.registry()))
            }
            _ => Err(
                format!("nodes takes no argument but --markdown or --typescript\n{USAGE}").into(),
            ),
        },
        Some("errors") => Ok(serde_json::to_string_pretty(
            remotemedia_runtime::error_kinds::ERROR_KINDS,
        )
        .unwrap_or_default()),
        Some("serve") => {
            let config = serve::parse(&args[1..])?;
            serve::run(config)?;
            Ok(String::new())
        }
        Some("-h" | "--help" | "help") => Ok(USAGE.to_string()),
        _ => Err(USAGE.to_string().into()),
    }
}

/// The manifest path, the `--input` files and the limits (`--max-frames`,
/// `--max-output-values`) of `run`, `bench` and `validate`.
fn parse_run_args(args: &[String]) -> Result<(String, Vec<String>, Limits), String> {
    let mut manifest = None;
    let mut inputs = Vec::new();
    let defaults = Limits::default();
    let (mut max_frames, mut max_output_values) = (
        defaults.max_frames as u64,
        defaults.max_output_values as u64,
    );
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--input" | "-i" => inputs.push(
                it.next()
                    .ok_or_else(|| format!("--input needs a file\n{USAGE}"))?
                    .clone(),
            ),
            flag @ ("--max-frames" | "--max-output-values") => {
                let value = it
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| format!("{flag} needs a whole number > 0\n{USAGE}"))?;
                if flag == "--max-frames" {
                    max_frames = value;
                } else {
                    max_output_values = value;
                }
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}\n{USAGE}")),
            path if manifest.is_none() => manifest = Some(path.to_string()),
            extra => return Err(format!("unexpected argument {extra}\n{USAGE}")),
        }
    }
    let manifest = manifest.ok_or_else(|| format!("a manifest path is needed\n{USAGE}"))?;
    let limits = Limits::new(max_frames, max_output_values).map_err(|e| {
        // The option's name is the field's, with dashes.
        let option = e.field.replace('_', "-");
        format!("--{option} must be 1 to {}, got {}", e.max, e.got)
    })?;
    Ok((manifest, inputs, limits))
}

/// A manifest file: JSON (a manifest, or the `{manifest, input_data}` form), or an
/// `.rmpkg` package (a zip), whose warnings go to stderr. A package that cannot be read
/// is a manifest error naming the entry.
fn read_manifest_file(path: &Path) -> Result<Value, Failure> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !package::is_package(&bytes) {
        return serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()).into());
    }
    match package::read(&bytes) {
        Ok(package) => {
            for warning in &package.warnings {
                let _ = writeln!(
                    std::io::stderr(),
                    "remotemedia: warning: {}: {}",
                    warning.path,
                    warning.message
                );
            }
            Ok(package.manifest)
        }
        Err(e) => Err(Failure {
            message: format!("{}: {e}", path.display()),
            json: Some(remotemedia_runtime::RunError::Manifest(Box::new(e.report())).to_json()),
        }),
    }
}

/// The run's inputs: the `--input` files in order, or, when there are none, the
/// `input_data` of a manifest file in the original SDK's `{manifest, input_data}` form.
fn read_inputs(
    paths: &[String],
    file: &Value,
    manifest_path: &str,
) -> Result<Vec<RuntimeData>, String> {
    if paths.is_empty() {
        if let (_, Some(input_data)) = manifest::manifest_part(file) {
            return wire::decode_all(input_data)
                .map_err(|e| format!("{manifest_path}: input_data: {e}"));
        }
    }
    let mut items = Vec::new();
    for path in paths {
        items.extend(read_input(Path::new(path))?);
    }
    Ok(items)
}

/// Items from one `--input` file: wire items when its content is JSON, else its bytes.
fn read_input(path: &Path) -> Result<Vec<RuntimeData>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let first = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .iter()
        .find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'[' | b'{')) {
        return Ok(vec![RuntimeData::Binary(bytes)]);
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    wire::decode_all(&items).map_err(|e| format!("{}: {e}", path.display()))
}
