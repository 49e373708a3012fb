//! Codec facts the decoder needs beyond symphonia: names for codecs it cannot decode
//! (so an error names the codec and its container), and the codec-private data some
//! containers carry in another form than symphonia's decoders read.

use symphonia::core::codecs::audio::well_known as ids;
use symphonia::core::codecs::audio::AudioCodecId;

/// The codecs `AudioDecoderNode` decodes, as error messages list them.
pub const SUPPORTED_CODECS: &str =
    "PCM (integer, float, mu-law, A-law), FLAC, MP3, Vorbis, Opus, AAC-LC and ALAC";

/// The name of a codec symphonia identified.
pub(crate) fn codec_name(codec: AudioCodecId) -> String {
    if let Some(d) = symphonia::default::get_codecs().get_audio_decoder(codec) {
        return d.codec.info.long_name.to_string();
    }
    match codec {
        ids::CODEC_ID_AC3 => "AC-3".into(),
        ids::CODEC_ID_EAC3 => "E-AC-3".into(),
        ids::CODEC_ID_AC4 => "AC-4".into(),
        ids::CODEC_ID_DCA => "DTS".into(),
        ids::CODEC_ID_WMA => "WMA".into(),
        ids::CODEC_ID_SPEEX => "Speex".into(),
        ids::CODEC_ID_MP1 => "MPEG-1 Layer I".into(),
        ids::CODEC_ID_MP2 => "MPEG Layer II".into(),
        ids::CODEC_ID_WAVPACK => "WavPack".into(),
        ids::CODEC_ID_MONKEYS_AUDIO => "Monkey's Audio".into(),
        ids::CODEC_ID_TRUEHD => "Dolby TrueHD".into(),
        other => format!("codec {other}"),
    }
}

/// The name of an MP4 audio sample entry symphonia does not know.
pub(crate) fn mp4_entry_name(entry: &[u8; 4]) -> String {
    match entry {
        b"ac-3" => "AC-3".into(),
        b"ec-3" => "E-AC-3".into(),
        b"ac-4" => "AC-4".into(),
        b"dtsc" | b"dtsh" | b"dtsl" | b"dtse" => "DTS".into(),
        b"samr" => "AMR-NB".into(),
        b"sawb" => "AMR-WB".into(),
        b"mha1" | b"mhm1" => "MPEG-H 3D Audio".into(),
        other => format!("'{}'", String::from_utf8_lossy(other)),
    }
}

/// The name of a Matroska `CodecID`.
pub(crate) fn matroska_name(id: &str) -> String {
    match id {
        "A_AC3" => "AC-3".into(),
        "A_EAC3" => "E-AC-3".into(),
        "A_DTS" => "DTS".into(),
        "A_TRUEHD" => "Dolby TrueHD".into(),
        "A_AAC/MPEG4/LC/SBR" | "A_AAC/MPEG2/LC/SBR" => "HE-AAC (AAC with SBR)".into(),
        "A_OPUS" => "Opus".into(),
        "A_VORBIS" => "Vorbis".into(),
        "A_FLAC" => "FLAC".into(),
        other => other.to_string(),
    }
}

/// HE-AAC, which symphonia's AAC decoder would decode as its AAC-LC core at half the
/// rate, named from the AudioSpecificConfig's object type (ISO/IEC 14496-3 1.6.2.1):
/// 5 is SBR (HE-AAC), 29 is PS (HE-AAC v2).
pub(crate) fn unsupported_aac_profile(extra_data: Option<&[u8]>) -> Option<&'static str> {
    match extra_data?.first()? >> 3 {
        5 => Some("HE-AAC (AAC with SBR)"),
        29 => Some("HE-AAC v2 (AAC with SBR and PS)"),
        _ => None,
    }
}

/// The 24-byte ALACSpecificConfig inside a magic cookie written in QuickTime's atom
/// form (`frma` then an `alac` atom: what ffmpeg writes into CAF files), which
/// symphonia's ALAC decoder does not read. `None` when the cookie is not in that form.
pub(crate) fn alac_config_from_atoms(cookie: &[u8]) -> Option<Vec<u8>> {
    // The atom: size 36, "alac", version and flags (4), then the config.
    let at = cookie.windows(8).position(|w| w == b"\0\0\0\x24alac")?;
    cookie.get(at + 12..at + 36).map(<[u8]>::to_vec)
}

/// Symphonia's Vorbis extra data (the identification header, then the setup header)
/// from Matroska's `CodecPrivate`: a count less one, Xiph-laced sizes, then the
/// identification, comment and setup headers.
pub(crate) fn vorbis_headers(private: &[u8]) -> Option<Vec<u8>> {
    let count = usize::from(*private.first()?) + 1;
    let mut at = 1;
    let mut sizes = Vec::new();
    for _ in 1..count.min(3) {
        let mut size = 0usize;
        loop {
            let b = *private.get(at)?;
            at += 1;
            size = size.checked_add(usize::from(b))?;
            if b != 255 {
                break;
            }
        }
        sizes.push(size);
    }
    let mut packets = Vec::new();
    for size in sizes {
        packets.push(private.get(at..at.checked_add(size)?)?);
        at += size;
    }
    packets.push(private.get(at..)?);
    let ident = packets.iter().find(|p| p.first() == Some(&1))?;
    let setup = packets.iter().find(|p| p.first() == Some(&5))?;
    Some([*ident, *setup].concat())
}

/// Symphonia's FLAC extra data (the STREAMINFO block's 34 bytes) from Matroska's
/// `CodecPrivate`: `fLaC`, then metadata blocks, STREAMINFO first.
pub(crate) fn flac_stream_info(private: &[u8]) -> Option<Vec<u8>> {
    if private.get(0..4)? != b"fLaC" || private.get(4)? & 0x7F != 0 {
        return None;
    }
    private.get(8..8 + 34).map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codec_private_forms() {
        let vorbis = [&[2u8, 3, 2][..], &[1, 9, 9], &[3, 8], &[5, 7, 7, 7]].concat();
        assert_eq!(vorbis_headers(&vorbis), Some(vec![1, 9, 9, 5, 7, 7, 7]));
        assert_eq!(vorbis_headers(&[2, 200]), None);
        let cookie = [&b"\0\0\0\x0cfrmaalac\0\0\0\x24alac\0\0\0\0"[..], &[7u8; 24]].concat();
        assert_eq!(alac_config_from_atoms(&cookie), Some(vec![7; 24]));
        assert_eq!(
            unsupported_aac_profile(Some(&[0x2B, 0x92])),
            Some("HE-AAC (AAC with SBR)")
        );
        assert_eq!(unsupported_aac_profile(Some(&[0x12, 0x10])), None);
    }
}
