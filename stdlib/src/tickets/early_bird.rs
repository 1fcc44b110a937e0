//! The early-bird search inside one IMP round (You et al. 2020): after
//! each epoch, the mask the next round would draw from the current
//! weights; training stops when the last `window` epoch-to-epoch distances
//! are all below `distance`.
//!
//! The adaptation to IMP: You et al. prune channels from scratch to one
//! target ratio and compare masks over all channels; here each round prunes
//! `rate` of the survivors of the round's mask, so the distance is measured
//! over the weights this round prunes (`round_mask_distance`), and the
//! search runs inside every round but the last, whose stopping point also
//! decides the weights the next mask is drawn from.

use crate::pruning::masks::{round_mask_distance, Masks};
use crate::pruning::prune::{prune, PruneSpec};
use crate::rng::Rng;
use crate::tensor_io::TensorMap;
use crate::training::train_loop::EpochHook;

pub struct EarlyBird<'a> {
    pub spec: PruneSpec,
    /// The round's masks, from which the next round prunes.
    pub masks: &'a Masks,
    pub seed: u64,
    pub next_round: usize,
    pub distance: f64,
    pub window: usize,
    pub prev: Option<Masks>,
    pub distances: Vec<f64>,
}

impl EarlyBird<'_> {
    fn candidate(&self, weights: &TensorMap) -> Masks {
        let mut rng = Rng::derive(self.seed, &format!("round{}", self.next_round));
        prune(weights, self.masks, &self.spec, &mut rng)
    }
}

impl EpochHook for EarlyBird<'_> {
    fn after_epoch(&mut self, _epoch: usize, weights: &TensorMap) -> bool {
        let cand = self.candidate(weights);
        if let Some(prev) = &self.prev {
            self.distances
                .push(round_mask_distance(self.masks, prev, &cand));
        }
        self.prev = Some(cand);
        let n = self.distances.len();
        n >= self.window
            && self.distances[n - self.window..]
                .iter()
                .all(|d| *d < self.distance)
    }
    fn save(&self) -> serde_json::Value {
        serde_json::json!({ "distances": self.distances })
    }
    fn load(&mut self, state: &serde_json::Value, weights: &TensorMap) -> Result<(), String> {
        self.distances = serde_json::from_value(state["distances"].clone())
            .map_err(|e| format!("checkpoint's early-bird state: {e}"))?;
        // The checkpoint's weights are those of its last epoch, whose
        // candidate mask is the one the next epoch compares against.
        self.prev = Some(self.candidate(weights));
        Ok(())
    }
}
