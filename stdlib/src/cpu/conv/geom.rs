//! The shapes of one 2-D convolution, which both ways of computing it
//! (`direct` and `spectral`) read.

/// The shapes of one convolution: input [b, ci, h, w], weight
/// [co, ci, kh, kw], stride (sh, sw), zero padding (ph, pw), no dilation,
/// one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub b: usize,
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
}

impl ConvGeom {
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.ph - self.kh) / self.sh + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pw - self.kw) / self.sw + 1
    }
}
