//! Parameter layouts: the named tensors of a layer (PyTorch's names and
//! shapes), which architectures list to build their models.

use super::params::{Kind, ParamInfo};
use crate::tensor_io::{HostTensor, TensorMap};

/// Norm parameters and running buffers for a batch norm of `c` channels.
pub fn bn_params(prefix: &str, c: usize, info: &mut Vec<ParamInfo>, buffers: &mut TensorMap) {
    info.push(ParamInfo {
        name: format!("{prefix}.weight"),
        shape: vec![c],
        kind: Kind::Norm,
        fan_in: 1,
    });
    info.push(ParamInfo {
        name: format!("{prefix}.bias"),
        shape: vec![c],
        kind: Kind::Norm,
        fan_in: 1,
    });
    buffers.insert(
        format!("{prefix}.running_mean"),
        HostTensor {
            shape: vec![c],
            data: vec![0.0; c],
        },
    );
    buffers.insert(
        format!("{prefix}.running_var"),
        HostTensor {
            shape: vec![c],
            data: vec![1.0; c],
        },
    );
}

/// Registers a parameter (`fan_in` sets its initialisation range).
pub fn param(
    info: &mut Vec<ParamInfo>,
    name: String,
    shape: Vec<usize>,
    kind: Kind,
    fan_in: usize,
) {
    info.push(ParamInfo {
        name,
        shape,
        kind,
        fan_in,
    });
}

/// A linear layer `{prefix}.weight` [out, inp] (of `kind`), with an
/// optional `{prefix}.bias`.
pub fn linear_params(
    info: &mut Vec<ParamInfo>,
    prefix: &str,
    out: usize,
    inp: usize,
    kind: Kind,
    bias: bool,
) {
    param(info, format!("{prefix}.weight"), vec![out, inp], kind, inp);
    if bias {
        param(info, format!("{prefix}.bias"), vec![out], Kind::Bias, inp);
    }
}

/// Layer-norm scale and shift (`{prefix}.weight`, `{prefix}.bias`).
pub fn ln_params(info: &mut Vec<ParamInfo>, prefix: &str, d: usize) {
    param(info, format!("{prefix}.weight"), vec![d], Kind::Norm, 1);
    param(info, format!("{prefix}.bias"), vec![d], Kind::Norm, 1);
}

/// The four tensors of one LSTM direction, PyTorch's names and layout.
pub fn lstm_params(info: &mut Vec<ParamInfo>, prefix: &str, d_in: usize, h: usize) {
    param(
        info,
        format!("{prefix}.weight_ih"),
        vec![4 * h, d_in],
        Kind::LstmIh,
        h,
    );
    param(
        info,
        format!("{prefix}.weight_hh"),
        vec![4 * h, h],
        Kind::LstmHh,
        h,
    );
    param(
        info,
        format!("{prefix}.bias_ih"),
        vec![4 * h],
        Kind::Bias,
        h,
    );
    param(
        info,
        format!("{prefix}.bias_hh"),
        vec![4 * h],
        Kind::Bias,
        h,
    );
}
