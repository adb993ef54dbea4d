//! safetensors edits: the 8-byte header length, and one tensor entry of the JSON header
//! (`dtype`, `shape`, `data_offsets`, its name), some of them consistent with the data so
//! that the file still parses and the graph builder has to refuse it.

use serde_json::{json, Map, Value};

use super::{mutant, splice};
use crate::mutation_support::{Mutant, Rng};

const DTYPES: [&str; 14] = [
    "F32", "F16", "BF16", "F64", "I32", "I64", "U8", "BOOL", "F8_E4M3", "F4", "F6_E2M3", "C64",
    "f32", "",
];

/// JSON numbers (and a few non-numbers) on boundaries.
fn number(rng: &mut Rng, near: u64) -> Value {
    match rng.below(14) {
        0 => json!(0),
        1 => json!(1),
        2 => json!(near.wrapping_sub(1)),
        3 => json!(near.wrapping_add(1)),
        4 => json!(near.wrapping_mul(2)),
        5 => json!(1u64 << 31),
        6 => json!(1u64 << 32),
        7 => json!(1u64 << 53),
        8 => json!(u64::MAX),
        9 => json!(-1),
        10 => json!(1.5),
        11 => json!("7"),
        12 => json!(null),
        _ => json!(rng.below(100)),
    }
}

fn as_u64s(v: Option<&Value>) -> Vec<u64> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Edits one field of `entry` (a tensor `name` of the header); says what it did.
fn edit_entry(rng: &mut Rng, name: &str, entry: &mut Map<String, Value>) -> String {
    let shape = as_u64s(entry.get("shape"));
    let offsets = as_u64s(entry.get("data_offsets"));
    match rng.below(6) {
        0 => {
            let d = *rng.pick(&DTYPES);
            entry.insert("dtype".into(), json!(d));
            format!("`{name}` dtype set to {d:?}")
        }
        1 if !shape.is_empty() => {
            let i = rng.below(shape.len());
            let v = number(rng, shape[i]);
            let what = format!("`{name}` shape {shape:?}: dim {i} set to {v}");
            if let Some(Value::Array(a)) = entry.get_mut("shape") {
                a[i] = v;
            }
            what
        }
        2 => {
            let new = match rng.below(4) {
                0 => json!([]),
                1 => json!([shape.iter().product::<u64>()]),
                2 => json!(shape.iter().rev().collect::<Vec<_>>()),
                _ => {
                    let mut s = shape.clone();
                    s.push(1);
                    json!(s)
                }
            };
            let what = format!("`{name}` shape {shape:?} set to {new}");
            entry.insert("shape".into(), new);
            what
        }
        3 if offsets.len() == 2 => {
            let i = rng.below(2);
            let v = number(rng, offsets[i]);
            let what = format!("`{name}` data_offsets {offsets:?}: [{i}] set to {v}");
            if let Some(Value::Array(a)) = entry.get_mut("data_offsets") {
                a[i] = v;
            }
            what
        }
        4 if !shape.is_empty() => {
            // Same bytes, read as F16 with the last dimension doubled: still a valid file.
            let mut s = shape.clone();
            if let Some(last) = s.last_mut() {
                *last *= 2;
            }
            entry.insert("dtype".into(), json!("F16"));
            entry.insert("shape".into(), json!(s));
            format!("`{name}` read as F16 {s:?}")
        }
        _ => {
            entry.remove(*rng.pick(&["dtype", "shape", "data_offsets"]));
            format!("`{name}`: a field removed")
        }
    }
}

/// A header edit of a safetensors file.
pub fn safetensors(rng: &mut Rng, bytes: &[u8]) -> Option<Mutant> {
    let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let end = 8usize.checked_add(usize::try_from(n).ok()?)?;
    let header = bytes.get(8..end)?;
    let data = &bytes[end..];
    if rng.one_in(4) {
        let len = bytes.len() as u64;
        let v = *rng.pick(&[
            0,
            1,
            7,
            n.wrapping_sub(1),
            n + 1,
            n + 8,
            len,
            len.saturating_sub(7),
            100_000_001,
            1 << 40,
            u64::MAX,
        ]);
        return mutant(
            splice(bytes, 0..8, &v.to_le_bytes()),
            format!("header length {n} set to {v}"),
        );
    }
    let mut map: Map<String, Value> = serde_json::from_slice(header).ok()?;
    let keys: Vec<String> = map
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    if keys.is_empty() {
        return None;
    }
    let key = rng.pick(&keys).clone();
    let what = match rng.below(8) {
        0 => {
            let entry = map.remove(&key)?;
            map.insert(format!("module.{key}x"), entry);
            format!("`{key}` renamed")
        }
        1 => {
            let entry = map.get(&key)?.clone();
            map.insert(format!("{key}.copy"), entry);
            format!("`{key}` listed twice (same offsets)")
        }
        _ => edit_entry(rng, &key, map.get_mut(&key)?.as_object_mut()?),
    };
    let mut text = serde_json::to_vec(&Value::Object(map)).ok()?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    mutant(out, what)
}
