//! Preprocessing: decoding of each format and pixel layout, the presets and custom settings on
//! synthetic images (expected values from the formula, computed here), error messages, and the
//! reference tensors in the shared test data (Pillow decode + resize, torchvision crop).

mod common;

use std::path::Path;

use image::{GrayImage, ImageFormat, Rgb, RgbImage, RgbaImage};
use resnet_wgpu::labels::{imagenet_classes, Labels};
use resnet_wgpu::preprocess::{collect_images, decode, Preprocess};
use resnet_wgpu::weights::read_tensor;
use resnet_wgpu::Error;

fn ok<T>(r: resnet_wgpu::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// A test pattern with distinct channels.
fn pattern(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 7 + y) as u8, (y * 5 + 3) as u8, (x * y % 251) as u8])
    })
}

#[test]
fn decodes_png_bmp_webp_jpeg_grey_and_rgba_to_rgb() {
    let dir = common::TempDir::new("decode");
    let rgb = pattern(13, 9);
    for (name, fmt) in [
        ("a.png", ImageFormat::Png),
        ("a.bmp", ImageFormat::Bmp),
        ("a.webp", ImageFormat::WebP), // lossless
    ] {
        let p = dir.join(name);
        ok(rgb
            .save_with_format(&p, fmt)
            .map_err(|e| Error::InvalidInput(e.to_string())));
        assert_eq!(ok(decode(&p)), rgb, "{name}");
    }
    // Grey: the level in all three channels.
    let grey = GrayImage::from_fn(6, 4, |x, y| image::Luma([(x * 40 + y) as u8]));
    let p = dir.join("grey.png");
    ok(grey
        .save(&p)
        .map_err(|e| Error::InvalidInput(e.to_string())));
    let got = ok(decode(&p));
    for (x, y, px) in got.enumerate_pixels() {
        let g = grey.get_pixel(x, y).0[0];
        assert_eq!(px.0, [g, g, g], "grey pixel ({x}, {y})");
    }
    // RGBA: alpha dropped, colour kept (as Pillow's convert("RGB")).
    let rgba = RgbaImage::from_fn(5, 3, |x, y| {
        image::Rgba([x as u8 * 50, y as u8 * 80, 7, (x * 60) as u8])
    });
    let p = dir.join("rgba.png");
    ok(rgba
        .save(&p)
        .map_err(|e| Error::InvalidInput(e.to_string())));
    let got = ok(decode(&p));
    for (x, y, px) in got.enumerate_pixels() {
        assert_eq!(
            px.0[..],
            rgba.get_pixel(x, y).0[..3],
            "rgba pixel ({x}, {y})"
        );
    }
    // A grey JPEG (lossy): a flat level survives within a step.
    let p = dir.join("grey.jpg");
    let flat = GrayImage::from_pixel(16, 16, image::Luma([90]));
    ok(flat
        .save(&p)
        .map_err(|e| Error::InvalidInput(e.to_string())));
    let got = ok(decode(&p));
    assert!(got
        .pixels()
        .all(|px| px.0.iter().all(|&v| v.abs_diff(90) <= 1)));
    // The format comes from the content, not the name.
    let p = dir.join("really-a-png.jpg");
    ok(rgb
        .save_with_format(&p, ImageFormat::Png)
        .map_err(|e| Error::InvalidInput(e.to_string())));
    assert_eq!(ok(decode(&p)), rgb);
}

#[test]
fn corrupt_and_non_image_files_are_errors_that_name_the_file() {
    let dir = common::TempDir::new("corrupt");
    let text = dir.join("notes.jpg");
    std::fs::write(&text, "not an image at all").unwrap_or_else(|e| panic!("{e}"));
    // A JPEG cut inside its header.
    let jpeg = dir.join("cut.jpg");
    ok(pattern(40, 40)
        .save(&jpeg)
        .map_err(|e| Error::InvalidInput(e.to_string())));
    let bytes = std::fs::read(&jpeg).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&jpeg, &bytes[..20]).unwrap_or_else(|e| panic!("{e}"));
    for p in [&text, &jpeg] {
        let err = decode(p)
            .err()
            .unwrap_or_else(|| panic!("{} decoded", p.display()));
        let msg = err.to_string();
        assert!(matches!(err, Error::BadImage { .. }), "{msg}");
        assert!(msg.contains(&p.display().to_string()), "{msg}");
    }
    let missing = dir.join("missing.png");
    let msg = decode(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("missing.png"), "{msg}");
}

#[test]
fn directories_are_searched_sorted_and_an_empty_one_is_an_error() {
    let dir = common::TempDir::new("collect");
    let sub = dir.join("b");
    std::fs::create_dir_all(sub.join("c")).unwrap_or_else(|e| panic!("{e}"));
    for f in [
        "b/z.png",
        "b/a.JPG",
        "b/c/m.webp",
        "b/readme.txt",
        "b/.hidden.png",
    ] {
        std::fs::write(dir.join(f), b"x").unwrap_or_else(|e| panic!("{e}"));
    }
    let got = ok(collect_images(std::slice::from_ref(&sub)));
    let names: Vec<String> = got
        .iter()
        .map(|p| p.strip_prefix(&sub).unwrap_or(p).display().to_string())
        .collect();
    assert_eq!(names, ["a.JPG", "c/m.webp", "z.png"]);
    let empty = dir.join("empty");
    std::fs::create_dir_all(empty.join("deeper")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(empty.join("deeper/list.txt"), b"x").unwrap_or_else(|e| panic!("{e}"));
    let msg = collect_images(std::slice::from_ref(&empty))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("no images") && msg.contains("empty"), "{msg}");
}

/// Output value of channel `c` at (y, x) of a CHW buffer of width `w`, height `h`.
fn at(data: &[f32], h: usize, w: usize, c: usize, y: usize, x: usize) -> f32 {
    data[(c * h + y) * w + x]
}

#[test]
fn presets_normalise_by_their_formulas() {
    let img = pattern(32, 32);
    let px = img.get_pixel(5, 9).0.map(f32::from);
    let check = |pre: &Preprocess, want: [f32; 3]| {
        let out = pre.normalise(&img);
        for (c, w) in want.iter().enumerate() {
            let got = at(&out, 32, 32, c, 9, 5);
            assert!(
                (got - w).abs() <= 1e-5 * w.abs().max(1.0),
                "channel {c}: {got} vs {w}"
            );
        }
    };
    let (m, s) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    check(
        &Preprocess::imagenet(),
        [0, 1, 2].map(|c| (px[c] / 255.0 - m[c]) / s[c]),
    );
    check(
        &Preprocess::cifar(),
        [0, 1, 2].map(|c| (px[c] / 255.0 - m[c]) / s[c]),
    );
    check(
        &Preprocess::caffe(),
        [px[2] - 103.939, px[1] - 116.779, px[0] - 123.68],
    );
    // cifar keeps a 32×32 image as it is.
    assert_eq!(ok(Preprocess::cifar().geometry(&img, "img")), img);
    let custom = Preprocess {
        mean: [1.0, 2.0, 3.0],
        std: [2.0, 4.0, 8.0],
        scale: 1.0,
        bgr: true,
        ..Preprocess::imagenet()
    };
    check(
        &custom,
        [
            (px[2] - 1.0) / 2.0,
            (px[1] - 2.0) / 4.0,
            (px[0] - 3.0) / 8.0,
        ],
    );
}

#[test]
fn center_crop_offsets_follow_torchvision() {
    // Column x has value x, so the first output column tells the left offset.
    for (w, want_left) in [(64u32, 22u32), (65, 22), (67, 24), (20, 0)] {
        let img = RgbImage::from_fn(w, 30, |x, _| Rgb([x as u8; 3]));
        let pre = Preprocess {
            resize: None,
            crop: Some(20),
            ..Preprocess::imagenet()
        };
        let out = ok(pre.geometry(&img, "img"));
        assert_eq!(out.dimensions(), (20, 20));
        assert_eq!(out.get_pixel(0, 0).0[0] as u32, want_left, "width {w}");
    }
}

#[test]
fn custom_resize_and_crop_give_the_requested_size() {
    let pre = Preprocess {
        resize: Some(40),
        crop: Some(30),
        ..Preprocess::imagenet()
    };
    ok(pre.validate());
    let dir = common::TempDir::new("custom");
    let p = dir.join("wide.png");
    let img = RgbImage::from_pixel(90, 60, Rgb([200, 100, 50]));
    ok(img.save(&p).map_err(|e| Error::InvalidInput(e.to_string())));
    let (data, h, w) = ok(pre.load(&p));
    assert_eq!((h, w, data.len()), (30, 30, 3 * 30 * 30));
    // A flat image stays flat through the resize.
    let want = (200.0 / 255.0 - 0.485) / 0.229;
    assert!(data[..900].iter().all(|v| (v - want).abs() < 1e-5));
    // A crop larger than the resize, a bad scale, a zero std, or a std so small (or a mean so
    // large) that pixels would map to infinities are refused.
    for bad in [
        Preprocess {
            crop: Some(50),
            ..pre.clone()
        },
        Preprocess {
            scale: 3.0,
            ..pre.clone()
        },
        Preprocess {
            std: [1.0, 0.0, 1.0],
            ..pre.clone()
        },
        Preprocess {
            std: [1e-45, 1.0, 1.0],
            ..pre.clone()
        },
        Preprocess {
            mean: [0.0, 0.0, f32::MAX],
            std: [1.0, 1.0, 0.5],
            ..pre.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
        // Loading checks the settings too, rather than making infinities or an empty image.
        let e = bad.load(&p).expect_err("settings that validate() refuses");
        assert!(e.to_string().contains("preprocessing"), "{bad:?}: {e}");
    }
    let e = Preprocess {
        crop: Some(0),
        ..pre.clone()
    }
    .load(&p)
    .expect_err("a crop of 0");
    assert!(e.to_string().contains("at least 1"), "{e}");
    // An image with no pixels on one side is refused before any resize.
    let e = pre
        .geometry(&RgbImage::new(0, 10), "empty.png")
        .expect_err("a 0x10 image");
    assert!(
        e.to_string().contains("empty.png") && e.to_string().contains("0×10"),
        "{e}"
    );
    // Without a resize, an image smaller than the crop is an error naming it.
    let small = Preprocess {
        resize: None,
        crop: Some(64),
        ..pre
    };
    let msg = small
        .load(&p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("wide.png") && msg.contains("64"), "{msg}");
}

fn load_all(pre: &Preprocess, files: &[std::path::PathBuf]) -> Vec<f32> {
    files.iter().flat_map(|f| ok(pre.load(f)).0).collect()
}

#[test]
fn cifar_preset_matches_the_reference_tensor() {
    let Some(data) = common::testdata("cifar_preset_matches_the_reference_tensor") else {
        return;
    };
    let reference = common::require(&data.join("data/cifar10/first20-reference.safetensors"));
    let want = ok(read_tensor(&reference, "input_nchw"));
    assert_eq!(want.shape, [20, 3, 32, 32]);
    let files = ok(collect_images(&[data.join("data/cifar10/first20")]));
    assert_eq!(files.len(), 20, "first20 should hold 20 PNGs");
    let got = load_all(&Preprocess::cifar(), &files);
    let (err, _) = common::max_err(&got, &want.data);
    eprintln!("cifar preset: max |Δ| = {err:.2e} over 20 images");
    assert!(err <= 1e-5, "max |Δ| = {err}");
}

#[test]
fn caffe_preset_matches_the_reference_tensor_within_resize_rounding() {
    let Some(data) = common::testdata("caffe_preset_matches_the_reference_tensor") else {
        return;
    };
    let reference = common::require(&data.join("data/imagenet/samples-reference.safetensors"));
    let want = ok(read_tensor(&reference, "input_nchw_first4"));
    assert_eq!(want.shape, [4, 3, 224, 224]);
    let files = ok(collect_images(&[data.join("data/imagenet/samples")]));
    let got = load_all(&Preprocess::caffe(), &files[..4]);
    let want = want.data;
    // The JPEG decode is libjpeg's, as Pillow's; the resize's fixed-point coefficients round
    // a few values one level away from Pillow's. A wrong size, crop or channel order would
    // move most values by far more.
    let (err, _) = common::max_err(&got, &want);
    let off = got
        .iter()
        .zip(&want)
        .filter(|(a, b)| (*a - *b).abs() > 1e-3)
        .count();
    let mean = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs() as f64)
        .sum::<f64>()
        / got.len() as f64;
    let frac = off as f64 / got.len() as f64;
    eprintln!(
        "caffe preset: max |Δ| = {err}, mean |Δ| = {mean:.4}, {:.2} % of values differ",
        100.0 * frac
    );
    assert!(err <= 1.0 + 1e-3, "max |Δ| = {err} (levels)");
    assert!(frac <= 0.01, "{:.2} % of values differ", 100.0 * frac);
    assert!(mean <= 0.01, "mean |Δ| = {mean}");
}

#[test]
fn built_in_imagenet_names_match_the_class_table() {
    let Some(data) = common::testdata("built_in_imagenet_names_match_the_class_table") else {
        return;
    };
    let table = common::require(&data.join("data/imagenet/classes.tsv"));
    let text = std::fs::read_to_string(&table).unwrap_or_else(|e| panic!("{e}"));
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    let built_in = imagenet_classes();
    assert_eq!(rows.len(), built_in.len());
    let labels = Labels::for_classes(1000);
    for (row, c) in rows.iter().zip(&built_in) {
        assert_eq!(row[0], c.index.to_string());
        assert_eq!(row[1], c.wnid);
        assert_eq!(*row.last().unwrap_or(&""), c.name);
        assert_eq!(labels.name(c.index), c.name);
    }
}

#[test]
fn labels_file_needs_one_name_per_class() {
    let dir = common::TempDir::new("labels");
    let p = dir.join("names.txt");
    std::fs::write(&p, "red\ngreen\nblue\n\n").unwrap_or_else(|e| panic!("{e}"));
    let l = ok(Labels::from_file(Path::new(&p), 3));
    assert_eq!(l.name(1), "green");
    let msg = Labels::from_file(&p, 10)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("expected 10") && msg.contains("found 3"),
        "{msg}"
    );
}
