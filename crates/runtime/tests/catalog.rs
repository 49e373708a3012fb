//! The node catalog in `docs/` is generated from the registry and must match it; every
//! parameter is documented and its default is one its own type accepts, and no node
//! constructor reads a parameter that has no declared default.
mod common;

use remotemedia_runtime::catalog::{catalog_json, catalog_markdown, catalog_typescript};
use remotemedia_runtime::params::{ParamKind, ParamSpec, Params};
use remotemedia_runtime::registry::PYTHON_BUILTINS;
use remotemedia_runtime::shape::Shape;
use remotemedia_runtime::{AudioBuffer, NodeRegistry, RuntimeData};
use serde_json::{json, Map, Value};

const REGENERATE: &str = "regenerate with: cargo run -q -p remotemedia-cli --bin remotemedia -- nodes --markdown > docs/nodes.md && cargo run -q -p remotemedia-cli --bin remotemedia -- nodes > docs/nodes.json && cargo run -q -p remotemedia-cli --bin remotemedia -- nodes --typescript > js-sdk/src/nodes.ts";

#[test]
fn docs_nodes_md_and_json_are_generated_from_the_registry() {
    let registry = NodeRegistry::builtin();
    let md = std::fs::read_to_string(common::repo().join("docs/nodes.md")).unwrap_or_default();
    assert!(
        md.trim_end() == catalog_markdown(&registry).trim_end(),
        "docs/nodes.md is stale; {REGENERATE}"
    );
    let json = std::fs::read_to_string(common::repo().join("docs/nodes.json")).unwrap_or_default();
    let json: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
    assert!(
        json == catalog_json(&registry),
        "docs/nodes.json is stale; {REGENERATE}"
    );
    let ts =
        std::fs::read_to_string(common::repo().join("js-sdk/src/nodes.ts")).unwrap_or_default();
    assert!(
        ts.trim_end() == catalog_typescript(&registry).trim_end(),
        "js-sdk/src/nodes.ts is stale; {REGENERATE}"
    );
}

/// The recording at 16 kHz in 512-frame pieces (32 ms, Silero's window), as a live
/// session would push it.
fn speech_16k() -> Vec<RuntimeData> {
    let samples = common::ffmpeg_mono(
        &common::repo().join("node_modules/audio-lena/lena.wav"),
        16000,
    );
    common::split_audio(&AudioBuffer::new(samples, 16000, 1), &[512])
}

/// For each built-in node: params that turn on all it can make, and inputs that make it.
fn exercise(node_type: &str) -> Vec<(Value, Vec<RuntimeData>)> {
    let audio = || speech_16k();
    // VAD decisions per frame, what SpeechEventsNode and the accumulator read.
    let decided = || {
        common::stream(
            "VoiceActivityDetector",
            json!({"include_metadata": true}),
            speech_16k(),
        )
    };
    let json = |v: Value| RuntimeData::Json(v);
    match node_type {
        "PassThrough" => vec![(
            json!({}),
            vec![json(json!(1)), RuntimeData::Text("a".into())],
        )],
        "Echo" => vec![(
            json!({}),
            vec![RuntimeData::Text("a".into()), json(json!({"x": [1]}))],
        )],
        "MultiplyNode" | "AddNode" => {
            vec![(json!({}), vec![json(json!(2)), json(json!([1, 2.5]))])]
        }
        "CalculatorNode" => vec![(
            json!({"operand": 2}),
            vec![
                json(json!(3)),
                json(json!({"operation": "divide", "args": [1, 4]})),
                json(json!({"operation": "add", "operands": [10, 20]})),
            ],
        )],
        "AudioDecoderNode" => vec![(
            json!({}),
            vec![RuntimeData::Binary(common::lena_bytes("wav"))],
        )],
        "FastResampleNode" => vec![(json!({"target_rate": 8000}), audio())],
        "FormatConverterNode" => vec![
            (json!({"target_format": "i16"}), audio()),
            (json!({"target_format": "f32"}), audio()),
        ],
        "VoiceActivityDetector" => vec![
            (json!({"include_metadata": true}), audio()),
            (json!({"include_metadata": false}), audio()),
        ],
        "SileroVADNode" => vec![(
            json!({"include_metadata": true, "emit_events": true}),
            audio(),
        )],
        "SpeculativeVADCoordinator" => vec![(json!({"min_speech_duration_ms": 2000}), audio())],
        "SpeechEventsNode" => vec![
            (
                json!({"frame_events": true, "speech_chunk_ms": 200, "min_speech_ms": 200}),
                decided(),
            ),
            (
                json!({"min_speech_ms": 1000, "redemption_ms": 30}),
                decided(),
            ),
        ],
        "AudioBufferAccumulatorNode" => vec![(json!({}), decided())],
        "TextCollectorNode" => vec![(
            json!({}),
            vec![
                RuntimeData::Text("One. Two and".into()),
                RuntimeData::Text(" three.".into()),
            ],
        )],
        "AudioLevelNode"
        | "SilenceDetectorNode"
        | "ClippingDetectorNode"
        | "MelSpectrogramNode"
        | "AudioTransform"
        | "AudioChunkerNode"
        | "GainNode" => vec![(json!({}), audio())],
        other => panic!("{other}: a new node; add inputs that exercise its output here"),
    }
}

/// Which alternatives of a `OneOf` output an item matched (all of them: the first is
/// enough to pass, but each should be reached by some item).
fn alternatives(shape: &Shape, item: &RuntimeData) -> Vec<usize> {
    match shape {
        Shape::OneOf(shapes) => shapes
            .iter()
            .enumerate()
            .filter(|(_, s)| s.check(item).is_ok())
            .map(|(i, _)| i)
            .collect(),
        _ => vec![0],
    }
}

#[test]
fn every_node_makes_items_of_its_declared_output_shape() {
    for factory in NodeRegistry::builtin().factories() {
        if factory.node_type == remotemedia_runtime::remote::REMOTE_PIPELINE_NODE {
            // It makes whatever its pipeline makes on a server (`any`); crates/cli's
            // tests/offload.rs runs it against one.
            continue;
        }
        let mut reached = std::collections::BTreeSet::new();
        let mut items = 0;
        for (params, inputs) in exercise(factory.node_type) {
            for item in common::stream(factory.node_type, params.clone(), inputs) {
                if let Err(e) = factory.output.check(&item) {
                    panic!(
                        "{} ({params}): an output item is not its declared {}: {e}",
                        factory.node_type,
                        factory.output.typescript()
                    );
                }
                reached.extend(alternatives(&factory.output, &item));
                items += 1;
            }
        }
        assert!(items > 0, "{}: no output to check", factory.node_type);
        if let Shape::OneOf(shapes) = factory.output {
            // The cancel_speculation control item needs a short burst of speech: the
            // recording has none, so only its audio is reached here (its unit tests make one).
            let wanted = if factory.node_type == "SpeculativeVADCoordinator" {
                1
            } else {
                shapes.len()
            };
            assert!(
                reached.len() >= wanted,
                "{}: only alternatives {reached:?} of {} were made",
                factory.node_type,
                factory.output.typescript()
            );
        }
    }
}

#[test]
fn docs_errors_json_is_the_error_kinds_table() {
    let table = serde_json::to_value(remotemedia_runtime::error_kinds::ERROR_KINDS).unwrap();
    let json = std::fs::read_to_string(common::repo().join("docs/errors.json")).unwrap_or_default();
    assert!(
        serde_json::from_str::<Value>(&json).unwrap_or(Value::Null) == table,
        "docs/errors.json is stale; regenerate with: cargo run -q -p remotemedia-cli --bin remotemedia -- errors > docs/errors.json"
    );
    // Every kind the runtime makes names its class from the table.
    for kind in ["manifest", "node", "cancelled", "closed"] {
        assert_ne!(
            remotemedia_runtime::error_kinds::class_of(kind),
            "RemoteMediaError",
            "{kind}"
        );
    }
}

fn all_specs() -> Vec<(&'static str, ParamSpec)> {
    let registry = NodeRegistry::builtin();
    let rust = registry
        .factories()
        .iter()
        .flat_map(|f| f.params.iter().map(move |p| (f.node_type, *p)));
    let python = PYTHON_BUILTINS
        .iter()
        .flat_map(|b| b.params.iter().map(move |p| (b.node_type, *p)));
    rust.chain(python).collect()
}

#[test]
fn every_parameter_is_documented_and_its_default_has_its_type() {
    for (node, spec) in all_specs() {
        assert!(!spec.doc.is_empty(), "{node}.{} has no doc", spec.name);
        if let Some(default) = spec.default {
            assert!(
                !spec.required,
                "{node}.{} is required and has a default",
                spec.name
            );
            assert!(
                spec.kind.accepts(&default.to_json()),
                "{node}.{}: default {} is not a {}",
                spec.name,
                default.to_json(),
                spec.kind.describe()
            );
        }
    }
}

/// A value of each kind, for the required parameters.
fn sample(kind: ParamKind) -> Value {
    match kind {
        ParamKind::Number => Value::from(16000),
        ParamKind::Count => Value::from(1),
        ParamKind::Text | ParamKind::TextOrList => Value::from("x"),
        ParamKind::Object => serde_json::json!({}),
        ParamKind::Bool => Value::from(true),
        ParamKind::NumberOrAuto => Value::from("auto"),
        ParamKind::OneOf(names) => Value::from(names[0]),
    }
}

#[test]
fn constructors_read_only_declared_defaults() {
    // Params' getters assert (in debug builds) that a parameter left out has a declared
    // default: building every node with only its required parameters trips that assertion
    // if a constructor reads one that has none.
    for factory in NodeRegistry::builtin().factories() {
        let params: Map<String, Value> = factory
            .params
            .iter()
            .filter(|p| p.required)
            .map(|p| (p.name.to_string(), sample(p.kind)))
            .collect();
        let built = (factory.create)(Params::new(&params, factory.params));
        assert!(built.is_ok(), "{}: {:?}", factory.node_type, built.err());
    }
}
