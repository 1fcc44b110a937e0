//! The few statistics over seeds that reports and ticket picks share: a
//! sample's mean and standard deviation, and whether two means are within
//! noise of each other.

/// Mean and sample standard deviation (n − 1; 0 for fewer than two).
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Mean and its standard error (sd / √n).
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let (mean, sd) = mean_sd(xs);
    (mean, sd / (xs.len() as f64).sqrt())
}

/// Two standard errors of the difference of two means, given as (mean,
/// standard error), when the means are closer than that: the choice
/// between them is within noise.
pub fn within_noise(a: (f64, f64), b: (f64, f64)) -> Option<f64> {
    let two_se = 2.0 * (a.1.powi(2) + b.1.powi(2)).sqrt();
    ((a.0 - b.0).abs() < two_se).then_some(two_se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        assert_eq!(mean_sd(&[20.0, 40.0, 60.0]), (40.0, 20.0));
        assert_eq!(mean_sd(&[7.0]), (7.0, 0.0));
        assert_eq!(mean_se(&[1.0, 3.0]).1, 1.0);
        // se 3 and 4: two standard errors of the difference are 10.
        assert_eq!(within_noise((10.0, 3.0), (19.0, 4.0)), Some(10.0));
        assert_eq!(within_noise((10.0, 3.0), (21.0, 4.0)), None);
        assert_eq!(within_noise((5.0, 0.0), (5.0, 0.0)), None);
    }
}
