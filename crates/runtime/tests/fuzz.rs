//! Fuzzing on stable Rust (proptest): random manifests through validation and runs,
//! random envelopes through the wire decoder, damaged `.rmpkg` packages through the
//! package reader, damaged and cut audio files of every container through the decoder
//! (seeds in `tests/audio-seeds/`), a damaged Silero VAD model through the ONNX weight
//! reader, and every audio node's `process` on random
//! parameters and audio (odd rates, NaN, empty items). Nothing may panic; errors are
//! fine. `npm test` runs a short pass (64 cases per target, fixed seed);
//! `scripts/fuzz.sh` runs a longer one with a fresh seed.
//!
//! The corpus in `tests/fuzz-corpus/` holds inputs that once panicked or hung (each a
//! `{"manifest", "inputs"}` file, or an audio file for the decoder); every one is
//! replayed here. Add new finds there.
mod common;

use proptest::prelude::*;
use remotemedia_runtime::executor::{CancelFlag, Executor};
use remotemedia_runtime::params::ParamKind;
use remotemedia_runtime::{wire, AudioBuffer, NodeRegistry, RuntimeData};
use serde_json::{json, Map, Value};

/// Numbers that break code: zero, negatives, powers of two around integer widths,
/// huge floats, fractions.
fn awkward_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(1)),
        Just(json!(2)),
        Just(json!(0.5)),
        Just(json!(16000)),
        Just(json!(65536)),
        Just(json!(2147483648u64)),
        Just(json!(4294967296u64)),
        Just(json!(4294967808u64)),
        Just(json!(9007199254740993u64)),
        Just(json!(9223372036854775808u64)),
        Just(json!(u64::MAX)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        any::<i32>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|x| json!(x)),
    ]
}

/// Any JSON, with the wire's marker keys among the object keys.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        awkward_number(),
        "[a-z_]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("__audio__".to_string()),
                    Just("__numpy__".to_string()),
                    Just("__binary__".to_string()),
                    Just("__json__".to_string()),
                    Just("audio".to_string()),
                    Just("array".to_string()),
                    Just("meta".to_string()),
                    Just("data".to_string()),
                    "[a-z_]{1,6}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for a parameter: usually of its declared kind (to get past validation and
/// into the node), sometimes anything.
fn param_value(kind: ParamKind) -> BoxedStrategy<Value> {
    let typed = match kind {
        ParamKind::Number | ParamKind::Count => awkward_number().boxed(),
        ParamKind::Bool => any::<bool>().prop_map(Value::from).boxed(),
        ParamKind::NumberOrAuto => prop_oneof![awkward_number(), Just(json!("auto"))].boxed(),
        ParamKind::OneOf(names) => prop::sample::select(names.to_vec())
            .prop_map(Value::from)
            .boxed(),
        ParamKind::Object => Just(json!({"version": "v1"})).boxed(),
        ParamKind::Text | ParamKind::TextOrList => {
            prop_oneof![Just(json!("[.!?]+")), Just(json!("(")), Just(json!(""))].boxed()
        }
    };
    prop_oneof![4 => typed, 1 => any_json()].boxed()
}

/// Audio with awkward formats and samples.
fn awkward_audio() -> impl Strategy<Value = AudioBuffer> {
    let rate = prop_oneof![
        Just(1u32),
        Just(8000),
        Just(16000),
        Just(22050),
        Just(44100),
        Just(48000),
        Just(768000),
        Just(768001),
        Just(u32::MAX),
    ];
    let sample = prop_oneof![
        8 => -1.0f32..1.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::MAX),
    ];
    (rate, 1u16..=4, prop::collection::vec(sample, 0..2400)).prop_map(|(rate, ch, mut s)| {
        s.truncate(s.len() / usize::from(ch) * usize::from(ch));
        AudioBuffer::new(s, rate, ch)
    })
}

/// The short pass (`npm test`) uses a fixed seed, so CI is reproducible; a long pass
/// (`PROPTEST_CASES` set, `scripts/fuzz.sh`) draws a new seed each time to find more.
fn config() -> ProptestConfig {
    let long = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    ProptestConfig {
        cases: long.unwrap_or(64),
        rng_seed: match long {
            Some(_) => proptest::test_runner::RngSeed::Random,
            None => proptest::test_runner::RngSeed::Fixed(0x5eed_2026),
        },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A one-node manifest of `node_type` with params drawn for its specs (plus junk).
fn node_with_params(node_type: &'static str) -> impl Strategy<Value = Value> {
    let registry = NodeRegistry::builtin();
    let specs = registry.find(node_type).expect("registered").params;
    let params: Vec<BoxedStrategy<(String, Value)>> = specs
        .iter()
        .map(|s| {
            let name = s.name.to_string();
            param_value(s.kind)
                .prop_map(move |v| (name.clone(), v))
                .boxed()
        })
        .collect();
    (params, prop::collection::vec(any::<bool>(), specs.len())).prop_map(move |(pairs, keep)| {
        let params: Map<String, Value> = pairs
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(p, _)| p)
            .collect();
        common::one_node(node_type, Value::Object(params))
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn validation_never_panics_on_any_json(value in any_json()) {
        let _ = Executor::default().validate(&value);
    }

    #[test]
    fn validation_never_panics_on_manifest_shaped_json(
        nodes in prop::collection::vec(
            (prop::sample::select(NodeRegistry::builtin().names()), "[a-c]{1,2}", any_json()),
            0..6,
        ),
        connections in prop::collection::vec(("[a-c]{1,2}", "[a-c]{1,2}"), 0..6),
    ) {
        let nodes: Vec<Value> = nodes
            .into_iter()
            .map(|(t, id, params)| json!({"id": id, "node_type": t, "params": params}))
            .collect();
        let connections: Vec<Value> =
            connections.into_iter().map(|(a, b)| json!({"from": a, "to": b})).collect();
        let manifest = json!({"version": "v1", "metadata": {"name": "f"}, "nodes": nodes, "connections": connections});
        let executor = Executor::default();
        if let Ok(m) = executor.parse(&manifest) {
            let inputs = vec![RuntimeData::Json(json!(1)), RuntimeData::Text("x".into())];
            let _ = pollster::block_on(executor.run(&m, inputs, &CancelFlag::new()));
        }
    }

    #[test]
    fn the_wire_decoder_never_panics(value in any_json(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = wire::decode(&value);
        // The same shapes with a real base64 payload, so decoding gets past the base64.
        let data = wire::base64_data(&bytes);
        let typed = json!({"sample_rate": value.clone(), "channels": value.clone(), "frames": value.clone(), "shape": [value.clone()], "dtype": "uint8"});
        for meta in [&value, &typed] {
            let _ = wire::decode(&json!({"__audio__": true, "audio": {"meta": meta, "data": data.clone()}}));
            let _ = wire::decode(&json!({"__numpy__": true, "array": {"meta": meta, "data": data.clone()}}));
        }
    }

    #[test]
    fn the_package_reader_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        // Real packages with bytes changed here and there, cut short, and zip-looking noise.
        for name in ["calculator.rmpkg", "deps-nodes.rmpkg"] {
            let mut bytes = std::fs::read(common::repo().join("test-vectors/original").join(name)).unwrap();
            for (at, byte) in &edits {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            }
            let _ = remotemedia_runtime::package::read(&bytes);
            let _ = remotemedia_runtime::package::read(&bytes[..cut.index(bytes.len())]);
        }
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend(&noise);
        zipish.extend(b"PK\x05\x06");
        zipish.extend(&noise);
        let _ = remotemedia_runtime::package::read(&zipish);
    }

    #[test]
    fn the_onnx_model_reader_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        // Silero VAD's model with bytes changed here and there, cut short, and noise:
        // an error or a model, never a panic or an allocation the bytes do not hold.
        let mut bytes = silero_model().to_vec();
        for (at, byte) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        use remotemedia_runtime::models::silero::SileroVad;
        for rate in [16_000, 8_000] {
            if let Ok(vad) = SileroVad::from_onnx(&bytes, rate) {
                let mut state = vad.state();
                let p = vad.probability(&mut state, &vec![0.25; vad.window_samples()]).unwrap();
                prop_assert!(p.is_nan() || (0.0..=1.0).contains(&p));
            }
        }
        let _ = SileroVad::from_onnx(&bytes[..cut.index(bytes.len())], 16_000);
        let _ = remotemedia_runtime::models::onnx::float_tensors(&noise);
    }

    #[test]
    fn the_audio_decoder_never_panics(
        seed in prop::sample::select(audio_seeds()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..24),
        cut in any::<prop::sample::Index>(),
    ) {
        // A real file of each container with bytes changed here and there, then cut
        // short: an error or audio within the limit, never a panic or a hang.
        let mut bytes = std::fs::read(&seed).unwrap();
        for (at, byte) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        let limit = 1 << 20;
        for candidate in [bytes.clone(), bytes[..cut.index(bytes.len())].to_vec()] {
            if let Ok(audio) = remotemedia_runtime::media::decode_audio_file_limited(candidate, limit) {
                prop_assert!(audio.samples.len() <= limit);
            }
        }
    }

    #[test]
    fn audio_nodes_never_panic(
        (manifest, items) in prop::sample::select(audio_node_types()).prop_flat_map(|t| {
            (node_with_params(t), prop::collection::vec(awkward_audio(), 1..4))
        })
    ) {
        let executor = Executor::default();
        if let Ok(m) = executor.parse(&manifest) {
            let cancel = CancelFlag::new();
            let Ok(mut session) = pollster::block_on(executor.open(&m)) else { return Ok(()); };
            for item in items {
                if pollster::block_on(session.push(RuntimeData::Audio(item), &cancel)).is_err() {
                    return Ok(());
                }
            }
            let _ = pollster::block_on(session.close(&cancel));
        }
    }
}

/// The small real files, one per container and codec, the decoder is fuzzed from.
/// Silero VAD's ONNX model (npm's @ricky0123/vad-web), read once.
fn silero_model() -> &'static [u8] {
    static MODEL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| {
        let path = common::repo().join("node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}: run npm install", path.display()))
    })
}

fn audio_seeds() -> Vec<std::path::PathBuf> {
    let dir = common::repo().join("crates/runtime/tests/audio-seeds");
    let mut seeds: Vec<_> = std::fs::read_dir(&dir)
        .expect("the audio seeds folder exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    seeds.sort();
    seeds
}

/// The node types that take audio.
fn audio_node_types() -> Vec<&'static str> {
    vec![
        "FastResampleNode",
        "AudioTransform",
        "AudioChunkerNode",
        "GainNode",
        "FormatConverterNode",
        "AudioLevelNode",
        "SilenceDetectorNode",
        "ClippingDetectorNode",
        "VoiceActivityDetector",
        "AudioBufferAccumulatorNode",
        "SpeechEventsNode",
        "MelSpectrogramNode",
    ]
}

#[test]
fn every_corpus_input_runs_without_panicking() {
    let dir = common::repo().join("crates/runtime/tests/fuzz-corpus");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus folder exists") {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {}
            Some(_) => {
                decode_without_panicking(&path);
                replayed += 1;
                continue;
            }
            None => continue,
        }
        let case: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let executor = Executor::default();
        let inputs: Vec<RuntimeData> = case["inputs"]
            .as_array()
            .map(|items| items.iter().filter_map(|v| wire::decode(v).ok()).collect())
            .unwrap_or_default();
        if let Ok(m) = executor.parse(&case["manifest"]) {
            let _ = pollster::block_on(executor.run(&m, inputs, &CancelFlag::new()));
        }
        replayed += 1;
    }
    assert!(
        replayed >= 5,
        "only {replayed} corpus files in {}",
        dir.display()
    );
}

/// A damaged audio file from the corpus (one that panicked a decoder once): an error or
/// audio, never a panic. Natively the decoder turns a panic into an error that says the
/// decoder failed (`media::decode`'s guard); in WebAssembly a panic would end the
/// worker, so that message is a failure here too.
fn decode_without_panicking(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    if let Err(e) = remotemedia_runtime::media::decode_audio_file_limited(bytes, 1 << 20) {
        assert!(
            !e.message.contains("its decoder failed on it"),
            "{}: a decoder panicked: {}",
            path.display(),
            e.message
        );
    }
}
