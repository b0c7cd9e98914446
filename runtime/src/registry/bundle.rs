//! An app bundle: the files of one deploy (manifest, components, schemas,
//! migrations) as an uncompressed tar, checked on the way in: relative plain
//! paths only, regular files only, a bounded count and size. Its hash covers
//! every path and content, so the same app uploaded twice is the same bundle.
//! On disk a bundle is unpacked once into `<data_dir>/bundles/<hash>/`; in the
//! store its files are blobs, so another node can unpack it too.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Files in one bundle, at most.
pub(crate) const MAX_FILES: usize = 1000;

/// Why an upload is not a bundle. Each says what to change in the upload.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The bytes are not an (uncompressed) tar archive.
    #[error("not a tar archive: {0}; upload an uncompressed tar (what `gatehouse deploy` sends)")]
    NotTar(std::io::Error),
    /// An entry's path cannot be read.
    #[error("a path in the archive is unreadable: {0}")]
    UnreadablePath(std::io::Error),
    /// A link, device or other entry that is not a plain file.
    #[error("{0} is not a regular file; a bundle holds files only")]
    NotAFile(String),
    /// A path that is absolute or has `..`: it would leave the bundle's folder.
    #[error("{0} leaves the bundle; use plain relative paths")]
    LeavesBundle(String),
    /// A dot-file or dot-folder.
    #[error("{0}: hidden files are not part of an app")]
    Hidden(String),
    /// A path that is not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(String),
    /// An entry whose path is empty.
    #[error("an empty path in the archive")]
    EmptyPath,
    /// The files add up to more than the limit.
    #[error("the bundle is over {0} bytes (deploy.max_bundle_mb)")]
    TooLarge(usize),
    /// More files than [`MAX_FILES`].
    #[error("the bundle has more than {MAX_FILES} files")]
    TooManyFiles,
    /// One path twice.
    #[error("{0} is in the archive twice")]
    Duplicate(String),
    /// An entry's contents could not be read.
    #[error("{0}: {1}")]
    Unreadable(String, std::io::Error),
    /// No files at all.
    #[error("the bundle is empty")]
    Empty,
}

/// A bundle's files, by relative path.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    /// Path (with `/`) → contents.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// Reads a tar archive of at most `max_bytes` of file contents.
    pub fn from_tar(bytes: &[u8], max_bytes: usize) -> Result<Self, BundleError> {
        let mut archive = tar::Archive::new(bytes);
        let mut files = BTreeMap::new();
        let mut total = 0usize;
        let entries = archive.entries().map_err(BundleError::NotTar)?;
        for entry in entries {
            let mut entry = entry.map_err(BundleError::NotTar)?;
            let kind = entry.header().entry_type();
            let path = entry.path().map_err(BundleError::UnreadablePath)?.into_owned();
            if kind.is_dir() {
                continue;
            }
            if !kind.is_file() {
                return Err(BundleError::NotAFile(path.display().to_string()));
            }
            let name = clean_path(&path)?;
            let size = usize::try_from(entry.header().size().unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
            total = total.saturating_add(size);
            if total > max_bytes {
                return Err(BundleError::TooLarge(max_bytes));
            }
            let mut data = Vec::with_capacity(size);
            entry.read_to_end(&mut data).map_err(|e| BundleError::Unreadable(name.clone(), e))?;
            if files.insert(name.clone(), data).is_some() {
                return Err(BundleError::Duplicate(name));
            }
            if files.len() > MAX_FILES {
                return Err(BundleError::TooManyFiles);
            }
        }
        if files.is_empty() {
            return Err(BundleError::Empty);
        }
        Ok(Self { files })
    }

    /// Writes a tar archive of the files (what `gatehouse deploy` uploads).
    pub fn to_tar(&self) -> std::io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder.append_data(&mut header, name, data.as_slice())?;
        }
        builder.into_inner()
    }

    /// SHA-256 over every (path, length, contents), hex.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for (name, data) in &self.files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update((data.len() as u64).to_be_bytes());
            h.update(data);
        }
        hex::encode(h.finalize())
    }

    /// Each file's content hash, as the store records a deployment.
    pub fn file_hashes(&self) -> BTreeMap<String, String> {
        self.files.iter().map(|(n, d)| (n.clone(), hex::encode(Sha256::digest(d)))).collect()
    }

    /// Unpacks into `<root>/<hash>/` unless already there; returns that folder.
    pub fn unpack(&self, root: &Path) -> std::io::Result<PathBuf> {
        let dir = root.join(self.hash());
        if dir.join(".complete").is_file() {
            return Ok(dir);
        }
        let tmp = root.join(format!(".{}.{}", self.hash(), uuid::Uuid::new_v4().simple()));
        for (name, data) in &self.files {
            let path = tmp.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, data)?;
        }
        std::fs::write(tmp.join(".complete"), b"")?;
        match std::fs::rename(&tmp, &dir) {
            Ok(()) => Ok(dir),
            // Another unpack of the same bundle won the race: same contents.
            Err(_) if dir.join(".complete").is_file() => {
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(dir)
            }
            Err(e) => Err(e),
        }
    }
}

/// A relative path of plain parts, as `a/b/c`; anything that could leave the
/// bundle's folder is refused.
fn clean_path(path: &Path) -> Result<String, BundleError> {
    let shown = || path.display().to_string();
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => {
                let p = p.to_str().ok_or_else(|| BundleError::NotUtf8(shown()))?;
                if p.starts_with('.') && p != "." {
                    return Err(BundleError::Hidden(shown()));
                }
                parts.push(p);
            }
            Component::CurDir => {}
            _ => return Err(BundleError::LeavesBundle(shown())),
        }
    }
    if parts.is_empty() {
        return Err(BundleError::EmptyPath);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_tar(name: &str, data: &[u8]) -> Vec<u8> {
        // The tar crate refuses to write `..`, so write the header by hand.
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
        out
    }

    #[test]
    fn round_trip_and_hash() {
        let mut b = Bundle::default();
        b.files.insert("gatehouse.toml".into(), b"[app]\nname = \"x\"\n".to_vec());
        b.files.insert("c/hello.wasm".into(), b"\0asm".to_vec());
        let back = Bundle::from_tar(&b.to_tar().unwrap(), 1 << 20).unwrap();
        assert_eq!(back.files, b.files);
        assert_eq!(back.hash(), b.hash());
        let dir = tempfile::tempdir().unwrap();
        let at = b.unpack(dir.path()).unwrap();
        assert_eq!(std::fs::read(at.join("c/hello.wasm")).unwrap(), b"\0asm");
        assert_eq!(b.unpack(dir.path()).unwrap(), at);
    }

    #[test]
    fn escapes_and_oversize_are_refused() {
        let e = Bundle::from_tar(&raw_tar("../evil", b"x"), 1 << 20).unwrap_err();
        assert!(matches!(&e, BundleError::LeavesBundle(p) if p == "../evil"), "{e}");
        let e = Bundle::from_tar(&raw_tar("/etc/passwd", b"x"), 1 << 20).unwrap_err();
        assert!(matches!(e, BundleError::LeavesBundle(_)), "{e}");
        let e = Bundle::from_tar(&raw_tar(".env", b"x"), 1 << 20).unwrap_err();
        assert!(matches!(e, BundleError::Hidden(_)), "{e}");
        let e = Bundle::from_tar(&raw_tar("big", &[0; 2000]), 1000).unwrap_err();
        assert!(e.to_string().contains("over 1000 bytes"), "{e}");
        assert!(matches!(
            Bundle::from_tar(b"not a tar at all, clearly", 1000),
            Err(BundleError::NotTar(_) | BundleError::Empty)
        ));
    }
}
