//! The native CLI end to end (`docs/execution.md`): result JSON on stdout, exit status 1 and
//! a clear error on failure.
#[path = "../../runtime/tests/common/mod.rs"]
mod common;

use std::process::Command;

use serde_json::Value;

fn remotemedia(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_remotemedia"))
        .args(args)
        .current_dir(common::repo())
        .output()
        .expect("the CLI runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn voice_pipeline_on_the_real_recording_prints_segments_levels_and_audio() {
    let (code, result, stderr) = remotemedia(&[
        "run",
        "examples/pipelines/voice.json",
        "--input",
        "node_modules/audio-lena/lena.mp3",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(result["status"], "success");
    assert_eq!(
        result["graph_info"]["execution_order"],
        serde_json::json!(["decode", "resample", "vad", "levels"])
    );
    let vad = &common::sink_items(&result, "vad")[0]["audio"];
    assert_eq!(vad["meta"]["sample_rate"], 16000);
    let segments = vad["meta"]["metadata"]["vad"]["segments"]
        .as_array()
        .unwrap();
    assert!(segments.len() >= 2, "{segments:?}");
    let levels = common::sink_items(&result, "levels")[0];
    assert!(levels["rms_db"].as_f64().unwrap() < -10.0);
    assert_eq!(result["outputs"].as_array().unwrap().len(), 2);
}

#[test]
fn input_files_are_read_by_their_content_not_their_name() {
    let dir = common::repo().join("target/cli-inputs");
    std::fs::create_dir_all(&dir).unwrap();
    // An Ogg Opus voice note with no extension, and wire JSON named .txt.
    let voice_note = dir.join("voice-note");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            "node_modules/audio-lena/lena.wav",
        ])
        .args(["-c:a", "libopus", "-b:a", "24k", "-f", "ogg"])
        .arg(&voice_note)
        .current_dir(common::repo())
        .status()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(status.success());
    let (code, result, stderr) = remotemedia(&[
        "run",
        "examples/pipelines/voice.json",
        "--input",
        voice_note.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let segments =
        &common::sink_items(&result, "vad")[0]["audio"]["meta"]["metadata"]["vad"]["segments"];
    assert!(segments.as_array().unwrap().len() >= 2, "{segments}");
    let numbers = dir.join("numbers.txt");
    std::fs::write(&numbers, " \n[1, 2, 3]").unwrap();
    let (code, result, stderr) = remotemedia(&[
        "run",
        "examples/pipelines/calculator.json",
        "--input",
        numbers.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        result["outputs"],
        serde_json::json!([2, 6, 3.5, 12, 5, 18]),
        "{result}"
    );
    // A file that is neither JSON nor audio reaches the decoder, which says so.
    let text = dir.join("notes.json");
    std::fs::write(&text, "hello").unwrap();
    let (code, _, stderr) = remotemedia(&[
        "run",
        "examples/pipelines/voice.json",
        "--input",
        text.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("not an audio file AudioDecoderNode reads"),
        "{stderr}"
    );
}

#[test]
fn json_inputs_and_the_calculator_example() {
    let (code, result, stderr) = remotemedia(&[
        "run",
        "examples/pipelines/calculator.json",
        "--input",
        "examples/pipelines/numbers.json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // Each payload once: outputs in order of production, sinks as indices into them.
    assert_eq!(
        result["outputs"],
        serde_json::json!([2, 6, 4.25, 15, 11, 42])
    );
    assert_eq!(
        result["outputs_by_node"],
        serde_json::json!({"half": [0, 2, 4], "double": [1, 3, 5]})
    );
}

#[test]
fn failures_exit_1_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("rm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"version": "v1", "metadata": {"name": "x"}, "nodes": [{"id": "a", "node_type": "Nope"}]}"#).unwrap();
    let (code, json, stderr) = remotemedia(&["run", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("nodes[0].node_type"), "{stderr}");
    assert_eq!(json["error"]["kind"], "manifest");

    let (code, _, stderr) = remotemedia(&[
        "run",
        "examples/pipelines/voice.json",
        "--input",
        "missing.wav",
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read missing.wav"), "{stderr}");

    let (code, _, stderr) = remotemedia(&["frobnicate"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("usage"), "{stderr}");
}

#[test]
fn limits_are_set_from_the_command_line() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "examples/pipelines/voice.json",
            "--input",
            "node_modules/audio-lena/lena.wav",
        ];
        args.extend_from_slice(extra);
        remotemedia(&args)
    };
    assert_eq!(run(&[]).0, 0);
    let (code, json, stderr) = run(&["--max-output-values", "100000"]);
    assert_eq!(code, 1);
    assert_eq!(json["error"]["node_id"], "decode");
    assert!(
        stderr.contains("more than 100000 samples (the limit max_output_values"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["--max-frames", "0"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--max-frames must be 1 to 1073741824, got 0"),
        "{stderr}"
    );
    let (code, json, _) = remotemedia(&[
        "validate",
        "examples/pipelines/utterances.json",
        "--max-frames",
        "100",
    ]);
    assert_eq!((code, json["valid"].clone()), (1, Value::Bool(false)));
    let problem = &json["errors"][0];
    assert!(problem["path"]
        .as_str()
        .unwrap()
        .ends_with("params.hop_length"));
    assert_eq!(problem["message"], "must be 1 to 100 samples");
}

/// A reader that went away (`remotemedia run ... | head -c 1`) must not make the CLI
/// panic: before, `println!` panicked on the closed pipe (seen when a test harness stopped
/// reading a `serve`'s stdout).
#[test]
fn a_closed_stdout_is_a_failure_exit_not_a_panic() {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader); // every write now fails with EPIPE
    let out = Command::new(env!("CARGO_BIN_EXE_remotemedia"))
        .args(["nodes"])
        .current_dir(common::repo())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the CLI runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}
