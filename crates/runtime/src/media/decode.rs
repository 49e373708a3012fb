//! The streaming decoder: a file's bytes in, interleaved f32 audio out in chunks of
//! any size, with the codec delay and padding removed.

use std::io::Cursor;

use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::well_known as ids;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions,
};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, Timestamp};

use super::codecs::{self as names, SUPPORTED_CODECS};
use super::container::{self, Container};
use super::matroska;
use super::mp4;
use super::opus::{OpusHead, OpusStream, OPUS_RATE};
use crate::data::AudioBuffer;
use crate::node::NodeFailure;

/// The containers `AudioDecoderNode` reads, as error messages list them.
pub const SUPPORTED_CONTAINERS: &str =
    "WAV, RF64, AIFF/AIFC, CAF, FLAC, MP3, Ogg, WebM/Matroska, MP4/M4A/MOV, ADTS AAC";

/// Where packets come from: symphonia's readers, or this crate's Matroska reader
/// (`matroska.rs` says why).
enum Source {
    Symphonia {
        format: Box<dyn FormatReader>,
        track_id: u32,
        /// Whether packet durations count frames (an MP4 track whose time scale is its
        /// sample rate), so a packet's duration bounds the frames it presents.
        durations_in_frames: bool,
    },
    Matroska {
        bytes: Vec<u8>,
        packets: matroska::Packets,
    },
}

/// One packet, and the padding its container says to drop from its end (Matroska
/// `DiscardPadding`, in nanoseconds; Ogg states its trimming in the packet itself).
struct PacketIn {
    packet: Packet,
    trim_end_ns: u64,
    /// The frames the container says the packet presents, where it says so in frames:
    /// a fragmented MP4 with no edit list states AAC's end padding only as a shorter
    /// last sample duration (what ffmpeg and `ffprobe`'s duration go by).
    frames: Option<u64>,
}

enum Codec {
    /// One of symphonia's decoders.
    Symphonia(Box<dyn AudioDecoder>),
    Opus(Box<OpusStream>),
}

/// Decodes one audio file incrementally: [`FileDecoder::open`] reads the headers,
/// then each [`FileDecoder::decode_into`] call decodes packets until it has appended
/// the frames asked for, or the file ends.
///
/// The first audio track is decoded; video, subtitle and other tracks are skipped.
/// Codec delay and padding are removed where the file states them: Opus pre-skip and
/// end trimming (Ogg granule positions, Matroska `DiscardPadding`), MP3 encoder delay
/// and padding (LAME/Xing header), Vorbis end trimming, and MP4 edit lists (AAC
/// encoder priming and remainder).
pub struct FileDecoder {
    container: Container,
    source: Source,
    codec: Codec,
    sample_rate: u32,
    channels: u16,
    /// Frames still to drop at the start, from an MP4 edit list.
    skip: u64,
    /// Frames still to keep, from an MP4 edit list.
    keep: Option<u64>,
    max_samples: usize,
    produced: usize,
    ended: bool,
    /// A packet's frames past what `decode_into` was asked for, given next time.
    carry: Vec<f32>,
    /// The samples (all channels) the headers say the file holds, if they do.
    samples_hint: Option<u64>,
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
        let opened = guard(container, || match container {
            Container::Matroska => open_matroska(bytes),
            _ => open_symphonia(container, bytes),
        })?;
        let (skip, keep) = opened.edit.unwrap_or((0, None));
        let samples_hint = opened
            .frames
            .map(|f| f.saturating_mul(u64::from(opened.channels)));
        Ok(FileDecoder {
            container,
            source: opened.source,
            codec: opened.codec,
            sample_rate: opened.sample_rate,
            channels: opened.channels,
            skip,
            keep,
            max_samples,
            produced: 0,
            ended: false,
            carry: Vec::new(),
            samples_hint,
        })
    }

    /// The samples (all channels) the headers say the whole file decodes to, at most
    /// `max_samples`: a capacity to reserve, so a whole file is not decoded into a
    /// buffer that doubles as it grows. `None` when the headers do not say. A header
    /// may lie; the decoder never trusts it for more than this hint.
    pub fn samples_hint(&self) -> Option<usize> {
        let hint = self.samples_hint?;
        Some(
            usize::try_from(hint)
                .unwrap_or(usize::MAX)
                .min(self.max_samples),
        )
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

    /// `samples` decoded by [`FileDecoder::decode_into`] as audio at the file's rate and
    /// channels; an error when the file never said them (no decodable audio).
    pub fn buffer(&self, samples: Vec<f32>) -> Result<AudioBuffer, NodeFailure> {
        if self.sample_rate == 0 || self.channels == 0 {
            return Err("the file has no decodable audio".into());
        }
        Ok(AudioBuffer::new(samples, self.sample_rate, self.channels))
    }

    /// The interleaved channels of the output (0 until known, as for the rate).
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Decodes until at least `frames` frames were appended to `out` (interleaved
    /// f32) or the file ended, and appends no more than `frames`; returns `false` once
    /// everything was given. A corrupt packet in the middle is skipped, as players do;
    /// a file that decodes to more than the `max_samples` given to
    /// [`FileDecoder::open`], or whose rate or channel count changes midway, is an error.
    pub fn decode_into(&mut self, out: &mut Vec<f32>, frames: usize) -> Result<bool, NodeFailure> {
        let start = out.len();
        out.append(&mut self.carry);
        // Decoded straight into `out`, so a whole file is never copied.
        while !self.ended && (out.len() - start) / usize::from(self.channels.max(1)) < frames {
            let container = self.container;
            if let Err(e) = guard(container, || self.next_packet(out)) {
                self.ended = true;
                return Err(e);
            }
        }
        // Give back no more than asked for: the rest waits in `carry`.
        let cut = start.saturating_add(frames.saturating_mul(usize::from(self.channels.max(1))));
        if out.len() > cut {
            self.carry = out.split_off(cut);
        }
        Ok(!self.ended || !self.carry.is_empty())
    }

    /// The next packet of the track, or `None` at the end.
    fn read_packet(&mut self) -> Result<Option<PacketIn>, NodeFailure> {
        match &mut self.source {
            Source::Matroska { bytes, packets } => Ok(packets.next(bytes).map(|p| PacketIn {
                packet: Packet::new(0, Timestamp::new(0), Duration::new(0), &bytes[p.range]),
                trim_end_ns: p.discard_padding_ns,
                frames: None,
            })),
            Source::Symphonia {
                format,
                track_id,
                durations_in_frames,
            } => loop {
                let packet = match format.next_packet() {
                    Ok(Some(p)) => p,
                    Ok(None) => return Ok(None),
                    Err(SymphoniaError::IoError(e))
                        if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                    {
                        return Ok(None)
                    }
                    Err(SymphoniaError::ResetRequired) => return Ok(None),
                    Err(e) => {
                        return Err(NodeFailure::new(format!(
                            "reading the {} file failed: {e}",
                            self.container.name()
                        )))
                    }
                };
                if packet.track_id == *track_id {
                    return Ok(Some(PacketIn {
                        trim_end_ns: 0,
                        frames: durations_in_frames.then_some(packet.dur.get()),
                        packet,
                    }));
                }
            },
        }
    }

    /// Reads and decodes one packet of the track, appending what survives trimming.
    fn next_packet(&mut self, out: &mut Vec<f32>) -> Result<(), NodeFailure> {
        let Some(input) = self.read_packet()? else {
            self.ended = true;
            return Ok(());
        };
        let before = out.len();
        let (rate, channels) = match &mut self.codec {
            Codec::Opus(stream) => {
                let packet = &input.packet;
                let trim_end = usize::try_from(packet.trim_end.get()).unwrap_or(usize::MAX)
                    + (u128::from(input.trim_end_ns) * u128::from(OPUS_RATE) / 1_000_000_000)
                        .min(u128::from(u32::MAX)) as usize;
                let trim_start = usize::try_from(packet.trim_start.get()).unwrap_or(usize::MAX);
                if stream
                    .decode(&packet.data, trim_start, trim_end, out)
                    .is_err()
                {
                    return Ok(());
                }
                (OPUS_RATE, stream.channels() as u16)
            }
            Codec::Symphonia(decoder) => {
                let decoded = match decoder.decode(&input.packet) {
                    Ok(d) => d,
                    Err(SymphoniaError::DecodeError(_)) => return Ok(()),
                    Err(e) => {
                        return Err(NodeFailure::new(format!(
                            "decoding the {} file failed: {e}",
                            self.container.name()
                        )))
                    }
                };
                let spec = decoded.spec();
                let format = (spec.rate(), spec.channels().count() as u16);
                out.resize(before + decoded.samples_interleaved(), 0.0);
                decoded.copy_to_slice_interleaved(&mut out[before..]);
                if let Some(frames) = input.frames.filter(|f| *f > 0) {
                    let stated = usize::try_from(frames)
                        .unwrap_or(usize::MAX)
                        .saturating_mul(usize::from(format.1));
                    out.truncate(before.saturating_add(stated));
                }
                format
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

/// A file's packet source and codec, and what its headers say of the output.
struct Opened {
    source: Source,
    codec: Codec,
    sample_rate: u32,
    channels: u16,
    /// `(frames to skip, frames to keep)` from an MP4 edit list.
    edit: Option<(u64, Option<u64>)>,
    /// The frames the headers say the track has, if they do.
    frames: Option<u64>,
}

impl Opened {
    /// An Opus stream: 48 kHz, its channels from its `OpusHead`.
    fn opus(source: Source, stream: OpusStream, edit: Option<(u64, Option<u64>)>) -> Opened {
        Opened {
            source,
            channels: stream.channels() as u16,
            codec: Codec::Opus(Box::new(stream)),
            sample_rate: OPUS_RATE,
            edit,
            frames: None,
        }
    }
}

/// A Matroska/WebM file through this crate's reader, its codec through symphonia's
/// decoders or `opus-pure`.
fn open_matroska(bytes: Vec<u8>) -> Result<Opened, NodeFailure> {
    let container = Container::Matroska;
    let header = matroska::read_header(&bytes)
        .map_err(|e| NodeFailure::new(format!("the WebM/Matroska file cannot be read: {e}")))?;
    let Some(track) = header.audio().cloned() else {
        return Err(no_audio(container, header.videos()));
    };
    let packets = header.packets(track.number);
    let source = Source::Matroska { bytes, packets };
    if track.codec_id == "A_OPUS" {
        let head = OpusHead::parse(&track.codec_private)
            .map_err(|e| NodeFailure::new(format!("the WebM/Matroska file's Opus track: {e}")))?;
        let stream = OpusStream::new(&head).map_err(NodeFailure::new)?;
        return Ok(Opened::opus(source, stream, None));
    }
    let codec = matroska_codec(&track)
        .ok_or_else(|| unsupported(container, &names::matroska_name(&track.codec_id)))?;
    let mut params = AudioCodecParameters::new();
    params.for_codec(codec);
    let rate = track
        .sample_rate
        .filter(|r| r.is_finite() && *r >= 1.0)
        .map(|r| r.round() as u32);
    let channels = track
        .channels
        .filter(|c| (1..=32).contains(c))
        .map(|c| c as u16);
    if let Some(rate) = rate {
        params.with_sample_rate(rate);
    }
    if let Some(n) = channels {
        params.with_channels(Channels::Discrete(n));
    }
    if let Some(bits) = track.bit_depth.filter(|b| (1..=64).contains(b)) {
        params
            .with_bits_per_sample(bits as u32)
            .with_bits_per_coded_sample(bits as u32);
    }
    // PCM blocks hold whatever a muxer put in one; one second is a generous bound.
    params.with_max_frames_per_packet(u64::from(rate.unwrap_or(48_000)));
    let private = &track.codec_private;
    let extra = match codec {
        ids::CODEC_ID_VORBIS => Some(names::vorbis_headers(private).ok_or_else(|| {
            NodeFailure::new("the WebM/Matroska file's Vorbis headers are missing or damaged")
        })?),
        ids::CODEC_ID_FLAC => Some(names::flac_stream_info(private).ok_or_else(|| {
            NodeFailure::new("the WebM/Matroska file's FLAC header is missing or damaged")
        })?),
        _ if private.is_empty() => None,
        _ => Some(private.clone()),
    };
    if let Some(extra) = extra {
        params.with_extra_data(extra.into_boxed_slice());
    }
    let decoder = make_decoder(container, &params, &names::matroska_name(&track.codec_id))?;
    Ok(Opened {
        source,
        codec: Codec::Symphonia(decoder),
        sample_rate: rate.unwrap_or(0),
        channels: channels.unwrap_or(0),
        edit: None,
        frames: None,
    })
}

/// The symphonia codec of a Matroska `CodecID`, for the ones it decodes.
fn matroska_codec(track: &matroska::Track) -> Option<AudioCodecId> {
    let bits = track.bit_depth;
    Some(match track.codec_id.as_str() {
        "A_VORBIS" => ids::CODEC_ID_VORBIS,
        "A_FLAC" => ids::CODEC_ID_FLAC,
        "A_MPEG/L3" => ids::CODEC_ID_MP3,
        "A_AAC" | "A_AAC/MPEG2/LC" | "A_AAC/MPEG4/LC" => ids::CODEC_ID_AAC,
        "A_PCM/INT/LIT" => match bits? {
            8 => ids::CODEC_ID_PCM_U8,
            16 => ids::CODEC_ID_PCM_S16LE,
            24 => ids::CODEC_ID_PCM_S24LE,
            32 => ids::CODEC_ID_PCM_S32LE,
            _ => return None,
        },
        "A_PCM/INT/BIG" => match bits? {
            16 => ids::CODEC_ID_PCM_S16BE,
            24 => ids::CODEC_ID_PCM_S24BE,
            32 => ids::CODEC_ID_PCM_S32BE,
            _ => return None,
        },
        "A_PCM/FLOAT/IEEE" => match bits? {
            32 => ids::CODEC_ID_PCM_F32LE,
            64 => ids::CODEC_ID_PCM_F64LE,
            _ => return None,
        },
        _ => return None,
    })
}

/// Every other container through symphonia's readers; the MP4 edit list from `mp4.rs`.
fn open_symphonia(container: Container, bytes: Vec<u8>) -> Result<Opened, NodeFailure> {
    if container == Container::Mp4 {
        mp4::check_tables(&bytes)
            .map_err(|e| NodeFailure::new(format!("the MP4 file cannot be read: {e}")))?;
    }
    let (videos, mp4_audio) = match container {
        Container::Mp4 => mp4::tracks(&bytes),
        _ => (0, None),
    };
    if container == Container::Mp4 && mp4_audio.is_none() {
        return Err(no_audio(container, videos));
    }
    let stream = MediaSourceStream::new(Box::new(Cursor::new(bytes)), Default::default());
    let format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match container {
            Container::Unknown => NodeFailure::new(format!(
                "not an audio file AudioDecoderNode reads ({SUPPORTED_CONTAINERS})"
            )),
            c => NodeFailure::new(format!("the {} file cannot be read: {e}", c.name())),
        })?;
    let Some((track, mut params)) = format.tracks().iter().find_map(|t| match &t.codec_params {
        Some(CodecParameters::Audio(p))
            if p.codec != symphonia::core::codecs::audio::CODEC_ID_NULL_AUDIO =>
        {
            Some((t, p.clone()))
        }
        _ => None,
    }) else {
        return Err(match &mp4_audio {
            Some(track) => unsupported(container, &names::mp4_entry_name(&track.sample_entry)),
            None => no_audio(container, videos),
        });
    };
    let track_id = track.id;
    let frames = track.num_frames;
    let track_time_base = track.time_base;
    if params.codec == ids::CODEC_ID_AAC {
        if let Some(profile) = names::unsupported_aac_profile(params.extra_data.as_deref()) {
            return Err(unsupported(container, profile));
        }
    }
    if params.codec == ids::CODEC_ID_ALAC {
        if let Some(config) = params
            .extra_data
            .as_deref()
            .and_then(names::alac_config_from_atoms)
        {
            params.extra_data = Some(config.into_boxed_slice());
        }
    }
    let durations_in_frames = container == Container::Mp4
        && matches!((track_time_base, params.sample_rate), (Some(tb), Some(rate)) if tb.numer.get() == 1 && tb.denom.get() == rate);
    let source = Source::Symphonia {
        format,
        track_id,
        durations_in_frames,
    };
    let edit = mp4_audio.and_then(|t| t.edit);
    if params.codec == ids::CODEC_ID_OPUS {
        let head = OpusHead::parse(params.extra_data.as_deref().unwrap_or(&[]))
            .map_err(|e| NodeFailure::new(format!("the {} file: {e}", container.name())))?;
        let stream = OpusStream::new(&head).map_err(NodeFailure::new)?;
        return Ok(Opened::opus(source, stream, edit));
    }
    let decoder = make_decoder(container, &params, &names::codec_name(params.codec))?;
    Ok(Opened {
        source,
        codec: Codec::Symphonia(decoder),
        sample_rate: params.sample_rate.unwrap_or(0),
        channels: params.channels.map(|c| c.count() as u16).unwrap_or(0),
        edit,
        frames,
    })
}

fn make_decoder(
    container: Container,
    params: &AudioCodecParameters,
    name: &str,
) -> Result<Box<dyn AudioDecoder>, NodeFailure> {
    // Gapless (the default): the decoder drops the delay and padding its packets carry.
    symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(|e| match e {
            SymphoniaError::Unsupported(_) => unsupported(container, name),
            e => NodeFailure::new(format!(
                "the {} file's {name} track cannot be decoded: {e}",
                container.name()
            )),
        })
}

/// Runs symphonia's code so that a panic in it is an error natively (symphonia 0.5's
/// AAC and ALAC decoders indexed out of bounds on some damaged packets, found by
/// `tests/fuzz.rs`; 0.6 checks those). In WebAssembly, built with `panic = "abort"`,
/// nothing can catch one: the worker's panic hook reports a `NodeError` and the SDK
/// replaces the worker (docs/formats.md).
fn guard<T>(
    container: Container,
    run: impl FnOnce() -> Result<T, NodeFailure>,
) -> Result<T, NodeFailure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
        Err(NodeFailure::new(format!(
            "the {} file is damaged: its decoder failed on it",
            container.name()
        )))
    })
}

fn no_audio(container: Container, videos: usize) -> NodeFailure {
    let video = match videos {
        0 => String::new(),
        1 => " (it has a video track)".into(),
        n => format!(" (it has {n} video tracks)"),
    };
    NodeFailure::new(format!(
        "the {} file has no audio track{video}",
        container.name()
    ))
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
    // A lying header can make this reserve up to `max_samples`, which a file may decode
    // to anyway; the bytes it came in bound a plausible one (PCM is at least one byte a
    // sample; compressed audio is ever more samples per byte, so it is only a hint).
    let most = bytes.len().saturating_mul(16);
    let mut decoder = FileDecoder::open(bytes, max_samples)?;
    let mut samples = Vec::with_capacity(decoder.samples_hint().unwrap_or(0).min(most));
    decoder.decode_into(&mut samples, usize::MAX)?;
    decoder.buffer(samples)
}
