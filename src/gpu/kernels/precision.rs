//! [`Precision`]: how activations and conv weights are stored on the device (f32 or f16;
//! the arithmetic is f32 either way).

/// Storage precision of activations and conv weights (arithmetic is f32 either way).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    #[default]
    F32,
    /// f16 storage; needs the adapter's `SHADER_F16`.
    F16,
}

impl Precision {
    /// Bytes of one stored activation.
    pub fn bytes(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }
}

impl std::fmt::Display for Precision {
    /// `f32` or `f16`, as `--precision` takes it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            _ => Err(crate::Error::InvalidInput(format!(
                "precision `{s}`: expected f32 or f16"
            ))),
        }
    }
}
