//! Test operands and burn's conv2d as the reference both paths are
//! checked against.

use super::geom::ConvGeom;
use crate::rng::Rng;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

/// DS2's second convolution (21×11, stride 2×1, padding 10×5) on `b`
/// maps of `ci` channels, `h` × `w`, into `co` channels.
pub(super) fn ds2_second(b: usize, ci: usize, co: usize, h: usize, w: usize) -> ConvGeom {
    ConvGeom {
        b,
        ci,
        h,
        w,
        co,
        kh: 21,
        kw: 11,
        sh: 2,
        sw: 1,
        ph: 10,
        pw: 5,
    }
}

/// Shapes with odd sizes, strides of 1, 2 and 3, padding, odd and even
/// padded sizes, one input channel and many.
pub(super) fn odd_shapes() -> Vec<ConvGeom> {
    vec![
        ConvGeom {
            b: 2,
            ci: 1,
            h: 13,
            w: 9,
            co: 3,
            kh: 5,
            kw: 3,
            sh: 2,
            sw: 2,
            ph: 2,
            pw: 1,
        },
        ConvGeom {
            b: 3,
            ci: 4,
            h: 11,
            w: 17,
            co: 5,
            kh: 3,
            kw: 5,
            sh: 2,
            sw: 1,
            ph: 1,
            pw: 2,
        },
        ConvGeom {
            b: 1,
            ci: 600,
            h: 4,
            w: 40,
            co: 2,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            ph: 0,
            pw: 0,
        },
        ConvGeom {
            b: 2,
            ci: 2,
            h: 9,
            w: 12,
            co: 3,
            kh: 3,
            kw: 7,
            sh: 3,
            sw: 3,
            ph: 1,
            pw: 5,
        },
    ]
}

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
