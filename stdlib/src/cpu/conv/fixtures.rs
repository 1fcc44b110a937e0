//! Test operands and burn's conv2d as the reference both paths are
//! checked against.

use super::geom::ConvGeom;
use crate::rng::Rng;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Random input, weight and output gradient for `g`.
pub(super) fn operands(g: &ConvGeom, rng: &mut Rng) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let x = random(g.b * g.ci * g.h * g.w, rng);
    let w = random(g.co * g.ci * g.kh * g.kw, rng);
    let gy = random(g.b * g.co * g.oh() * g.ow(), rng);
    (x, w, gy)
}

/// Asserts `a` is within 1e-4 (relative, and absolute near 0) of burn's `b`.
pub(super) fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs burn's {y}"
        );
    }
}

/// burn's output, weight gradient and input gradient for `g` (the input
/// gradient from autodiff of Σ y·gy).
pub(super) fn burn_reference(
    g: &ConvGeom,
    x: &[f32],
    w: &[f32],
    gy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dev = Device::flex().autodiff();
    let xt: Tensor<4> =
        Tensor::from_data(TensorData::new(x.to_vec(), [g.b, g.ci, g.h, g.w]), &dev).require_grad();
    let wt: Tensor<4> =
        Tensor::from_data(TensorData::new(w.to_vec(), [g.co, g.ci, g.kh, g.kw]), &dev)
            .require_grad();
    let y = conv2d(
        xt.clone(),
        wt.clone(),
        None,
        ConvOptions::new([g.sh, g.sw], [g.ph, g.pw], [1, 1], 1),
    );
    let gyt: Tensor<4> = Tensor::from_data(
        TensorData::new(gy.to_vec(), [g.b, g.co, g.oh(), g.ow()]),
        &dev,
    );
    let vals = |t: Tensor<4>| t.inner().into_data().try_to_vec::<f32>().unwrap();
    let y_ref = vals(y.clone());
    let grads = (y * gyt).sum().backward();
    (
        y_ref,
        vals(wt.grad(&grads).unwrap()),
        vals(xt.grad(&grads).unwrap()),
    )
}
