//! The executor as the workers use it: manifests checked once (Rust nodes only), runs
//! and session steps, the runtime's errors as [`RunError`]s.

use remotemedia_runtime::executor::{CancelFlag, Executor, Output as RuntimeOutput, Session};
use remotemedia_runtime::validate::{validate_str, KnownTypes};
use remotemedia_runtime::{Manifest, NodeRegistry};

use crate::convert::{from_runtime, to_runtime};
use crate::messages::{Item, Output, Problem, RunError, RunRequest, RunResult};

/// The executor with the built-in Rust nodes (its metrics on the runtime's clock).
pub fn executor() -> Executor {
    Executor::default()
}

/// Checks `text` against the Rust nodes and the Python built-ins: the manifest when it
/// is valid and needs no Python; [`RunError::Manifest`] with every problem, or
/// [`RunError::NeedsPython`] naming the Python nodes.
pub fn prepare(text: &str) -> Result<Manifest, RunError> {
    let registry = NodeRegistry::builtin();
    let python = remotemedia_runtime::registry::python_builtin_names();
    let (manifest, report) = validate_str(
        text,
        KnownTypes {
            rust: &registry,
            python: &python,
            limits: Default::default(),
        },
    );
    if !report.valid {
        return Err(problems(report));
    }
    if !report.python_nodes.is_empty() {
        return Err(RunError::NeedsPython(report.python_nodes));
    }
    manifest.ok_or_else(|| {
        RunError::Manifest(vec![Problem {
            path: "$".into(),
            message: "not a manifest".into(),
        }])
    })
}

/// A batch run.
pub async fn run(request: RunRequest) -> Result<RunResult, RunError> {
    let manifest = prepare(&request.manifest)?;
    let inputs = request
        .inputs
        .into_iter()
        .map(to_runtime)
        .collect::<Result<Vec<_>, _>>()?;
    let result = executor()
        .run(&manifest, inputs, &CancelFlag::new())
        .await
        .map_err(error)?;
    Ok(RunResult {
        execution_order: result.execution_order,
        total_ms: result.total_ms,
        outputs: outputs(result.outputs),
    })
}

/// Opens a session of `text`.
pub async fn open(text: &str) -> Result<Session, RunError> {
    executor().open(&prepare(text)?).await.map_err(error)
}

/// Pushes `item` into `session`, or closes it when there is none.
pub async fn step(session: &mut Session, item: Option<Item>) -> Result<Vec<Output>, RunError> {
    let cancel = CancelFlag::new();
    let produced = match item {
        Some(item) => session.push(to_runtime(item)?, &cancel).await,
        None => session.close(&cancel).await,
    };
    produced.map(outputs).map_err(error)
}

fn outputs(outputs: Vec<RuntimeOutput>) -> Vec<Output> {
    outputs
        .into_iter()
        .map(|o| Output {
            node_id: o.node_id,
            data: from_runtime(o.data),
        })
        .collect()
}

fn error(e: remotemedia_runtime::RunError) -> RunError {
    use remotemedia_runtime::RunError as E;
    match e {
        E::Manifest(report) => problems(*report),
        // This engine has no transport to servers, so a remote node fails at open (a
        // node error); a remote failure can only come from an engine that has one.
        E::Node {
            node_id,
            node_type,
            message,
            ..
        }
        | E::Remote {
            node_id,
            node_type,
            message,
            ..
        } => RunError::Node {
            node_id,
            node_type,
            message,
        },
        E::Cancelled => RunError::SessionClosed("cancelled".into()),
        E::SessionClosed(m) => RunError::SessionClosed(m),
    }
}

/// [`RunError::Manifest`] with the report's errors.
fn problems(report: remotemedia_runtime::validate::ValidationReport) -> RunError {
    RunError::Manifest(
        report
            .errors
            .into_iter()
            .map(|p| Problem {
                path: p.path,
                message: p.message,
            })
            .collect(),
    )
}
