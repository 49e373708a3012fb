//! Silero VAD in Rust (`models::silero`) against the reference: PyPI's onnxruntime
//! running the same ONNX file (`tests/reference/silero_onnxruntime.py`), window by
//! window, on the real recording clean and in white noise, at 16 and 8 kHz. Every
//! probability must agree within 1e-4.
//!
//! The model is npm's `@ricky0123/vad-web` (`silero_vad_v6.onnx`, MIT); onnxruntime is
//! in the virtual environment `scripts/setup.sh` makes (`target/onnx-venv`).
mod common;

use std::path::PathBuf;
use std::process::Command;

use remotemedia_runtime::models::silero::SileroVad;

fn model_path() -> PathBuf {
    common::repo().join("node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx")
}

fn model_bytes() -> Vec<u8> {
    let path = model_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The model comes from the npm package @ricky0123/vad-web: run `npm install` (npm test does)",
            path.display()
        )
    })
}

/// The recording at `rate`, mono float32, by ffmpeg: the clean 12 s, then the same
/// with white noise at 5 dB SNR (a fixed-seed generator), so the state runs through both.
fn audio(rate: u32) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(common::repo().join("node_modules/audio-lena/lena.wav"))
        .args(["-ac", "1", "-ar", &rate.to_string(), "-f", "f32le", "-"])
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let clean: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
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
    let bytes = model_bytes();
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
    let bytes = model_bytes();
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
