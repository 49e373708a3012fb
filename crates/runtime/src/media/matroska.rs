//! What symphonia's Matroska reader leaves out and this decoder needs: the
//! `DiscardPadding` of the audio track's last block (Matroska 5.1.3.5.5.3), the
//! encoder padding to drop at the end, as ffmpeg writes it for Opus. Files from
//! `MediaRecorder` have none (their clusters have unknown sizes and end the walk).

const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;

/// `(track number, nanoseconds)`: the `DiscardPadding` of each track's last block
/// group, where the clusters can be walked (known sizes) and it has one.
pub(crate) fn end_paddings_ns(bytes: &[u8]) -> Vec<(u64, u64)> {
    let mut last: Vec<(u64, Option<u64>)> = Vec::new();
    for (id, body) in elements(bytes) {
        if id != SEGMENT {
            continue;
        }
        for (id, cluster) in elements(body) {
            if id != CLUSTER {
                continue;
            }
            for (id, group) in elements(cluster) {
                if id != BLOCK_GROUP {
                    continue;
                }
                let mut block_track = None;
                let mut padding = None;
                for (id, data) in elements(group) {
                    match id {
                        BLOCK => block_track = vint(data, false).map(|(v, _)| v),
                        DISCARD_PADDING => padding = signed(data),
                        _ => {}
                    }
                }
                let Some(track) = block_track else { continue };
                let padding = padding.filter(|p| *p > 0).map(|p| p as u64);
                match last.iter().position(|(t, _)| *t == track) {
                    Some(i) => last[i].1 = padding,
                    None if last.len() < 64 => last.push((track, padding)),
                    None => {}
                }
            }
        }
    }
    last.into_iter()
        .filter_map(|(t, p)| Some((t, p?)))
        .collect()
}

/// The elements in `bytes` as `(id, body)`; stops at one with an unknown or
/// impossible size (a segment of unknown size runs to the end).
fn elements(bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (id, id_len) = vint(rest, true)?;
        let (size, size_len) = vint(rest.get(id_len..)?, false)?;
        let start = id_len + size_len;
        let unknown = size == (1u64 << (7 * size_len)) - 1;
        let end = if unknown && id as u32 == SEGMENT {
            rest.len()
        } else if unknown {
            return None;
        } else {
            start.checked_add(usize::try_from(size).ok()?)?
        };
        let body = rest.get(start..end)?;
        rest = &rest[end..];
        Some((id as u32, body))
    })
}

/// An EBML variable-length integer and its length in bytes; `keep_marker` for ids.
fn vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || (keep_marker && len > 4) {
        return None;
    }
    let mut value = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & ((1u64 << (8 - len)) - 1)
    };
    for b in bytes.get(1..len)? {
        value = (value << 8) | u64::from(*b);
    }
    Some((value, len))
}

/// A big-endian signed integer of 1 to 8 bytes.
fn signed(data: &[u8]) -> Option<i64> {
    if data.is_empty() || data.len() > 8 {
        return None;
    }
    let mut value = if data[0] & 0x80 != 0 { -1i64 } else { 0 };
    for b in data {
        value = (value << 8) | i64::from(*b);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vints_and_signed_values() {
        assert_eq!(vint(&[0x81], false), Some((1, 1)));
        assert_eq!(vint(&[0x40, 0x02], false), Some((2, 2)));
        assert_eq!(
            vint(&[0x1A, 0x45, 0xDF, 0xA3], true),
            Some((0x1A45_DFA3, 4))
        );
        assert_eq!(vint(&[0x00], false), None);
        assert_eq!(signed(&[0xFF, 0xFE]), Some(-2));
        assert_eq!(signed(&[0x01, 0x00]), Some(256));
    }

    #[test]
    fn finds_the_last_padding_of_the_track() {
        // Segment > Cluster > BlockGroup > (Block on track 1, DiscardPadding 3500 ns).
        let group = [
            &[0xA1, 0x84, 0x81, 0, 0, 0][..],
            &[0x75, 0xA2, 0x82, 0x0D, 0xAC],
        ]
        .concat();
        let cluster = [&[0xA0, 0x80 | group.len() as u8][..], &group].concat();
        let segment = [
            &[0x1F, 0x43, 0xB6, 0x75, 0x80 | cluster.len() as u8][..],
            &cluster,
        ]
        .concat();
        let file = [
            &[
                0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ][..],
            &segment,
        ]
        .concat();
        assert_eq!(end_paddings_ns(&file), vec![(1, 3500)]);
        assert_eq!(end_paddings_ns(&file[..file.len() - 1]), vec![]);
    }
}
