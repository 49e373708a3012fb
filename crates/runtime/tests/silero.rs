//! Silero VAD in Rust (`models::silero`) against the reference: PyPI's onnxruntime
//! running the same ONNX file (`tests/reference/silero_onnxruntime.py`), window by
//! window, on the real recording clean and in white noise, at 16 and 8 kHz. Every
//! probability must agree within 1e-4.
//!
//! Then `SileroVADNode` over that network: its windows, segments and events, whatever
//! the chunking; and on the noisy-speech corpus (`common::corpus`), its false alarms
//! against `VoiceActivityDetector`'s.
//!
//! The model is npm's `@ricky0123/vad-web` (`silero_vad_v6.onnx`, MIT); onnxruntime is
//! in the virtual environment `scripts/setup.sh` makes (`target/onnx-venv`).
mod common;

use std::path::PathBuf;
use std::process::Command;

use common::corpus::{self, Noise};
use common::{split_audio, stream};
use remotemedia_runtime::models::silero::SileroVad;
use remotemedia_runtime::{AudioBuffer, RuntimeData};
use serde_json::{json, Value};

fn model_path() -> PathBuf {
    common::repo().join("node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx")
}

/// The recording at `rate`, mono float32, by ffmpeg: the clean 12 s, then the same
/// with white noise at 5 dB SNR (a fixed-seed generator), so the state runs through both.
fn audio(rate: u32) -> Vec<f32> {
    let clean = common::ffmpeg_mono(
        &common::repo().join("node_modules/audio-lena/lena.wav"),
        rate,
    );
    let power = clean.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / clean.len() as f64;
    let noise_rms = (power / 10f64.powf(5.0 / 10.0)).sqrt();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let noisy = clean.iter().map(|s| {
        // Uniform noise of the wanted RMS: width sqrt(12) * rms.
        let n = (uniform() - 0.5) * 12f64.sqrt() * noise_rms;
        (f64::from(*s) + n) as f32
    });
    clean.iter().copied().chain(noisy).collect()
}

fn reference(samples: &[f32], rate: u32) -> Vec<f64> {
    let python = common::repo().join("target/onnx-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/setup.sh makes it (a virtual environment with PyPI's onnxruntime, the reference)",
        python.display()
    );
    let dir = common::repo().join("target/silero-reference");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("lena-{rate}.f32"));
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(&python)
        .arg(common::repo().join("crates/runtime/tests/reference/silero_onnxruntime.py"))
        .arg(model_path())
        .arg(&file)
        .arg(rate.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn probabilities_equal_onnxruntime_within_1e_4_at_16_and_8_khz() {
    let bytes = common::silero_model();
    for rate in [16_000, 8_000] {
        let vad = SileroVad::from_onnx(&bytes, rate).unwrap();
        let samples = audio(rate);
        let expected = reference(&samples, rate);
        let mut state = vad.state();
        let ours: Vec<f32> = samples
            .chunks_exact(vad.window_samples())
            .map(|w| vad.probability(&mut state, w).unwrap())
            .collect();
        assert_eq!(ours.len(), expected.len(), "{rate} Hz: windows");
        let worst = ours
            .iter()
            .zip(&expected)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        assert!(
            worst < 1e-4,
            "{rate} Hz: differs from onnxruntime by up to {worst}"
        );
        // Real behaviour, not a constant: the recording has speech and pauses.
        let speech = ours.iter().filter(|p| **p > 0.5).count();
        assert!(
            speech > ours.len() / 10 && speech < ours.len() * 9 / 10,
            "{rate} Hz: {speech} of {} windows are speech",
            ours.len()
        );
        println!(
            "{rate} Hz: {} windows, max difference from onnxruntime {worst:.2e}, {speech} speech",
            ours.len()
        );
    }
}

#[test]
fn bad_models_and_windows_are_errors() {
    assert!(SileroVad::from_onnx(b"not a model", 16_000).is_err());
    let bytes = common::silero_model();
    let err = SileroVad::from_onnx(&bytes, 44_100).unwrap_err();
    assert!(err.contains("16000 or 8000"), "{err}");
    // Cut anywhere, the file is an error, never a panic.
    for cut in [10, 1000, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            SileroVad::from_onnx(&bytes[..cut], 16_000).is_err(),
            "cut at {cut}"
        );
    }
    let vad = SileroVad::from_onnx(&bytes, 16_000).unwrap();
    let mut state = vad.state();
    assert!(vad.probability(&mut state, &[0.0; 100]).is_err());
    // NaN and infinities count as silence and leave the state usable.
    let mut bad = vec![f32::NAN; 512];
    bad[7] = f32::INFINITY;
    let p = vad.probability(&mut state, &bad).unwrap();
    assert!(p.is_finite());
    let p = vad.probability(&mut state, &[0.1; 512]).unwrap();
    assert!(p.is_finite());
    // A state of the other rate's network is refused.
    let other = SileroVad::from_onnx(&bytes, 8_000).unwrap();
    assert!(vad.probability(&mut other.state(), &[0.0; 512]).is_err());
}

/// The recording at 16 kHz, mono.
fn lena16() -> AudioBuffer {
    let path = common::repo().join("node_modules/audio-lena/lena.wav");
    AudioBuffer::new(common::ffmpeg_mono(&path, 16_000), 16_000, 1)
}

fn frames_of(items: &[RuntimeData]) -> Vec<Value> {
    items
        .iter()
        .filter_map(|i| match i {
            RuntimeData::Audio(a) => a.metadata["vad"]["frames"].as_array().cloned(),
            _ => None,
        })
        .flatten()
        .collect()
}

fn segments_of(items: &[RuntimeData]) -> Vec<(f64, f64)> {
    items
        .iter()
        .filter_map(|i| match i {
            RuntimeData::Audio(a) => a.metadata["vad"]["segments"].as_array().cloned(),
            _ => None,
        })
        .flatten()
        .map(|s| (s["start_s"].as_f64().unwrap(), s["end_s"].as_f64().unwrap()))
        .collect()
}

#[test]
fn the_node_gives_the_networks_probabilities_whatever_the_chunking() {
    let lena = lena16();
    let whole = stream(
        "SileroVADNode",
        json!({}),
        vec![RuntimeData::Audio(lena.clone())],
    );
    let chunked = stream(
        "SileroVADNode",
        json!({}),
        split_audio(&lena, &[100, 777, 512, 3001, 1]),
    );
    let frames = frames_of(&whole);
    assert_eq!(frames, frames_of(&chunked), "frames depend on chunking");
    assert_eq!(segments_of(&whole), segments_of(&chunked));
    // Every window, the last (zero-padded) one too; its frame ends at the stream's end.
    assert_eq!(frames.len(), lena.samples.len().div_ceil(512));
    assert_eq!(
        frames.last().unwrap()["end_sample"],
        lena.samples.len() as u64
    );
    // The scores are the network's own probabilities, window by window.
    let vad = SileroVad::from_onnx(&common::silero_model(), 16_000).unwrap();
    let mut state = vad.state();
    for (frame, window) in frames.iter().zip(lena.samples.chunks_exact(512)) {
        let p = f64::from(vad.probability(&mut state, window).unwrap());
        let score = frame["score"].as_f64().unwrap();
        assert!((p - score).abs() <= 0.0005, "{frame}: network says {p}");
    }
    // The audio passes through unchanged.
    assert_eq!(common::concat(&whole), lena.samples);
}

#[test]
fn segments_cover_the_loud_speech_and_follow_the_parameters() {
    let lena = lena16();
    let out = stream(
        "SileroVADNode",
        json!({}),
        vec![RuntimeData::Audio(lena.clone())],
    );
    let segments = segments_of(&out);
    assert!(segments.len() >= 2, "{segments:?}");
    // Loud frames (> -22 dBFS) are speech and lie in segments.
    let inside = |t: f64| segments.iter().any(|&(s, e)| t >= s && t < e);
    let loud: Vec<usize> = (0..lena.samples.len() / 480)
        .filter(|&k| common::rms(&lena.samples[k * 480..(k + 1) * 480]) > 10f64.powf(-22.0 / 20.0))
        .collect();
    let covered = loud
        .iter()
        .filter(|&&k| inside((k as f64 + 0.5) * 0.03))
        .count();
    assert!(
        covered as f64 >= 0.95 * loud.len() as f64,
        "{covered} of {} loud frames in {segments:?}",
        loud.len()
    );
    // In order, apart, and each at least min_speech_duration_ms long.
    for pair in segments.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "{segments:?}");
    }
    assert!(segments.iter().all(|(s, e)| e - s >= 0.25), "{segments:?}");
    // A long min_silence_duration_ms joins segments; a huge min_speech_duration_ms drops them all.
    let joined = segments_of(&stream(
        "SileroVADNode",
        json!({"min_silence_duration_ms": 2000}),
        vec![RuntimeData::Audio(lena.clone())],
    ));
    assert!(joined.len() < segments.len(), "{joined:?} vs {segments:?}");
    let none = segments_of(&stream(
        "SileroVADNode",
        json!({"min_speech_duration_ms": 60000}),
        vec![RuntimeData::Audio(lena.clone())],
    ));
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn events_follow_the_original_sdk_and_precede_their_audio() {
    let lena = lena16();
    let out = stream(
        "SileroVADNode",
        json!({"emit_events": true, "include_metadata": false}),
        split_audio(&lena, &[1600]),
    );
    let events: Vec<&Value> = out
        .iter()
        .filter_map(|i| match i {
            RuntimeData::Json(v) => Some(v),
            _ => None,
        })
        .collect();
    // One event per item, each before its audio; closing the session adds the last
    // (zero-padded) window's.
    assert_eq!(out.len(), 2 * events.len());
    for pair in out.chunks(2) {
        assert!(matches!(
            pair,
            [RuntimeData::Json(_), RuntimeData::Audio(_)]
        ));
    }
    let items = lena.samples.len().div_ceil(1600);
    assert_eq!(events.len(), items + 1);
    let starts = events
        .iter()
        .filter(|e| e["is_speech_start"] == true)
        .count();
    let ends = events.iter().filter(|e| e["is_speech_end"] == true).count();
    assert!(
        starts >= 2 && starts == ends,
        "{starts} starts, {ends} ends"
    );
    let last = events.last().unwrap();
    let duration_ms = lena.samples.len() as u64 * 1000 / 16_000;
    assert_eq!(last["timestamp_ms"], duration_ms);
    for key in [
        "has_speech",
        "speech_probability",
        "rms",
        "peak",
        "samples",
        "sample_rate",
    ] {
        assert!(
            events[3].get(key).is_some(),
            "{key} missing in {}",
            events[3]
        );
    }
    assert!(frames_of(&out).is_empty(), "include_metadata: false");
}

#[test]
fn the_original_sdks_camel_case_parameters_are_the_same_parameters() {
    // As the original's examples write them (vad_bidirectional.json, vad-s2s-pipeline.json).
    let lena = lena16();
    let camel = json!({"samplingRate": 16000, "minSpeechDurationMs": 250, "minSilenceDurationMs": 2000, "speechPadMs": 30});
    let snake = json!({"sampling_rate": 16000, "min_speech_duration_ms": 250, "min_silence_duration_ms": 2000, "speech_pad_ms": 30});
    let executor = remotemedia_runtime::executor::Executor::default();
    let (_, report) = executor.validate(&common::one_node("SileroVADNode", camel.clone()));
    assert!(report.valid && report.warnings.is_empty(), "{report:?}");
    let a = segments_of(&stream(
        "SileroVADNode",
        camel,
        vec![RuntimeData::Audio(lena.clone())],
    ));
    let b = segments_of(&stream(
        "SileroVADNode",
        snake,
        vec![RuntimeData::Audio(lena.clone())],
    ));
    assert_eq!(a, b);
    // And they take effect: a 2 s min_silence joins segments the default keeps apart.
    let default = segments_of(&stream(
        "SileroVADNode",
        json!({}),
        vec![RuntimeData::Audio(lena)],
    ));
    assert!(a.len() < default.len(), "{a:?} vs {default:?}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let at_44k = AudioBuffer::new(vec![0.0; 4410], 44_100, 1);
    let result = common::run(
        common::one_node("SileroVADNode", json!({})),
        vec![RuntimeData::Audio(at_44k)],
    );
    let err = format!("{:?}", result.unwrap_err());
    assert!(err.contains("FastResampleNode"), "{err}");
    for (params, what) in [
        (json!({"sampling_rate": 44100}), "16000 or 8000"),
        (json!({"threshold": 1.5}), "0 to 1"),
        (
            json!({"threshold": 0.3, "neg_threshold": 0.6}),
            "must not exceed",
        ),
        (json!({"speech_pad_ms": -1}), "ms"),
    ] {
        let executor = remotemedia_runtime::executor::Executor::default();
        let err = executor
            .parse(&common::one_node("SileroVADNode", params.clone()))
            .err()
            .map(|e| e.to_string())
            .or_else(|| {
                common::run(common::one_node("SileroVADNode", params.clone()), vec![])
                    .err()
                    .map(|e| format!("{e:?}"))
            })
            .unwrap_or_else(|| panic!("{params} was accepted"));
        assert!(err.contains(what), "{params}: {err}");
    }
    // NaN and silence: decisions, no panic; 8 kHz works with its own windows.
    let mut odd = vec![f32::NAN; 3000];
    odd.extend(vec![0.0; 3000]);
    let out = stream(
        "SileroVADNode",
        json!({"sampling_rate": 8000}),
        vec![RuntimeData::Audio(AudioBuffer::new(odd, 8000, 1))],
    );
    let frames = frames_of(&out);
    assert_eq!(frames.len(), 6000usize.div_ceil(256));
    assert!(frames.iter().all(|f| f["is_speech"] == false));
}

#[test]
fn the_speculative_coordinator_forwards_at_once_and_cancels_false_starts() {
    let lena = lena16();
    // A short burst of real speech (160 ms from the middle of a phrase) between silences,
    // then the whole recording.
    let burst_at = (1.2 * 16_000.0) as usize;
    let mut samples = vec![0.0f32; 16_000];
    samples.extend_from_slice(&lena.samples[burst_at..burst_at + 2560]);
    samples.extend(vec![0.0f32; 16_000]);
    samples.extend_from_slice(&lena.samples);
    let input = AudioBuffer::new(samples.clone(), 16_000, 1);
    let out = stream(
        "SpeculativeVADCoordinator",
        json!({}),
        split_audio(&input, &[1600]),
    );
    // Every audio item goes on unchanged and in order.
    assert_eq!(
        common::concat(
            &out.iter()
                .filter(|i| matches!(i, RuntimeData::Audio(_)))
                .cloned()
                .collect::<Vec<_>>()
        ),
        samples
    );
    let cancels: Vec<&Value> = out
        .iter()
        .filter_map(|i| match i {
            RuntimeData::Json(v) => Some(v),
            _ => None,
        })
        .collect();
    assert!(!cancels.is_empty(), "the 160 ms burst was not cancelled");
    for c in &cancels {
        assert_eq!(c["message_type"], "cancel_speculation");
        assert!(c["duration_ms"].as_f64().unwrap() < 250.0, "{c}");
    }
    // The burst is the first, cancelled after its silence was heard, not before its audio.
    let first = cancels[0];
    assert!(
        first["from_s"].as_f64().unwrap() >= 0.9 && first["to_s"].as_f64().unwrap() <= 1.3,
        "{first}"
    );
    let at = out
        .iter()
        .position(|i| matches!(i, RuntimeData::Json(_)))
        .unwrap();
    let audio_before: usize = out[..at]
        .iter()
        .map(|i| common::audio(i).samples.len())
        .sum();
    assert!(audio_before as u64 >= first["to_timestamp"].as_u64().unwrap());
    // Nothing is cancelled when every length is enough.
    let none = stream(
        "SpeculativeVADCoordinator",
        json!({"min_speech_duration_ms": 0}),
        split_audio(&input, &[1600]),
    );
    assert!(none.iter().all(|i| matches!(i, RuntimeData::Audio(_))));
}

/// The decisions of `node_type` (default params) over `samples`, as spans.
fn decisions(node_type: &str, samples: &[f32]) -> Vec<(u64, u64, bool)> {
    let out = stream(
        node_type,
        json!({}),
        vec![RuntimeData::Audio(AudioBuffer::new(
            samples.to_vec(),
            16_000,
            1,
        ))],
    );
    frames_of(&out)
        .iter()
        .map(|f| {
            (
                f["start_sample"].as_u64().unwrap(),
                f["end_sample"].as_u64().unwrap(),
                f["is_speech"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The noise table over `conditions`: one row per condition and node.
fn noise_table(
    small: bool,
    conditions: &[(Noise, f64)],
) -> Vec<(String, &'static str, corpus::Scores)> {
    let corpus = corpus::build(&corpus::clips(small));
    let mut rows = Vec::new();
    let mut run = |name: String, samples: &[f32]| {
        for node in ["VoiceActivityDetector", "SileroVADNode"] {
            let scores = corpus.score(&decisions(node, samples));
            println!(
                "{name:>14} {node:>22}: false alarm {:5.1}%  miss {:5.1}%  F1 {:.3}",
                100.0 * scores.false_alarm(),
                100.0 * scores.miss(),
                scores.f1()
            );
            rows.push((name.clone(), node, scores));
        }
    };
    run("clean".into(), &corpus.samples);
    for &(noise, snr) in conditions {
        run(
            format!("{} {snr} dB", noise.name()),
            &corpus.noisy(noise, snr),
        );
    }
    rows
}

#[test]
fn in_noise_silero_calls_far_less_noise_speech_than_the_earshot_node() {
    let conditions = [
        (Noise::White, 5.0),
        (Noise::White, 0.0),
        (Noise::Pink, 5.0),
        (Noise::Pink, 0.0),
    ];
    let rows = noise_table(true, &conditions);
    for pair in rows.chunks(2) {
        let (name, _, earshot) = &pair[0];
        let (_, _, silero) = &pair[1];
        if name == "clean" {
            // In quiet, Silero hears the speech about as well as earshot does.
            assert!(
                silero.miss() < earshot.miss() + 0.05,
                "clean: Silero misses {:.3}, earshot {:.3}",
                silero.miss(),
                earshot.miss()
            );
            continue;
        }
        assert!(
            silero.false_alarm() < earshot.false_alarm(),
            "{name}: Silero's false alarms {:.3} are not under earshot's {:.3}",
            silero.false_alarm(),
            earshot.false_alarm()
        );
        assert!(
            silero.false_alarm() <= 0.06,
            "{name}: Silero's false alarms {:.3}",
            silero.false_alarm()
        );
    }
}

/// The full table for bench/vad-noise.mjs (`--ignored`): every recording, four noises at
/// 20, 10, 5 and 0 dB; written to bench/results/vad-noise.{md,json}.
#[test]
#[ignore = "the benchmark's full corpus: run by bench/vad-noise.mjs"]
fn full_noise_table() {
    let mut conditions = Vec::new();
    for noise in [Noise::White, Noise::Pink, Noise::Brown, Noise::Babble] {
        for snr in [20.0, 10.0, 5.0, 0.0] {
            conditions.push((noise, snr));
        }
    }
    let rows = noise_table(false, &conditions);
    let mut md =
        String::from("| condition | node | false alarm | miss | F1 |\n|---|---|---|---|---|\n");
    let mut js = Vec::new();
    for (name, node, s) in &rows {
        md += &format!(
            "| {name} | {node} | {:.1}% | {:.1}% | {:.3} |\n",
            100.0 * s.false_alarm(),
            100.0 * s.miss(),
            s.f1()
        );
        js.push(json!({"condition": name, "node": node, "false_alarm": s.false_alarm(), "miss": s.miss(), "f1": s.f1(),
            "speech_frames": s.hits + s.misses, "non_speech_frames": s.false_alarms + s.rejections}));
    }
    let dir = common::repo().join("bench/results");
    std::fs::write(dir.join("vad-noise.md"), md).unwrap();
    std::fs::write(
        dir.join("vad-noise.json"),
        serde_json::to_string_pretty(&js).unwrap() + "\n",
    )
    .unwrap();
}
