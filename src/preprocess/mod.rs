//! Image preprocessing: decode (JPEG, PNG, WebP, BMP, GIF; grey and RGBA become RGB; see
//! [`decode`]), resize the short side (Pillow bilinear, see [`resize`]), center crop,
//! normalise, NCHW f32.
//!
//! Per channel `c` of the output (in output order, BGR when `bgr`):
//! `x = (pixel / scale − mean[c]) / std[c]`.
//!
//! | preset     | resize | crop | scale | mean                        | std                   | order |
//! |------------|--------|------|-------|-----------------------------|-----------------------|-------|
//! | `imagenet` | 256    | 224  | 255   | 0.485, 0.456, 0.406         | 0.229, 0.224, 0.225   | RGB   |
//! | `caffe`    | 256    | 224  | 1     | 103.939, 116.779, 123.68    | 1, 1, 1               | BGR   |
//! | `cifar`    | 32     | 32   | 255   | 0.485, 0.456, 0.406         | 0.229, 0.224, 0.225   | RGB   |
//!
//! `cifar` leaves 32×32 images as they are (the resize and the crop are identities there).
//! The long side of the resize is `S · long / short` truncated (torchvision), except for
//! `caffe`, whose reference pipeline rounds it to nearest.

mod batch;
mod decode;
pub mod resize;

pub use batch::{collect_images, Batch, BatchReader, IMAGE_EXTENSIONS};
pub use decode::{decode, decode_bytes, MAX_PIXELS};

use std::path::Path;

use image::RgbImage;

use crate::error::{Error, Result};

/// How images become network inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Resize so that the short side is this long (none: keep the size).
    pub resize: Option<u32>,
    /// Round the long side of the resize to nearest instead of truncating it.
    pub round_long_side: bool,
    /// Center crop to a square of this side (none: no crop).
    pub crop: Option<u32>,
    /// Divide pixel values (0..255) by this first: 255 or 1.
    pub scale: f32,
    /// Subtracted per output channel.
    pub mean: [f32; 3],
    /// Divides per output channel.
    pub std: [f32; 3],
    /// Output channels in B, G, R order.
    pub bgr: bool,
}

const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Names of the presets.
pub const PRESETS: [&str; 3] = ["imagenet", "caffe", "cifar"];

impl Preprocess {
    /// torchvision's ImageNet evaluation transform.
    pub fn imagenet() -> Self {
        Preprocess {
            resize: Some(256),
            round_long_side: false,
            crop: Some(224),
            scale: 255.0,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            bgr: false,
        }
    }

    /// Keras/Caffe ResNet-50: BGR, mean subtracted, no scaling.
    pub fn caffe() -> Self {
        Preprocess {
            resize: Some(256),
            round_long_side: true,
            crop: Some(224),
            scale: 1.0,
            mean: [103.939, 116.779, 123.68],
            std: [1.0; 3],
            bgr: true,
        }
    }

    /// CIFAR-10: 32×32, ImageNet mean and std.
    pub fn cifar() -> Self {
        Preprocess {
            resize: Some(32),
            crop: Some(32),
            ..Preprocess::imagenet()
        }
    }

    /// A preset by name (see [`PRESETS`]).
    pub fn preset(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "imagenet" => Ok(Preprocess::imagenet()),
            "caffe" => Ok(Preprocess::caffe()),
            "cifar" | "cifar10" => Ok(Preprocess::cifar()),
            _ => Err(Error::InvalidInput(format!(
                "unknown preset `{name}`; expected one of: {}",
                PRESETS.join(", ")
            ))),
        }
    }

    /// Checks the settings: positive sizes, a crop no larger than the resize, scale 255 or 1,
    /// non-zero std.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(format!("preprocessing: {m}")));
        if self.resize == Some(0) || self.crop == Some(0) {
            return bad("resize and crop sizes must be at least 1".into());
        }
        if let (Some(r), Some(c)) = (self.resize, self.crop) {
            if c > r {
                return bad(format!(
                    "crop {c} is larger than the resized short side {r}"
                ));
            }
        }
        if self.scale != 255.0 && self.scale != 1.0 {
            return bad(format!("scale must be 255 or 1, found {}", self.scale));
        }
        if let Some(s) = self.std.iter().find(|s| **s == 0.0 || !s.is_finite()) {
            return bad(format!("std must be finite and non-zero, found {s}"));
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return bad(format!("mean must be finite, found {m}"));
        }
        // The largest |x| a pixel can map to must be a finite f32 (a std of 1e-45 passes the
        // checks above, then turns every pixel into infinities and the logits into NaN).
        for c in 0..self.std.len() {
            let (m, s) = (self.mean[c], self.std[c]);
            let largest = (255.0 / self.scale + m.abs()) / s.abs();
            if !largest.is_finite() {
                return bad(format!(
                    "channel {c}: mean {m} and std {s} map pixels to non-finite values; \
                     expected a larger |std| or a smaller |mean|"
                ));
            }
        }
        Ok(())
    }

    /// Resizes and crops an RGB image; `what` names it in errors. The settings are checked
    /// first ([`Preprocess::validate`]).
    pub fn geometry(&self, img: &RgbImage, what: &str) -> Result<RgbImage> {
        self.validate()?;
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Err(Error::InvalidInput(format!(
                "{what}: image is {w}×{h}; expected at least 1×1 pixels"
            )));
        }
        let resized = match self.resize {
            Some(s) => {
                let (rw, rh) = resize::short_side_size(w, h, s, self.round_long_side);
                // The horizontal pass makes rw × h, the vertical one rw × rh.
                let pixels = u64::from(rw) * u64::from(rh.max(h));
                if pixels > MAX_PIXELS {
                    let why = if u64::from(s) * u64::from(s) > MAX_PIXELS {
                        "the short side asked for is too large"
                    } else {
                        "the image is too elongated"
                    };
                    return Err(Error::InvalidInput(format!(
                        "{what}: resizing {w}×{h} to a short side of {s} needs {rw}×{} pixels; \
                         expected at most {MAX_PIXELS} ({why})",
                        rh.max(h)
                    )));
                }
                resize::resize_bilinear(img, rw, rh, what)?
            }
            None => img.clone(),
        };
        let Some(c) = self.crop else {
            return Ok(resized);
        };
        let (rw, rh) = resized.dimensions();
        if rw < c || rh < c {
            return Err(Error::InvalidInput(format!(
                "{what}: image is {rw}×{rh} after resizing, smaller than the {c}×{c} crop"
            )));
        }
        let (left, top) = (resize::center_offset(rw, c), resize::center_offset(rh, c));
        Ok(image::imageops::crop_imm(&resized, left, top, c, c).to_image())
    }

    /// Normalises an RGB image into CHW f32 (with settings that [`Preprocess::validate`]
    /// accepts; [`Preprocess::load`] checks them).
    pub fn normalise(&self, img: &RgbImage) -> Vec<f32> {
        let plane = img.width() as usize * img.height() as usize;
        let mut out = vec![0.0f32; 3 * plane];
        let order = if self.bgr { [2, 1, 0] } else { [0, 1, 2] };
        for (c, &src) in order.iter().enumerate() {
            let (mean, std) = (self.mean[c], self.std[c]);
            let dst = &mut out[c * plane..(c + 1) * plane];
            for (d, p) in dst.iter_mut().zip(img.pixels()) {
                *d = (p.0[src] as f32 / self.scale - mean) / std;
            }
        }
        out
    }

    /// Decodes, resizes, crops and normalises one image file: `(CHW data, height, width)`.
    pub fn load(&self, path: &Path) -> Result<(Vec<f32>, usize, usize)> {
        let img = decode(path)?;
        self.prepare(&img, &path.display().to_string())
    }

    /// [`Preprocess::load`] for a file's content; `what` names it in errors.
    pub fn load_bytes(&self, bytes: &[u8], what: &str) -> Result<(Vec<f32>, usize, usize)> {
        let img = decode_bytes(bytes, what)?;
        self.prepare(&img, what)
    }

    fn prepare(&self, img: &RgbImage, what: &str) -> Result<(Vec<f32>, usize, usize)> {
        let img = self.geometry(img, what)?;
        let (w, h) = img.dimensions();
        Ok((self.normalise(&img), h as usize, w as usize))
    }
}
