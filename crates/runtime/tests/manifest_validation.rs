//! Manifest validation: every problem at once, with paths; the JSON Schemas.
mod common;

use remotemedia_runtime::validate::{validate_str, validate_value, KnownTypes};
use remotemedia_runtime::NodeRegistry;
use serde_json::{json, Value};

fn check(value: Value) -> remotemedia_runtime::validate::ValidationReport {
    let registry = NodeRegistry::builtin();
    let python = vec!["TextProcessorNode".to_string()];
    validate_value(
        &value,
        KnownTypes {
            rust: &registry,
            python: &python,
            limits: Default::default(),
        },
    )
    .1
}

fn error_at<'a>(
    report: &'a remotemedia_runtime::validate::ValidationReport,
    path: &str,
) -> &'a str {
    report
        .errors
        .iter()
        .find(|p| p.path == path)
        .map(|p| p.message.as_str())
        .unwrap_or_else(|| panic!("no error at {path}: {:#?}", report.errors))
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let report = check(json!({
        "version": "v2",
        "metadata": {},
        "nodes": [
            {"id": "a", "node_type": "FastResampleNod", "params": {}},
            {"id": "a", "node_type": "MultiplyNode", "params": {"factor": "two"}},
            {"id": "bad id!", "node_type": "PassThrough"},
            {"id": "r", "node_type": "FastResampleNode", "params": {"target_rate": "16k"}},
            {"id": "c", "node_type": "AudioChunkerNode", "params": {"chunk_size": 0}}
        ],
        "connections": [{"from": "a", "to": "ghost"}]
    }));
    assert!(!report.valid);
    assert!(error_at(&report, "version").contains("v1"));
    assert_eq!(error_at(&report, "metadata.name"), "missing");
    assert!(error_at(&report, "nodes[0].node_type").contains("FastResampleNode"));
    assert!(error_at(&report, "nodes[1].id").contains("duplicate id \"a\""));
    let factor = error_at(&report, "nodes[1].params.factor");
    assert!(
        factor.contains("expected number") && factor.contains("string"),
        "{factor}"
    );
    assert!(error_at(&report, "nodes[2].id").contains("^[A-Za-z0-9_.-]+$"));
    assert!(error_at(&report, "nodes[3].params.target_rate").contains("expected number"));
    assert!(
        error_at(&report, "nodes[4].params.chunk_size").contains("must be 1 to 16777216 frames")
    );
    assert!(error_at(&report, "connections[0].to").contains("ghost"));
    assert_eq!(report.errors.len(), 9, "{:#?}", report.errors);
}

#[test]
fn cycles_are_named_node_by_node_alongside_other_errors() {
    let report = check(json!({
        "version": "v1",
        "metadata": {"name": "loop"},
        "nodes": [
            {"id": "a", "node_type": "PassThrough"},
            {"id": "b", "node_type": "PassThrough"},
            {"id": "c", "node_type": "PassThrough"},
            {"id": "d", "node_type": "Nope"}
        ],
        "connections": [
            {"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "a"}
        ]
    }));
    assert_eq!(error_at(&report, "connections"), "cycle: a -> b -> c -> a");
    assert!(error_at(&report, "nodes[3].node_type").contains("unknown"));
}

#[test]
fn unknown_node_types_suggest_the_closest_known_names() {
    let report = check(json!({
        "version": "v1", "metadata": {"name": "x"},
        "nodes": [
            {"id": "v", "node_type": "VoiceActivityDetecter"},
            {"id": "t", "node_type": "TextProcesorNode", "runtime_hint": "python"},
            {"id": "m", "node_type": "MultiplyNode", "runtime_hint": "python"}
        ]
    }));
    assert!(
        error_at(&report, "nodes[0].node_type").contains("closest known: VoiceActivityDetector")
    );
    let python = error_at(&report, "nodes[1].node_type");
    assert!(
        python.contains("unknown Python node type") && python.contains("TextProcessorNode"),
        "{python}"
    );
    // A Rust type with a Python hint and no Python node of that type runs in Rust, with
    // a warning (the original SDK serialises its Python pipelines with such hints).
    assert!(!report.errors.iter().any(|p| p.path.starts_with("nodes[2]")));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.path == "nodes[2].runtime_hint"
            && w.message.contains("the Rust MultiplyNode runs instead")));
}

#[test]
fn nodes_with_host_run_on_their_server_and_are_reported() {
    // A type this runtime lacks is the server's to check; the report says where it runs,
    // and it is neither a Python node nor a model to fetch here.
    let report = check(json!({
        "version": "v1", "metadata": {"name": "offload"},
        "nodes": [
            {"id": "resample", "node_type": "FastResampleNode", "params": {"target_rate": 16000}},
            {"id": "asr", "node_type": "WhisperOnTheGpuBox", "host": "gpu.example:50051"},
            {"id": "vad", "node_type": "SileroVADNode", "host": "ws://gpu.example/ws"},
            {"id": "r", "node_type": "RemotePipelineNode", "params": {
                "server_url": "127.0.0.1:50051",
                "pipeline_manifest": {"version": "v1", "metadata": {"name": "m"}, "nodes": []}}}
        ],
        "connections": [{"from": "resample", "to": "asr"}, {"from": "resample", "to": "vad"}, {"from": "resample", "to": "r"}]
    }));
    assert!(report.valid, "{:#?}", report.errors);
    let remote: Vec<(&str, &str)> = report
        .remote_nodes
        .iter()
        .map(|r| (r.node_id.as_str(), r.server.as_str()))
        .collect();
    assert_eq!(
        remote,
        [
            ("asr", "gpu.example:50051"),
            ("vad", "ws://gpu.example/ws"),
            ("r", "127.0.0.1:50051")
        ]
    );
    assert!(report.python_nodes.is_empty(), "{:?}", report.python_nodes);
    assert!(report.models.is_empty(), "{:?}", report.models);
    // A host that is not an address, and a RemotePipelineNode without its manifest.
    let report = check(json!({
        "version": "v1", "metadata": {"name": "bad"},
        "nodes": [
            {"id": "a", "node_type": "Echo", "host": 5},
            {"id": "b", "node_type": "RemotePipelineNode", "params": {"endpoint": "h:1"}}
        ]
    }));
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["nodes[0].host", "nodes[1].params.manifest"]);
}

#[test]
fn native_fields_and_unknown_params_are_warnings_not_errors() {
    let report = check(json!({
        "version": "v1", "metadata": {"name": "native"},
        "nodes": [{
            "id": "x", "node_type": "PassThroughNode", "is_streaming": true,
            "capabilities": {"gpu": false}, "colour": "blue",
            "params": {"facter": 1}
        }, {
            "id": "m", "node_type": "MultiplyNode", "params": {"facter": 3}
        }],
        "connections": [{"from": "x", "to": "m"}]
    }));
    assert!(report.valid, "{:#?}", report.errors);
    let paths: Vec<&str> = report.warnings.iter().map(|w| w.path.as_str()).collect();
    for p in [
        "nodes[0].is_streaming",
        "nodes[0].capabilities",
        "nodes[0].colour",
        "nodes[1].params.facter",
    ] {
        assert!(paths.contains(&p), "no warning at {p}: {paths:?}");
    }
    let facter = report
        .warnings
        .iter()
        .find(|w| w.path == "nodes[1].params.facter")
        .unwrap();
    assert!(
        facter.message.contains("did you mean factor"),
        "{}",
        facter.message
    );
}

#[test]
fn python_modules_declare_node_types() {
    let manifest = json!({
        "version": "v1", "metadata": {"name": "py"},
        "nodes": [{"id": "s", "node_type": "SpeechStats", "runtime_hint": "python"}],
        "python": {"modules": {"my_nodes": "from remotemedia import Node\n\nclass SpeechStats(Node):\n    def process(self, data):\n        return 1\n\nclass Helper:\n    pass\n"}}
    });
    assert!(check(manifest.clone()).valid);
    let mut missing = manifest;
    missing["nodes"][0]["node_type"] = json!("Helper");
    assert!(!check(missing).valid);
}

#[test]
fn syntax_errors_and_non_objects_are_single_clear_problems() {
    let registry = NodeRegistry::builtin();
    let known = KnownTypes {
        rust: &registry,
        python: &[],
        limits: Default::default(),
    };
    let (_, report) = validate_str("{\"version\": ", known);
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].message.contains("not valid JSON"));
    let (_, report) = validate_str("[1, 2]", known);
    assert!(report.errors[0].message.contains("JSON object"));
}

fn schema_validator(name: &str) -> jsonschema::Validator {
    let path = common::repo().join("schema").join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn example_manifests_pass_the_json_schema_and_the_validator() {
    let schema = schema_validator("manifest.schema.json");
    let dir = common::repo().join("examples/pipelines");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if value.get("version").is_none() {
            continue; // an input file, not a manifest
        }
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        let report = check(value);
        let rust_only = report.errors.iter().all(|e| e.message.contains("Python"));
        assert!(
            report.valid || rust_only,
            "{}: {:#?}",
            path.display(),
            report.errors
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} example manifests found");
    // The schema rejects what it can see structurally.
    assert!(!schema.is_valid(&json!({"version": "v1", "metadata": {"name": "x"}, "nodes": [{"id": "bad id", "node_type": "X"}]})));
    assert!(!schema.is_valid(&json!({"version": "v2", "metadata": {"name": "x"}, "nodes": [{"id": "a", "node_type": "X"}]})));
}

#[test]
fn wire_vectors_pass_the_wire_schema() {
    let schema = schema_validator("wire-format.schema.json");
    let path = common::repo().join("test-vectors/wire.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for v in vectors["valid"].as_array().unwrap() {
        let errors: Vec<String> = schema
            .iter_errors(&v["wire"])
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", v["name"]);
    }
}

#[test]
fn the_report_says_which_nodes_run_in_python_and_which_packages_they_need() {
    let registry = NodeRegistry::builtin();
    let python = [
        "TextProcessorNode".to_string(),
        "CalculatorNode".to_string(),
    ];
    let known = KnownTypes {
        rust: &registry,
        python: &python,
        limits: Default::default(),
    };
    let (_, report) = validate_value(
        &json!({
            "version": "v1", "metadata": {"name": "mixed"},
            "nodes": [
                {"id": "decode", "node_type": "AudioDecoderNode"},
                {"id": "text", "node_type": "TextProcessorNode"},
                {"id": "mine", "node_type": "Stats", "runtime_hint": "python"},
                {"id": "calc", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 1}},
                {"id": "pycalc", "node_type": "CalculatorNode", "runtime_hint": "python"}
            ],
            "python": {"packages": ["numpy"], "modules": {"m": "from remotemedia import Node\nclass Stats(Node):\n    pass\n"}}
        }),
        known,
    );
    assert!(report.valid, "{:#?}", report.errors);
    // Rust first unless the hint says Python and Python has the type (built-ins and
    // declared classes); `pycalc`'s hint finds no Python CalculatorNode, so Rust's runs.
    assert_eq!(report.python_nodes, ["text", "mine"]);
    assert_eq!(report.python_packages, ["numpy"]);

    let rust_only = check(
        json!({"version": "v1", "metadata": {"name": "r"}, "nodes": [{"id": "m", "node_type": "MultiplyNode"}]}),
    );
    assert!(rust_only.python_nodes.is_empty() && rust_only.python_packages.is_empty());
}
