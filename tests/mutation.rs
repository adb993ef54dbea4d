//! Mutation test of the loaders: thousands of seeded mutants (truncations, bit flips, boundary
//! bytes, deleted and repeated ranges, and format-aware edits of headers, lengths and sizes;
//! see `mutation_support`) of a safetensors file, ONNX files and PNG and JPEG images go through
//! `load_model_file` and `Preprocess::load`. None may panic, hang, take more than 5 s, or
//! allocate more than 1 GiB, and every error must name the file. The files are small and made
//! here; with `RESNET_TESTDATA` the shared CIFAR-10 ResNet-20 (safetensors and ONNX) and
//! test PNGs are mutated too. Also: images that declare 30000×30000 pixels, and one whose
//! resize would need billions, are refused with a clear error before any pixel is allocated.
//! CPU only: loading a model builds its graph and never touches the GPU.

mod common;
mod mutation_support;
mod onnx_support;

use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{require, testdata, TempDir};
use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use mutation_support::mutate::{mutant, Format};
use mutation_support::{peak_alloc, run, Counting};
use onnx_support::{a_int, a_ints, Net, Store};
use resnet_wgpu::model::build_graph;
use resnet_wgpu::preprocess::{decode, Preprocess, MAX_PIXELS};
use resnet_wgpu::weights::{write_safetensors, ParamKind, ParamSource, RandomSource};
use resnet_wgpu::{load_model_file, Architecture, BuildOptions, Result, Tensor};

#[global_allocator]
static ALLOC: Counting = Counting;

/// A random source that keeps every tensor it hands out.
struct Recorder(RandomSource, Vec<(String, Tensor)>);

impl ParamSource for Recorder {
    fn take(&mut self, key: &str, shape: &[usize], kind: ParamKind) -> Result<Vec<f32>> {
        let v = self.0.take(key, shape, kind)?;
        self.1
            .push((key.to_string(), Tensor::new(shape.to_vec(), v.clone())));
        Ok(v)
    }
    fn finish(&self, arch: &str) -> Result<()> {
        self.0.finish(arch)
    }
    fn shape_of(&self, key: &str) -> Option<Vec<usize>> {
        self.0.shape_of(key)
    }
    fn keys(&self) -> Vec<String> {
        self.0.keys()
    }
}

/// A `simple` weights file (1 block, 7 classes) with seeded values.
fn simple_safetensors(dir: &TempDir) -> Vec<u8> {
    let mut rec = Recorder(RandomSource::new(3), Vec::new());
    let opts = BuildOptions {
        blocks: Some(1),
        classes: Some(7),
        ..Default::default()
    };
    build_graph(Architecture::Simple, &mut rec, opts).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("simple-source.safetensors");
    let tensors: Vec<(&str, &Tensor)> = rec.1.iter().map(|(k, t)| (k.as_str(), t)).collect();
    write_safetensors(&path, &tensors).unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A small residual network with a fixed 16×16 input: zero pad → conv → BN → ReLU → max
/// pool → conv → BN → add → ReLU → global pool → flatten (or reshape) → Gemm.
fn small_onnx(store: Store, reshape: bool) -> Vec<u8> {
    let mut net = Net::new(3, Some(16), Some(16));
    net.store = store;
    let pads = net.ints("pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
    let padded = net.node("Pad", "pad", &["input", &pads], vec![]);
    let c1 = net.conv("c1", &padded, 3, 8, 3, 1, [0; 4], false);
    let b1 = net.bn("b1", &c1, 8, 1e-5);
    let r1 = net.node("Relu", "r1", &[&b1], vec![]);
    let pool = vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])];
    let p = net.node("MaxPool", "pool", &[&r1], pool);
    let c2 = net.conv("c2", &p, 8, 8, 3, 1, [1; 4], true);
    let b2 = net.bn("b2", &c2, 8, 1e-5);
    let add = net.node("Add", "add", &[&b2, &p], vec![]);
    let r2 = net.node("Relu", "r2", &[&add], vec![]);
    let gap = net.node("GlobalAveragePool", "gap", &[&r2], vec![]);
    let flat = if reshape {
        let shape = net.ints("shape", &[0, -1]);
        net.node("Reshape", "flat", &[&gap, &shape], vec![])
    } else {
        net.node("Flatten", "flat", &[&gap], vec![])
    };
    let w = net.weight("fc.w", &[5, 8], 0.5);
    let b = net.weight("fc.b", &[5], 0.1);
    let fc = net.node("Gemm", "fc", &[&flat, &w, &b], vec![a_int("transB", 1)]);
    net.bytes(&fc)
}

fn encode(img: image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .unwrap_or_else(|e| panic!("{e}"));
    out.into_inner()
}

fn pattern(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 9) as u8, (y * 13) as u8, ((x + y) * 5) as u8])
    })
}

fn load_weights(arch: Architecture) -> impl Fn(&Path) -> Result<()> + Send + 'static {
    let calls = AtomicUsize::new(0);
    move |p| {
        let unfused = calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(3);
        let opts = BuildOptions {
            unfused,
            ..Default::default()
        };
        load_model_file(p, Some(arch), opts).map(|_| ())
    }
}

fn load_onnx(p: &Path) -> Result<()> {
    load_model_file(p, None, BuildOptions::default()).map(|_| ())
}

/// The `cifar` preset (a 32 short side), and every fifth call the `imagenet` one (256).
fn load_image() -> impl Fn(&Path) -> Result<()> + Send + 'static {
    let calls = AtomicUsize::new(0);
    move |p| {
        let pre = if calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(5) {
            Preprocess::imagenet()
        } else {
            Preprocess::cifar()
        };
        pre.load(p).map(|_| ())
    }
}

fn mutator(
    format: Format,
) -> impl Fn(&mut mutation_support::Rng, &[u8]) -> mutation_support::Mutant {
    move |rng, bytes| mutant(format, rng, bytes)
}

#[test]
fn safetensors_mutants() {
    let dir = TempDir::new("mut-st");
    let original = simple_safetensors(&dir);
    let path = dir.join("mutant-simple.safetensors");
    let load = load_weights(Architecture::Simple);
    run(
        "simple.safetensors",
        &original,
        &path,
        1500,
        1_000_000,
        mutator(Format::Safetensors),
        load,
    );
}

#[test]
fn onnx_mutants() {
    let dir = TempDir::new("mut-onnx");
    for (i, (store, reshape)) in [(Store::Raw, false), (Store::Typed, true)]
        .into_iter()
        .enumerate()
    {
        let original = small_onnx(store, reshape);
        let path = dir.join(&format!("mutant-small{i}.onnx"));
        let seed = 2_000_000 + 100_000 * i as u64;
        run(
            &format!("small{i}.onnx"),
            &original,
            &path,
            750,
            seed,
            mutator(Format::Onnx),
            load_onnx,
        );
    }
}

#[test]
fn png_mutants() {
    let dir = TempDir::new("mut-png");
    let originals = [
        encode(pattern(24, 16).into(), ImageFormat::Png),
        encode(
            RgbaImage::from_fn(16, 16, |x, y| Rgba([x as u8 * 16, y as u8, 7, 200])).into(),
            ImageFormat::Png,
        ),
        encode(
            image::ImageBuffer::<Luma<u16>, _>::from_fn(16, 20, |x, y| {
                Luma([(x * y * 200) as u16])
            })
            .into(),
            ImageFormat::Png,
        ),
    ];
    for (i, original) in originals.iter().enumerate() {
        let path = dir.join(&format!("mutant-{i}.png"));
        let seed = 3_000_000 + 100_000 * i as u64;
        run(
            &format!("png {i}"),
            original,
            &path,
            500,
            seed,
            mutator(Format::Png),
            load_image(),
        );
    }
}

#[test]
fn jpeg_mutants() {
    let dir = TempDir::new("mut-jpeg");
    let originals = [
        encode(pattern(24, 16).into(), ImageFormat::Jpeg),
        encode(
            GrayImage::from_fn(16, 16, |x, y| Luma([(x * 16 + y) as u8])).into(),
            ImageFormat::Jpeg,
        ),
    ];
    for (i, original) in originals.iter().enumerate() {
        let path = dir.join(&format!("mutant-{i}.jpg"));
        let seed = 4_000_000 + 100_000 * i as u64;
        run(
            &format!("jpeg {i}"),
            original,
            &path,
            600,
            seed,
            mutator(Format::Jpeg),
            load_image(),
        );
    }
}

/// The shared CIFAR-10 ResNet-20 (0.27M parameters) as safetensors and ONNX, and four of the
/// shared test PNGs.
#[test]
fn shared_file_mutants() {
    let Some(data) = testdata("shared_file_mutants") else {
        return;
    };
    let dir = TempDir::new("mut-shared");
    let models = data.join("models/cifar10");
    let read =
        |p: &Path| std::fs::read(require(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let st = read(&models.join("resnet20-12fca82f.safetensors"));
    let path = dir.join("mutant-resnet20.safetensors");
    let load = load_weights(Architecture::Cifar(20));
    run(
        "resnet20.safetensors",
        &st,
        &path,
        300,
        5_000_000,
        mutator(Format::Safetensors),
        load,
    );
    let onnx = read(&models.join("resnet20-12fca82f.onnx"));
    let path = dir.join("mutant-resnet20.onnx");
    run(
        "resnet20.onnx",
        &onnx,
        &path,
        300,
        6_000_000,
        mutator(Format::Onnx),
        load_onnx,
    );
    for (i, name) in [
        "cifar10_00_3.png",
        "cifar10_01_8.png",
        "cifar10_02_8.png",
        "cifar10_03_0.png",
    ]
    .iter()
    .enumerate()
    {
        let png = read(&data.join("data/cifar10/first20").join(name));
        let path = dir.join(&format!("mutant-{name}"));
        let seed = 7_000_000 + 100_000 * i as u64;
        run(
            name,
            &png,
            &path,
            100,
            seed,
            mutator(Format::Png),
            load_image(),
        );
    }
}

/// `bytes` with the PNG's IHDR width and height set (and its CRC fixed).
fn png_declaring(bytes: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = mutation_support::crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

/// `bytes` with the JPEG's frame header (SOF0) height and width set.
fn jpeg_declaring(bytes: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let sof = b
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .unwrap_or_else(|| panic!("no SOF0 marker in the test JPEG"));
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

/// Loads `bytes` as `file` with `pre`; returns the error message and the heap the call took.
fn refused(dir: &TempDir, file: &str, bytes: &[u8], pre: &Preprocess) -> (String, usize) {
    let path = dir.join(file);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (result, heap) = peak_alloc(|| pre.load(&path));
    match result {
        Ok((_, h, w)) => panic!("{file}: loaded as {w}×{h}"),
        Err(e) => (e.to_string(), heap),
    }
}

#[test]
fn images_declaring_30000x30000_pixels_are_refused() {
    let dir = TempDir::new("bombs");
    let png = png_declaring(
        &encode(pattern(16, 16).into(), ImageFormat::Png),
        30000,
        30000,
    );
    let jpeg = jpeg_declaring(
        &encode(pattern(16, 16).into(), ImageFormat::Jpeg),
        30000,
        30000,
    );
    for (file, bytes) in [("bomb.png", png), ("bomb.jpg", jpeg)] {
        let (msg, heap) = refused(&dir, file, &bytes, &Preprocess::cifar());
        eprintln!("{file}: {msg} ({heap} bytes allocated)");
        for part in [file, "30000×30000", &format!("at most {MAX_PIXELS}")] {
            assert!(msg.contains(part), "`{msg}` does not mention `{part}`");
        }
        assert!(
            heap < 1 << 20,
            "{file}: {heap} bytes allocated before refusing"
        );
    }
}

/// A valid 1×20000 image decodes, but resizing its short side to 256 would make 256×5120000
/// pixels: refused before the resize allocates them.
#[test]
fn a_resize_to_billions_of_pixels_is_refused() {
    let dir = TempDir::new("elongated");
    let bytes = encode(pattern(1, 20000).into(), ImageFormat::Png);
    let path = dir.join("tall.png");
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let img = decode(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(img.dimensions(), (1, 20000));
    let (msg, heap) = refused(&dir, "tall.png", &bytes, &Preprocess::imagenet());
    eprintln!("{msg} ({heap} bytes allocated)");
    for part in ["tall.png", "256×5120000", "at most"] {
        assert!(msg.contains(part), "`{msg}` does not mention `{part}`");
    }
    assert!(heap < 16 << 20, "{heap} bytes allocated before refusing");
}
