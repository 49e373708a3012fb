//! Resampling: the streaming resampler, and the one stage behind both
//! `FastResampleNode` and `AudioTransform` (which also re-maps channels).
//!
//! Resampling is rubato's (0.16): `Low` = polynomial (`FastFixedIn`, linear),
//! `Medium` = synchronous FFT (`FftFixedIn`), `High` = windowed sinc (`SincFixedIn`,
//! 256 taps, Blackman-Harris). Input is cut into fixed chunks whatever the item
//! sizes, the resampler's delay is trimmed, and the output is cut to
//! `ceil(input_frames * target / source)` frames, so the result is the same
//! whether audio arrives in one piece or in chunks of any size.

use rubato::{
    FastFixedIn, FftFixedIn, PolynomialDegree, Resampler, SincFixedIn, SincInterpolationParameters,
    SincInterpolationType, WindowFunction,
};

use crate::data::{AudioBuffer, RuntimeData};
use crate::node::NodeFactory;
use crate::node::{finish_marking_last, Node, NodeFailure};
use crate::nodes::audio_basic::remix;
use crate::nodes::expect_audio;
use crate::nodes::stream::FormatGuard;
use crate::params::{ParamDefault, ParamError, ParamKind, ParamSpec, Params};
use crate::shape::Shape;

/// Input frames per resampler call, unless `chunk_frames` says otherwise.
const CHUNK_FRAMES: usize = 1024;
/// The range of `chunk_frames`.
const CHUNK_FRAMES_RANGE: std::ops::RangeInclusive<usize> = 64..=16_384;

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![
        NodeFactory {
            node_type: "FastResampleNode",
            aliases: &["ResampleNode"],
            summary: "audio -> audio at target_rate (rubato); state carried across chunks",
            params: const {
                &[
                    ParamSpec::optional("source_rate", ParamKind::NumberOrAuto)
                        .doc("Expected input rate in Hz, or `auto` (left out: any, taken from the first item); an item at another rate is an error."),
                    ParamSpec::required("target_rate", ParamKind::Number)
                        .doc("Output sample rate in Hz, 1 to 768000, at most 256 times the input rate or 1/256 of it."),
                    ParamSpec::optional("quality", ParamKind::OneOf(&["Low", "Medium", "High"]))
                        .default(ParamDefault::Text("Medium"))
                        .doc("`Low` (linear, no anti-aliasing), `Medium` or `High` (sinc filters of rubato)."),
                    ParamSpec::optional("chunk_frames", ParamKind::Count)
                        .default(ParamDefault::Count(1024))
                        .doc("Input frames per resampler call, 64 to 16384: output waits for a whole chunk, so live audio wants a small one (256 at 44.1 kHz is 6 ms); files run faster with a large one."),
                ]
            },
            output: const { Shape::Audio(&[]) },
            create: |p| Ok(Box::new(ResampleStage::fast_resample(p)?)),
        },
        NodeFactory {
            node_type: "AudioTransform",
            aliases: &["AudioTransformNode"],
            summary: "audio -> audio at output_sample_rate with output_channels (down/up-mix)",
            params: const {
                &[
                    ParamSpec::optional("output_sample_rate", ParamKind::Number)
                        .doc("Output sample rate in Hz, 1 to 768000, within 256 times the input rate either way (left out: the input rate)."),
                    ParamSpec::optional("output_channels", ParamKind::Count)
                        .doc("Output channels, 1 to 64, by down- or up-mixing (left out: the input channels)."),
                ]
            },
            output: const { Shape::Audio(&[]) },
            create: |p| Ok(Box::new(ResampleStage::audio_transform(p)?)),
        },
    ]
}

/// Resampling quality, trading speed for stop-band attenuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// Linear interpolation, no anti-aliasing filter: fastest.
    Low,
    /// FFT-based synchronous resampling: fast and clean (the default).
    Medium,
    /// 256-tap windowed sinc: slowest, highest attenuation.
    High,
}

impl Quality {
    /// Parses `Low`, `Medium` or `High` (any case).
    pub fn parse(name: &str) -> Option<Quality> {
        match name.to_ascii_lowercase().as_str() {
            "low" => Some(Quality::Low),
            "medium" => Some(Quality::Medium),
            "high" => Some(Quality::High),
            _ => None,
        }
    }
}

enum Engine {
    Fast(FastFixedIn<f32>),
    Fft(Box<FftFixedIn<f32>>),
    Sinc(Box<SincFixedIn<f32>>),
}

macro_rules! with_engine {
    ($engine:expr, $r:ident => $body:expr) => {
        match $engine {
            Engine::Fast($r) => $body,
            Engine::Fft($r) => $body,
            Engine::Sinc($r) => $body,
        }
    };
}

/// A rubato resampler fed with interleaved audio of any chunk size.
pub struct StreamResampler {
    engine: Engine,
    channels: usize,
    source_rate: u32,
    target_rate: u32,
    /// Deinterleaved input not yet processed, per channel.
    pending: Vec<Vec<f32>>,
    /// Output frames still to drop (the resampler's delay).
    skip: usize,
    frames_in: u64,
    frames_out: u64,
    out_scratch: Vec<Vec<f32>>,
}

impl StreamResampler {
    /// A resampler from `source_rate` to `target_rate` Hz for `channels` channels.
    ///
    /// Errors on rates outside the [limits](crate::limits) (1 to 768000 Hz, a ratio of
    /// at most 256 either way), checked before rubato sizes its buffers from them, or
    /// if rubato rejects them.
    pub fn new(
        source_rate: u32,
        target_rate: u32,
        channels: usize,
        quality: Quality,
    ) -> Result<Self, String> {
        Self::with_chunk(source_rate, target_rate, channels, quality, CHUNK_FRAMES)
    }

    /// [`StreamResampler::new`] calling rubato with `chunk` input frames at a time
    /// (64 to 16384; output waits for a whole chunk).
    pub fn with_chunk(
        source_rate: u32,
        target_rate: u32,
        channels: usize,
        quality: Quality,
        chunk: usize,
    ) -> Result<Self, String> {
        if !CHUNK_FRAMES_RANGE.contains(&chunk) {
            return Err(format!("chunk_frames must be 64 to 16384, got {chunk}"));
        }
        use crate::limits::{sample_rate_ok, MAX_RESAMPLE_RATIO, MAX_SAMPLE_RATE};
        for rate in [source_rate, target_rate] {
            if !sample_rate_ok(rate) {
                return Err(format!(
                    "cannot resample at {rate} Hz (rates are 1 to {MAX_SAMPLE_RATE} Hz)"
                ));
            }
        }
        let ratio = f64::from(target_rate) / f64::from(source_rate);
        if !(1.0 / MAX_RESAMPLE_RATIO..=MAX_RESAMPLE_RATIO).contains(&ratio) {
            return Err(format!(
                "cannot resample {source_rate} Hz to {target_rate} Hz: the ratio is beyond {MAX_RESAMPLE_RATIO} either way"
            ));
        }
        if channels == 0 {
            return Err("cannot resample audio with no channels".into());
        }
        let engine = match quality {
            Quality::Low => FastFixedIn::new(ratio, 1.0, PolynomialDegree::Linear, chunk, channels)
                .map(Engine::Fast)
                .map_err(|e| e.to_string())?,
            Quality::Medium => FftFixedIn::new(
                source_rate as usize,
                target_rate as usize,
                chunk,
                2,
                channels,
            )
            .map(|r| Engine::Fft(Box::new(r)))
            .map_err(|e| e.to_string())?,
            Quality::High => {
                let params = SincInterpolationParameters {
                    sinc_len: 256,
                    f_cutoff: 0.95,
                    interpolation: SincInterpolationType::Cubic,
                    oversampling_factor: 256,
                    window: WindowFunction::BlackmanHarris2,
                };
                SincFixedIn::new(ratio, 1.0, params, chunk, channels)
                    .map(|r| Engine::Sinc(Box::new(r)))
                    .map_err(|e| e.to_string())?
            }
        };
        let skip = with_engine!(&engine, r => r.output_delay());
        let out_scratch = with_engine!(&engine, r => r.output_buffer_allocate(true));
        Ok(StreamResampler {
            engine,
            channels,
            source_rate,
            target_rate,
            pending: vec![Vec::new(); channels],
            skip,
            frames_in: 0,
            frames_out: 0,
            out_scratch,
        })
    }

    /// Input rate in Hz.
    pub fn source_rate(&self) -> u32 {
        self.source_rate
    }

    /// Number of interleaved channels.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Feeds interleaved samples; returns the interleaved output that is ready.
    pub fn push(&mut self, interleaved: &[f32]) -> Result<Vec<f32>, String> {
        if self.channels == 1 {
            self.pending[0].extend_from_slice(interleaved);
        } else {
            for frame in interleaved.chunks_exact(self.channels) {
                for (ch, &s) in self.pending.iter_mut().zip(frame) {
                    ch.push(s);
                }
            }
        }
        self.frames_in += (interleaved.len() / self.channels) as u64;
        let mut out = Vec::new();
        // Process whole chunks at an advancing offset and drop them once at the end
        // (draining per chunk would move the rest of a long input every time).
        let mut used = 0;
        loop {
            let need = with_engine!(&self.engine, r => r.input_frames_next());
            if self.pending[0].len() - used < need {
                break;
            }
            let input: Vec<&[f32]> = self.pending.iter().map(|c| &c[used..used + need]).collect();
            let (_, produced) = with_engine!(&mut self.engine, r =>
                r.process_into_buffer(&input, &mut self.out_scratch, None))
            .map_err(|e| e.to_string())?;
            used += need;
            self.emit(produced, None, &mut out);
        }
        for ch in &mut self.pending {
            ch.drain(..used);
        }
        Ok(out)
    }

    /// Ends the stream: processes what is left and the filter tail; returns the
    /// rest of the output, so the total is `ceil(frames_in * target / source)`.
    pub fn finish(&mut self) -> Result<Vec<f32>, String> {
        let total =
            (self.frames_in * u64::from(self.target_rate)).div_ceil(u64::from(self.source_rate));
        let mut out = Vec::new();
        // The input not yet processed goes in the first call, if there is any (rubato
        // rejects empty slices: a stream of a whole number of chunks has none left);
        // each partial call pads with zeros, and a few calls drain the delay line.
        let mut first = !self.pending[0].is_empty();
        while self.frames_out < total {
            let input: Option<Vec<&[f32]>> =
                first.then(|| self.pending.iter().map(|c| c.as_slice()).collect());
            let (_, produced) = with_engine!(&mut self.engine, r =>
                r.process_partial_into_buffer(input.as_deref(), &mut self.out_scratch, None))
            .map_err(|e| e.to_string())?;
            first = false;
            self.emit(produced, Some(total), &mut out);
            if produced == 0 {
                break;
            }
        }
        for ch in &mut self.pending {
            ch.clear();
        }
        Ok(out)
    }

    /// Appends `produced` frames of the scratch buffer to `out` (interleaved),
    /// after dropping the delay and stopping at `limit` frames in all.
    fn emit(&mut self, produced: usize, limit: Option<u64>, out: &mut Vec<f32>) {
        let skip = self.skip.min(produced);
        self.skip -= skip;
        let mut end = produced;
        if let Some(limit) = limit {
            let room = limit.saturating_sub(self.frames_out) as usize;
            end = end.min(skip + room);
        }
        for frame in skip..end {
            for ch in &self.out_scratch {
                out.push(ch[frame]);
            }
        }
        self.frames_out += (end - skip) as u64;
    }
}

/// The stage behind `FastResampleNode` and `AudioTransform`: a stream's first item
/// fixes its format; items are re-mapped to `target_channels` and resampled to
/// `target_rate` (each `None` keeps the input's), with resampler state across items.
/// Outputs keep the stream's timestamp and id, the flushed tail included.
pub struct ResampleStage {
    node_type: &'static str,
    /// `FastResampleNode`'s `source_rate`: the rate the input must have, if given.
    expected_source: Option<u32>,
    target_rate: Option<u32>,
    target_channels: Option<u16>,
    quality: Quality,
    /// Input frames per resampler call.
    chunk: usize,
    format: FormatGuard,
    resampler: Option<StreamResampler>,
    /// The first item, emptied: the timestamp and stream id of the flushed tail.
    first: Option<AudioBuffer>,
}

impl ResampleStage {
    fn new(
        node_type: &'static str,
        target_rate: Option<u32>,
        target_channels: Option<u16>,
        quality: Quality,
    ) -> Self {
        ResampleStage {
            node_type,
            expected_source: None,
            target_rate,
            target_channels,
            quality,
            chunk: CHUNK_FRAMES,
            format: FormatGuard::default(),
            resampler: None,
            first: None,
        }
    }

    /// `FastResampleNode`: `target_rate` (required), `source_rate` (a number or
    /// `"auto"`), `quality` (`Low`, `Medium` or `High`; default `Medium`).
    fn fast_resample(p: Params<'_>) -> Result<Self, ParamError> {
        let quality = Quality::parse(p.text("quality"))
            .ok_or_else(|| ParamError::new("quality", "expected Low, Medium or High"))?;
        let mut stage = Self::new(
            "FastResampleNode",
            Some(p.sample_rate("target_rate")?),
            None,
            quality,
        );
        stage.chunk = p.count_in("chunk_frames", CHUNK_FRAMES_RANGE, "frames")?;
        stage.expected_source = match p.get("source_rate") {
            None => None,
            Some(v) if v == "auto" => None,
            Some(_) => Some(p.sample_rate("source_rate")?),
        };
        Ok(stage)
    }

    /// `AudioTransform`: `output_sample_rate` and `output_channels` (1 to 64), each
    /// optional; resampling at `Medium` quality.
    fn audio_transform(p: Params<'_>) -> Result<Self, ParamError> {
        let rate = match p.get("output_sample_rate") {
            Some(_) => Some(p.sample_rate("output_sample_rate")?),
            None => None,
        };
        let channels = match p.get("output_channels") {
            Some(_) => {
                let c = p.count("output_channels");
                if !(1..=64).contains(&c) {
                    return Err(ParamError::new("output_channels", "must be from 1 to 64"));
                }
                Some(c as u16)
            }
            None => None,
        };
        Ok(Self::new("AudioTransform", rate, channels, Quality::Medium))
    }

    /// Converts one item, keeping state for the next; `last` also drains the tail.
    fn convert(
        &mut self,
        audio: AudioBuffer,
        last: bool,
    ) -> Result<Option<AudioBuffer>, NodeFailure> {
        if let Some(expected) = self.expected_source {
            if expected != audio.sample_rate {
                return Err(NodeFailure::new(format!(
                    "input audio is {} Hz but source_rate is {expected} Hz",
                    audio.sample_rate
                )));
            }
        }
        let format = self.format.check(&audio, self.node_type)?;
        // rubato's FFT panics on NaN; refuse it here, with where it is.
        if let Some((i, value)) = crate::limits::first_non_finite(&audio.samples) {
            return Err(NodeFailure::new(format!(
                "sample {i} is {value}: {} needs finite samples",
                self.node_type
            )));
        }
        let rate = self.target_rate.unwrap_or(format.sample_rate);
        let channels = self.target_channels.unwrap_or(format.channels);
        if self.first.is_none() {
            self.first = Some(audio.with_samples(Vec::new(), rate, channels));
        }
        if rate == format.sample_rate && channels == format.channels {
            return Ok(Some(audio)); // nothing to do: the item as it is, metadata included
        }
        let mixed = remix(
            &audio.samples,
            usize::from(format.channels),
            usize::from(channels),
        );
        if rate == format.sample_rate {
            return Ok(Some(audio.with_samples(mixed, rate, channels)));
        }
        let resampler = match &mut self.resampler {
            Some(r) => r,
            None => self.resampler.insert(
                StreamResampler::with_chunk(
                    format.sample_rate,
                    rate,
                    usize::from(channels),
                    self.quality,
                    self.chunk,
                )
                .map_err(NodeFailure::new)?,
            ),
        };
        let mut samples = resampler.push(&mixed).map_err(NodeFailure::new)?;
        if last {
            samples.extend(resampler.finish().map_err(NodeFailure::new)?);
        }
        Ok((!samples.is_empty()).then(|| audio.with_samples(samples, rate, channels)))
    }

    /// One item; the last one also drains the filter tail into the same output.
    fn step(
        &mut self,
        input: RuntimeData,
        last: bool,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        let audio = expect_audio(input, self.node_type)?;
        out.extend(self.convert(audio, last)?.map(RuntimeData::Audio));
        Ok(())
    }
}

impl Node for ResampleStage {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        self.step(input, false, out)
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        if let (Some(resampler), Some(first)) = (&mut self.resampler, &self.first) {
            let samples = resampler.finish().map_err(NodeFailure::new)?;
            if !samples.is_empty() {
                out.push(RuntimeData::Audio(first.with_samples(
                    samples,
                    first.sample_rate,
                    first.channels,
                )));
            }
        }
        Ok(())
    }

    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        finish_marking_last(self, items, out, Self::step)
    }
}
