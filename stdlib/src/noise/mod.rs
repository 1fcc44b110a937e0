//! Background noise: noise banks, mixing noise into speech, and injecting
//! it into training.

pub mod bank;
pub mod injector;
pub mod mix_op;
pub mod mixing;

/// Every noise op.
pub fn register(r: &mut lotto_interpreter::Registry) {
    bank::register(r);
    mix_op::register(r);
}
