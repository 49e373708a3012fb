//! Every container and codec of `docs/formats.md`, made from the real recording by
//! ffmpeg the way users' tools make them, through `AudioDecoderNode`'s decoder and the
//! `voice.json` pipeline. Checks per file: frames against ffmpeg's own decode (codec
//! delay and padding removed) and ffprobe's duration, sample-exact output for lossless
//! codecs, SNR against ffmpeg's decode for lossy ones, and VAD agreement with the WAV.
//! Unsupported codecs and files without audio are errors that name them.
//!
//! Needs `ffmpeg` and `ffprobe` on PATH (Debian's package; `scripts/setup.sh` installs
//! it). Files are made once into `target/audio-fixtures/`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use remotemedia_runtime::media::{decode_audio_file, sniff, Container, FileDecoder};
use remotemedia_runtime::nodes::decoder::PIECE_FRAMES;
use remotemedia_runtime::{AudioBuffer, RuntimeData};

/// How a decoded file is compared with its reference.
#[derive(Clone, Copy)]
enum Check {
    /// Equal to the source WAV's samples, to the last bit of their shared precision.
    Lossless,
    /// Equal to ffmpeg's decode of the same file within this SNR, in dB.
    Snr(f64),
}

struct Case {
    file: &'static str,
    args: &'static [&'static str],
    container: Container,
    check: Check,
}

/// ffmpeg arguments after `-i lena.wav`; the output file name is appended.
const CASES: &[Case] = &[
    Case {
        file: "s16.wav",
        args: &["-c:a", "pcm_s16le"],
        container: Container::Wav,
        check: Check::Lossless,
    },
    Case {
        file: "s24-stereo-48k.wav",
        args: &["-ac", "2", "-ar", "48000", "-c:a", "pcm_s24le"],
        container: Container::Wav,
        check: Check::Snr(90.0),
    },
    Case {
        file: "f32.wav",
        args: &["-c:a", "pcm_f32le"],
        container: Container::Wav,
        check: Check::Lossless,
    },
    Case {
        file: "u8.wav",
        args: &["-c:a", "pcm_u8"],
        container: Container::Wav,
        check: Check::Snr(90.0),
    },
    Case {
        file: "mulaw-8k.wav",
        args: &["-ar", "8000", "-c:a", "pcm_mulaw"],
        container: Container::Wav,
        check: Check::Snr(90.0),
    },
    Case {
        file: "alaw.wav",
        args: &["-c:a", "pcm_alaw"],
        container: Container::Wav,
        check: Check::Snr(90.0),
    },
    Case {
        file: "rf64.wav",
        args: &["-c:a", "pcm_s16le", "-rf64", "always"],
        container: Container::Rf64,
        check: Check::Lossless,
    },
    Case {
        file: "s16.aiff",
        args: &["-c:a", "pcm_s16be"],
        container: Container::Aiff,
        check: Check::Lossless,
    },
    Case {
        file: "f32.aifc",
        args: &["-c:a", "pcm_f32be", "-f", "aiff"],
        container: Container::Aiff,
        check: Check::Lossless,
    },
    Case {
        file: "s16.caf",
        args: &["-c:a", "pcm_s16le"],
        container: Container::Caf,
        check: Check::Lossless,
    },
    Case {
        file: "alac.caf",
        args: &["-c:a", "alac"],
        container: Container::Caf,
        check: Check::Lossless,
    },
    Case {
        file: "flac.flac",
        args: &["-c:a", "flac"],
        container: Container::Flac,
        check: Check::Lossless,
    },
    Case {
        file: "alac.m4a",
        args: &["-c:a", "alac"],
        container: Container::Mp4,
        check: Check::Lossless,
    },
    Case {
        file: "lame.mp3",
        args: &["-c:a", "libmp3lame", "-b:a", "128k"],
        container: Container::Mp3,
        check: Check::Snr(40.0),
    },
    Case {
        file: "vorbis.ogg",
        args: &["-c:a", "libvorbis", "-q:a", "4"],
        container: Container::Ogg,
        check: Check::Snr(40.0),
    },
    Case {
        file: "opus.opus",
        args: &["-c:a", "libopus", "-b:a", "32k"],
        container: Container::Ogg,
        check: Check::Snr(60.0),
    },
    Case {
        file: "opus-stereo.webm",
        args: &["-ac", "2", "-c:a", "libopus", "-b:a", "96k"],
        container: Container::Matroska,
        check: Check::Snr(60.0),
    },
    Case {
        file: "opus-voip.mkv",
        args: &[
            "-ar",
            "16000",
            "-c:a",
            "libopus",
            "-b:a",
            "16k",
            "-application",
            "voip",
        ],
        container: Container::Matroska,
        check: Check::Snr(60.0),
    },
    Case {
        file: "vorbis.webm",
        args: &["-c:a", "libvorbis"],
        container: Container::Matroska,
        check: Check::Snr(40.0),
    },
    Case {
        file: "aac-lc.m4a",
        args: &["-c:a", "aac", "-b:a", "128k"],
        container: Container::Mp4,
        check: Check::Snr(40.0),
    },
    // Fragmented, as Safari's MediaRecorder writes MP4: an empty `moov`, then `moof`
    // and `mdat` pairs.
    Case {
        file: "aac-lc-fragmented.mp4",
        args: &[
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
            "-frag_duration",
            "1000000",
        ],
        container: Container::Mp4,
        check: Check::Snr(40.0),
    },
    Case {
        file: "aac-lc-stereo.mov",
        args: &["-ac", "2", "-c:a", "aac", "-b:a", "160k"],
        container: Container::Mp4,
        check: Check::Snr(40.0),
    },
    Case {
        file: "aac-lc.aac",
        args: &["-c:a", "aac", "-b:a", "96k"],
        container: Container::Adts,
        check: Check::Snr(40.0),
    },
];

fn fixtures() -> PathBuf {
    let dir = common::repo().join("target/audio-fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tool(name: &str) -> Command {
    let probe = Command::new(name).arg("-version").output();
    assert!(
        probe.map(|o| o.status.success()).unwrap_or(false),
        "{name} is not on PATH: install Debian's ffmpeg (scripts/setup.sh does)"
    );
    Command::new(name)
}

/// Makes `file` from the WAV recording with ffmpeg, once. `pre` goes before the
/// input (extra inputs such as a test video), `args` after it.
fn make(file: &str, pre: &[&str], args: &[&str]) -> PathBuf {
    let path = fixtures().join(file);
    if !path.exists() {
        let wav = common::repo().join("node_modules/audio-lena/lena.wav");
        let tmp = fixtures().join(format!("tmp-{file}"));
        let out = tool("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y"])
            .args(pre)
            .arg("-i")
            .arg(&wav)
            .args(args)
            .arg(&tmp)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ffmpeg {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

/// ffmpeg's own decode as interleaved f32 at the file's rate (libopus's decoder for
/// Opus: ffmpeg's built-in one differs from the reference by up to 20 dB on SILK).
fn ffmpeg_decode(path: &PathBuf, opus: bool) -> Vec<f32> {
    let mut cmd = tool("ffmpeg");
    cmd.args(["-nostdin", "-loglevel", "error"]);
    if opus {
        cmd.args(["-c:a", "libopus"]);
    }
    let out = cmd
        .arg("-i")
        .arg(path)
        .args(["-map", "0:a:0", "-f", "f32le", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::f32le(&out.stdout)
}

/// ffprobe's duration of the first audio stream, in seconds (the container's when the
/// stream has none).
fn ffprobe_duration(path: &PathBuf) -> Option<f64> {
    let out = tool("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=duration:format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().trim_end_matches(',').parse().ok())
}

fn snr_db(ours: &[f32], reference: &[f32]) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (a, b) in ours.iter().zip(reference) {
        signal += f64::from(*b).powi(2);
        noise += f64::from(a - b).powi(2);
    }
    10.0 * (signal / noise.max(1e-30)).log10()
}

/// The 10 ms frames `voice.json` calls speech, as a mask over `frames` frames.
fn speech_mask(bytes: Vec<u8>, frames: usize) -> Vec<bool> {
    speech_mask_of(RuntimeData::Binary(bytes), frames)
}

/// [`speech_mask`] of any input item.
fn speech_mask_of(input: RuntimeData, frames: usize) -> Vec<bool> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("examples/pipelines/voice.json")).unwrap(),
    )
    .unwrap();
    let result = common::run(manifest, vec![input]).expect("voice.json runs");
    let mut mask = vec![false; frames];
    for item in result.outputs_of("vad") {
        let RuntimeData::Audio(a) = item else {
            continue;
        };
        for s in a.metadata["vad"]["segments"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (start, end) = (s["start_s"].as_f64().unwrap(), s["end_s"].as_f64().unwrap());
            let (start, end) = (
                (start * 100.0) as usize,
                ((end * 100.0) as usize).min(frames),
            );
            mask[start.min(end)..end].iter_mut().for_each(|m| *m = true);
        }
    }
    mask
}

fn agreement(a: &[bool], b: &[bool]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[test]
fn every_container_and_codec_decodes_like_ffmpeg() {
    let wav = common::lena_audio();
    let wav_frames_10ms = (wav.duration_s() * 100.0) as usize;
    let wav_speech = speech_mask(common::lena_bytes("wav"), wav_frames_10ms);
    // Decode speed is printed, never asserted (shared machines): x real time of this
    // test build (codecs optimised, the runtime not); `cargo bench` has the real figures.
    let mut report = String::from(
        "\nfile | container | frames (ffmpeg) | ffprobe ms | check | VAD agreement | decode speed\n",
    );
    let mut failures = Vec::new();
    for case in CASES {
        let path = make(case.file, &[], case.args);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(sniff(&bytes), case.container, "{}", case.file);
        let started = std::time::Instant::now();
        let decoded = decode_audio_file(bytes.clone());
        let speed = 12.27 / started.elapsed().as_secs_f64();
        let ours = match decoded {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{}: {}", case.file, e.message));
                continue;
            }
        };
        let opus = case.args.contains(&"libopus");
        let reference = ffmpeg_decode(&path, opus);
        let ch = usize::from(ours.channels);
        let (ours_frames, ref_frames) = (ours.frames(), reference.len() / ch);
        let rate = f64::from(ours.sample_rate);
        let probe_ms = ffprobe_duration(&path).map(|d| d * 1000.0);
        let ours_ms = ours_frames as f64 * 1000.0 / rate;
        let check = match case.check {
            Check::Lossless => {
                let same = ours.samples.len() == wav.samples.len()
                    && ours
                        .samples
                        .iter()
                        .zip(&wav.samples)
                        .all(|(a, b)| (a - b).abs() < 1e-6);
                if !same {
                    failures.push(format!(
                        "{}: lossless decode differs from the WAV",
                        case.file
                    ));
                }
                "= WAV".to_string()
            }
            Check::Snr(min) => {
                let snr = snr_db(&ours.samples, &reference);
                if snr < min {
                    failures.push(format!(
                        "{}: SNR {snr:.1} dB against ffmpeg, want >= {min}",
                        case.file
                    ));
                }
                format!("SNR {snr:.1} dB")
            }
        };
        // ffmpeg's decode is the reference; where it keeps what the file says to drop
        // (it applies an MP4 edit list's priming but not its remainder), ffprobe's
        // duration, within 1 ms.
        let probe_agrees = probe_ms.is_some_and(|p| (p - ours_ms).abs() <= 1.0);
        if ours_frames != ref_frames && !probe_agrees {
            failures.push(format!("{}: {ours_frames} frames, ffmpeg decodes {ref_frames}, ffprobe says {probe_ms:?} ms", case.file));
        }
        let mask = speech_mask(bytes, wav_frames_10ms);
        let vad = agreement(&mask, &wav_speech);
        // 8 kHz telephone audio has lost everything above 4 kHz, fricatives included.
        let min_vad = if ours.sample_rate <= 8000 { 0.90 } else { 0.95 };
        if vad < min_vad {
            failures.push(format!(
                "{}: VAD agrees on {:.1}% of frames",
                case.file,
                vad * 100.0
            ));
        }
        report += &format!(
            "{} | {} | {ours_frames} ({ref_frames}) at {} Hz x{ch} | {} vs ours {ours_ms:.2} | {check} | {:.1}% | {speed:.0}x\n",
            case.file,
            case.container.name(),
            ours.sample_rate,
            probe_ms.map_or("-".into(), |p| format!("{p:.2}")),
            vad * 100.0
        );
    }
    println!("{report}");
    assert!(failures.is_empty(), "{report}\n{}", failures.join("\n"));
}

fn error_of(file: &str, pre: &[&str], args: &[&str]) -> String {
    let bytes = std::fs::read(make(file, pre, args)).unwrap();
    decode_audio_file(bytes).expect_err(file).message
}

#[test]
fn unsupported_codecs_are_named_with_their_container() {
    let ac3 = error_of("ac3.mp4", &[], &["-c:a", "ac3"]);
    assert!(
        ac3.contains("MP4") && ac3.contains("AC-3") && ac3.contains("does not decode"),
        "{ac3}"
    );
    let eac3 = error_of("eac3.mkv", &[], &["-c:a", "eac3"]);
    assert!(
        eac3.contains("WebM/Matroska") && eac3.contains("E-AC-3"),
        "{eac3}"
    );
    let ac3_mkv = error_of("ac3.mkv", &[], &["-c:a", "ac3"]);
    assert!(
        ac3_mkv.contains("AC-3") && !ac3_mkv.contains("end of stream"),
        "{ac3_mkv}"
    );
}

#[test]
fn video_files_decode_their_first_audio_track_and_files_without_audio_say_so() {
    let video = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10"];
    let with_audio = [
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-shortest",
        "-c:v",
        "mpeg4",
        "-c:a",
        "aac",
    ];
    let mp4 = std::fs::read(make("video-aac.mp4", &video, &with_audio)).unwrap();
    let audio = decode_audio_file(mp4).expect("the audio track of a video decodes");
    assert_eq!((audio.sample_rate, audio.channels), (44100, 1));
    assert!(audio.duration_s() > 9.9, "{} s", audio.duration_s());
    let webm = [
        "-map", "0:v", "-map", "1:a", "-t", "3", "-c:v", "libvpx", "-c:a", "libopus",
    ];
    let path = make("video-opus.webm", &video, &webm);
    let audio = decode_audio_file(std::fs::read(&path).unwrap())
        .expect("the Opus track of a WebM video decodes");
    assert_eq!((audio.sample_rate, audio.channels), (48000, 1));
    assert_eq!(audio.frames(), ffmpeg_decode(&path, true).len());
    let silent_mp4 = error_of(
        "video-only.mp4",
        &video,
        &["-map", "0:v", "-t", "1", "-c:v", "mpeg4"],
    );
    assert!(
        silent_mp4.contains("MP4 file has no audio track (it has a video track)"),
        "{silent_mp4}"
    );
    let silent_webm = error_of(
        "video-only.webm",
        &video,
        &["-map", "0:v", "-t", "1", "-c:v", "libvpx"],
    );
    assert!(
        silent_webm.contains("WebM/Matroska file has no audio track"),
        "{silent_webm}"
    );
}

#[test]
fn the_streaming_decoder_gives_the_same_samples_in_any_chunk_size() {
    for file in ["opus-stereo.webm", "aac-lc.m4a", "lame.mp3"] {
        let case = CASES.iter().find(|c| c.file == file).unwrap();
        let bytes = std::fs::read(make(case.file, &[], case.args)).unwrap();
        let whole = decode_audio_file(bytes.clone()).unwrap();
        for chunk in [1usize, 480, 4096] {
            let mut decoder = FileDecoder::open(bytes.clone(), usize::MAX).unwrap();
            let mut all = Vec::new();
            loop {
                let mut part = Vec::new();
                let more = decoder.decode_into(&mut part, chunk).unwrap();
                assert!(
                    part.len() <= chunk * usize::from(whole.channels),
                    "{file}: chunk too long"
                );
                all.extend(part);
                if !more {
                    break;
                }
            }
            assert_eq!(
                AudioBuffer::new(all, whole.sample_rate, whole.channels),
                whole,
                "{file} in chunks of {chunk}"
            );
        }
    }
}

/// A file longer than one piece (`PIECE_FRAMES`, about 22 s at 48 kHz) leaves the decoder
/// in pieces, each sent down the graph before the next is made: the pieces join to the
/// whole decode, and `voice.json` finds the same speech as in the whole file given at once.
#[test]
fn a_long_file_streams_through_the_graph_in_pieces_with_the_same_result() {
    let path = make(
        "long-48k.flac",
        &["-stream_loop", "5"],
        &["-ar", "48000", "-t", "70"],
    );
    let bytes = std::fs::read(&path).unwrap();
    let whole = decode_audio_file(bytes.clone()).unwrap();
    assert_eq!(whole.samples.len(), 70 * 48_000);

    let decode_only = serde_json::json!({
        "version": "v1",
        "metadata": { "name": "decode" },
        "nodes": [{ "id": "decode", "node_type": "AudioDecoderNode" }],
        "connections": []
    });
    let result = common::run(decode_only, vec![RuntimeData::Binary(bytes.clone())]).unwrap();
    let pieces: Vec<&AudioBuffer> = result
        .outputs_of("decode")
        .into_iter()
        .map(|item| match item {
            RuntimeData::Audio(a) => a,
            other => panic!("the decoder gave {}", other.kind()),
        })
        .collect();
    assert_eq!(
        pieces.len(),
        4,
        "70 s at 48 kHz is four pieces of 2^20 frames"
    );
    assert!(pieces.iter().all(|p| p.samples.len() <= PIECE_FRAMES));
    let joined: Vec<f32> = pieces
        .iter()
        .flat_map(|p| p.samples.iter().copied())
        .collect();
    assert_eq!(joined, whole.samples);

    // The same recording as one audio item (the decoder passes audio through).
    let frames = 70 * 100;
    let in_pieces = speech_mask(bytes, frames);
    let at_once = speech_mask_of(RuntimeData::Audio(whole), frames);
    assert!(in_pieces.iter().any(|&m| m), "no speech found");
    let agree = agreement(&in_pieces, &at_once);
    assert!(
        agree >= 0.999,
        "speech frames agree on {:.2}%",
        agree * 100.0
    );
}

#[test]
fn cut_and_damaged_files_of_each_container_fail_cleanly() {
    for case in CASES {
        let bytes = std::fs::read(make(case.file, &[], case.args)).unwrap();
        for cut in [0, 3, 12, 44, 100, 1000, bytes.len() / 2, bytes.len() - 1] {
            // Either an error, or audio no longer than the whole file: never a panic.
            if let Ok(a) = decode_audio_file(bytes[..cut.min(bytes.len())].to_vec()) {
                assert!(
                    a.samples.len() <= 2 * 48000 * 13,
                    "{} cut at {cut}",
                    case.file
                );
            }
        }
        let mut damaged = bytes.clone();
        for i in (16..damaged.len()).step_by(97) {
            damaged[i] ^= 0x5A;
        }
        let _ = decode_audio_file(damaged);
    }
}
