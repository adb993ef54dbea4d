//! Interleaved timing of two engines: warm-up rounds, then rounds of (A, B) so that machine
//! noise hits both alike; each side's closure times its own call and returns the elapsed time.

use std::time::Duration;

/// Median and minimum of one engine's timed calls, in milliseconds.
#[derive(Clone, Debug)]
pub struct Stats {
    pub median_ms: f64,
    pub min_ms: f64,
    pub samples_ms: Vec<f64>,
}

impl Stats {
    fn of(samples: &[Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        let samples_ms = ms.clone();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let median_ms = match n {
            0 => f64::NAN,
            _ if n % 2 == 1 => ms[n / 2],
            _ => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
        };
        Stats {
            median_ms,
            min_ms: ms.first().copied().unwrap_or(f64::NAN),
            samples_ms,
        }
    }
}

/// Runs `warmup` untimed rounds, then `iters` timed rounds, each `a` then `b`.
pub fn interleave<E>(
    warmup: usize,
    iters: usize,
    mut a: impl FnMut() -> Result<Duration, E>,
    mut b: impl FnMut() -> Result<Duration, E>,
) -> Result<(Stats, Stats), E> {
    for _ in 0..warmup {
        a()?;
        b()?;
    }
    let (mut ta, mut tb) = (Vec::with_capacity(iters), Vec::with_capacity(iters));
    for _ in 0..iters {
        ta.push(a()?);
        tb.push(b()?);
    }
    Ok((Stats::of(&ta), Stats::of(&tb)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd_counts() {
        let d = |ms: u64| Duration::from_millis(ms);
        let s = Stats::of(&[d(30), d(10), d(20)]);
        assert_eq!((s.median_ms, s.min_ms), (20.0, 10.0));
        let s = Stats::of(&[d(40), d(10), d(20), d(30)]);
        assert_eq!(s.median_ms, 25.0);
    }
}
