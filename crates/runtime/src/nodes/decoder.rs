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
        create: |_| Ok(Box::new(AudioDecoder)),
    }]
}

/// Decodes each binary item as a whole audio file. Audio items pass through.
pub struct AudioDecoder;

impl Node for AudioDecoder {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        match input {
            RuntimeData::Binary(bytes) => out.push(RuntimeData::Audio(decode_audio_file(bytes)?)),
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
/// Errors with a readable reason for unknown formats, files with no audio track, and
/// corrupt streams. A corrupt packet in the middle is skipped, as players do.
pub fn decode_audio_file(bytes: Vec<u8>) -> Result<AudioBuffer, NodeFailure> {
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
        samples.extend_from_slice(buf.samples());
    }
    if sample_rate == 0 || channels == 0 {
        return Err("the file has no decodable audio".into());
    }
    let channels = u16::try_from(channels).map_err(|_| "too many channels")?;
    Ok(AudioBuffer::new(samples, sample_rate, channels))
}
