//! Every loop in `shaders/` (the kernel files and their pieces, the peak probes) ends: the
//! engine makes its modules without wgpu's loop counter (`gpu::kernels::shader_module`), which
//! is sound only while each loop is a `for` whose header alone advances its counter, by `++`
//! or a positive constant, toward its bound. A CPU-only check of the WGSL text, comments
//! left out.

use std::path::Path;

/// Each `.wgsl` file under `shaders/` and `shaders/common/`, as (name, text without comments).
fn wgsl_sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("common")] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.extension().is_some_and(|x| x == "wgsl") {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let code: Vec<&str> = text
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect();
                out.push((path.display().to_string(), code.join("\n")));
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The byte offsets where `word` stands as a whole identifier in `text`.
fn word_at(text: &str, word: &str) -> Vec<usize> {
    text.match_indices(word)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = text[..at].chars().next_back();
            let after = text[at + word.len()..].chars().next();
            !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
        })
        .collect()
}

/// The text between the bracket `open` at the start of `text` and its match, and the rest
/// after the match.
fn bracketed(text: &str, open: char, close: char) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some((&text[1..i], &text[i + 1..]));
            }
        }
    }
    None
}

/// Why the loop whose header is `header` and body `body` might not end, or `None` where it
/// must: `var NAME = START; NAME < BOUND; NAME++` (or `NAME += K`, K a positive literal), and
/// the body never writes NAME.
fn unbounded(header: &str, body: &str) -> Option<String> {
    let parts: Vec<&str> = header.split(';').map(str::trim).collect();
    let [init, cond, step] = parts[..] else {
        return Some("not three clauses".into());
    };
    let Some(decl) = init.strip_prefix("var ") else {
        return Some(format!(
            "the counter is not declared in the header (`{init}`)"
        ));
    };
    let name: String = decl.chars().take_while(|&c| is_ident(c)).collect();
    if name.is_empty() || !decl.contains('=') {
        return Some(format!("no counter in `{init}`"));
    }
    if !cond
        .strip_prefix(&name)
        .is_some_and(|c| c.trim_start().starts_with('<') && !c.trim_start().starts_with("<<"))
    {
        return Some(format!("the condition `{cond}` is not `{name} < bound`"));
    }
    let stride = step.strip_prefix(&name).map(str::trim);
    let advances = match stride {
        Some("++") => true,
        Some(s) => s.strip_prefix("+=").is_some_and(|k| {
            let k = k.trim().trim_end_matches(['u', 'i']);
            k.parse::<u64>().is_ok_and(|k| k > 0)
        }),
        None => false,
    };
    if !advances {
        return Some(format!(
            "the step `{step}` does not advance `{name}` by a constant"
        ));
    }
    for at in word_at(body, &name) {
        let after = body[at + name.len()..].trim_start();
        let writes = [
            "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "++", "--", "<<=", ">>=",
        ]
        .iter()
        .any(|op| after.starts_with(op))
            || (after.starts_with('=') && !after.starts_with("=="));
        if writes {
            return Some(format!("the body writes `{name}`"));
        }
    }
    None
}

#[test]
fn every_loop_is_a_for_that_its_header_alone_advances() {
    let sources = wgsl_sources();
    assert!(
        sources.len() > 20,
        "found only {} WGSL files",
        sources.len()
    );
    let mut loops = 0;
    for (name, src) in &sources {
        for word in ["loop", "while"] {
            assert!(
                word_at(src, word).is_empty(),
                "{name}: a `{word}` statement (only `for` loops with a bounded counter)"
            );
        }
        for at in word_at(src, "for") {
            let rest = src[at + 3..].trim_start();
            let (header, after) = bracketed(rest, '(', ')')
                .unwrap_or_else(|| panic!("{name}: a `for` without its header"));
            let (body, _) = bracketed(after.trim_start(), '{', '}')
                .unwrap_or_else(|| panic!("{name}: `for ({header})` without its body"));
            if let Some(why) = unbounded(header, body) {
                panic!("{name}: `for ({header})`: {why}");
            }
            loops += 1;
        }
    }
    assert!(loops > 50, "found only {loops} loops");
}

#[test]
fn the_check_refuses_loops_that_might_not_end() {
    let ok = |h: &str, b: &str| unbounded(h, b).is_none();
    assert!(ok("var c = 0u; c < p.in_c4; c++", "acc += x[c];"));
    assert!(ok("var i = lid.x; i < k4; i += 64u", "s = s + w[i];"));
    assert!(ok("var k: u32 = 0u; k < 8u; k++", "let j = k == 2u;"));
    assert!(!ok("var c = 0u; c < n; c++", "c = 0u;"));
    assert!(!ok("var c = 0u; c < n; c++", "c -= 1u;"));
    assert!(!ok("var c = n; c > 0u; c--", ""));
    assert!(!ok("var c = 0u; c <= n; c += 0u", ""));
    assert!(!ok("var c = 0u; c != n; c++", ""));
    assert!(!ok("var c = 0u; c < n; c = c * 2u", ""));
    assert!(!ok("; c < n; c++", ""));
}
