//! The audio nodes on the real audio-lena recording (12 s mono 44.1 kHz vocal):
//! decoding, resampling, chunking, voice activity, utterances, levels, mel.
mod common;

use common::{audio, concat, lena_audio, one_node, rms, split_audio, stream};
use realfft::RealFftPlanner;
use remotemedia_runtime::nodes::decoder::decode_audio_file;
use remotemedia_runtime::{AudioBuffer, RuntimeData};
use serde_json::{json, Value};

const LENA_FRAMES: usize = 541_184;

fn resampled_lena(quality: &str) -> AudioBuffer {
    let out = stream(
        "FastResampleNode",
        json!({"target_rate": 16000, "quality": quality}),
        vec![RuntimeData::Audio(lena_audio())],
    );
    let samples = concat(&out);
    AudioBuffer::new(samples, 16000, 1)
}

/// RMS envelope in blocks of `block` samples, in dB.
fn envelope_db(x: &[f32], block: usize) -> Vec<f64> {
    x.chunks(block)
        .map(|b| 20.0 * rms(b).max(1e-9).log10())
        .collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn all_four_formats_decode_to_the_same_recording() {
    let wav = lena_audio();
    assert_eq!(
        (wav.sample_rate, wav.channels, wav.frames()),
        (44100, 1, LENA_FRAMES)
    );
    let wav_env = envelope_db(&wav.samples, 441);
    for ext in ["flac", "mp3", "ogg"] {
        let decoded = decode_audio_file(common::lena_bytes(ext)).unwrap();
        assert_eq!((decoded.sample_rate, decoded.channels), (44100, 1), "{ext}");
        let dur = decoded.duration_s();
        assert!((dur - wav.duration_s()).abs() < 0.1, "{ext}: {dur} s");
        if ext == "flac" {
            // Lossless: the same recording to within dither (the package's files
            // differ by about -84 dB RMS).
            let diff: Vec<f32> = wav
                .samples
                .iter()
                .zip(&decoded.samples)
                .map(|(a, b)| a - b)
                .collect();
            let diff_db = 20.0 * rms(&diff).max(1e-12).log10();
            assert!(
                diff_db < -80.0,
                "flac differs from wav by {diff_db:.1} dB RMS"
            );
        }
        // Lossy codecs add delay: the best 10 ms envelope correlation over lags up to 300 ms.
        let env = envelope_db(&decoded.samples, 441);
        let best = (0..30)
            .map(|lag| correlation(&wav_env, &env[lag..]))
            .fold(f64::MIN, f64::max);
        assert!(best > 0.95, "{ext}: envelope correlation {best}");
        let (a, b) = (rms(&wav.samples), rms(&decoded.samples));
        assert!((20.0 * (a / b).log10()).abs() < 0.5, "{ext}: level differs");
    }
}

#[test]
fn decoder_rejects_garbage_with_a_clear_error() {
    let result = common::run(
        one_node("AudioDecoderNode", json!({})),
        vec![RuntimeData::Binary(b"definitely not audio".to_vec())],
    );
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("AudioDecoderNode")
            && err.contains("not an audio file AudioDecoderNode reads"),
        "{err}"
    );
}

#[test]
fn resampling_to_16k_keeps_length_and_spectrum() {
    let original = lena_audio();
    let expected_len = (LENA_FRAMES * 16000).div_ceil(44100);
    for quality in ["Low", "Medium", "High"] {
        let out = resampled_lena(quality);
        assert_eq!(out.samples.len(), expected_len, "{quality}");
        let level = 20.0 * (rms(&out.samples) / rms(&original.samples)).log10();
        assert!(
            level.abs() < 1.0,
            "{quality}: overall level changed by {level:.2} dB"
        );
        if quality == "Low" {
            // Linear interpolation has no anti-aliasing filter: content near 16 kHz
            // folds into the lowest bands, so only length and level are checked.
            continue;
        }
        // Band energies from 100 Hz to 7.1 kHz agree with the original's.
        let a = band_energies_db(&original.samples, 44100);
        let b = band_energies_db(&out.samples, 16000);
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() < 0.5,
                "{quality}: band {i} {x:.2} dB vs {y:.2} dB"
            );
        }
    }
}

/// Energy in 500 Hz bands from 100 Hz to 7.1 kHz, in dB, from one real FFT of the
/// whole signal (normalised by length and rate, so comparable across rates).
fn band_energies_db(x: &[f32], rate: usize) -> Vec<f64> {
    let n = x.len();
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut input: Vec<f64> = x.iter().map(|&s| f64::from(s)).collect();
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut input, &mut spectrum).unwrap();
    (0..14)
        .map(|band| {
            let (lo, hi) = (100 + band * 500, 600 + band * 500);
            let (k0, k1) = (lo * n / rate, hi * n / rate);
            // |X_k|^2 summed over a band grows with n * rate; divide both out.
            let e: f64 =
                spectrum[k0..k1].iter().map(|c| c.norm_sqr()).sum::<f64>() / (n * rate) as f64;
            10.0 * e.log10()
        })
        .collect()
}

#[test]
fn resampler_passes_in_band_tones_and_removes_what_would_alias() {
    for quality in ["Medium", "High"] {
        let tone = |hz: f64| -> Vec<RuntimeData> {
            let s = (0..44100)
                .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / 44100.0).sin() as f32 * 0.5)
                .collect();
            vec![RuntimeData::Audio(AudioBuffer::new(s, 44100, 1))]
        };
        let pass = concat(&stream(
            "FastResampleNode",
            json!({"target_rate": 16000, "quality": quality}),
            tone(1000.0),
        ));
        let stop = concat(&stream(
            "FastResampleNode",
            json!({"target_rate": 16000, "quality": quality}),
            tone(11000.0),
        ));
        let pass_db = 20.0 * (rms(&pass[2000..14000]) / (0.5 / 2f64.sqrt())).log10();
        let stop_db = 20.0 * (rms(&stop[2000..14000]) / (0.5 / 2f64.sqrt())).log10();
        assert!(
            pass_db.abs() < 0.1,
            "{quality}: 1 kHz changed by {pass_db} dB"
        );
        assert!(stop_db < -60.0, "{quality}: 11 kHz only down {stop_db} dB");
    }
}

#[test]
fn resampler_output_does_not_depend_on_chunking() {
    let original = lena_audio();
    for quality in ["Low", "Medium", "High"] {
        let params = json!({"target_rate": 16000, "quality": quality});
        let whole = concat(&stream(
            "FastResampleNode",
            params.clone(),
            vec![RuntimeData::Audio(original.clone())],
        ));
        let chunked = concat(&stream(
            "FastResampleNode",
            params.clone(),
            split_audio(&original, &[1, 7, 441, 1000, 4096, 333]),
        ));
        assert_eq!(whole, chunked, "{quality}");
        // A batch run (last item and flush in one step) gives one item with the same samples.
        let batch = common::run(
            one_node("FastResampleNode", params),
            vec![RuntimeData::Audio(original.clone())],
        )
        .unwrap();
        assert_eq!(batch.outputs.len(), 1);
        assert_eq!(audio(&batch.outputs[0].data).samples, whole, "{quality}");
    }
}

#[test]
fn resampler_rejects_a_declared_rate_that_does_not_match() {
    let err = common::run(
        one_node(
            "FastResampleNode",
            json!({"source_rate": 48000, "target_rate": 16000}),
        ),
        vec![RuntimeData::Audio(lena_audio())],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("44100 Hz but source_rate is 48000"), "{err}");
}

#[test]
fn chunker_gives_the_same_chunks_whatever_arrives() {
    let original = lena_audio();
    // 541184 = 1082 * 500 + 184: the flush emits a 184-frame remainder.
    let whole = stream(
        "AudioChunkerNode",
        json!({"chunk_size": 500}),
        vec![RuntimeData::Audio(original.clone())],
    );
    let pieces = stream(
        "AudioChunkerNode",
        json!({"chunk_size": 500}),
        split_audio(&original, &[100, 3000, 1]),
    );
    assert_eq!(whole.len(), 1083);
    assert!(whole[..1082].iter().all(|c| audio(c).frames() == 500));
    assert_eq!(audio(&whole[1082]).frames(), 184);
    let samples = |v: &[RuntimeData]| {
        v.iter()
            .map(|c| audio(c).samples.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(samples(&whole), samples(&pieces));
}

fn vad_frames(items: &[RuntimeData]) -> Vec<Value> {
    items
        .iter()
        .flat_map(|i| {
            audio(i).metadata["vad"]["frames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// Segments from all items, touching ones merged (chunking may end a report at an item edge).
fn vad_segments(items: &[RuntimeData]) -> Vec<(f64, f64)> {
    let mut segs: Vec<(f64, f64)> = items
        .iter()
        .flat_map(|i| {
            audio(i).metadata["vad"]["segments"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|s| (s["start_s"].as_f64().unwrap(), s["end_s"].as_f64().unwrap()))
        .collect();
    segs.sort_by(|a, b| a.0.total_cmp(&b.0));
    segs
}

#[test]
fn voice_activity_segments_cover_the_voiced_parts() {
    let audio16 = resampled_lena("Medium");
    let out = stream(
        "VoiceActivityDetector",
        json!({"frame_duration_ms": 30}),
        vec![RuntimeData::Audio(audio16.clone())],
    );
    let segments = vad_segments(&out);
    assert!(!segments.is_empty());
    let inside = |t: f64| segments.iter().any(|&(s, e)| t >= s && t < e);
    // An independent, energy-based reading of the same audio: loud frames
    // (> -22 dBFS) are voice; stretches of 150 ms or more near the noise floor
    // (< -36 dBFS; the room noise is about -40) are pauses between phrases.
    let frame_db: Vec<f64> = audio16
        .samples
        .chunks_exact(480)
        .map(|f| 20.0 * rms(f).max(1e-9).log10())
        .collect();
    let loud: Vec<usize> = (0..frame_db.len())
        .filter(|&k| frame_db[k] > -22.0)
        .collect();
    let loud_in = loud
        .iter()
        .filter(|&&k| inside((k as f64 + 0.5) * 0.03))
        .count();
    assert!(
        loud.len() > 100,
        "recording levels changed? {} loud frames",
        loud.len()
    );
    let voiced = loud_in as f64 / loud.len() as f64;
    assert!(
        voiced > 0.95,
        "only {voiced:.2} of loud frames are in speech segments"
    );
    let mut pauses = Vec::new();
    let mut run_start = None;
    for (k, &db) in frame_db.iter().chain(std::iter::once(&0.0)).enumerate() {
        match (db < -36.0, run_start) {
            (true, None) => run_start = Some(k),
            (false, Some(s)) => {
                if k - s >= 5 {
                    pauses.push((s as f64 * 0.03, k as f64 * 0.03));
                }
                run_start = None;
            }
            _ => {}
        }
    }
    assert!(
        pauses.len() >= 3,
        "expected several pauses, found {pauses:?}"
    );
    // earshot looks back 48 ms, so a segment may run into a pause, but every pause
    // must hold at least 30 ms outside all segments: segments never bridge pauses.
    for (s, e) in &pauses {
        let outside = (0..((e - s) * 1000.0) as usize)
            .filter(|ms| !inside(s + *ms as f64 / 1000.0))
            .count();
        assert!(
            outside >= 30,
            "pause {s:.2}-{e:.2} s has only {outside} ms outside segments: {segments:?}"
        );
    }
    // The recording starts with about 0.25 s of room noise.
    assert!(
        segments[0].0 >= 0.15,
        "first segment starts at {}",
        segments[0].0
    );
    // Frames tile the stream from 0 in 30 ms steps; only the partial last frame is left out.
    let frames = vad_frames(&out);
    assert_eq!(frames.len(), audio16.samples.len() / 480);
    assert_eq!(frames[1]["start_sample"], 480);
}

#[test]
fn voice_activity_does_not_depend_on_chunking() {
    let audio16 = resampled_lena("Medium");
    let whole = stream(
        "VoiceActivityDetector",
        json!({}),
        vec![RuntimeData::Audio(audio16.clone())],
    );
    let pieces = stream(
        "VoiceActivityDetector",
        json!({}),
        split_audio(&audio16, &[160, 1, 999, 4800, 37]),
    );
    assert_eq!(vad_frames(&whole), vad_frames(&pieces));
    let merge = |segs: Vec<(f64, f64)>| {
        segs.into_iter()
            .fold(Vec::<(f64, f64)>::new(), |mut acc, s| {
                match acc.last_mut() {
                    Some(last) if (last.1 - s.0).abs() < 1e-9 => last.1 = s.1,
                    _ => acc.push(s),
                }
                acc
            })
    };
    assert_eq!(merge(vad_segments(&whole)), merge(vad_segments(&pieces)));
    assert_eq!(
        concat(&whole),
        concat(&pieces),
        "audio passes through unchanged"
    );
}

#[test]
fn voice_activity_needs_16k_and_says_so() {
    let err = common::run(
        one_node("VoiceActivityDetector", json!({})),
        vec![RuntimeData::Audio(lena_audio())],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("needs 16000 Hz audio, got 44100 Hz") && err.contains("FastResampleNode"),
        "{err}"
    );
}

fn utterance_pipeline() -> Value {
    json!({
        "version": "v1", "metadata": {"name": "utt"},
        "nodes": [
            {"id": "vad", "node_type": "VoiceActivityDetector", "params": {"include_metadata": true}},
            {"id": "acc", "node_type": "AudioBufferAccumulatorNode", "params": {"min_utterance_duration_ms": 300, "max_utterance_duration_ms": 3000}}
        ],
        "connections": [{"from": "vad", "to": "acc"}]
    })
}

#[test]
fn accumulator_emits_utterances_within_bounds_whatever_the_chunking() {
    let audio16 = resampled_lena("Medium");
    let executor = remotemedia_runtime::Executor::default();
    let manifest = common::manifest(&executor, utterance_pipeline());
    let cancel = remotemedia_runtime::CancelFlag::new();
    let run = |items: Vec<RuntimeData>| {
        pollster::block_on(async {
            let mut s = executor.open(&manifest).await.unwrap();
            let mut out = Vec::new();
            for i in items {
                out.extend(s.push(i, &cancel).await.unwrap());
            }
            out.extend(s.close(&cancel).await.unwrap());
            out.into_iter().map(|o| o.data).collect::<Vec<_>>()
        })
    };
    let whole = run(vec![RuntimeData::Audio(audio16.clone())]);
    let pieces = run(split_audio(&audio16, &[320, 17, 2048]));
    assert!(whole.len() >= 4, "{} utterances", whole.len());
    for u in &whole {
        let a = audio(u);
        let ms = a.duration_s() * 1000.0;
        assert!(
            (300.0..=3000.0 + 30.0).contains(&ms),
            "utterance of {ms} ms"
        );
        let start = a.metadata["utterance"]["start_s"].as_f64().unwrap();
        let from = (start * 16000.0).round() as usize;
        assert_eq!(
            a.samples[..],
            audio16.samples[from..from + a.samples.len()],
            "utterance audio is the input audio"
        );
    }
    let samples = |v: &[RuntimeData]| {
        v.iter()
            .map(|c| audio(c).samples.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(samples(&whole), samples(&pieces));
}

#[test]
fn accumulator_without_vad_frames_explains_what_it_needs() {
    let err = common::run(
        one_node("AudioBufferAccumulatorNode", json!({})),
        vec![RuntimeData::Audio(AudioBuffer::new(
            vec![0.0; 160],
            16000,
            1,
        ))],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("include_metadata: true"), "{err}");
}

#[test]
fn levels_match_an_independent_computation_and_gain_shifts_them() {
    let lena = lena_audio();
    let rms_db = 20.0 * rms(&lena.samples).log10();
    let peak_db = 20.0 * f64::from(lena.samples.iter().fold(0f32, |m, s| m.max(s.abs()))).log10();
    let manifest = json!({
        "version": "v1", "metadata": {"name": "levels"},
        "nodes": [
            {"id": "plain", "node_type": "AudioLevelNode"},
            {"id": "gain", "node_type": "GainNode", "params": {"gain_db": -6}},
            {"id": "after", "node_type": "AudioLevelNode"}
        ],
        "connections": [{"from": "gain", "to": "after"}]
    });
    let result = common::run(manifest, vec![RuntimeData::Audio(lena)]).unwrap();
    let out = result.to_json();
    let plain = common::sink_items(&out, "plain")[0];
    let after = common::sink_items(&out, "after")[0];
    assert!((plain["rms_db"].as_f64().unwrap() - rms_db).abs() < 0.01);
    assert!((plain["peak_db"].as_f64().unwrap() - peak_db).abs() < 0.01);
    assert_eq!(plain["is_silence"], false);
    let drop = plain["rms_db"].as_f64().unwrap() - after["rms_db"].as_f64().unwrap();
    assert!(
        (drop - 6.0).abs() < 0.02,
        "gain -6 dB changed rms by {drop}"
    );
    let silent = common::run(
        one_node("AudioLevelNode", json!({})),
        vec![RuntimeData::Audio(AudioBuffer::new(
            vec![0.0; 1000],
            16000,
            1,
        ))],
    )
    .unwrap();
    assert_eq!(silent.to_json()["outputs"][0]["is_silence"], true);
    assert_eq!(silent.to_json()["outputs"][0]["rms_db"], -120.0);
}

#[test]
fn silence_and_clipping_detectors_report_events() {
    let loud: Vec<f32> = (0..1000)
        .map(|i| if i % 10 == 0 { 1.0 } else { 0.2 })
        .collect();
    let result = common::run(
        one_node("ClippingDetectorNode", json!({})),
        vec![RuntimeData::Audio(AudioBuffer::new(loud, 16000, 1))],
    )
    .unwrap();
    let clip = &result.to_json()["outputs"][0];
    assert_eq!(clip["is_clipping"], true);
    assert_eq!(clip["clipped_samples"], 100);
    let result = common::run(
        one_node("SilenceDetectorNode", json!({"silence_threshold_db": -50})),
        vec![RuntimeData::Audio(AudioBuffer::new(
            vec![0.001; 1600],
            16000,
            1,
        ))],
    )
    .unwrap();
    assert_eq!(result.to_json()["outputs"][0]["event"], "silence");
}

#[test]
fn transform_mixes_channels_and_converts_formats() {
    let stereo = AudioBuffer::new(vec![0.5, -0.5, 0.25, 0.75], 16000, 2);
    let mono = common::run(
        one_node("AudioTransform", json!({"output_channels": 1})),
        vec![RuntimeData::Audio(stereo)],
    )
    .unwrap();
    assert_eq!(audio(&mono.outputs[0].data).samples, vec![0.0, 0.5]);
    let lena = lena_audio();
    let down = common::run(
        one_node(
            "AudioTransform",
            json!({"output_sample_rate": 16000, "output_channels": 2}),
        ),
        vec![RuntimeData::Audio(lena)],
    )
    .unwrap();
    let a = audio(&down.outputs[0].data);
    assert_eq!(
        (a.sample_rate, a.channels, a.frames()),
        (16000, 2, (LENA_FRAMES * 16000).div_ceil(44100))
    );
    assert_eq!(
        a.samples[1000], a.samples[1001],
        "upmixed channels are equal"
    );
    let pcm = common::run(
        one_node("FormatConverterNode", json!({"target_format": "i16"})),
        vec![RuntimeData::Audio(AudioBuffer::new(
            vec![1.0, -1.0, 0.5, 2.0],
            8000,
            1,
        ))],
    )
    .unwrap();
    let RuntimeData::Binary(bytes) = &pcm.outputs[0].data else {
        panic!()
    };
    let values: Vec<i16> = bytes
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(values, vec![32767, -32767, 16384, 32767]);
}

/// Whisper's log-mel computed independently: direct DFT in f64, librosa's Slaney
/// mel formula written out again, same normalisation.
fn reference_log_mel(
    x: &[f32],
    rate: f64,
    n_fft: usize,
    hop: usize,
    n_mels: usize,
) -> Vec<Vec<f64>> {
    let pad = n_fft / 2;
    let n = x.len();
    let padded: Vec<f64> = (0..n + 2 * pad)
        .map(|i| {
            let j = i as isize - pad as isize;
            let j = if j < 0 {
                -j
            } else if j >= n as isize {
                2 * (n as isize - 1) - j
            } else {
                j
            };
            f64::from(x[j as usize])
        })
        .collect();
    let frames = n / hop;
    let bins = n_fft / 2 + 1;
    let mel = |f: f64| {
        if f < 1000.0 {
            3.0 * f / 200.0
        } else {
            15.0 + (f / 1000.0).ln() * 27.0 / 6.4f64.ln()
        }
    };
    let hz = |m: f64| {
        if m < 15.0 {
            200.0 * m / 3.0
        } else {
            1000.0 * ((m - 15.0) * 6.4f64.ln() / 27.0).exp()
        }
    };
    let pts: Vec<f64> = (0..n_mels + 2)
        .map(|i| hz(mel(rate / 2.0) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![vec![0.0; frames]; n_mels];
    for t in 0..frames {
        let power: Vec<f64> = (0..bins)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for i in 0..n_fft {
                    let w =
                        0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n_fft as f64).cos();
                    let ang = -2.0 * std::f64::consts::PI * (k * i) as f64 / n_fft as f64;
                    re += padded[t * hop + i] * w * ang.cos();
                    im += padded[t * hop + i] * w * ang.sin();
                }
                re * re + im * im
            })
            .collect();
        for m in 0..n_mels {
            let (lo, mid, hi) = (pts[m], pts[m + 1], pts[m + 2]);
            out[m][t] = (0..bins)
                .map(|k| {
                    let f = k as f64 * rate / n_fft as f64;
                    ((f - lo) / (mid - lo)).min((hi - f) / (hi - mid)).max(0.0) * 2.0 / (hi - lo)
                        * power[k]
                })
                .sum::<f64>()
                .max(1e-10)
                .log10();
        }
    }
    let max = out.iter().flatten().copied().fold(f64::MIN, f64::max);
    out.iter()
        .map(|row| row.iter().map(|v| (v.max(max - 8.0) + 4.0) / 4.0).collect())
        .collect()
}

#[test]
fn mel_spectrogram_matches_an_independent_whisper_style_computation() {
    let audio16 = resampled_lena("Medium");
    // Whole recording: the Whisper shape [80, samples / 160].
    let result = common::run(
        one_node("MelSpectrogramNode", json!({})),
        vec![RuntimeData::Audio(audio16.clone())],
    )
    .unwrap();
    let RuntimeData::Tensor(t) = &result.outputs[0].data else {
        panic!("expected a tensor")
    };
    assert_eq!(t.shape, vec![80, audio16.samples.len() / 160]);
    // 0.5 s from the middle, against the direct computation.
    let excerpt = audio16.samples[64000..72000].to_vec();
    let small = common::run(
        one_node("MelSpectrogramNode", json!({"n_mels": 40})),
        vec![RuntimeData::Audio(AudioBuffer::new(
            excerpt.clone(),
            16000,
            1,
        ))],
    )
    .unwrap();
    let RuntimeData::Tensor(t) = &small.outputs[0].data else {
        panic!()
    };
    let got = t.to_f32().unwrap();
    let frames = t.shape[1];
    assert_eq!(t.shape, vec![40, 50]);
    let want = reference_log_mel(&excerpt, 16000.0, 400, 160, 40);
    let mut max_err = 0f64;
    for m in 0..40 {
        for f in 0..frames {
            max_err = max_err.max((f64::from(got[m * frames + f]) - want[m][f]).abs());
        }
    }
    assert!(max_err < 1e-3, "max difference {max_err}");
}

#[test]
fn text_collector_emits_sentences_regardless_of_fragmenting() {
    let text = "Hello world. How are you? Fine!! ok. The end";
    let collect = |parts: Vec<&str>| -> Vec<RuntimeData> {
        stream(
            "TextCollectorNode",
            json!({}),
            parts
                .into_iter()
                .map(|p| RuntimeData::Text(p.into()))
                .collect(),
        )
    };
    let whole = collect(vec![text]);
    let bits = collect(text.split_inclusive(['o', '.']).collect());
    let texts = |v: &[RuntimeData]| {
        v.iter()
            .map(|d| match d {
                RuntimeData::Text(t) => t.clone(),
                _ => panic!(),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        texts(&whole),
        vec!["Hello world.", "How are you?", "Fine!!", "ok.", "The end"]
    );
    assert_eq!(texts(&whole), texts(&bits));
}

/// A 440 Hz tone of `frames` frames at `rate` Hz on `channels` channels.
fn tone(frames: usize, rate: u32, channels: u16) -> AudioBuffer {
    let samples = (0..frames)
        .flat_map(|i| {
            let s = (i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 0.5;
            std::iter::repeat_n(s, usize::from(channels))
        })
        .collect();
    AudioBuffer::new(samples, rate, channels)
}

/// Total output frames of a node fed `pieces` (frame counts) of a tone, as a batch
/// run (the last piece and the flush together) and as a session (push, then close).
fn resampled_frames(node: &str, params: Value, pieces: &[usize]) -> (usize, usize) {
    let items: Vec<RuntimeData> = pieces
        .iter()
        .map(|&n| RuntimeData::Audio(tone(n, 44100, 1)))
        .collect();
    let frames = |out: &[RuntimeData]| out.iter().map(|i| audio(i).frames()).sum::<usize>();
    let batch = common::run(one_node(node, params.clone()), items.clone())
        .unwrap_or_else(|e| panic!("{node} {params} {pieces:?}: {e}"));
    let batch: Vec<RuntimeData> = batch.outputs.into_iter().map(|o| o.data).collect();
    (frames(&batch), frames(&stream(node, params, items)))
}

#[test]
fn resampling_works_for_streams_of_whole_chunks() {
    // The resampler works in chunks of 1024 frames: streams that are a whole number of
    // them leave nothing pending at the end.
    for pieces in [
        &[1024][..],
        &[2048],
        &[4096, 4096, 4096, 4096],
        &[1023, 1025],
        &[2047],
    ] {
        let total: usize = pieces.iter().sum();
        let want = (total * 16000).div_ceil(44100);
        for quality in ["Low", "Medium", "High"] {
            let params = json!({"target_rate": 16000, "quality": quality});
            assert_eq!(
                resampled_frames("FastResampleNode", params, pieces),
                (want, want),
                "{quality} {pieces:?}"
            );
        }
        let params = json!({"output_sample_rate": 16000});
        assert_eq!(
            resampled_frames("AudioTransform", params, pieces),
            (want, want),
            "AudioTransform {pieces:?}"
        );
    }
}

#[test]
fn a_stream_that_changes_format_is_an_error_in_every_stateful_audio_node() {
    // Each item carries one VAD frame decision, for the accumulator (others ignore it).
    let with_vad = |mut a: AudioBuffer, start: u64| {
        let frame = json!({"start_sample": start, "end_sample": start + 2000, "is_speech": true});
        a.metadata.insert("vad".into(), json!({"frames": [frame]}));
        RuntimeData::Audio(a)
    };
    let mono = with_vad(tone(2000, 16000, 1), 0);
    let stereo = with_vad(tone(2000, 16000, 2), 2000);
    let cases = [
        ("AudioTransform", json!({"output_sample_rate": 8000})),
        ("AudioTransform", json!({"output_channels": 2})),
        ("FastResampleNode", json!({"target_rate": 8000})),
        ("AudioChunkerNode", json!({"chunk_size": 300})),
        ("VoiceActivityDetector", json!({})),
        ("AudioBufferAccumulatorNode", json!({})),
    ];
    for (node, params) in cases {
        let err = common::run(
            one_node(node, params.clone()),
            vec![mono.clone(), stereo.clone()],
        )
        .err()
        .unwrap_or_else(|| panic!("{node} {params}: mono then stereo was accepted"));
        let message = err.to_string();
        assert!(
            message.contains("changed mid-stream (16000 Hz x1 -> 16000 Hz x2)"),
            "{node}: {message}"
        );
    }
}

#[test]
fn transform_tail_keeps_the_stream_timestamp_and_id() {
    let mut first = tone(1500, 44100, 2);
    first.timestamp_us = Some(5_000_000);
    first.stream_id = Some("mic".into());
    let out = stream(
        "AudioTransform",
        json!({"output_sample_rate": 16000, "output_channels": 1}),
        vec![RuntimeData::Audio(first)],
    );
    assert!(
        out.len() >= 2,
        "expected output and a flushed tail, got {} items",
        out.len()
    );
    for item in &out {
        let a = audio(item);
        assert_eq!((a.sample_rate, a.channels), (16000, 1));
        assert_eq!(a.timestamp_us, Some(5_000_000));
        assert_eq!(a.stream_id.as_deref(), Some("mic"));
    }
}
