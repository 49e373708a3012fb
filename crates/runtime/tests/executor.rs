//! Execution semantics (`docs/execution.md`): order, fan-out, fan-in, flush, result shape,
//! sessions, isolation, cancellation, errors, and external (async) nodes.
mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use remotemedia_runtime::executor::{CancelFlag, Executor, RunError};
use remotemedia_runtime::manifest::{Manifest, NodeSpec};
use remotemedia_runtime::node::{AsyncNode, ExternalNodes, LocalFuture, NodeFailure};
use remotemedia_runtime::{AudioBuffer, RuntimeData};
use serde_json::{json, Value};

fn nums(values: &[f64]) -> Vec<RuntimeData> {
    values
        .iter()
        .map(|&v| RuntimeData::Json(json!(v)))
        .collect()
}

#[test]
fn linear_pipeline_result_has_the_spec_shape() {
    let result = common::run(linear_manifest(), nums(&[1.0, 2.0])).unwrap();
    let out = result.to_json();
    assert_eq!(out["status"], "success");
    assert_eq!(out["outputs"], json!([3.5, 6.5]));
    assert_eq!(out["outputs_by_node"], json!({"plus": [0, 1]}));
    assert_eq!(
        out["graph_info"],
        json!({"node_count": 2, "source_count": 1, "sink_count": 1, "execution_order": ["x3", "plus"]})
    );
    assert_eq!(out["metrics"]["nodes"]["x3"]["items_in"], 2);
    assert_eq!(out["metrics"]["nodes"]["plus"]["items_out"], 2);
}

/// x3 -> plus: two nodes in a line.
fn linear_manifest() -> Value {
    json!({
        "version": "v1", "metadata": {"name": "lin"},
        "nodes": [
            {"id": "x3", "node_type": "MultiplyNode", "params": {"factor": 3}},
            {"id": "plus", "node_type": "AddNode", "params": {"addend": 0.5}}
        ],
        "connections": [{"from": "x3", "to": "plus"}]
    })
}

/// A clock that advances one millisecond per reading.
fn ticking_clock() -> f64 {
    static TICKS: AtomicU64 = AtomicU64::new(0);
    TICKS.fetch_add(1, Ordering::SeqCst) as f64
}

#[test]
fn metrics_are_read_from_the_executor_clock() {
    let executor = Executor::default().with_clock(ticking_clock);
    let manifest = common::manifest(&executor, linear_manifest());
    let result =
        pollster::block_on(executor.run(&manifest, nums(&[1.0, 2.0]), &CancelFlag::new())).unwrap();
    let out = result.to_json();
    let node_ms = |id: &str| out["metrics"]["nodes"][id]["time_ms"].as_f64().unwrap();
    // Each node is timed around each of its steps: whole ticks, at least one per item.
    for id in ["x3", "plus"] {
        assert!(
            node_ms(id) >= 2.0 && node_ms(id).fract() == 0.0,
            "{id}: {}",
            node_ms(id)
        );
    }
    // The run spans every node's steps and the readings between them.
    let total = out["metrics"]["total_ms"].as_f64().unwrap();
    assert!(total > node_ms("x3") + node_ms("plus"), "total {total}");
}

#[test]
fn whole_numbers_come_out_as_integers_and_other_data_passes_through() {
    let result = common::run(
        common::one_node("MultiplyNode", json!({"factor": 2.0})),
        vec![
            RuntimeData::Json(json!(5)),
            RuntimeData::Json(json!([1.5, 2])),
            RuntimeData::Text("hi".into()),
        ],
    )
    .unwrap();
    assert_eq!(result.to_json()["outputs"], json!([10, [3, 4], "hi"]));
    assert_eq!(result.to_json()["outputs"][0].to_string(), "10");
}

#[test]
fn outputs_is_an_array_even_when_nothing_is_produced() {
    let result = common::run(
        common::one_node("TextCollectorNode", json!({"min_sentence_length": 50})),
        vec![RuntimeData::Text("short.".into())],
    )
    .unwrap();
    assert_eq!(result.to_json()["outputs"], json!([]));
    assert_eq!(result.to_json()["outputs_by_node"], json!({"n": []}));
}

#[test]
fn topological_order_breaks_ties_by_manifest_order() {
    // Manifest order lists the sink first; ties among ready nodes follow the manifest.
    let result = common::run(
        json!({
            "version": "v1", "metadata": {"name": "dag"},
            "nodes": [
                {"id": "sink", "node_type": "PassThrough"},
                {"id": "right", "node_type": "AddNode", "params": {"addend": 100}},
                {"id": "src", "node_type": "PassThrough"},
                {"id": "left", "node_type": "AddNode", "params": {"addend": 10}}
            ],
            "connections": [
                {"from": "src", "to": "left"}, {"from": "src", "to": "right"},
                {"from": "left", "to": "sink"}, {"from": "right", "to": "sink"}
            ]
        }),
        nums(&[1.0, 2.0]),
    )
    .unwrap();
    let out = result.to_json();
    assert_eq!(
        out["graph_info"]["execution_order"],
        json!(["src", "right", "left", "sink"])
    );
    // Fan-out copies each item to both branches; fan-in delivers the parents'
    // items in topological order of the parents (right before left), item by item.
    assert_eq!(out["outputs"], json!([101, 11, 102, 12]));
}

#[test]
fn every_node_is_flushed_on_dags_too() {
    // Two chunkers on two branches each hold a remainder that only flush releases.
    let audio = AudioBuffer::new((0..10).map(|i| i as f32).collect(), 8000, 1);
    let result = common::run(
        json!({
            "version": "v1", "metadata": {"name": "flush"},
            "nodes": [
                {"id": "src", "node_type": "PassThrough"},
                {"id": "c4", "node_type": "AudioChunkerNode", "params": {"chunk_size": 4}},
                {"id": "c3", "node_type": "AudioChunkerNode", "params": {"chunk_size": 3}},
                {"id": "join", "node_type": "AudioChunkerNode", "params": {"chunk_size": 100}}
            ],
            "connections": [
                {"from": "src", "to": "c4"}, {"from": "src", "to": "c3"},
                {"from": "c4", "to": "join"}, {"from": "c3", "to": "join"}
            ]
        }),
        vec![RuntimeData::Audio(audio)],
    )
    .unwrap();
    let joined = result.outputs_of("join");
    assert_eq!(joined.len(), 1);
    let samples = &common::audio(joined[0]).samples;
    // c4 gives 0..8 then its flush 8..10; c3 gives 0..9 then 9..10; join holds all.
    assert_eq!(samples.len(), 20);
    assert_eq!(result.to_json()["metrics"]["nodes"]["c4"]["items_out"], 3);
    assert_eq!(result.to_json()["metrics"]["nodes"]["c3"]["items_out"], 4);
}

#[test]
fn runs_never_share_node_state() {
    let executor = Executor::default();
    let manifest = common::manifest(&executor, common::one_node("Echo", json!({})));
    let cancel = CancelFlag::new();
    for _ in 0..2 {
        let result =
            pollster::block_on(executor.run(&manifest, nums(&[1.0, 2.0]), &cancel)).unwrap();
        let counters: Vec<Value> = result.to_json()["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["counter"].clone())
            .collect();
        assert_eq!(counters, [json!(1), json!(2)]);
    }
}

#[test]
fn sessions_keep_state_across_pushes_and_flush_on_close() {
    let executor = Executor::default();
    let manifest = common::manifest(
        &executor,
        common::one_node("AudioChunkerNode", json!({"chunk_size": 4})),
    );
    let cancel = CancelFlag::new();
    pollster::block_on(async {
        let mut session = executor.open(&manifest).await.unwrap();
        let piece = |n: usize| RuntimeData::Audio(AudioBuffer::new(vec![0.5; n], 16000, 1));
        assert_eq!(session.push(piece(3), &cancel).await.unwrap().len(), 0);
        assert_eq!(session.push(piece(3), &cancel).await.unwrap().len(), 1);
        let last = session.close(&cancel).await.unwrap();
        assert_eq!(common::audio(&last[0].data).samples.len(), 2);
        let again = session.push(piece(1), &cancel).await.unwrap_err();
        assert!(matches!(again, RunError::SessionClosed(_)), "{again:?}");
    });
}

#[test]
fn node_errors_carry_node_id_type_and_language_and_end_the_session() {
    let executor = Executor::default();
    let manifest = common::manifest(
        &executor,
        json!({
            "version": "v1", "metadata": {"name": "err"},
            "nodes": [
                {"id": "ok", "node_type": "PassThrough"},
                {"id": "calc", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 1}}
            ],
            "connections": [{"from": "ok", "to": "calc"}]
        }),
    );
    let err = pollster::block_on(executor.run(
        &manifest,
        vec![RuntimeData::Json(
            json!({"operation": "divide", "args": [1, 0]}),
        )],
        &CancelFlag::new(),
    ))
    .unwrap_err();
    match &err {
        RunError::Node {
            node_id,
            node_type,
            language,
            message,
            ..
        } => {
            assert_eq!(
                (node_id.as_str(), node_type.as_str(), language.as_str()),
                ("calc", "CalculatorNode", "rust")
            );
            assert!(message.contains("divide by zero"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_json()["error"]["node_id"], "calc");
    // The executor is unharmed: the next run works.
    let ok = pollster::block_on(executor.run(&manifest, nums(&[2.0]), &CancelFlag::new())).unwrap();
    assert_eq!(ok.to_json()["outputs"], json!([3]));
}

#[test]
fn calculator_takes_numbers_with_its_params_or_items_that_name_their_operation() {
    // One CalculatorNode (the Python SDK's `{operation, args}` form included), not two.
    let executor = Executor::default();
    let manifest = common::manifest(
        &executor,
        common::one_node(
            "CalculatorNode",
            json!({"operation": "subtract", "operand": 1}),
        ),
    );
    let items = vec![
        RuntimeData::Json(json!(5)),
        RuntimeData::Json(json!({"operation": "multiply", "args": [6, 7]})),
        RuntimeData::Json(json!({"args": [1.5, 2]})),
        // As in the original runtime: numeric text is a number, anything else passes through.
        RuntimeData::Text("8".into()),
        RuntimeData::Text("eight".into()),
        RuntimeData::Json(json!({"value": 1})),
        RuntimeData::Json(json!([1, 2])),
        RuntimeData::Json(Value::Null),
        RuntimeData::Binary(vec![1, 2]),
    ];
    let result = pollster::block_on(executor.run(&manifest, items, &CancelFlag::new())).unwrap();
    assert_eq!(
        result.to_json()["outputs"],
        json!([4, {"operation": "multiply", "args": [6, 7], "result": 42},
               {"operation": "subtract", "args": [1.5, 2], "result": -0.5},
               7, "eight", {"value": 1}, [1, 2], null,
               {"__binary__": true, "binary": {"meta": {}, "data": "AQI="}}])
    );
    for (bad, why) in [
        (
            json!({"operation": "divide", "args": [1, 0]}),
            "divide by zero",
        ),
        (
            json!({"operation": "pow", "args": [1, 2]}),
            "unknown operation \"pow\"",
        ),
        (
            json!({"operation": "add", "args": [1]}),
            "needs args: [a, b]",
        ),
    ] {
        let err = pollster::block_on(executor.run(
            &manifest,
            vec![RuntimeData::Json(bad)],
            &CancelFlag::new(),
        ))
        .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
}

#[test]
fn divide_by_zero_is_reported_at_validation_with_its_path() {
    let executor = Executor::default();
    let (manifest, report) = executor.validate(&common::one_node(
        "CalculatorNode",
        json!({"operation": "divide", "operand": 0}),
    ));
    assert!(manifest.is_none());
    assert_eq!(report.errors[0].path, "nodes[0].params.operand");
    assert!(report.errors[0].message.contains("divide by zero"));
}

#[test]
fn a_set_cancel_flag_stops_the_run_between_items() {
    let executor = Executor::default();
    let manifest = common::manifest(&executor, common::one_node("PassThrough", json!({})));
    let cancel = CancelFlag::new();
    cancel.cancel();
    let err = pollster::block_on(executor.run(&manifest, nums(&[1.0, 2.0]), &cancel)).unwrap_err();
    assert_eq!(err, RunError::Cancelled);
}

/// A stand-in for the Python worker: an async node type `Doubler` that doubles
/// numbers, counts its calls, and fails on negative input with a traceback.
struct FakePython {
    batches: Rc<RefCell<Vec<usize>>>,
}

struct Doubler {
    batches: Rc<RefCell<Vec<usize>>>,
    seen: usize,
}

impl AsyncNode for Doubler {
    fn process(
        &mut self,
        inputs: Vec<RuntimeData>,
    ) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move {
            self.batches.borrow_mut().push(inputs.len());
            inputs
                .into_iter()
                .map(|item| {
                    self.seen += 1;
                    match item {
                        RuntimeData::Json(v) if v.as_f64().unwrap_or(0.0) < 0.0 => Err(NodeFailure {
                            message: "ValueError: negative".into(),
                            traceback: Some("Traceback (most recent call last):\n  ...\nValueError: negative".into()),
                            remote: None,
                        }),
                        RuntimeData::Json(v) => Ok(RuntimeData::Json(json!(v.as_f64().unwrap() * 2.0))),
                        other => Ok(other),
                    }
                })
                .collect()
        })
    }

    fn flush(&mut self) -> LocalFuture<'_, Result<Vec<RuntimeData>, NodeFailure>> {
        Box::pin(async move { Ok(vec![RuntimeData::Json(json!({"seen": self.seen}))]) })
    }
}

impl ExternalNodes for FakePython {
    fn language(&self) -> &str {
        "python"
    }
    fn node_types(&self) -> Vec<String> {
        vec!["Doubler".into()]
    }
    fn create<'a>(
        &'a self,
        _m: &'a Manifest,
        node: &'a NodeSpec,
    ) -> LocalFuture<'a, Result<Box<dyn AsyncNode>, NodeFailure>> {
        Box::pin(async move {
            if node.node_type != "Doubler" {
                return Err(NodeFailure::new(format!(
                    "unknown Python node {}",
                    node.node_type
                )));
            }
            Ok(Box::new(Doubler {
                batches: self.batches.clone(),
                seen: 0,
            }) as Box<dyn AsyncNode>)
        })
    }
}

#[test]
fn external_nodes_run_between_rust_nodes_and_report_tracebacks() {
    let batches = Rc::new(RefCell::new(Vec::new()));
    let executor = Executor::default().with_external(Rc::new(FakePython {
        batches: batches.clone(),
    }));
    let manifest = common::manifest(
        &executor,
        json!({
            "version": "v1", "metadata": {"name": "mixed"},
            "nodes": [
                {"id": "rust_in", "node_type": "AddNode", "params": {"addend": 1}},
                {"id": "py", "node_type": "Doubler", "runtime_hint": "python"},
                {"id": "rust_out", "node_type": "AddNode", "params": {"addend": 0.5}}
            ],
            "connections": [{"from": "rust_in", "to": "py"}, {"from": "py", "to": "rust_out"}]
        }),
    );
    let result =
        pollster::block_on(executor.run(&manifest, nums(&[1.0, 2.0]), &CancelFlag::new())).unwrap();
    // (x + 1) * 2 + 0.5, then the flush item passes AddNode untouched.
    assert_eq!(result.to_json()["outputs"], json!([4.5, 6.5, {"seen": 2}]));
    assert_eq!(*batches.borrow(), vec![1, 1]);

    let err =
        pollster::block_on(executor.run(&manifest, nums(&[-5.0]), &CancelFlag::new())).unwrap_err();
    match err {
        RunError::Node {
            node_id,
            language,
            traceback,
            ..
        } => {
            assert_eq!((node_id.as_str(), language.as_str()), ("py", "python"));
            assert!(traceback.unwrap().starts_with("Traceback"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn python_nodes_without_a_python_host_fail_clearly() {
    let executor = Executor::default();
    let (_, report) = executor.validate(&json!({
        "version": "v1", "metadata": {"name": "py"},
        "nodes": [{"id": "p", "node_type": "Doubler", "runtime_hint": "python"}]
    }));
    assert!(report.errors[0]
        .message
        .contains("unknown Python node type"));
}

/// The original SDK's Python pipelines serialise its CalculatorNode with a Python hint
/// (`cpython`); this runtime has that node in Rust only. The hint finds no Python node,
/// so the Rust one runs, and validation says so at `runtime_hint`.
#[test]
fn a_python_hint_on_a_rust_only_node_runs_the_rust_node_with_a_warning() {
    use remotemedia_runtime::registry::{python_builtin_names, NodeRegistry};
    use remotemedia_runtime::validate::{validate_value, KnownTypes};
    let manifest = json!({
        "version": "v1",
        "metadata": {"name": "calculator"},
        "nodes": [
            {"id": "multiply", "node_type": "CalculatorNode", "runtime_hint": "cpython", "params": {"operation": "multiply", "operand": 2}},
            {"id": "add", "node_type": "CalculatorNode", "runtime_hint": "cpython", "params": {"operation": "add", "operand": 10}},
        ],
        "connections": [{"from": "multiply", "to": "add"}],
    });
    let registry = NodeRegistry::builtin();
    let python = python_builtin_names();
    let known = KnownTypes {
        rust: &registry,
        python: &python,
        limits: Default::default(),
    };
    let (_, report) = validate_value(&manifest, known);
    assert!(report.valid, "{report}");
    assert!(report.python_nodes.is_empty(), "{:?}", report.python_nodes);
    let warned: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warned, ["nodes[0].runtime_hint", "nodes[1].runtime_hint"]);
    assert!(report.warnings[0]
        .message
        .contains("the Rust CalculatorNode runs instead"));
    let result = common::run(manifest, nums(&[1.0, 4.0])).unwrap();
    assert_eq!(result.to_json()["outputs"], json!([12, 18]));

    // A Python node of that name, declared by the manifest's modules, is still Python's.
    let with_module = json!({
        "version": "v1",
        "metadata": {"name": "calculator"},
        "nodes": [{"id": "c", "node_type": "CalculatorNode", "runtime_hint": "cpython"}],
        "python": {"modules": {"calc": "from remotemedia import Node\nclass CalculatorNode(Node):\n    pass\n"}},
    });
    let (_, report) = validate_value(&with_module, known);
    assert_eq!(report.python_nodes, ["c"]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn a_run_reports_progress_while_it_runs_and_once_at_the_end() {
    // An hour-long file is the case; the 12 s recording repeated 20 times (4 min, about
    // 10 pieces of the decoder's) is enough. Reports with no interval: one per step.
    let executor = Executor::default();
    let manifest = common::manifest(
        &executor,
        json!({
            "version": "v1", "metadata": {"name": "p"},
            "nodes": [
                {"id": "decode", "node_type": "AudioDecoderNode"},
                {"id": "levels", "node_type": "AudioLevelNode"}
            ],
            "connections": [{"from": "decode", "to": "levels"}]
        }),
    );
    let reports: Rc<RefCell<Vec<Value>>> = Rc::default();
    let seen = reports.clone();
    let wav = repeated_wav(20);
    let result = pollster::block_on(executor.run_observed(
        &manifest,
        vec![RuntimeData::Binary(wav.clone())],
        &CancelFlag::new(),
        Some((
            Box::new(move |r: &Value| seen.borrow_mut().push(r.clone())),
            0.0,
        )),
    ))
    .unwrap();
    let reports = reports.borrow();
    assert!(reports.len() > 3, "{} reports", reports.len());
    // The file's fraction only grows, from below 1 while decoding to 1 at the end.
    let fractions: Vec<f64> = reports
        .iter()
        .map(|r| {
            r["inputs"][0]["fraction"]
                .as_f64()
                .expect("the WAV header gives the length")
        })
        .collect();
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");
    assert!(fractions[0] < 1.0, "{fractions:?}");
    let last = reports.last().unwrap();
    assert_eq!(last["done"], true);
    assert_eq!(last["inputs"][0]["fraction"], 1.0);
    assert_eq!(last["inputs"][0]["bytes"], wav.len());
    assert_eq!(last["inputs"][0]["node"], "decode");
    // Only the last says done, and its counts are the result's.
    assert_eq!(reports.iter().filter(|r| r["done"] == true).count(), 1);
    let metrics = &result.to_json()["metrics"]["nodes"];
    for id in ["decode", "levels"] {
        assert_eq!(
            last["nodes"][id]["items_out"], metrics[id]["items_out"],
            "{id}"
        );
        assert_eq!(
            last["nodes"][id]["items_in"], metrics[id]["items_in"],
            "{id}"
        );
    }
    let levels_out = |r: &Value| r["nodes"]["levels"]["items_out"].as_u64().unwrap();
    assert!(
        levels_out(&reports[1]) < levels_out(last),
        "reports came only at the end"
    );
}

/// The recording `times` over as one 16-bit PCM WAV file.
fn repeated_wav(times: usize) -> Vec<u8> {
    let audio = common::lena_audio();
    let pcm: Vec<u8> = audio
        .samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
        .flat_map(i16::to_le_bytes)
        .collect();
    let data = pcm.len() * times;
    let mut wav = common::wav_header(audio.channels, audio.sample_rate, data as u32);
    wav.reserve(data);
    for _ in 0..times {
        wav.extend_from_slice(&pcm);
    }
    wav
}
