//! Image files to 8-bit RGB. The format comes from the content, not the name.
//!
//! JPEG goes through libjpeg-turbo's decoder (the `mozjpeg` crate builds it from source: ISLOW
//! IDCT, "fancy" triangle chroma upsampling, fixed-point YCbCr → RGB), which is what Pillow
//! uses, so the pixels are the reference pipeline's bit for bit. The `image` crate's JPEG
//! decoder (zune-jpeg) upsamples chroma in two rounded passes and differs on about a fifth of
//! the values of the 4:2:0 CIFAR-10 test JPEGs (up to 4 levels); that alone moves about 1.2 %
//! of the CIFAR-10 top-1 predictions, even with onnxruntime as the network. It remains the
//! fallback for JPEGs libjpeg refuses (CMYK, arithmetic coding). Every other format (PNG, WebP,
//! BMP, GIF) is decoded by the `image` crate; grey and RGBA become RGB as Pillow's
//! `convert("RGB")` does (grey replicated, alpha dropped).
//!
//! Before any pixel is decoded, the size the file declares is checked against
//! [`MAX_PIXELS`]: a few bytes can declare billions of pixels (a decompression bomb), and
//! libjpeg would fill a truncated one with grey rather than fail.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use image::{ImageFormat, RgbImage};

use crate::error::{Error, Result};

/// The most pixels an image may declare (2^27 = 134,217,728, e.g. 16384×8192: 384 MiB as
/// 8-bit RGB); larger ones are refused before decoding.
pub const MAX_PIXELS: u64 = 1 << 27;

/// Decodes an image file to 8-bit RGB.
pub fn decode(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_bytes(&bytes, &path.display().to_string())
}

/// Decodes an image file's content to 8-bit RGB; `what` names it in errors.
pub fn decode_bytes(bytes: &[u8], what: &str) -> Result<RgbImage> {
    let bad = |reason: String| Error::BadImage {
        path: what.to_string(),
        reason,
    };
    let format = image::guess_format(bytes)
        .map_err(|_| bad("unknown format (expected JPEG, PNG, WebP, BMP or GIF content)".into()))?;
    if let Some((w, h)) = declared_size(bytes, format) {
        let pixels = w * h;
        if pixels > MAX_PIXELS {
            return Err(bad(format!(
                "it declares {w}×{h} pixels ({pixels} in all); expected at most {MAX_PIXELS} \
                 (refused before decoding: a likely decompression bomb)"
            )));
        }
    }
    if format == ImageFormat::Jpeg {
        match decode_libjpeg(bytes) {
            Ok(img) => return Ok(img),
            Err(libjpeg) => {
                return decode_image_crate(bytes, format)
                    .map_err(|other| bad(format!("{libjpeg} (and {other})")));
            }
        }
    }
    decode_image_crate(bytes, format).map_err(bad)
}

/// The width and height the file's header declares, when a decoder can read the header.
fn declared_size(bytes: &[u8], format: ImageFormat) -> Option<(u64, u64)> {
    if format == ImageFormat::Jpeg {
        let header = catch_unwind(AssertUnwindSafe(|| {
            mozjpeg::Decompress::new_mem(bytes).map(|d| (d.width() as u64, d.height() as u64))
        }));
        if let Ok(Ok(size)) = header {
            return Some(size);
        }
    }
    image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .ok()
        .map(|(w, h)| (u64::from(w), u64::from(h)))
}

fn decode_image_crate(bytes: &[u8], format: ImageFormat) -> std::result::Result<RgbImage, String> {
    let reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    reader
        .decode()
        .map(|img| img.into_rgb8())
        .map_err(|e| e.to_string())
}

/// libjpeg reports fatal errors by unwinding (the crate's error manager); they are caught here
/// and become messages.
fn decode_libjpeg(bytes: &[u8]) -> std::result::Result<RgbImage, String> {
    let run = || -> std::io::Result<RgbImage> {
        let d = mozjpeg::Decompress::new_mem(bytes)?;
        let mut rgb = d.rgb()?;
        let (w, h) = (rgb.width(), rgb.height());
        let data: Vec<u8> = rgb.read_scanlines::<u8>()?;
        rgb.finish()?;
        RgbImage::from_raw(w as u32, h as u32, data).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("libjpeg: expected {w}×{h} RGB pixels, found fewer"),
            )
        })
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(img)) => Ok(img),
        Ok(Err(e)) => Err(format!("libjpeg: {e}")),
        Err(payload) => Err(payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "libjpeg fatal error".to_string())),
    }
}
