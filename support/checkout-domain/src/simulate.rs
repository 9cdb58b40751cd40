//! Simulated work: a latency with jitter, so traces look like real traffic (no two spans alike)
//! while staying fast and deterministic enough for tests (set the mean to 0).

use std::time::Duration;

/// A simulated duration: `mean` ± up to `jitter_percent` % of it, uniformly. The default is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// The average duration.
    pub mean: Duration,
    /// The maximum deviation from the mean, in percent of the mean (0–100).
    pub jitter_percent: u8,
}

impl Latency {
    /// A latency of `mean_ms` milliseconds ± `jitter_percent` %.
    pub fn from_millis(mean_ms: u64, jitter_percent: u8) -> Self {
        Self { mean: Duration::from_millis(mean_ms), jitter_percent: jitter_percent.min(100) }
    }

    /// One random draw.
    pub fn sample(&self) -> Duration {
        let mean = self.mean.as_micros() as i64;
        let spread = mean * i64::from(self.jitter_percent) / 100;
        let offset = if spread == 0 { 0 } else { fastrand::i64(-spread..=spread) };
        Duration::from_micros((mean + offset).max(0) as u64)
    }

    /// Sleeps for one random draw; returns at once for a zero mean.
    pub async fn wait(&self) {
        let d = self.sample();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_stay_within_the_jitter_band() {
        let latency = Latency::from_millis(100, 20);
        for _ in 0..1_000 {
            let d = latency.sample();
            assert!((80..=120).contains(&d.as_millis()), "{d:?}");
        }
    }

    #[test]
    fn zero_mean_is_always_zero_and_jitter_is_capped_at_100_percent() {
        assert_eq!(Latency::from_millis(0, 50).sample(), Duration::ZERO);
        assert_eq!(Latency::from_millis(10, 250).jitter_percent, 100);
    }
}
