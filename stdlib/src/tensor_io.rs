//! Named float tensors on disk as safetensors (the format PyTorch loads),
//! written and read by hand so weights, masks and checkpoints share one
//! small, dependency-free code path.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// A named host tensor: shape and row-major f32 data.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub type TensorMap = BTreeMap<String, HostTensor>;

/// Writes tensors as safetensors (F32, sorted names), atomically.
pub fn save(path: &Path, tensors: &TensorMap) -> Result<(), String> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, t) in tensors {
        let n = t.data.len() * 4;
        header.insert(name.clone(), serde_json::json!({ "dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + n] }));
        offset += n;
    }
    let mut h =
        serde_json::to_vec(&serde_json::Value::Object(header)).map_err(|e| e.to_string())?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?,
    );
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    f.write_all(&(h.len() as u64).to_le_bytes()).map_err(io)?;
    f.write_all(&h).map_err(io)?;
    for t in tensors.values() {
        let mut bytes = Vec::with_capacity(t.data.len() * 4);
        for x in &t.data {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        f.write_all(&bytes).map_err(io)?;
    }
    let f = f.into_inner().map_err(|e| e.to_string())?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a safetensors file of F32 tensors; errors name the file.
pub fn load(path: &Path) -> Result<TensorMap, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let bad = |why: &str| {
        format!(
            "`{}` is not a valid safetensors file: {why}",
            path.display()
        )
    };
    if bytes.len() < 8 {
        return Err(bad("too short"));
    }
    let hlen = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    if hlen > bytes.len() - 8 {
        return Err(bad("header length beyond end of file"));
    }
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + hlen]).map_err(|e| bad(&e.to_string()))?;
    let data = &bytes[8 + hlen..];
    let mut out = TensorMap::new();
    for (name, meta) in header {
        if name == "__metadata__" {
            continue;
        }
        if meta["dtype"] != "F32" {
            return Err(bad(&format!("tensor `{name}` is not F32")));
        }
        let shape: Vec<usize> =
            serde_json::from_value(meta["shape"].clone()).map_err(|e| bad(&e.to_string()))?;
        let offs: Vec<usize> = serde_json::from_value(meta["data_offsets"].clone())
            .map_err(|e| bad(&e.to_string()))?;
        let (a, b) = (
            offs.first().copied().unwrap_or(0),
            offs.get(1).copied().unwrap_or(0),
        );
        if a > b || b > data.len() || (b - a) != shape.iter().product::<usize>() * 4 {
            return Err(bad(&format!("tensor `{name}` has inconsistent offsets")));
        }
        let v = data[a..b]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        out.insert(name, HostTensor { shape, data: v });
    }
    Ok(out)
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
