//! Named float tensors on disk as safetensors (the format PyTorch loads),
//! through the `safetensors` crate: weights, masks and checkpoints.

use safetensors::tensor::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

/// A named host tensor: shape and row-major f32 data.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub type TensorMap = BTreeMap<String, HostTensor>;

impl View for &HostTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(le_bytes(&self.data))
    }
    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

/// A named tensor whose values are made as it is written (a device
/// tensor copied to the host then): a file of many such tensors is
/// written with one tensor's host copy at a time, never the whole model's
/// (checkpoints of a paper-size model, in the middle of training).
pub struct LazyTensor<'a> {
    pub shape: Vec<usize>,
    pub values: Box<dyn Fn() -> Vec<f32> + 'a>,
}

impl LazyTensor<'_> {
    /// Its values on the host now.
    pub fn host(&self) -> HostTensor {
        HostTensor {
            shape: self.shape.clone(),
            data: (self.values)(),
        }
    }
}

/// Every tensor of `lazy` copied to the host.
pub fn to_host_map(lazy: &BTreeMap<String, LazyTensor>) -> TensorMap {
    lazy.iter().map(|(k, t)| (k.clone(), t.host())).collect()
}

/// f32 values as safetensors stores them (little-endian bytes).
fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl View for &LazyTensor<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(le_bytes(&(self.values)()))
    }
    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

/// Writes tensors as safetensors (F32), atomically: a temporary file,
/// synced, then renamed over `path`.
pub fn save(path: &Path, tensors: &TensorMap) -> Result<(), String> {
    write_atomically(path, |tmp| {
        safetensors::serialize_to_file(tensors.iter(), None, tmp)
    })
}

/// [`save`] for tensors made as they are written.
pub fn save_lazy(path: &Path, tensors: &BTreeMap<String, LazyTensor>) -> Result<(), String> {
    write_atomically(path, |tmp| {
        safetensors::serialize_to_file(tensors.iter(), None, tmp)
    })
}

/// `write` to a temporary file, synced, then renamed over `path`.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), safetensors::SafeTensorError>,
) -> Result<(), String> {
    let io = |e: String| format!("cannot write `{}`: {e}", path.display());
    let tmp = path.with_extension("tmp");
    write(&tmp).map_err(|e| io(e.to_string()))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| io(e.to_string()))
}

/// Reads a safetensors file of F32 tensors; errors name the file.
pub fn load(path: &Path) -> Result<TensorMap, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let bad = |why: String| {
        format!(
            "`{}` is not a valid safetensors file: {why}",
            path.display()
        )
    };
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!(
                    "tensor `{name}` is {:?}, not F32",
                    view.dtype()
                )));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let shape = view.shape().to_vec();
            Ok((name, HostTensor { shape, data }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let t = tempfile::tempdir().unwrap();
        let mut m = TensorMap::new();
        m.insert(
            "a.weight".into(),
            HostTensor {
                shape: vec![2, 3],
                data: vec![1., 2., 3., 4., 5., 6.],
            },
        );
        m.insert(
            "b".into(),
            HostTensor {
                shape: vec![1],
                data: vec![-0.5],
            },
        );
        let p = t.path().join("x.safetensors");
        save(&p, &m).unwrap();
        assert_eq!(load(&p).unwrap(), m);
        std::fs::write(&p, b"\xff\xff\xff\xff\xff\xff\xff\xffjunk").unwrap();
        assert!(load(&p).unwrap_err().contains("not a valid safetensors"));
    }
}
