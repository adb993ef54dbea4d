//! PNG and JPEG edits. PNG: a chunk's length, IHDR's width, height and format bytes, chunk
//! types, dropped, repeated and shortened chunks, corrupt compressed data; the chunk's CRC is
//! recomputed three times in four, so that most edits reach the decoder behind the CRC check.
//! JPEG: a segment's length, the frame header's height, width, precision and component
//! bytes, marker types, dropped and repeated segments, corrupt or cut entropy-coded data.

use super::{mutant, splice};
use crate::mutation_support::{crc32, Mutant, Rng};

/// Sizes on boundaries: tiny, around the originals', large, and past any limit.
const SIZES: [u32; 16] = [
    0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 4096, 30000, 65535,
];
const HUGE: [u32; 4] = [1 << 20, 1 << 24, 0x7FFF_FFFF, u32::MAX];
const BYTES: [u8; 9] = [0, 1, 2, 3, 4, 6, 8, 16, 255];

/// A PNG chunk: where it starts (its length field) and its data length.
#[derive(Clone, Copy)]
struct Chunk {
    at: usize,
    len: usize,
}

fn chunks(b: &[u8]) -> Option<Vec<Chunk>> {
    let mut out = Vec::new();
    let mut at = 8;
    while at + 12 <= b.len() {
        let len = u32::from_be_bytes(b[at..at + 4].try_into().ok()?) as usize;
        out.push(Chunk { at, len });
        at = at.checked_add(12 + len)?;
    }
    (at == b.len() && !out.is_empty()).then_some(out)
}

fn fix_crc(b: &mut [u8], c: Chunk) {
    let end = c.at + 8 + c.len;
    let crc = crc32(&b[c.at + 4..end]);
    b[end..end + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A chunk-aware edit of a PNG file.
pub fn png(rng: &mut Rng, bytes: &[u8]) -> Option<Mutant> {
    let cs = chunks(bytes)?;
    let mut b = bytes.to_vec();
    let ihdr = cs[0];
    let mut c = *rng.pick(&cs);
    let what = match rng.below(8) {
        0 => {
            let v = if rng.one_in(2) {
                *rng.pick(&HUGE)
            } else {
                (c.len as u32).wrapping_add(*rng.pick(&[1, 4, u32::MAX]))
            };
            b[c.at..c.at + 4].copy_from_slice(&v.to_be_bytes());
            return mutant(b, format!("chunk at {} length {} set to {v}", c.at, c.len));
        }
        1 | 2 => {
            c = ihdr;
            let v = if rng.one_in(4) {
                *rng.pick(&HUGE)
            } else {
                *rng.pick(&SIZES)
            };
            let (field, off) = *rng.pick(&[("width", 8), ("height", 12)]);
            b[c.at + off..c.at + off + 4].copy_from_slice(&v.to_be_bytes());
            format!("IHDR {field} set to {v}")
        }
        3 => {
            c = ihdr;
            let (field, off) = *rng.pick(&[
                ("bit depth", 16),
                ("colour type", 17),
                ("compression", 18),
                ("filter", 19),
                ("interlace", 20),
            ]);
            let v = *rng.pick(&BYTES);
            b[c.at + off] = v;
            format!("IHDR {field} set to {v}")
        }
        4 => {
            let n = 1 + rng.below(4);
            for _ in 0..n {
                let i = c.at + 8 + rng.below(c.len.max(1));
                if i < c.at + 8 + c.len {
                    b[i] ^= 1 << rng.below(8);
                }
            }
            format!("{n} bits of the chunk at {} flipped", c.at)
        }
        5 => {
            let i = c.at + 4 + rng.below(4);
            b[i] = *rng.pick(&[b'a', b'Z', b'I', b'D', 0, 0xFF]);
            format!("type byte {i} of the chunk at {} changed", c.at)
        }
        6 => {
            let range = c.at..c.at + 12 + c.len;
            if rng.one_in(2) {
                return mutant(
                    splice(bytes, range, &[]),
                    format!("chunk at {} dropped", c.at),
                );
            }
            let copy = bytes[range.clone()].to_vec();
            return mutant(
                splice(bytes, range.start..range.start, &copy),
                format!("chunk at {} repeated", c.at),
            );
        }
        _ => {
            // The chunk's data cut short, with a matching length (and CRC).
            let keep = rng.below(c.len.max(1));
            let mut out = bytes[..c.at + 8 + keep].to_vec();
            out[c.at..c.at + 4].copy_from_slice(&(keep as u32).to_be_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&bytes[c.at + 12 + c.len..]);
            b = out;
            let what = format!("chunk at {} cut to {keep} of {} bytes", c.at, c.len);
            c.len = keep;
            what
        }
    };
    if !rng.one_in(4) {
        fix_crc(&mut b, c);
        return mutant(b, format!("{what} (CRC fixed)"));
    }
    mutant(b, format!("{what} (CRC left wrong)"))
}

/// A JPEG segment: its marker's offset, the marker, the segment's length field (0 where the
/// marker has none) and where the segment ends.
#[derive(Clone, Copy)]
struct Segment {
    at: usize,
    marker: u8,
    len: usize,
    end: usize,
}

fn segments(b: &[u8]) -> Option<Vec<Segment>> {
    if b.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::new();
    let mut at = 2;
    loop {
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        if marker == 0xD9 {
            out.push(Segment {
                at,
                marker,
                len: 0,
                end: at + 2,
            });
            return Some(out);
        }
        let len = usize::from(u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]));
        let mut end = at + 2 + len;
        if marker == 0xDA {
            // Entropy-coded data runs to the next marker that is not a stuffed 0 or a restart.
            while end + 1 < b.len()
                && !(b[end] == 0xFF && b[end + 1] != 0 && !(0xD0..=0xD7).contains(&b[end + 1]))
            {
                end += 1;
            }
        }
        out.push(Segment {
            at,
            marker,
            len,
            end,
        });
        at = end;
    }
}

/// A segment-aware edit of a JPEG file.
pub fn jpeg(rng: &mut Rng, bytes: &[u8]) -> Option<Mutant> {
    let segs = segments(bytes)?;
    if segs.len() < 2 {
        return None;
    }
    let s = *rng.pick(&segs[..segs.len() - 1]);
    let sof = segs
        .iter()
        .copied()
        .find(|s| matches!(s.marker, 0xC0..=0xCF) && !matches!(s.marker, 0xC4 | 0xC8 | 0xCC))?;
    let mut b = bytes.to_vec();
    let be16 = |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_be_bytes());
    let what = match rng.below(8) {
        0 => {
            let v = *rng.pick(&[
                0,
                1,
                2,
                3,
                (s.len as u16).wrapping_sub(1),
                (s.len as u16).wrapping_add(1),
                0xFFFF,
            ]);
            be16(&mut b, s.at + 2, v);
            format!(
                "length {} of marker {:02X} at {} set to {v}",
                s.len, s.marker, s.at
            )
        }
        1 | 2 => {
            let both = rng.one_in(4);
            let (h, w) = (*rng.pick(&SIZES) as u16, *rng.pick(&SIZES) as u16);
            let field = *rng.pick(&["height", "width"]);
            if both || field == "height" {
                be16(&mut b, sof.at + 5, h);
            }
            if both || field == "width" {
                be16(&mut b, sof.at + 7, w);
            }
            match (both, field) {
                (true, _) => format!("frame size set to {w}×{h}"),
                (false, "height") => format!("frame height set to {h}"),
                _ => format!("frame width set to {w}"),
            }
        }
        3 => {
            let off = 4 + [0, 5, 6, 7, 8, 9].get(rng.below(6)).copied().unwrap_or(0);
            let v = *rng.pick(&BYTES);
            if let Some(x) = b.get_mut(sof.at + off) {
                *x = v;
            }
            format!("frame header byte {off} set to {v}")
        }
        4 => {
            let m = *rng.pick(&[
                0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xC4, 0xDB, 0xDD, 0xDA, 0xD9, 0xFE, 0xE0, 0x01,
                0xD0,
            ]);
            b[s.at + 1] = m;
            format!("marker {:02X} at {} changed to {m:02X}", s.marker, s.at)
        }
        5 => {
            if rng.one_in(2) {
                return mutant(
                    splice(bytes, s.at..s.end, &[]),
                    format!("segment {:02X} at {} dropped", s.marker, s.at),
                );
            }
            let copy = bytes[s.at..s.end].to_vec();
            return mutant(
                splice(bytes, s.at..s.at, &copy),
                format!("segment {:02X} at {} repeated", s.marker, s.at),
            );
        }
        6 => {
            let n = 1 + rng.below(6);
            for _ in 0..n {
                let i = s.at + 4 + rng.below((s.end - s.at).saturating_sub(4).max(1));
                if i < s.end {
                    b[i] = *rng.pick(&BYTES);
                }
            }
            format!("{n} bytes of segment {:02X} at {} set", s.marker, s.at)
        }
        _ => {
            // The scan cut short and closed with an end-of-image marker.
            let scan = segs.iter().find(|s| s.marker == 0xDA)?;
            let cut = scan.at
                + 4
                + scan.len
                + rng.below((scan.end - scan.at).saturating_sub(4 + scan.len).max(1));
            let mut out = bytes[..cut.min(bytes.len())].to_vec();
            out.extend_from_slice(&[0xFF, 0xD9]);
            return mutant(out, format!("scan data cut at {cut}, then EOI"));
        }
    };
    mutant(b, what)
}
