//! Criterion benchmarks of every audio node on the audio-lena recording (12.27 s,
//! mono, 44.1 kHz), each run through the executor as a one-node pipeline.
//!
//! After Criterion's own report, a table gives each median as a multiple of real
//! time (seconds of audio processed per second), read from Criterion's estimates.
//! Run: `cargo bench -p remotemedia-runtime --bench audio_nodes`
//! (quick: `-- --warm-up-time 1 --measurement-time 3`).

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion};
use remotemedia_runtime::executor::{CancelFlag, Executor};
use remotemedia_runtime::nodes::decoder::decode_audio_file;
use remotemedia_runtime::{Manifest, RuntimeData};
use serde_json::{json, Value};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lena(ext: &str) -> Vec<u8> {
    let path = repo()
        .join("node_modules/audio-lena")
        .join(format!("lena.{ext}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run npm install)", path.display()))
}

fn one_node(node_type: &str, params: Value) -> Value {
    json!({"version": "v1", "metadata": {"name": "bench"},
           "nodes": [{"id": "n", "node_type": node_type, "params": params}]})
}

struct Case {
    group: &'static str,
    name: String,
    manifest: Manifest,
    input: RuntimeData,
    audio_seconds: f64,
}

fn cases(executor: &Executor) -> Vec<Case> {
    let wav = decode_audio_file(lena("wav")).expect("lena decodes");
    let seconds = wav.duration_s();
    let parse = |v: Value| executor.parse(&v).expect("valid bench manifest");
    let at16k = {
        let m = parse(one_node("FastResampleNode", json!({"target_rate": 16000})));
        let r = pollster::block_on(executor.run(
            &m,
            vec![RuntimeData::Audio(wav.clone())],
            &CancelFlag::new(),
        ))
        .unwrap();
        r.outputs[0].data.clone()
    };
    let with_vad = {
        let m = parse(one_node(
            "VoiceActivityDetector",
            json!({"include_metadata": true}),
        ));
        let r =
            pollster::block_on(executor.run(&m, vec![at16k.clone()], &CancelFlag::new())).unwrap();
        r.outputs[0].data.clone()
    };
    let audio44 = RuntimeData::Audio(wav.clone());
    let mut cases = Vec::new();
    let mut add = |group: &'static str, name: &str, manifest: Value, input: &RuntimeData| {
        cases.push(Case {
            group,
            name: name.to_string(),
            manifest: parse(manifest),
            input: input.clone(),
            audio_seconds: seconds,
        })
    };
    for ext in [
        "wav", "aiff", "caf", "flac", "mp3", "ogg", "opus", "webm", "m4a",
    ] {
        add(
            "decode",
            ext,
            one_node("AudioDecoderNode", json!({})),
            &RuntimeData::Binary(lena(ext)),
        );
    }
    for q in ["Low", "Medium", "High"] {
        add(
            "resample_44k1_to_16k",
            q,
            one_node(
                "FastResampleNode",
                json!({"target_rate": 16000, "quality": q}),
            ),
            &audio44,
        );
    }
    add(
        "transform",
        "44k1_mono_to_16k_stereo",
        one_node(
            "AudioTransform",
            json!({"output_sample_rate": 16000, "output_channels": 2}),
        ),
        &audio44,
    );
    add(
        "chunker",
        "512",
        one_node("AudioChunkerNode", json!({"chunk_size": 512})),
        &audio44,
    );
    add(
        "gain",
        "-6dB",
        one_node("GainNode", json!({"gain_db": -6})),
        &audio44,
    );
    add(
        "levels",
        "AudioLevelNode",
        one_node("AudioLevelNode", json!({})),
        &audio44,
    );
    add(
        "levels",
        "SilenceDetectorNode",
        one_node("SilenceDetectorNode", json!({})),
        &audio44,
    );
    add(
        "levels",
        "ClippingDetectorNode",
        one_node("ClippingDetectorNode", json!({})),
        &audio44,
    );
    add(
        "format",
        "i16",
        one_node("FormatConverterNode", json!({"target_format": "i16"})),
        &audio44,
    );
    add(
        "vad",
        "30ms_frames",
        one_node("VoiceActivityDetector", json!({"include_metadata": true})),
        &at16k,
    );
    add(
        "accumulator",
        "utterances",
        one_node("AudioBufferAccumulatorNode", json!({})),
        &with_vad,
    );
    add(
        "mel",
        "whisper_80x",
        one_node("MelSpectrogramNode", json!({})),
        &at16k,
    );
    let voice: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/pipelines/voice.json")).unwrap(),
    )
    .unwrap();
    add(
        "pipeline",
        "voice_json_from_wav",
        voice,
        &RuntimeData::Binary(lena("wav")),
    );
    cases
}

fn main() {
    let executor = Executor::default();
    let cases = cases(&executor);
    let mut c = Criterion::default().sample_size(20).configure_from_args();
    for case in &cases {
        let mut group = c.benchmark_group(case.group);
        group.bench_with_input(BenchmarkId::from_parameter(&case.name), case, |b, case| {
            b.iter(|| {
                pollster::block_on(executor.run(
                    &case.manifest,
                    vec![case.input.clone()],
                    &CancelFlag::new(),
                ))
                .expect("bench run succeeds")
            })
        });
        group.finish();
    }
    c.final_summary();
    print_real_time_table(&cases);
}

/// Prints `group/name: median ms, x real time` from Criterion's estimates files.
fn print_real_time_table(cases: &[Case]) {
    let root = repo().join("target/criterion");
    println!("\n| benchmark | median per 12.27 s of audio | x real time |\n|---|---|---|");
    for case in cases {
        let path = root
            .join(case.group)
            .join(&case.name)
            .join("new/estimates.json");
        let Some(ns) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["median"]["point_estimate"].as_f64())
        else {
            continue;
        };
        let seconds = ns / 1e9;
        println!(
            "| {}/{} | {:.2} ms | {:.0}x |",
            case.group,
            case.name,
            seconds * 1000.0,
            case.audio_seconds / seconds
        );
    }
}
