//! How a batch's per-utterance losses become the one number the gradient
//! is taken of. The paper's code sums each utterance's CTC (or transducer)
//! loss over its labels and averages over the batch: DeepSpeech2's
//! `deepspeech.pytorch` sums CTC over the batch and divides by the batch
//! size, the Efficient Conformer takes `CTCLoss(reduction="none").mean()`,
//! and `warp_rnnt` averages over the batch. Its clip threshold (400 for
//! DS2) is tuned for losses of that size. Dividing each utterance's loss
//! by its label count first (`labels`) weighs long and short utterances
//! the same and makes the loss ~1/labels as large, so the same clip
//! rarely acts.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

lotto_interpreter::sym_enum! {
    /// The reduction of per-utterance losses over a batch.
    pub enum LossNorm { Batch = "batch", Labels = "labels" }
}

impl LossNorm {
    /// The batch loss of per-utterance losses `per` [B] for `targets`.
    pub fn reduce(self, per: Tensor<1>, targets: &[Vec<usize>], device: &Device) -> Tensor<1> {
        match self {
            LossNorm::Batch => per.mean(),
            LossNorm::Labels => {
                let counts: Vec<f32> = targets.iter().map(|t| t.len().max(1) as f32).collect();
                let n = counts.len();
                (per / Tensor::<1>::from_data(TensorData::new(counts, [n]), device)).mean()
            }
        }
    }
}

/// Stored by name in `trained.yaml`.
impl Serialize for LossNorm {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LossNorm {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "batch" => Ok(LossNorm::Batch),
            "labels" => Ok(LossNorm::Labels),
            other => Err(serde::de::Error::custom(format!(
                "unknown loss normalisation `{other}` (batch or labels)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_averages_utterance_sums_and_labels_divides_by_label_counts_first() {
        let device = crate::device::open("flex").unwrap();
        let per = || Tensor::<1>::from_data(TensorData::new(vec![6.0f32, 2.0], [2]), &device);
        let targets = [vec![1, 2, 3], vec![4]];
        let b = LossNorm::Batch.reduce(per(), &targets, &device);
        assert_eq!(b.into_scalar::<f32>(), 4.0);
        // (6/3 + 2/1) / 2
        let l = LossNorm::Labels.reduce(per(), &targets, &device);
        assert_eq!(l.into_scalar::<f32>(), 2.0);
        let y = serde_yaml::to_string(&LossNorm::Labels).unwrap();
        assert_eq!(
            serde_yaml::from_str::<LossNorm>(&y).unwrap(),
            LossNorm::Labels
        );
    }
}
