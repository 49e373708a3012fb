//! `AudioDecoderNode`: audio file bytes -> interleaved f32 audio, through
//! [`crate::media`] (every container and codec of `docs/formats.md`).

use crate::data::RuntimeData;
use crate::media::FileDecoder;
use crate::node::NodeFactory;
use crate::node::{Node, NodeFailure};
use crate::progress::InputProgress;
use crate::shape::Shape;

pub use crate::media::{decode_audio_file, decode_audio_file_limited};

pub(crate) fn factories() -> Vec<NodeFactory> {
    vec![NodeFactory {
        node_type: "AudioDecoderNode",
        aliases: &["AudioDecoder"],
        summary: "binary (audio file bytes: WAV, RF64, AIFF, CAF, FLAC, MP3, Ogg Vorbis/Opus, WebM/Matroska, MP4/M4A/MOV with AAC-LC or ALAC) -> audio",
        params: const { &[] },
        output: const { Shape::Audio(&[]) },
        create: |p| {
            Ok(Box::new(AudioDecoder {
                max_samples: p.limits().max_output_values,
                open: None,
                gave_piece: false,
                progress: None,
            }))
        },
    }]
}

/// Frames of one piece of a long file's audio: about 22 s at 48 kHz. A file that
/// decodes to no more is one item, as a short file always was; a longer one is several
/// items, made one at a time as the executor asks ([`Node::next_piece`]).
pub const PIECE_FRAMES: usize = 1 << 20;

/// Decodes each binary item as an audio file, into items of at most [`PIECE_FRAMES`]
/// frames. Audio items pass through.
///
/// The executor's [`Limits::max_output_values`](crate::Limits::max_output_values) bounds
/// the samples a whole file may decode to, as it did before files came in pieces: a
/// limit on how long a file may be, while memory holds a piece.
pub struct AudioDecoder {
    /// Most samples (all channels) of one file.
    max_samples: usize,
    /// The file being decoded while it still owes pieces.
    open: Option<FileDecoder>,
    /// Whether the open file has given a piece yet (a file of no samples still gives one
    /// empty item).
    gave_piece: bool,
    /// How far through the last file opened (for progress reports).
    progress: Option<InputProgress>,
}

impl AudioDecoder {
    /// Decodes the next piece of the open file into `out`; closes the file after its last.
    fn piece(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        // Taken out while it decodes: an error or the last piece leaves the file closed.
        let Some(mut decoder) = self.open.take() else {
            return Ok(());
        };
        let channels = usize::from(decoder.channels().max(1));
        let capacity = decoder
            .samples_hint()
            .unwrap_or(0)
            .min(PIECE_FRAMES * channels);
        let mut samples = Vec::with_capacity(capacity);
        let more = decoder.decode_into(&mut samples, PIECE_FRAMES)?;
        if let Some(p) = &mut self.progress {
            p.frames_done += (samples.len() / channels) as u64;
            if !more {
                p.frames_total = Some(p.frames_done);
            }
        }
        let piece = decoder.buffer(samples)?;
        if !piece.samples.is_empty() || !self.gave_piece && !more {
            self.gave_piece = true;
            out.push(RuntimeData::Audio(piece));
        }
        if more {
            self.open = Some(decoder);
        }
        Ok(())
    }

    /// Gives every piece the open file still owes (when nobody asked for them one at a
    /// time).
    fn drain(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        while self.open.is_some() {
            self.piece(out)?;
        }
        Ok(())
    }
}

impl Node for AudioDecoder {
    fn process(
        &mut self,
        input: RuntimeData,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        self.drain(out)?;
        match input {
            RuntimeData::Binary(bytes) => {
                let size = bytes.len() as u64;
                let decoder = FileDecoder::open(bytes, self.max_samples)?;
                let channels = decoder.channels().max(1) as usize;
                self.progress = Some(InputProgress {
                    bytes: size,
                    frames_done: 0,
                    frames_total: decoder.samples_hint().map(|s| (s / channels) as u64),
                });
                self.open = Some(decoder);
                self.gave_piece = false;
                self.piece(out)
            }
            RuntimeData::Audio(a) => {
                out.push(RuntimeData::Audio(a));
                Ok(())
            }
            other => Err(NodeFailure::new(format!(
                "AudioDecoderNode takes binary file bytes, got {}",
                other.kind()
            ))),
        }
    }

    fn flush(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        self.drain(out)
    }

    /// The last items, with the last file's remaining pieces left owed for the executor
    /// to ask for one at a time (the decoder holds nothing else to flush).
    fn finish(
        &mut self,
        items: Vec<RuntimeData>,
        out: &mut Vec<RuntimeData>,
    ) -> Result<(), NodeFailure> {
        items
            .into_iter()
            .try_for_each(|item| self.process(item, out))
    }

    fn owes_output(&self) -> bool {
        self.open.is_some()
    }

    fn next_piece(&mut self, out: &mut Vec<RuntimeData>) -> Result<(), NodeFailure> {
        self.piece(out)
    }

    fn input_progress(&self) -> Option<InputProgress> {
        self.progress
    }
}
