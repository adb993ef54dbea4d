//! `resnet tune` through the binary on a small network: every distinct conv shape gets a row;
//! each row's choice is its one contender (the heuristic's variant where it agreed with the
//! CPU reference, else the fastest verified candidate) or, where the shape had several (the
//! verified candidates within `CONTENDER_SLACK` of the fastest), the one its printed network
//! search kept (the baseline unless another ran over `NETWORK_MARGIN` faster); its heuristic
//! column is what a model without a cache runs; the summary line sums the chosen and the
//! heuristic's times over the rows; the cache file holds the choices under this adapter's
//! key; and a model given the cached choices as the CLI gives them
//! ([`ModelOptions::from_tune_cache`]) runs them (checked twice: with tune's choices, then
//! with a cache rewritten to a variant the heuristic never picks). Then an f16 tune into the
//! same cache adds its own `_f16` keys, leaves the f32 ones alone, and an f16 model runs its
//! choices.
//!
//! One test in this file: it sets `RESNET_TUNE_CACHE` for its own process.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use resnet_wgpu::gpu::kernels::conv::ConvVariant;
use resnet_wgpu::gpu::tune::{adapter_key, CONTENDER_SLACK, MAX_CONTENDERS, NETWORK_MARGIN};
use resnet_wgpu::gpu::{ModelOptions, Precision};
use resnet_wgpu::{load_graph, Architecture, BuildOptions, Engine, Graph, Model, Weights};

/// One candidate in a row of tune's table.
struct Cand {
    name: String,
    /// NaN where it failed.
    ms: f64,
    /// Rejected by the CPU reference, or failed.
    unusable: bool,
    /// Timed in the first round only (far slower than the fastest there).
    pruned: bool,
}

/// One row of tune's table: layer, chosen variant, the heuristic's variant, and each
/// candidate.
struct Row {
    layer: String,
    chosen: String,
    heuristic: String,
    candidates: Vec<Cand>,
}

impl Row {
    fn ms_of(&self, variant: &str) -> f64 {
        self.candidates
            .iter()
            .find(|c| c.name == variant)
            .unwrap_or_else(|| panic!("{}: no candidate {variant}", self.layer))
            .ms
    }
}

fn parse_rows(stdout: &str) -> Vec<Row> {
    stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.contains("shapes differ from the heuristic"))
        .map(|line| {
            let mut words = line.split_whitespace();
            let layer = words.next().expect("layer name").to_string();
            let chosen = words.next().expect("chosen variant").to_string();
            let heuristic = words.next().expect("heuristic variant").to_string();
            let rest: Vec<&str> = words.collect();
            let candidates = rest
                .join(" ")
                .split(", ")
                .map(|c| {
                    let parts: Vec<&str> = c.split_whitespace().collect();
                    if parts.len() == 2 && parts[1] == "FAILED" {
                        return Cand {
                            name: parts[0].to_string(),
                            ms: f64::NAN,
                            unusable: true,
                            pruned: false,
                        };
                    }
                    assert!(
                        parts.len() >= 4 && parts[2] == "ms",
                        "candidate `{c}` in `{line}`"
                    );
                    let ms: f64 = parts[1]
                        .parse()
                        .unwrap_or_else(|e| panic!("`{}` in `{line}`: {e}", parts[1]));
                    Cand {
                        name: parts[0].to_string(),
                        ms,
                        unusable: c.ends_with("REJECTED"),
                        pruned: c.contains("first round only"),
                    }
                })
                .collect();
            Row {
                layer,
                chosen,
                heuristic,
                candidates,
            }
        })
        .collect()
}

/// A `network search of LAYER (...)` line of tune's output: each contender with its
/// milliseconds in the network (the baseline first), and the one it keeps, checked against
/// their ratios to the baseline and the margin.
struct Search {
    times: Vec<(String, f64)>,
    keeps: String,
}

fn network_search(stdout: &str, layer: &str) -> Option<Search> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("network search of {layer} (")))?;
    let body = &line[line.find("): ").unwrap_or_else(|| panic!("{line}")) + 3..];
    let (list, keeps) = body
        .rsplit_once(": keeps ")
        .unwrap_or_else(|| panic!("no `: keeps` in {line}"));
    // Each contender's name and milliseconds; after the baseline, its ratio to the baseline
    // as `(R.RRRx)`.
    let contenders: Vec<(String, f64, f64)> = list
        .split(", ")
        .enumerate()
        .map(|(j, c)| {
            let parts: Vec<&str> = c.split_whitespace().collect();
            let words = if j == 0 { 3 } else { 4 };
            assert!(parts.len() == words && parts[2] == "ms", "`{c}` in {line}");
            let num =
                |w: &str| -> f64 { w.parse().unwrap_or_else(|e| panic!("`{w}` in {line}: {e}")) };
            let ratio = match j {
                0 => 1.0,
                _ => num(parts[3]
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix("x)"))
                    .unwrap_or_else(|| panic!("`{}` in {line}", parts[3]))),
            };
            (parts[0].to_string(), num(parts[1]), ratio)
        })
        .collect();
    assert!(
        (2..=MAX_CONTENDERS).contains(&contenders.len()),
        "contenders: {line}"
    );
    // The baseline unless another contender's ratio was under 1 − the margin, then the least
    // of those (the ratios are rounded to 1e-3: near the margin, or on a tie, either may be
    // kept).
    let bar = 1.0 - NETWORK_MARGIN;
    let least = contenders[1..]
        .iter()
        .map(|c| c.2)
        .fold(f64::INFINITY, f64::min);
    let allowed: Vec<&str> = contenders
        .iter()
        .enumerate()
        .filter(|(j, c)| {
            let baseline_allowed = least > bar - 1e-3;
            let other_allowed = *j > 0 && c.2 < bar + 1e-3 && c.2 <= least + 1e-3;
            (*j == 0 && baseline_allowed) || other_allowed
        })
        .map(|(_, c)| c.0.as_str())
        .collect();
    assert!(allowed.contains(&keeps), "{line}");
    let times: Vec<(String, f64)> = contenders.into_iter().map(|c| (c.0, c.1)).collect();
    assert!(times.iter().all(|t| t.1 > 0.0), "{line}");
    Some(Search {
        times,
        keeps: keeps.to_string(),
    })
}

/// The conv variants by layer of the simple network at 16² given the cache's choices (none
/// when no cache is set).
fn variants_of_a_new_model(engine: &Engine) -> BTreeMap<String, ConvVariant> {
    common::tuned_variants(engine, &simple_graph(), 1, 16, 16)
}

fn simple_graph() -> Graph {
    load_graph(
        Architecture::Simple,
        &Weights::Random(1),
        BuildOptions::default(),
    )
    .expect("simple graph")
}

/// The same for a model that stores activations and weights in f16.
fn variants_of_a_new_f16_model(engine: &Engine) -> BTreeMap<String, ConvVariant> {
    let options = ModelOptions::from_tune_cache(engine, Precision::F16).expect("tune cache");
    let model = Model::with_options(engine, simple_graph(), options).expect("f16 model");
    model
        .conv_variants(1, 16, 16)
        .expect("conv variants")
        .into_iter()
        .collect()
}

/// Runs `resnet tune` on the simple network at 16² in `precision` into `cache` (candidates
/// timed by the wall clock of whole calls when `timestamps` is false) and checks its rows: one
/// per distinct conv shape, each choice its one contender or what its network search kept,
/// every time positive.
fn tune_rows(cache: &Path, timestamps: bool, precision: &str) -> (String, Vec<Row>) {
    let cache = cache.to_string_lossy();
    let env = [
        ("RESNET_TUNE_CACHE", Some(&*cache)),
        (
            "RESNET_TIMESTAMPS",
            Some(if timestamps { "1" } else { "0" }),
        ),
    ];
    let args = [
        "tune",
        "--arch",
        "simple",
        "--height",
        "16",
        "--width",
        "16",
        "--iters",
        "2",
        "--precision",
        precision,
    ];
    let out = common::cli::run(&args, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stderr}",
        common::cli::shell(&args, &env),
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows = parse_rows(&stdout);
    // The simple network: the stem and one 3×3 shape shared by both convs of its blocks.
    assert_eq!(rows.len(), 2, "one row per distinct conv shape:\n{stdout}");
    assert!(
        stdout.contains(&format!("{} shapes cached in", rows.len())),
        "{stdout}"
    );
    for row in &rows {
        assert!(row.candidates.len() >= 2, "{} has one candidate", row.layer);
        let usable: Vec<&Cand> = row.candidates.iter().filter(|c| !c.unusable).collect();
        // The fastest of those timed in every round; the pruned ones took over twice its time
        // in the first round.
        let fastest = usable
            .iter()
            .filter(|c| !c.pruned)
            .min_by(|a, b| a.ms.total_cmp(&b.ms))
            .expect("a verified candidate");
        let baseline = if usable.iter().any(|c| c.name == row.heuristic) {
            &row.heuristic
        } else {
            &fastest.name
        };
        // Within the slack of the fastest alone (the printed times are rounded to 1e-4 ms).
        let near = |ms: f64| ms <= CONTENDER_SLACK * fastest.ms + 2e-4;
        match network_search(&stdout, &row.layer) {
            // One contender: the baseline, no other verified candidate near the fastest.
            None => {
                assert_eq!(&row.chosen, baseline, "{}: not its baseline", row.layer);
                assert!(
                    usable.iter().all(|c| &c.name == baseline
                        || c.pruned
                        || c.ms >= CONTENDER_SLACK * fastest.ms - 2e-4),
                    "{}: a candidate near the fastest was not searched:\n{stdout}",
                    row.layer
                );
            }
            Some(s) => {
                assert_eq!(&s.times[0].0, baseline, "{}: baseline first", row.layer);
                assert!(
                    s.times.iter().any(|t| t.0 == fastest.name),
                    "{}: the fastest alone was not searched",
                    row.layer
                );
                for (v, _) in &s.times[1..] {
                    assert!(
                        near(row.ms_of(v)) && usable.iter().any(|c| &c.name == v && !c.pruned),
                        "{}: {v} is no contender",
                        row.layer
                    );
                }
                assert_eq!(
                    row.chosen, s.keeps,
                    "{}: not what the search kept",
                    row.layer
                );
            }
        }
        assert!(
            row.candidates
                .iter()
                .all(|c| c.ms > 0.0 && c.ms.is_finite()),
            "{}: a time that is not positive",
            row.layer
        );
    }
    check_progress(&stderr, &stdout, &rows);
    (stdout, rows)
}

/// The progress lines `resnet tune` printed on stderr as it went: per row, in table order, the
/// shape's start and then its fastest candidate timed alone, with the time the table prints
/// for it; then the network search's line where the table has a search.
fn check_progress(stderr: &str, stdout: &str, rows: &[Row]) {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("tune: ")).collect();
    let total = rows.len();
    let searched = stdout.lines().any(|l| l.starts_with("network search of "));
    assert_eq!(
        lines.len(),
        2 * total + usize::from(searched),
        "progress lines:\n{stderr}"
    );
    for (i, row) in rows.iter().enumerate() {
        let head = format!("tune: shape {} of {total}: {}", i + 1, row.layer);
        let started = lines[2 * i];
        let rest = started.strip_prefix(&head).unwrap_or("?");
        assert!(
            (rest.starts_with(',') || rest.starts_with(" and "))
                && rest.ends_with(&format!(", {} candidates", row.candidates.len())),
            "`{started}` should announce row {} ({} candidates):\n{stderr}",
            i + 1,
            row.candidates.len()
        );
        // A verified candidate timed in every round, with the least time the table prints (the
        // times are rounded to 1e-4 ms there: on a tie, either).
        let timed: Vec<&Cand> = row
            .candidates
            .iter()
            .filter(|c| !c.unusable && !c.pruned)
            .collect();
        let least = timed.iter().map(|c| c.ms).fold(f64::INFINITY, f64::min);
        let done = lines[2 * i + 1];
        assert!(
            timed.iter().any(|c| c.ms == least
                && done.starts_with(&format!("{head}: fastest {} {:.4} ms (", c.name, c.ms))),
            "`{done}` should name row {}'s fastest candidate ({least:.4} ms):\n{stderr}",
            i + 1
        );
    }
    if searched {
        assert!(
            lines[2 * total].starts_with("tune: network search: "),
            "{stderr}"
        );
    }
}

#[test]
fn tune_caches_the_fastest_verified_variant_of_each_shape_and_models_run_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Timed by the wall clock (devices without timestamp queries), then by timestamps.
    tune_rows(&dir.path().join("wall-clock.json"), false, "f32");
    let cache = dir.path().join("tune.json");
    let (stdout, rows) = tune_rows(&cache, true, "f32");

    // The cache: this adapter's key, one entry per row, the rows' choices.
    let engine = Engine::new().expect("these tests need a GPU adapter");
    let text = std::fs::read_to_string(&cache).expect("tune wrote its cache");
    let mut file: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(&text).expect("cache is JSON");
    let key = adapter_key(&engine);
    let entries = file
        .get(&key)
        .unwrap_or_else(|| panic!("no `{key}` in {text}"));
    let mut cached: Vec<&str> = entries.values().map(String::as_str).collect();
    let mut chosen: Vec<&str> = rows.iter().map(|r| r.chosen.as_str()).collect();
    cached.sort_unstable();
    chosen.sort_unstable();
    assert_eq!(cached, chosen, "{text}");

    // The heuristic column: what a model runs without a cache.
    std::env::set_var("RESNET_TUNE_CACHE", dir.path().join("none.json"));
    let untuned = variants_of_a_new_model(&engine);
    for row in &rows {
        assert_eq!(untuned[&row.layer].name(), row.heuristic, "{}", row.layer);
    }
    // The summary line: the sums of the chosen and the heuristic's times over the rows.
    let summary = stdout
        .lines()
        .find(|l| l.contains("shapes differ from the heuristic"))
        .expect("a summary line");
    let differ = rows.iter().filter(|r| r.chosen != r.heuristic).count();
    assert!(
        summary.starts_with(&format!("{differ} of {} shapes differ", rows.len())),
        "{summary}"
    );
    let after = |label: &str| -> f64 {
        let rest = &summary[summary.find(label).expect(label) + label.len()..];
        rest.split_whitespace()
            .next()
            .and_then(|v| v.trim_end_matches(')').parse().ok())
            .unwrap_or_else(|| panic!("no number after `{label}` in {summary}"))
    };
    let chosen_sum: f64 = rows.iter().map(|r| r.ms_of(&r.chosen)).sum();
    let heuristic_sum: f64 = rows.iter().map(|r| r.ms_of(&r.heuristic)).sum();
    assert!((after("chosen ") - chosen_sum).abs() < 1e-3, "{summary}");
    assert!(
        (after("heuristic ") - heuristic_sum).abs() < 1e-3,
        "{summary}"
    );
    let ratio = after("chosen / heuristic ");
    assert!(
        (ratio - chosen_sum / heuristic_sum).abs() < 2e-3,
        "{summary}"
    );

    // A model built now runs the tuned variants ...
    std::env::set_var("RESNET_TUNE_CACHE", &cache);
    assert_models_run(&variants_of_a_new_model(&engine), &rows, "f32");
    // ... and follows the cache, not the heuristic: every shape rewritten to `direct`.
    for v in file.get_mut(&key).expect("adapter entry").values_mut() {
        *v = ConvVariant::Direct.name().to_string();
    }
    std::fs::write(&cache, serde_json::to_string(&file).expect("JSON")).expect("rewrite cache");
    let heuristic_free = variants_of_a_new_model(&engine);
    assert!(
        heuristic_free.values().all(|v| *v == ConvVariant::Direct),
        "{heuristic_free:?}"
    );

    // f16 storage: tuned in f16, keyed apart (`_f16`), the f32 entries left as they are, and
    // an f16 model runs the f16 choices.
    if !engine
        .features()
        .contains(resnet_wgpu::gpu::wgpu_features::SHADER_F16)
    {
        eprintln!("note: f16 tuning skipped: the adapter has no SHADER_F16");
        return;
    }
    let (stdout16, rows16) = tune_rows(&cache, true, "f16");
    assert!(stdout16.contains("keys ending _f16"), "{stdout16}");
    let text = std::fs::read_to_string(&cache).expect("tune rewrote its cache");
    let file: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(&text).expect("cache is JSON");
    let (f16, f32): (Vec<_>, Vec<_>) = file[&key].iter().partition(|(k, _)| k.ends_with("_f16"));
    assert!(
        f32.len() == rows.len() && f32.iter().all(|(_, v)| v.as_str() == "direct"),
        "the f16 tune changed f32 entries: {text}"
    );
    let mut cached16: Vec<&str> = f16.iter().map(|(_, v)| v.as_str()).collect();
    let mut chosen16: Vec<&str> = rows16.iter().map(|r| r.chosen.as_str()).collect();
    cached16.sort_unstable();
    chosen16.sort_unstable();
    assert_eq!(cached16, chosen16, "{text}");
    assert_models_run(&variants_of_a_new_f16_model(&engine), &rows16, "f16");
}

/// Each row's layer runs the row's choice in a model built with the cache (`variants`).
fn assert_models_run(variants: &BTreeMap<String, ConvVariant>, rows: &[Row], precision: &str) {
    for row in rows {
        assert_eq!(
            variants[&row.layer].name(),
            row.chosen,
            "{}: the {precision} model does not run its tuned variant",
            row.layer
        );
    }
}
