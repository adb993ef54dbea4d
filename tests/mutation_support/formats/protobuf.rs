//! Protobuf (ONNX) edits: the file is walked as nested messages, recording every varint (field
//! tags, lengths of length-delimited fields, values such as tensor dims and data types, packed
//! repeated values); one of them is re-encoded with a boundary value, which may change its
//! size and so shift everything after it.

use super::{mutant, splice};
use crate::mutation_support::{Mutant, Rng};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Tag,
    Length,
    Value,
}

#[derive(Clone, Copy)]
struct Varint {
    start: usize,
    len: usize,
    value: u64,
    kind: Kind,
}

fn read_varint(buf: &[u8], pos: usize, end: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..10 {
        let b = *buf.get(pos + i).filter(|_| pos + i < end)?;
        v |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn encode(mut v: u64, min_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 && out.len() + 1 >= min_len {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// Reads `buf[start..end]` as a message, appending its varints to `out`; on failure `out` is
/// left as it was and the result is false.
fn walk(buf: &[u8], start: usize, end: usize, depth: usize, out: &mut Vec<Varint>) -> bool {
    let mark = out.len();
    let mut pos = start;
    let ok = (|| {
        while pos < end {
            let (tag, tl) = read_varint(buf, pos, end)?;
            if tag >> 3 == 0 {
                return None;
            }
            out.push(Varint {
                start: pos,
                len: tl,
                value: tag,
                kind: Kind::Tag,
            });
            pos += tl;
            match tag & 7 {
                0 => {
                    let (v, l) = read_varint(buf, pos, end)?;
                    out.push(Varint {
                        start: pos,
                        len: l,
                        value: v,
                        kind: Kind::Value,
                    });
                    pos += l;
                }
                1 => pos += 8,
                2 => {
                    let (n, l) = read_varint(buf, pos, end)?;
                    out.push(Varint {
                        start: pos,
                        len: l,
                        value: n,
                        kind: Kind::Length,
                    });
                    pos += l;
                    let payload_end = pos.checked_add(usize::try_from(n).ok()?)?;
                    if payload_end > end {
                        return None;
                    }
                    if depth < 12 && !walk(buf, pos, payload_end, depth + 1, out) {
                        packed(buf, pos, payload_end, out);
                    }
                    pos = payload_end;
                }
                5 => pos += 4,
                _ => return None,
            }
        }
        (pos == end).then_some(())
    })()
    .is_some();
    if !ok {
        out.truncate(mark);
    }
    ok
}

/// Reads `buf[start..end]` as packed varints (as `dims` are stored) if it is exactly that.
fn packed(buf: &[u8], start: usize, end: usize, out: &mut Vec<Varint>) {
    let mut found = Vec::new();
    let mut pos = start;
    while pos < end {
        let Some((v, l)) = read_varint(buf, pos, end) else {
            return;
        };
        found.push(Varint {
            start: pos,
            len: l,
            value: v,
            kind: Kind::Value,
        });
        pos += l;
    }
    // Short strings of ASCII also read as varints; only keep plausible numeric runs.
    if found.len() <= 16 {
        out.extend(found);
    }
}

/// A varint edit of a protobuf file.
pub fn protobuf(rng: &mut Rng, bytes: &[u8]) -> Option<Mutant> {
    let mut fields = Vec::new();
    if !walk(bytes, 0, bytes.len(), 0, &mut fields) {
        return None;
    }
    let kind = *rng.pick(&[
        Kind::Length,
        Kind::Length,
        Kind::Value,
        Kind::Value,
        Kind::Tag,
    ]);
    let of_kind: Vec<Varint> = fields.iter().copied().filter(|f| f.kind == kind).collect();
    if of_kind.is_empty() {
        return None;
    }
    let f = *rng.pick(&of_kind);
    let rest = (bytes.len() - f.start - f.len) as u64;
    let (new, what) = match kind {
        Kind::Length => {
            let v = *rng.pick(&[
                0,
                1,
                f.value.wrapping_sub(1),
                f.value.wrapping_add(1),
                f.value.wrapping_mul(2),
                rest,
                rest + 1,
                1 << 31,
                1 << 40,
                u64::MAX,
            ]);
            (
                v,
                format!("length {} at offset {} set to {v}", f.value, f.start),
            )
        }
        Kind::Value => {
            let v = *rng.pick(&[
                0,
                1,
                2,
                3,
                7,
                f.value.wrapping_sub(1),
                f.value.wrapping_add(1),
                1 << 20,
                1 << 31,
                1 << 40,
                i64::MAX as u64,
                u64::MAX,
                (-2i64) as u64,
            ]);
            (
                v,
                format!("value {} at offset {} set to {v}", f.value, f.start),
            )
        }
        Kind::Tag => {
            let v = if rng.one_in(2) {
                (f.value & !7) | rng.below(8) as u64
            } else {
                ((1 + rng.below(20) as u64) << 3) | (f.value & 7)
            };
            (
                v,
                format!("tag {} at offset {} set to {v}", f.value, f.start),
            )
        }
    };
    // Now and then an over-long encoding of the same value (11 bytes is never valid).
    let min_len = if rng.one_in(8) { 11 } else { 0 };
    let enc = encode(new, min_len);
    mutant(
        splice(bytes, f.start..f.start + f.len, &enc),
        format!("{what} ({} bytes)", enc.len()),
    )
}
