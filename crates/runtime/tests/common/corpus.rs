//! A noisy-speech corpus for voice activity detection, from real recordings: audio-lena
//! (npm) and the speech PyPI's moonshine-voice wheel ships (`target/speech`, fetched by
//! scripts/setup.sh), at 16 kHz, each clip between seconds of silence.
//!
//! Labels come from the clean speech, per 10 ms frame: speech when the frame is within
//! 25 dB of its clip's loud level (the 95th percentile of its frame levels); non-speech in
//! the silences and where the clean frame is over 45 dB under it; frames in between, and
//! non-speech within 200 ms of speech (the collar every detector's hangover takes), are
//! not scored. Noise is mixed at an SNR over the active speech (the mean power of the
//! speech frames), from fixed-seed generators, so every run builds the same corpus.

use std::path::PathBuf;

/// The corpus's sample rate, in Hz.
pub const RATE: u32 = 16_000;
/// Samples in a label frame (10 ms).
pub const LABEL: usize = 160;
/// Silence before, between and after the clips, in samples (1 s).
const GAP: usize = 16_000;

/// A 10 ms frame's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Speech,
    NonSpeech,
    /// Not scored.
    Unscored,
}

/// Clean speech with its labels.
pub struct Corpus {
    pub samples: Vec<f32>,
    pub labels: Vec<Label>,
}

/// A kind of noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    White,
    Pink,
    Brown,
    /// Other talkers: the corpus's own speech, four copies at other offsets.
    Babble,
}

impl Noise {
    pub fn name(self) -> &'static str {
        match self {
            Noise::White => "white",
            Noise::Pink => "pink",
            Noise::Brown => "brown",
            Noise::Babble => "babble",
        }
    }
}

fn speech_dir() -> PathBuf {
    super::repo().join("target/speech")
}

/// The clips: `small` is lena and two moonshine-voice recordings (26 s of speech), for
/// npm test; otherwise every speech recording (98 s).
pub fn clips(small: bool) -> Vec<Vec<f32>> {
    let mut paths = vec![super::repo().join("node_modules/audio-lena/lena.wav")];
    let names: &[&str] = if small {
        &["beckett.wav", "clone-test.wav"]
    } else {
        &[
            "beckett.wav",
            "clone-test.wav",
            "endgame_nagg_nell.wav",
            "two_cities.wav",
        ]
    };
    for name in names {
        let path = speech_dir().join(name);
        assert!(
            path.exists(),
            "{} is missing: scripts/setup.sh fetches moonshine-voice's recordings from PyPI (npm test runs it)",
            path.display()
        );
        paths.push(path);
    }
    paths.iter().map(|p| super::ffmpeg_mono(p, RATE)).collect()
}

fn level_db(frame: &[f32]) -> f64 {
    let power = frame.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / frame.len() as f64;
    10.0 * power.max(1e-12).log10()
}

/// The clips between silences, labelled.
pub fn build(clips: &[Vec<f32>]) -> Corpus {
    let mut samples = vec![0.0f32; GAP];
    let mut labels = vec![Label::NonSpeech; GAP / LABEL];
    for clip in clips {
        let frames: Vec<&[f32]> = clip.chunks_exact(LABEL).collect();
        let mut levels: Vec<f64> = frames.iter().map(|f| level_db(f)).collect();
        let mut sorted = levels.clone();
        sorted.sort_by(f64::total_cmp);
        let loud = sorted[sorted.len() * 95 / 100];
        for l in &mut levels {
            *l -= loud;
        }
        labels.extend(levels.iter().map(|&l| {
            if l >= -25.0 {
                Label::Speech
            } else if l < -45.0 {
                Label::NonSpeech
            } else {
                Label::Unscored
            }
        }));
        samples.extend(frames.iter().flat_map(|f| f.iter().copied()));
        samples.extend(std::iter::repeat_n(0.0, GAP));
        labels.extend(std::iter::repeat_n(Label::NonSpeech, GAP / LABEL));
    }
    // The collar: non-speech within 200 ms of speech is not scored.
    let collar = 20;
    let speech: Vec<usize> = (0..labels.len())
        .filter(|&k| labels[k] == Label::Speech)
        .collect();
    for &k in &speech {
        for j in k.saturating_sub(collar)..(k + collar + 1).min(labels.len()) {
            if labels[j] == Label::NonSpeech {
                labels[j] = Label::Unscored;
            }
        }
    }
    Corpus { samples, labels }
}

/// A xorshift generator of uniform numbers in [0, 1).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u = self.next().max(1e-300);
        let v = self.next();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// `len` samples of `noise` at unit RMS.
fn noise(kind: Noise, len: usize, speech: &[f32]) -> Vec<f64> {
    let mut rng = Uniform(0x2545_f491_4f6c_dd1d);
    let raw: Vec<f64> = match kind {
        Noise::White => (0..len).map(|_| rng.normal()).collect(),
        // Paul Kellet's refined pink filter (-3 dB per octave), over white noise.
        Noise::Pink => {
            let mut b = [0.0f64; 7];
            (0..len)
                .map(|_| {
                    let w = rng.normal();
                    b[0] = 0.99886 * b[0] + w * 0.0555179;
                    b[1] = 0.99332 * b[1] + w * 0.0750759;
                    b[2] = 0.96900 * b[2] + w * 0.1538520;
                    b[3] = 0.86650 * b[3] + w * 0.3104856;
                    b[4] = 0.55000 * b[4] + w * 0.5329522;
                    b[5] = -0.7616 * b[5] - w * 0.0168980;
                    let out = b.iter().sum::<f64>() + w * 0.5362;
                    b[6] = w * 0.115926;
                    out
                })
                .collect()
        }
        // Integrated white noise (-6 dB per octave), leaky so it does not wander off.
        Noise::Brown => {
            let mut y = 0.0;
            (0..len)
                .map(|_| {
                    y = 0.998 * y + rng.normal();
                    y
                })
                .collect()
        }
        Noise::Babble => {
            let mut out = vec![0.0f64; len];
            for talker in 1..=4 {
                let offset = talker * speech.len() / 5 + talker * 7919;
                for (i, o) in out.iter_mut().enumerate() {
                    *o += f64::from(speech[(i + offset) % speech.len()]);
                }
            }
            out
        }
    };
    let rms = (raw.iter().map(|x| x * x).sum::<f64>() / len as f64).sqrt();
    raw.iter().map(|x| x / rms.max(1e-12)).collect()
}

impl Corpus {
    /// The corpus with `kind` noise at `snr_db` over the active speech.
    pub fn noisy(&self, kind: Noise, snr_db: f64) -> Vec<f32> {
        let speech_power = {
            let (sum, n) = self
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == Label::Speech)
                .flat_map(|(k, _)| &self.samples[k * LABEL..(k + 1) * LABEL])
                .fold((0.0, 0usize), |(s, n), x| {
                    (s + f64::from(*x).powi(2), n + 1)
                });
            sum / n.max(1) as f64
        };
        let gain = (speech_power / 10f64.powf(snr_db / 10.0)).sqrt();
        let n = noise(kind, self.samples.len(), &self.samples);
        self.samples
            .iter()
            .zip(n)
            .map(|(s, x)| (f64::from(*s) + gain * x) as f32)
            .collect()
    }

    /// Scores per-frame decisions given as `(start_sample, end_sample, is_speech)`
    /// spans: each label frame takes the decision of the span over its centre (none:
    /// non-speech).
    pub fn score(&self, decisions: &[(u64, u64, bool)]) -> Scores {
        let mut s = Scores::default();
        let mut j = 0;
        for (k, label) in self.labels.iter().enumerate() {
            let centre = (k * LABEL + LABEL / 2) as u64;
            while j < decisions.len() && decisions[j].1 <= centre {
                j += 1;
            }
            let said = decisions
                .get(j)
                .is_some_and(|&(start, _, speech)| start <= centre && speech);
            match (label, said) {
                (Label::Speech, true) => s.hits += 1,
                (Label::Speech, false) => s.misses += 1,
                (Label::NonSpeech, true) => s.false_alarms += 1,
                (Label::NonSpeech, false) => s.rejections += 1,
                (Label::Unscored, _) => {}
            }
        }
        s
    }
}

/// Counts of scored 10 ms frames.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scores {
    pub hits: usize,
    pub misses: usize,
    pub false_alarms: usize,
    pub rejections: usize,
}

impl Scores {
    /// Share of non-speech frames called speech.
    pub fn false_alarm(&self) -> f64 {
        self.false_alarms as f64 / (self.false_alarms + self.rejections).max(1) as f64
    }

    /// Share of speech frames not called speech.
    pub fn miss(&self) -> f64 {
        self.misses as f64 / (self.hits + self.misses).max(1) as f64
    }

    /// F1 of the speech class.
    pub fn f1(&self) -> f64 {
        let tp = self.hits as f64;
        2.0 * tp / (2.0 * tp + self.false_alarms as f64 + self.misses as f64).max(1.0)
    }
}
