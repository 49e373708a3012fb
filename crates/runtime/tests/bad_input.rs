//! Absurd input gets a clear error, never a panic, a hang or an abort: one
//! representative case per class (sizes, rates, non-finite samples, crafted metadata,
//! crafted file headers, huge manifests). Each of these panicked or hung before.
mod common;

use remotemedia_runtime::executor::Executor;
use remotemedia_runtime::{wire, AudioBuffer, RuntimeData};
use serde_json::{json, Value};

/// The validation errors of a one-node manifest, as `path: message` lines.
fn invalid(node_type: &str, params: Value) -> String {
    let (manifest, report) = Executor::default().validate(&common::one_node(node_type, params));
    assert!(manifest.is_none(), "{node_type} should be refused");
    report.to_string()
}

/// The error of a one-node run on `inputs` (the manifest being valid).
fn run_error(node_type: &str, params: Value, inputs: Vec<RuntimeData>) -> String {
    common::run(common::one_node(node_type, params), inputs)
        .expect_err("the run should fail")
        .to_string()
}

fn tone(frames: usize, rate: u32) -> AudioBuffer {
    AudioBuffer::new(
        (0..frames).map(|i| (i as f32 * 0.05).sin() * 0.5).collect(),
        rate,
        1,
    )
}

#[test]
fn sizes_beyond_the_limits_are_refused_the_same_on_every_target() {
    // 2^63 and 2^32 + 512 used to panic (non-zero check after truncation) or to be cut to
    // 32 bits in wasm; now both exceed the stated limit everywhere.
    for size in [json!(9223372036854775808u64), json!(4294967808u64)] {
        let text = invalid("AudioChunkerNode", json!({"chunk_size": size}));
        assert!(
            text.contains("chunk_size: must be 1 to 16777216 frames"),
            "{text}"
        );
    }
    let text = invalid("MelSpectrogramNode", json!({"n_fft": 4294967312u64}));
    assert!(text.contains("n_fft"), "{text}");
    // A tensor whose shape overflows usize.
    let bad = json!({"__numpy__": true, "array": {"meta": {"shape": [4294967296u64, 4294967296u64, 16], "dtype": "float64"}, "data": ""}});
    let err = wire::decode(&bad).unwrap_err();
    assert_eq!(err.path, "$.array.meta.shape", "{err}");
}

#[test]
fn outputs_sized_by_parameters_are_bounded() {
    // hop_length 1 over 60 s at 48 kHz would be 2.9M frames x 201 bins.
    let err = run_error(
        "MelSpectrogramNode",
        json!({"hop_length": 1}),
        vec![RuntimeData::Audio(tone(48_000 * 60, 48_000))],
    );
    assert!(err.contains("over the limit"), "{err}");
}

#[test]
fn sample_rates_and_ratios_beyond_the_limits_are_errors_not_hangs() {
    let text = invalid("AudioTransform", json!({"output_sample_rate": 1536000}));
    assert!(text.contains("from 1 to 768000"), "{text}");
    // An envelope claiming 4294967295 Hz, and 1 Hz to 768 kHz (a ratio of 768000).
    let huge = AudioBuffer::new(vec![0.0; 64], u32::MAX, 1);
    let err = run_error(
        "FastResampleNode",
        json!({"target_rate": 16000}),
        vec![RuntimeData::Audio(huge)],
    );
    assert!(err.contains("cannot resample at 4294967295 Hz"), "{err}");
    let err = run_error(
        "AudioTransform",
        json!({"output_sample_rate": 768000}),
        vec![RuntimeData::Audio(tone(10, 1))],
    );
    assert!(err.contains("ratio is beyond 256"), "{err}");
}

#[test]
fn non_finite_samples_are_refused_before_the_resampler() {
    let mut audio = tone(4096, 44_100);
    audio.samples[1000] = f32::NAN;
    audio.samples[2000] = f32::INFINITY;
    for quality in ["Low", "Medium", "High"] {
        let err = run_error(
            "FastResampleNode",
            json!({"target_rate": 16000, "quality": quality}),
            vec![RuntimeData::Audio(audio.clone())],
        );
        assert!(err.contains("sample 1000 is NaN"), "{quality}: {err}");
    }
}

#[test]
fn crafted_vad_metadata_is_refused() {
    let frames = |list: Value| {
        let mut audio = tone(10, 16_000);
        audio
            .metadata
            .insert("vad".into(), json!({ "frames": list }));
        RuntimeData::Audio(audio)
    };
    let speech = |s: u64, e: u64| json!({"start_sample": s, "end_sample": e, "is_speech": true});
    for bad in [
        json!([speech(1000, 2000)]),         // beyond the 10 frames received
        json!([speech(5, 3)]),               // ends before it starts
        json!([speech(0, 5), speech(2, 4)]), // out of order
    ] {
        let err = run_error("AudioBufferAccumulatorNode", json!({}), vec![frames(bad)]);
        assert!(err.contains("vad.frames metadata is inconsistent"), "{err}");
    }
}

/// A WAV file with the given header fields and 4 frames of 16-bit silence.
fn wav(channels: u16, rate: u32) -> Vec<u8> {
    let mut b = common::wav_header(channels, rate, 8);
    b.extend_from_slice(&[0; 8]);
    b
}

#[test]
fn crafted_file_headers_are_refused_before_the_decoder() {
    // symphonia panics building a time base from 0 Hz.
    for (channels, rate) in [(1, 0), (0, 16000), (1, 5_000_000)] {
        let err = run_error(
            "AudioDecoderNode",
            json!({}),
            vec![RuntimeData::Binary(wav(channels, rate))],
        );
        assert!(err.contains("the WAV header is invalid"), "{err}");
    }
    let ok = common::run(
        common::one_node("AudioDecoderNode", json!({})),
        vec![RuntimeData::Binary(wav(1, 8000))],
    )
    .expect("a sane header still decodes");
    assert_eq!(ok.outputs[0].data.kind(), "audio");
}

/// A FLAC stream of `frames` frames of 65535 constant 16-bit mono samples (0.125): a few
/// bytes per frame for 65535 samples, the shape of a decompression bomb. Its STREAMINFO
/// leaves the total unknown (0), as a crafted file may. Written from the FLAC format
/// (RFC 9639): frame header CRC-8 (poly 0x07), frame CRC-16 (poly 0x8005).
fn flac_of_constant_frames(frames: u32) -> Vec<u8> {
    fn crc8(bytes: &[u8]) -> u8 {
        bytes.iter().fold(0u8, |mut crc, &b| {
            crc ^= b;
            for _ in 0..8 {
                crc = if crc & 0x80 != 0 {
                    (crc << 1) ^ 0x07
                } else {
                    crc << 1
                };
            }
            crc
        })
    }
    fn crc16(bytes: &[u8]) -> u16 {
        bytes.iter().fold(0u16, |mut crc, &b| {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x8005
                } else {
                    crc << 1
                };
            }
            crc
        })
    }
    let block: u32 = 65535;
    let mut out = b"fLaC".to_vec();
    out.extend([0x80, 0, 0, 34]); // last metadata block, STREAMINFO, 34 bytes
    out.extend((block as u16).to_be_bytes()); // min block size
    out.extend((block as u16).to_be_bytes()); // max block size
    out.extend([0; 6]); // min and max frame size: unknown
                        // 20 bits sample rate (44100), 3 bits channels - 1 (0), 5 bits bits - 1 (15), 36 bits
                        // total samples (0: unknown).
    let packed: u64 = (44_100u64 << 44) | (15u64 << 36);
    out.extend(packed.to_be_bytes());
    out.extend([0; 16]); // MD5: unset
    for n in 0..frames {
        let start = out.len();
        // Sync, fixed block size; block size from the header's end (16 bits), rate from
        // STREAMINFO; mono, 16-bit samples.
        out.extend([0xFF, 0xF8, 0x70, 0x08]);
        // The frame number, UTF-8 coded (two bytes up to 2047).
        if n < 0x80 {
            out.push(n as u8);
        } else {
            out.extend([0xC0 | (n >> 6) as u8, 0x80 | (n & 0x3F) as u8]);
        }
        out.extend(((block - 1) as u16).to_be_bytes());
        out.push(crc8(&out[start..]));
        out.push(0x00); // CONSTANT subframe, no wasted bits
        out.extend(4096i16.to_be_bytes()); // 4096 / 32768 = 0.125
        let crc = crc16(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    out
}

#[test]
fn a_flac_that_decodes_to_more_than_the_limit_is_refused_while_decoding() {
    use remotemedia_runtime::nodes::decoder::{decode_audio_file, decode_audio_file_limited};
    let bomb = flac_of_constant_frames(100); // 1.6 KB -> 6,553,500 samples
    assert!(bomb.len() < 2_000, "{} bytes", bomb.len());
    let whole = decode_audio_file(bomb.clone()).expect("under the default limit");
    assert_eq!(whole.samples.len(), 100 * 65_535);
    assert_eq!((whole.sample_rate, whole.channels), (44_100, 1));
    assert!(whole.samples.iter().all(|&s| s == 0.125));
    let err = decode_audio_file_limited(bomb, 1 << 20).unwrap_err();
    assert!(
        err.message.contains("more than 1048576 samples"),
        "{}",
        err.message
    );
}

#[test]
fn a_manifest_with_ten_thousand_problems_is_validated_with_few_suggestions() {
    let nodes: Vec<Value> = (0..10_000)
        .map(|i| json!({"id": format!("n{i}"), "node_type": "PassThrough"}))
        .collect();
    let connections: Vec<Value> = (0..10_000)
        .map(|i| json!({"from": format!("n{i}"), "to": format!("missing{i}")}))
        .collect();
    let manifest = json!({"version": "v1", "metadata": {"name": "big"}, "nodes": nodes, "connections": connections});
    let (_, report) = Executor::default().validate(&manifest);
    // The first 1000 are listed, the rest counted.
    assert_eq!(report.errors.len(), 1001);
    assert_eq!(report.errors[1000].message, "... and 9000 more not listed");
    let suggested = report
        .errors
        .iter()
        .filter(|p| p.message.contains("did you mean"))
        .count();
    assert!(
        suggested <= remotemedia_runtime::validate::MAX_SUGGESTIONS,
        "{suggested} suggestions"
    );
    assert!(report.errors[999]
        .message
        .contains("no node with id \"missing999\""));
}

#[test]
fn python_packages_are_names_from_the_apps_index_never_urls() {
    let manifest = |packages: Value| {
        json!({"version": "v1", "metadata": {"name": "p"},
               "nodes": [{"id": "p", "node_type": "PassThrough"}],
               "python": {"packages": packages}})
    };
    let (_, report) =
        Executor::default().validate(&manifest(json!(["numpy", "scikit-learn", "pyodide_http"])));
    assert!(report.valid, "{report}");
    for bad in [
        "https://evil.example/pkg.whl",
        "../numpy",
        "/numpy.whl",
        "numpy?x",
        "",
    ] {
        let (_, report) = Executor::default().validate(&manifest(json!([bad])));
        assert_eq!(
            report.errors[0].path, "python.packages[0]",
            "{bad}: {report}"
        );
    }
}

#[test]
fn the_size_limits_are_the_executors_own() {
    use remotemedia_runtime::executor::CancelFlag;
    use remotemedia_runtime::Limits;
    // A bad setting is refused with its range; the defaults are within it.
    let zero = Limits::new(0, 1).unwrap_err();
    assert_eq!(
        zero.to_string(),
        "max_frames must be 1 to 1073741824, got 0"
    );
    let huge = Limits::new(1, u64::MAX).unwrap_err();
    assert_eq!((huge.field, huge.got), ("max_output_values", u64::MAX));
    let default = Limits::default();
    let same = Limits::new(default.max_frames as u64, default.max_output_values as u64);
    assert_eq!(same, Ok(default));

    let small = Limits::new(1000, 100_000).unwrap();
    let strict = Executor::default().with_limits(small);
    // Validation: a chunk size the default allows is over this executor's max_frames.
    let chunker = common::one_node("AudioChunkerNode", json!({"chunk_size": 2048}));
    assert!(Executor::default().validate(&chunker).0.is_some());
    let (manifest, report) = strict.validate(&chunker);
    assert!(manifest.is_none());
    assert!(
        report
            .to_string()
            .contains("chunk_size: must be 1 to 1000 frames"),
        "{report}"
    );

    // Running: the 12 s recording (about 586k samples) decodes under the default
    // max_output_values, not under 100k.
    let decoder = common::one_node("AudioDecoderNode", json!({}));
    let wav = || vec![RuntimeData::Binary(common::lena_bytes("wav"))];
    common::run(decoder.clone(), wav()).expect("decodes under the defaults");
    let parsed = strict.parse(&decoder).unwrap();
    let err = pollster::block_on(strict.run(&parsed, wav(), &CancelFlag::new()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("more than 100000 samples (the limit max_output_values"),
        "{err}"
    );

    // Sessions build their nodes under the same limits.
    let parsed = strict.parse(&decoder).unwrap();
    let mut session = pollster::block_on(strict.open(&parsed)).unwrap();
    let err = pollster::block_on(session.push(wav().remove(0), &CancelFlag::new()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 100000 samples"), "{err}");
}
