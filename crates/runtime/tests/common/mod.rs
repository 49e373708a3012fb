//! Helpers shared by the integration tests: the audio-lena recording and runs.
#![allow(dead_code)]

use std::path::PathBuf;

use remotemedia_runtime::executor::{CancelFlag, Executor, RunResult};
use remotemedia_runtime::nodes::decoder::decode_audio_file;
use remotemedia_runtime::{AudioBuffer, RunError, RuntimeData};
use serde_json::Value;

/// Repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Bytes of `lena.<ext>` from the npm package audio-lena (12 s mono 44.1 kHz).
pub fn lena_bytes(ext: &str) -> Vec<u8> {
    let path = repo()
        .join("node_modules/audio-lena")
        .join(format!("lena.{ext}"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The test recording comes from the npm package audio-lena: run `npm install` at the repository root (npm test does).",
            path.display()
        )
    })
}

/// The 44-byte header of a 16-bit PCM WAV file: `channels`, `rate` Hz (any value, for
/// crafted headers) and `data_bytes` of samples after it.
pub fn wav_header(channels: u16, rate: u32, data_bytes: u32) -> Vec<u8> {
    let align = channels.max(1) * 2;
    let mut b = Vec::with_capacity(44);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate.wrapping_mul(u32::from(align))).to_le_bytes());
    b.extend_from_slice(&align.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_bytes.to_le_bytes());
    b
}

/// The decoded WAV recording.
pub fn lena_audio() -> AudioBuffer {
    decode_audio_file(lena_bytes("wav")).expect("lena.wav decodes")
}

/// Parses a manifest given as JSON, panicking with the report when invalid.
pub fn manifest(executor: &Executor, value: Value) -> remotemedia_runtime::Manifest {
    executor
        .parse(&value)
        .unwrap_or_else(|e| panic!("manifest should be valid: {e}"))
}

/// One batch run with the built-in registry.
pub fn run(value: Value, inputs: Vec<RuntimeData>) -> Result<RunResult, RunError> {
    let executor = Executor::default();
    let manifest = manifest(&executor, value);
    pollster::block_on(executor.run(&manifest, inputs, &CancelFlag::new()))
}

/// A single-node manifest.
pub fn one_node(node_type: &str, params: Value) -> Value {
    serde_json::json!({
        "version": "v1",
        "metadata": {"name": "one"},
        "nodes": [{"id": "n", "node_type": node_type, "params": params}],
    })
}

/// Runs one node as a streaming session, pushing `inputs` one by one, then closing.
pub fn stream(node_type: &str, params: Value, inputs: Vec<RuntimeData>) -> Vec<RuntimeData> {
    let executor = Executor::default();
    let manifest = manifest(&executor, one_node(node_type, params));
    let cancel = CancelFlag::new();
    pollster::block_on(async {
        let mut session = executor.open(&manifest).await.expect("opens");
        let mut out = Vec::new();
        for item in inputs {
            out.extend(session.push(item, &cancel).await.expect("push"));
        }
        out.extend(session.close(&cancel).await.expect("close"));
        out.into_iter().map(|o| o.data).collect()
    })
}

/// Cuts audio into pieces of the given frame counts, cycling through `sizes`.
pub fn split_audio(audio: &AudioBuffer, sizes: &[usize]) -> Vec<RuntimeData> {
    let ch = usize::from(audio.channels);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut k = 0;
    while pos < audio.samples.len() {
        let n = (sizes[k % sizes.len()] * ch).min(audio.samples.len() - pos);
        out.push(RuntimeData::Audio(audio.with_samples(
            audio.samples[pos..pos + n].to_vec(),
            audio.sample_rate,
            audio.channels,
        )));
        pos += n;
        k += 1;
    }
    out
}

/// The audio of an item (panics otherwise).
pub fn audio(item: &RuntimeData) -> &AudioBuffer {
    match item {
        RuntimeData::Audio(a) => a,
        other => panic!("expected audio, got {}", other.kind()),
    }
}

/// All samples of a list of audio items, concatenated.
pub fn concat(items: &[RuntimeData]) -> Vec<f32> {
    items
        .iter()
        .flat_map(|i| audio(i).samples.clone())
        .collect()
}

/// RMS of a block.
pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// The items a sink produced, from a result JSON: `outputs_by_node` holds their
/// indices in `outputs`.
pub fn sink_items<'a>(result: &'a Value, sink: &str) -> Vec<&'a Value> {
    result["outputs_by_node"][sink]
        .as_array()
        .unwrap_or_else(|| panic!("no sink {sink} in {result}"))
        .iter()
        .map(|i| &result["outputs"][i.as_u64().expect("an index") as usize])
        .collect()
}

pub mod corpus;

/// `path` decoded by ffmpeg to mono float32 at `rate` Hz (ffmpeg's resampler).
pub fn ffmpeg_mono(path: &std::path::Path, rate: u32) -> Vec<f32> {
    let out = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-ac", "1", "-ar", &rate.to_string(), "-f", "f32le", "-"])
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    f32le(&out.stdout)
}

/// Raw little-endian float32 samples (what ffmpeg's `-f f32le` writes).
pub fn f32le(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Bytes of the Silero VAD model npm's @ricky0123/vad-web ships.
pub fn silero_model() -> Vec<u8> {
    let path = repo().join("node_modules/@ricky0123/vad-web/dist/silero_vad_v6.onnx");
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}. The model comes from the npm package @ricky0123/vad-web: run `npm install` (npm test does)",
            path.display()
        )
    })
}
