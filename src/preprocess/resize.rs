//! Resize and center crop as torchvision does them on Pillow images.
//!
//! - Resize of the short side to `S`: the short side becomes `S`, the long side
//!   `floor(S · long / short)` (torchvision's `int(size * long / short)`), or that rounded to
//!   nearest (the reference pipeline of the Keras ResNet-50's `caffe` preprocessing).
//! - Pillow's BILINEAR is a convolution with the triangle filter `max(0, 1 − |x|)` whose
//!   support grows with the downscale factor (antialiasing): output pixel `i` has its center
//!   at `(i + 0.5) · in/out` in the input, and every input pixel whose center lies within
//!   `max(1, in/out)` of it takes a weight `tri(dist / max(1, in/out))`, normalised to sum 1.
//!   Pillow runs the horizontal pass first and rounds to 8 bits between the passes; we keep
//!   that order (two single-axis resizes with `fast_image_resize`, whose u8 convolution is the
//!   same arithmetic), since which pass comes first changes the rounding.
//! - Center crop `C` from `H`: top `= int(round((H − C) / 2))` with Python's round half to
//!   even, and the same for the left edge.

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

use crate::error::{Error, Result};

/// The size `(w, h)` that makes the short side `s`; the long side is `s · long / short`
/// truncated, or rounded to nearest (half to even, as Python's `round`) when `round`, and at
/// most `u32::MAX`.
pub fn short_side_size(w: u32, h: u32, s: u32, round: bool) -> (u32, u32) {
    let long_of = |long: u32, short: u32| {
        let (num, den) = (s as u64 * long as u64, short.max(1) as u64);
        let (q, r) = (num / den, num % den);
        // Python's round: to nearest, half to even.
        let up = round && (2 * r > den || (2 * r == den && q % 2 == 1));
        u32::try_from(q + u64::from(up)).unwrap_or(u32::MAX)
    };
    if w <= h {
        (s, long_of(h, w))
    } else {
        (long_of(w, h), s)
    }
}

/// `int(round(d / 2))` with round half to even, as torchvision computes crop offsets.
pub fn center_offset(size: u32, crop: u32) -> u32 {
    let d = size.saturating_sub(crop);
    let half = d / 2;
    if d % 2 == 1 && half % 2 == 1 {
        half + 1
    } else {
        half
    }
}

/// Pillow-compatible bilinear resize of an RGB image to `w × h`.
pub fn resize_bilinear(img: &RgbImage, w: u32, h: u32, what: &str) -> Result<RgbImage> {
    let (w0, h0) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::InvalidInput(format!(
            "{what}: resizing {w0}×{h0} to {w}×{h}: expected a non-empty size"
        )));
    }
    let mut resizer = Resizer::new();
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    let mut pass = |src: Vec<u8>, sw: u32, sh: u32, dw: u32, dh: u32| -> Result<Vec<u8>> {
        if (sw, sh) == (dw, dh) {
            return Ok(src);
        }
        let fail = |e: String| {
            Error::InvalidInput(format!("{what}: resizing {sw}×{sh} to {dw}×{dh}: {e}"))
        };
        let src =
            Image::from_vec_u8(sw, sh, src, PixelType::U8x3).map_err(|e| fail(e.to_string()))?;
        let mut dst = Image::new(dw, dh, PixelType::U8x3);
        resizer
            .resize(&src, &mut dst, &opts)
            .map_err(|e| fail(e.to_string()))?;
        Ok(dst.into_vec())
    };
    let horizontal = pass(img.as_raw().clone(), w0, h0, w, h0)?;
    let both = pass(horizontal, w, h0, w, h)?;
    RgbImage::from_raw(w, h, both).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{what}: resize to {w}×{h} gave a buffer of the wrong size"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_side_truncated_or_rounded() {
        assert_eq!(short_side_size(500, 375, 256, false), (341, 256)); // 341.33
        assert_eq!(short_side_size(375, 500, 256, false), (256, 341));
        assert_eq!(short_side_size(500, 308, 256, false), (415, 256)); // 415.58
        assert_eq!(short_side_size(500, 308, 256, true), (416, 256));
        assert_eq!(short_side_size(500, 375, 256, true), (341, 256));
        assert_eq!(short_side_size(32, 32, 32, false), (32, 32));
        assert_eq!(short_side_size(4, 9, 2, true), (2, 4)); // 4.5 → 4
        assert_eq!(short_side_size(4, 11, 2, true), (2, 6)); // 5.5 → 6
    }

    #[test]
    fn crop_offsets_round_half_to_even() {
        assert_eq!(center_offset(256, 224), 16);
        assert_eq!(center_offset(257, 224), 16); // round(16.5) = 16
        assert_eq!(center_offset(259, 224), 18); // round(17.5) = 18
        assert_eq!(center_offset(224, 224), 0);
        assert_eq!(center_offset(225, 224), 0); // round(0.5) = 0
        assert_eq!(center_offset(227, 224), 2); // round(1.5) = 2
    }

    #[test]
    fn resize_keeps_a_constant_image_and_averages_a_2x_downscale() {
        let flat = RgbImage::from_pixel(37, 23, image::Rgb([10, 200, 77]));
        let r = resize_bilinear(&flat, 11, 7, "flat").unwrap_or_else(|e| panic!("{e}"));
        assert!(r.pixels().all(|p| p.0 == [10, 200, 77]));
        // A 2× downscale of vertical stripes 0/100: the triangle of radius 2 centered between
        // two pixels gives weights 1/8, 3/8, 3/8, 1/8 → 50 away from the borders.
        let stripes = RgbImage::from_fn(8, 2, |x, _| image::Rgb([(x % 2) as u8 * 100; 3]));
        let r = resize_bilinear(&stripes, 4, 2, "stripes").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.get_pixel(1, 0).0, [50; 3]);
        assert_eq!(r.get_pixel(2, 1).0, [50; 3]);
    }
}
