//! Parameters and layers, written on burn tensors directly: named flat
//! parameters (`params`), their layouts (`layout`), burn-op layers
//! (`layers`), the forward context with the CPU paths (`ctx`, and
//! `conv_blocks` for DS2's convolution front end), the
//! backward pass across host stages (`tape`), position encodings
//! (`positions`) and the transducer loss (`transducer_loss`).

pub mod conv_blocks;
pub mod ctx;
pub mod layers;
pub mod layout;
pub mod params;
pub mod positions;
pub mod tape;
pub mod transducer_loss;

pub use conv_blocks::ConvBlock;
pub use ctx::{bilstm, unilstm, Ctx, Direction};
pub use layout::{bn_params, linear_params, ln_params, lstm_params, param};
pub use params::{to_host, Kind, ParamInfo, Params};
pub use tape::gradients;
pub use transducer_loss::{transducer_losses, Joint};
