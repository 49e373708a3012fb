//! `AudioDecoderNode`: file bytes (WAV, MP3, FLAC, Ogg Vorbis) -> interleaved f32
//! audio, with symphonia.

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::{Node, NodeFailure};
use crate::registry::NodeFactory;

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "AudioDecoderNode",
        aliases: &["AudioDecoder"],
        summary: "binary (WAV, MP3, FLAC, Ogg Vorbis file bytes) -> audio",
        params: const { &[] },
        create: |p| {
            Ok(Box::new(AudioDecoder {
                max_samples: p.limits().max_output_values,
            }))
        },
    }]
}

/// Decodes each binary item as a whole audio file. Audio items pass through.
pub struct AudioDecoder {
    /// The executor's [`Limits::max_output_values`](crate::Limits::max_output_values):
    /// most samples (all channels) one file may decode to.
    max_samples: usize,
}

impl Node for AudioDecoder {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        match input {
            RuntimeData::Binary(bytes) => out.push(RuntimeData::Audio(decode_audio_file_limited(
                bytes,
                self.max_samples,
            )?)),
            RuntimeData::Audio(a) => out.push(RuntimeData::Audio(a)),
            other => {
                return Err(NodeFailure::new(format!(
                    "AudioDecoderNode takes binary file bytes, got {}",
                    other.kind()
                )))
            }
        }
        Ok(())
    }
}

/// Decodes a whole audio file (format found by probing the bytes) into interleaved
/// f32 samples at the file's own sample rate and channel count.
///
/// Errors with a readable reason for unknown formats, files with no audio track,
/// corrupt streams, and files that decode to more than
/// [`crate::limits::MAX_OUTPUT_VALUES`] samples. A corrupt packet in the middle is
/// skipped, as players do.
pub fn decode_audio_file(bytes: Vec<u8>) -> Result<AudioBuffer, NodeFailure> {
    decode_audio_file_limited(bytes, crate::limits::MAX_OUTPUT_VALUES)
}

/// [`decode_audio_file`] with another limit on the samples decoded (all channels),
/// checked before each packet's samples are kept, whatever the file's header claims.
/// `AudioDecoderNode` uses the executor's
/// [`Limits::max_output_values`](crate::Limits::max_output_values).
pub fn decode_audio_file_limited(
    bytes: Vec<u8>,
    max_samples: usize,
) -> Result<AudioBuffer, NodeFailure> {
    check_header(&bytes)?;
    if bytes.is_empty() {
        return Err("cannot decode an empty file".into());
    }
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let probed = symphonia::default::get_probe()
        .format(
            &Hint::new(),
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| {
            NodeFailure::new(format!(
                "not a supported audio file (WAV, MP3, FLAC, Ogg Vorbis): {e}"
            ))
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or("the file has no audio track")?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| NodeFailure::new(format!("unsupported codec: {e}")))?;
    let mut sample_rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut channels = track.codec_params.channels.map(|c| c.count()).unwrap_or(0);
    let mut samples: Vec<f32> = Vec::new();
    let mut scratch: Option<SampleBuffer<f32>> = None;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break
            }
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => return Err(NodeFailure::new(format!("reading the file failed: {e}"))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(NodeFailure::new(format!("decoding failed: {e}"))),
        };
        let spec = *decoded.spec();
        sample_rate = spec.rate;
        channels = spec.channels.count();
        let needed = decoded.capacity() as u64;
        let buf = match &mut scratch {
            Some(b) if b.capacity() as u64 >= needed * channels as u64 => b,
            _ => scratch.insert(SampleBuffer::new(needed, spec)),
        };
        buf.copy_interleaved_ref(decoded);
        // Lossless codecs code silence in a few bytes per block: a small file can claim
        // gigabytes of samples. Stop at the output limit instead of allocating them.
        if samples.len() + buf.samples().len() > max_samples {
            return Err(NodeFailure::new(format!(
                "the file decodes to more than {max_samples} samples (the limit max_output_values: {:.1} s of 48 kHz stereo)",
                max_samples as f64 / 96_000.0
            )));
        }
        samples.extend_from_slice(buf.samples());
    }
    if sample_rate == 0 || channels == 0 {
        return Err("the file has no decodable audio".into());
    }
    let channels = u16::try_from(channels).map_err(|_| "too many channels")?;
    Ok(AudioBuffer::new(samples, sample_rate, channels))
}

/// Header fields symphonia trusts (it panics on a 0 Hz WAV or FLAC, building a time
/// base from it), checked before it is called.
fn check_header(bytes: &[u8]) -> Result<(), NodeFailure> {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        // Walk the chunks to "fmt ".
        let mut at = 12usize;
        while let (Some(id), Some(size)) = (bytes.get(at..at + 4), u32_at(at + 4)) {
            if id == b"fmt " {
                let (channels, rate, align) = (u16_at(at + 10), u32_at(at + 12), u16_at(at + 20));
                return match (channels, rate, align) {
                    (Some(c), Some(r), Some(a))
                        if c > 0 && a > 0 && crate::limits::sample_rate_ok(r) =>
                    {
                        Ok(())
                    }
                    (Some(c), Some(r), Some(_)) => Err(NodeFailure::new(format!(
                        "the WAV header is invalid: {c} channels at {r} Hz (rates are 1 to {} Hz)",
                        crate::limits::MAX_SAMPLE_RATE
                    ))),
                    _ => Err("the WAV header is cut short".into()),
                };
            }
            at = at
                .saturating_add(8)
                .saturating_add(size as usize + (size as usize & 1));
        }
        return Err("the WAV file has no fmt chunk".into());
    }
    if bytes.starts_with(b"fLaC") {
        // STREAMINFO follows the 4-byte block header: the rate is its bits 80..100.
        let info = bytes.get(8..8 + 34).ok_or("the FLAC header is cut short")?;
        let rate =
            (u32::from(info[10]) << 12) | (u32::from(info[11]) << 4) | (u32::from(info[12]) >> 4);
        let max_block = u16::from_be_bytes([info[2], info[3]]);
        if !crate::limits::sample_rate_ok(rate) || max_block < 16 {
            return Err(NodeFailure::new(format!(
                "the FLAC header is invalid: {rate} Hz, blocks of up to {max_block} samples"
            )));
        }
    }
    Ok(())
}
