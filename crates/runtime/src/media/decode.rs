//! The streaming decoder: a file's bytes in, interleaved f32 audio out in chunks of
//! any size, with the codec delay and padding removed.

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::codecs::{self, SUPPORTED_CODECS};
use super::container::{self, Container};
use super::opus::{OpusHead, OpusStream, OPUS_RATE};
use super::{matroska, mp4};
use crate::data::AudioBuffer;
use crate::node::NodeFailure;

/// The containers `AudioDecoderNode` reads, as error messages list them.
pub const SUPPORTED_CONTAINERS: &str =
    "WAV, RF64, AIFF/AIFC, CAF, FLAC, MP3, Ogg, WebM/Matroska, MP4/M4A/MOV, ADTS AAC";

enum Codec {
    /// One of symphonia's decoders, and the buffer its planar output is interleaved into.
    Symphonia(Box<dyn Decoder>, Option<SampleBuffer<f32>>),
    Opus(OpusStream),
}

/// Decodes one audio file incrementally: [`FileDecoder::open`] reads the headers,
/// then each [`FileDecoder::decode_into`] call decodes packets until it has appended
/// at least the frames asked for, or the file ends.
///
/// The first audio track is decoded; video, subtitle and other tracks are skipped.
/// Codec delay and padding are removed where the file states them: Opus pre-skip and
/// end trimming (Ogg granule positions), MP3 encoder delay and padding (LAME/Xing
/// header), Vorbis end trimming, and MP4 edit lists (AAC encoder priming and remainder).
pub struct FileDecoder {
    container: Container,
    format: Box<dyn FormatReader>,
    track_id: u32,
    codec: Codec,
    sample_rate: u32,
    channels: u16,
    /// Frames still to drop at the start, from an MP4 edit list.
    skip: u64,
    /// Frames still to keep, from an MP4 edit list.
    keep: Option<u64>,
    /// Frames to drop at the very end (Matroska `DiscardPadding`), held back until the
    /// file ends.
    end_trim: usize,
    max_samples: usize,
    produced: usize,
    ended: bool,
    /// A packet's frames past what `decode_into` was asked for, given next time.
    carry: Vec<f32>,
}

impl FileDecoder {
    /// Reads the container's headers and sets up the codec of the first audio track.
    /// `max_samples` bounds the samples (all channels) the whole file may decode to.
    ///
    /// Errors name the container and the codec: an unknown format, a file cut short
    /// in its headers, a file with no audio track, or a codec or profile this decoder
    /// does not support (HE-AAC, AC-3, E-AC-3, DTS, AMR, ...).
    pub fn open(mut bytes: Vec<u8>, max_samples: usize) -> Result<FileDecoder, NodeFailure> {
        if bytes.is_empty() {
            return Err("cannot decode an empty file".into());
        }
        let container = container::sniff(&bytes);
        container::prepare(container, &mut bytes)?;
        let (videos, mp4_audio) = match container {
            Container::Mp4 => mp4::tracks(&bytes),
            _ => (0, None),
        };
        let no_audio = |videos: usize| {
            let video = match videos {
                0 => String::new(),
                1 => " (it has a video track)".into(),
                n => format!(" (it has {n} video tracks)"),
            };
            NodeFailure::new(format!(
                "the {} file has no audio track{video}",
                container.name()
            ))
        };
        if container == Container::Mp4 && mp4_audio.is_none() {
            return Err(no_audio(videos));
        }
        // Names for messages, read before the bytes move into symphonia's stream.
        let matroska_ids = match container {
            Container::Matroska => codecs::matroska_codec_ids(&bytes),
            _ => Vec::new(),
        };
        let mut name_source = Vec::new();
        if matches!(container, Container::Mp4 | Container::Matroska) {
            name_source = bytes[..bytes.len().min(1 << 20)].to_vec();
        }
        let paddings = match container {
            Container::Matroska => matroska::end_paddings_ns(&bytes),
            _ => Vec::new(),
        };
        // symphonia's Matroska reader follows the SeekHead's positions when it can seek,
        // and panics when a cut file's positions lie past its end: it reads WebM as a
        // stream, which is how MediaRecorder writes it anyway.
        let source: Box<dyn MediaSource> = match container {
            Container::Matroska => Box::new(ReadOnlySource::new(Cursor::new(bytes))),
            _ => Box::new(Cursor::new(bytes)),
        };
        let stream = MediaSourceStream::new(source, Default::default());
        let options = FormatOptions {
            enable_gapless: true,
            ..Default::default()
        };
        let probed = symphonia::default::get_probe()
            .format(&Hint::new(), stream, &options, &MetadataOptions::default())
            .map_err(|e| match container {
                Container::Unknown => NodeFailure::new(format!(
                    "not an audio file AudioDecoderNode reads ({SUPPORTED_CONTAINERS})"
                )),
                Container::Matroska if !matroska_ids.iter().any(|id| id.starts_with("A_")) => {
                    no_audio(
                        matroska_ids
                            .iter()
                            .filter(|id| id.starts_with("V_"))
                            .count(),
                    )
                }
                c => NodeFailure::new(format!("the {} file cannot be read: {e}", c.name())),
            })?;
        let format = probed.format;
        let Some(track) = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        else {
            let has_audio = match container {
                Container::Mp4 => mp4_audio.is_some(),
                Container::Matroska => matroska_ids.iter().any(|id| id.starts_with("A_")),
                _ => false,
            };
            if !has_audio {
                return Err(no_audio(videos));
            }
            let name = codecs::codec_name(container, &name_source, CODEC_TYPE_NULL);
            return Err(unsupported(container, &name));
        };
        let mut params = track.codec_params.clone();
        let track_id = track.id;
        if params.codec == symphonia::core::codecs::CODEC_TYPE_ALAC {
            if let Some(config) = params
                .extra_data
                .as_deref()
                .and_then(codecs::alac_config_from_atoms)
            {
                params.extra_data = Some(config.into_boxed_slice());
            }
        }
        if let Some(profile) = codecs::unsupported_aac_profile(params.extra_data.as_deref())
            .filter(|_| params.codec == symphonia::core::codecs::CODEC_TYPE_AAC)
        {
            return Err(unsupported(container, profile));
        }
        let (codec, sample_rate, channels) = if params.codec == CODEC_TYPE_OPUS {
            let head = OpusHead::parse(params.extra_data.as_deref().unwrap_or(&[]))
                .map_err(|e| NodeFailure::new(format!("the {} file: {e}", container.name())))?;
            let stream = OpusStream::new(&head).map_err(NodeFailure::new)?;
            let channels = stream.channels() as u16;
            (Codec::Opus(stream), OPUS_RATE, channels)
        } else {
            let decoder = symphonia::default::get_codecs()
                .make(&params, &DecoderOptions::default())
                .map_err(|_| {
                    unsupported(
                        container,
                        &codecs::codec_name(container, &name_source, params.codec),
                    )
                })?;
            let rate = params.sample_rate.unwrap_or(0);
            let channels = params.channels.map(|c| c.count() as u16).unwrap_or(0);
            (Codec::Symphonia(decoder, None), rate, channels)
        };
        let (skip, keep) = mp4_audio
            .and_then(|t| t.edit)
            .map_or((0, None), |(skip, keep)| (skip, keep));
        let end_trim = paddings
            .iter()
            .find(|(track, _)| u64::from(track_id) == *track)
            .map_or(0, |(_, ns)| {
                let frames = u128::from(*ns) * u128::from(sample_rate) / 1_000_000_000;
                usize::try_from(frames).unwrap_or(usize::MAX)
            });
        Ok(FileDecoder {
            container,
            format,
            track_id,
            codec,
            sample_rate,
            channels,
            skip,
            keep,
            end_trim,
            max_samples,
            produced: 0,
            ended: false,
            carry: Vec::new(),
        })
    }

    /// The container, as sniffed from the file's first bytes.
    pub fn container(&self) -> Container {
        self.container
    }

    /// The output sample rate in Hz (known from the headers, or from the first packet;
    /// 0 before then when the headers do not say).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The interleaved channels of the output (0 until known, as for the rate).
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Decodes until at least `frames` frames were appended to `out` (interleaved
    /// f32) or the file ended; returns `false` once it has ended. A corrupt packet in
    /// the middle is skipped, as players do; a file that decodes to more than the
    /// `max_samples` given to [`FileDecoder::open`], or whose rate or channel count
    /// changes midway, is an error.
    pub fn decode_into(&mut self, out: &mut Vec<f32>, frames: usize) -> Result<bool, NodeFailure> {
        let start = out.len();
        out.append(&mut self.carry);
        // Decoded straight into `out`, so a whole file is never copied; the end padding
        // is held back until the end is seen.
        let enough = frames.saturating_add(self.end_trim);
        while !self.ended && self.frames_since(out, start) < enough {
            self.next_packet(out)?;
        }
        let channels = usize::from(self.channels.max(1));
        let mut available = self.frames_since(out, start);
        if self.ended {
            let trimmed = available.saturating_sub(std::mem::take(&mut self.end_trim));
            out.truncate(start + trimmed * channels);
            available = trimmed;
        } else {
            available -= self.end_trim.min(available);
        }
        // Give back no more than asked for: the rest waits in `carry`.
        let give = available.min(frames);
        let cut = start + give * channels;
        if out.len() > cut {
            self.carry = out.split_off(cut);
        }
        Ok(!self.ended || !self.carry.is_empty())
    }

    fn frames_since(&self, out: &[f32], start: usize) -> usize {
        (out.len() - start) / usize::from(self.channels.max(1))
    }

    /// Reads and decodes one packet of the track, appending what survives trimming.
    fn next_packet(&mut self, out: &mut Vec<f32>) -> Result<(), NodeFailure> {
        let packet = match self.format.next_packet() {
            Ok(p) => p,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.ended = true;
                return Ok(());
            }
            Err(SymphoniaError::ResetRequired) => {
                self.ended = true;
                return Ok(());
            }
            Err(e) => {
                return Err(NodeFailure::new(format!(
                    "reading the {} file failed: {e}",
                    self.container.name()
                )))
            }
        };
        if packet.track_id() != self.track_id {
            return Ok(());
        }
        let before = out.len();
        let (rate, channels) = match &mut self.codec {
            Codec::Opus(stream) => {
                match stream.decode(
                    &packet.data,
                    packet.trim_start as usize,
                    packet.trim_end as usize,
                    out,
                ) {
                    Ok(()) => (OPUS_RATE, stream.channels() as u16),
                    Err(_) => return Ok(()),
                }
            }
            Codec::Symphonia(decoder, scratch) => {
                let decoded = match decoder.decode(&packet) {
                    Ok(d) => d,
                    Err(SymphoniaError::DecodeError(_)) => return Ok(()),
                    Err(e) => {
                        return Err(NodeFailure::new(format!(
                            "decoding the {} file failed: {e}",
                            self.container.name()
                        )))
                    }
                };
                let spec = *decoded.spec();
                let needed = decoded.capacity() as u64 * spec.channels.count() as u64;
                let buf = match scratch {
                    Some(b) if b.capacity() as u64 >= needed => b,
                    _ => scratch.insert(SampleBuffer::new(decoded.capacity() as u64, spec)),
                };
                buf.copy_interleaved_ref(decoded);
                out.extend_from_slice(buf.samples());
                (spec.rate, spec.channels.count() as u16)
            }
        };
        self.check_format(rate, channels)?;
        self.trim_edit(out, before);
        self.produced += out.len() - before;
        if self.produced > self.max_samples {
            return Err(NodeFailure::new(format!(
                "the file decodes to more than {} samples (the limit max_output_values: {:.1} s of 48 kHz stereo)",
                self.max_samples,
                self.max_samples as f64 / 96_000.0
            )));
        }
        Ok(())
    }

    fn check_format(&mut self, rate: u32, channels: u16) -> Result<(), NodeFailure> {
        if !crate::limits::sample_rate_ok(rate) || channels == 0 {
            return Err(NodeFailure::new(format!(
                "the {} file's audio is {channels} channels at {rate} Hz",
                self.container.name()
            )));
        }
        let first = self.produced == 0 && self.carry.is_empty();
        if (self.sample_rate != rate || self.channels != channels) && !first {
            return Err(NodeFailure::new(format!(
                "the {} file changes from {} channels at {} Hz to {channels} at {rate} Hz midway; decode each part separately",
                self.container.name(),
                self.channels,
                self.sample_rate
            )));
        }
        self.sample_rate = rate;
        self.channels = channels;
        Ok(())
    }

    /// Applies the MP4 edit list to the frames this packet appended after `before`.
    fn trim_edit(&mut self, out: &mut Vec<f32>, before: usize) {
        let channels = usize::from(self.channels);
        let frames = ((out.len() - before) / channels) as u64;
        let skip = self.skip.min(frames);
        self.skip -= skip;
        if skip > 0 {
            out.drain(before..before + skip as usize * channels);
        }
        if let Some(keep) = &mut self.keep {
            let have = frames - skip;
            if have > *keep {
                out.truncate(before + *keep as usize * channels);
            }
            *keep -= have.min(*keep);
            if *keep == 0 {
                self.ended = true;
            }
        }
    }
}

fn unsupported(container: Container, codec: &str) -> NodeFailure {
    NodeFailure::new(format!(
        "the {} file's audio is {codec}, which AudioDecoderNode does not decode (it decodes {SUPPORTED_CODECS})",
        container.name()
    ))
}

/// Decodes a whole audio file (format found from its bytes) into interleaved f32
/// samples at the file's own sample rate and channel count, under the default
/// [`crate::limits::MAX_OUTPUT_VALUES`]. Errors as [`FileDecoder::open`] and
/// [`FileDecoder::decode_into`].
pub fn decode_audio_file(bytes: Vec<u8>) -> Result<AudioBuffer, NodeFailure> {
    decode_audio_file_limited(bytes, crate::limits::MAX_OUTPUT_VALUES)
}

/// [`decode_audio_file`] with another limit on the samples decoded (all channels),
/// checked after each packet, whatever the file's header claims. `AudioDecoderNode`
/// uses the executor's [`Limits::max_output_values`](crate::Limits::max_output_values).
pub fn decode_audio_file_limited(
    bytes: Vec<u8>,
    max_samples: usize,
) -> Result<AudioBuffer, NodeFailure> {
    let mut decoder = FileDecoder::open(bytes, max_samples)?;
    let mut samples = Vec::new();
    decoder.decode_into(&mut samples, usize::MAX)?;
    if decoder.sample_rate() == 0 || decoder.channels() == 0 {
        return Err("the file has no decodable audio".into());
    }
    Ok(AudioBuffer::new(
        samples,
        decoder.sample_rate(),
        decoder.channels(),
    ))
}
