//! A `file://` GOPROXY tree, read as the go command reads one.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use tokio_util::io::ReaderStream;

use modvault_core::escape::{escape_path, escape_version};
use modvault_core::modzip::MAX_GO_MOD;

use crate::{FetchError, FetchResult, Fetcher, RevInfo, ZipBody, MAX_METADATA_BYTES};

pub struct FileProxy {
    root: PathBuf,
}

impl FileProxy {
    pub fn new(root: PathBuf) -> FileProxy {
        FileProxy { root }
    }

    fn module_dir(&self, module: &str) -> FetchResult<PathBuf> {
        let escaped = escape_path(module).map_err(|e| FetchError::NotFound(e.to_string()))?;
        Ok(self.root.join(escaped))
    }

    fn version_file(&self, module: &str, version: &str, ext: &str) -> FetchResult<PathBuf> {
        let escaped = escape_version(version).map_err(|e| FetchError::NotFound(e.to_string()))?;
        Ok(self
            .module_dir(module)?
            .join("@v")
            .join(format!("{escaped}.{ext}")))
    }

    async fn read_small(&self, path: &Path, limit: u64) -> FetchResult<Bytes> {
        let metadata = tokio::fs::metadata(path)
            .await
            .map_err(|e| self.io_error(path, e))?;
        if metadata.len() > limit {
            return Err(FetchError::Upstream(format!(
                "{}: larger than {limit} bytes",
                self.shown(path)
            )));
        }
        tokio::fs::read(path)
            .await
            .map(Bytes::from)
            .map_err(|e| self.io_error(path, e))
    }

    async fn read_info(&self, path: &Path) -> FetchResult<RevInfo> {
        let raw = self.read_small(path, MAX_METADATA_BYTES as u64).await?;
        RevInfo::parse(raw).map_err(|e| FetchError::Upstream(format!("{}: {e}", self.shown(path))))
    }

    /// What messages call a file: its path below the tree's root, never
    /// the local path (messages reach clients; the chain logs the root).
    fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn io_error(&self, path: &Path, error: std::io::Error) -> FetchError {
        let message = format!("{}: {error}", self.shown(path));
        match error.kind() {
            ErrorKind::NotFound | ErrorKind::NotADirectory => FetchError::NotFound(message),
            _ => FetchError::Upstream(message),
        }
    }
}

#[async_trait]
impl Fetcher for FileProxy {
    async fn list(&self, module: &str) -> FetchResult<String> {
        let path = self.module_dir(module)?.join("@v/list");
        let raw = self.read_small(&path, MAX_METADATA_BYTES as u64).await?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| FetchError::Upstream(format!("{}: not UTF-8", self.shown(&path))))
    }

    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        let path = self.module_dir(module)?.join("@latest");
        self.read_info(&path).await
    }

    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo> {
        let path = self.version_file(module, query, "info")?;
        self.read_info(&path).await
    }

    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes> {
        let path = self.version_file(module, version, "mod")?;
        self.read_small(&path, MAX_GO_MOD).await
    }

    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody> {
        let path = self.version_file(module, version, "zip")?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| self.io_error(&path, e))?;
        let declared_len = file.metadata().await.ok().map(|m| m.len());
        Ok(ZipBody {
            from_vcs: false,
            declared_len,
            stream: Box::pin(ReaderStream::with_capacity(file, 64 * 1024)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_an_escaped_tree() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path().join("example.com/!upper/@v");
        std::fs::create_dir_all(&v).unwrap();
        std::fs::write(v.join("list"), "v1.0.0\n").unwrap();
        std::fs::write(v.join("v1.0.0.info"), r#"{"Version":"v1.0.0"}"#).unwrap();
        std::fs::write(v.join("v1.0.0.mod"), "module example.com/Upper\n").unwrap();
        let proxy = FileProxy::new(dir.path().to_owned());
        assert_eq!(proxy.list("example.com/Upper").await.unwrap(), "v1.0.0\n");
        assert_eq!(
            proxy
                .info("example.com/Upper", "v1.0.0")
                .await
                .unwrap()
                .version,
            "v1.0.0"
        );
        assert_eq!(
            &proxy.go_mod("example.com/Upper", "v1.0.0").await.unwrap()[..],
            b"module example.com/Upper\n"
        );
        assert!(proxy
            .zip("example.com/Upper", "v1.0.0")
            .await
            .err()
            .unwrap()
            .is_not_found());
        assert!(proxy
            .list("example.com/other")
            .await
            .unwrap_err()
            .is_not_found());
    }
}
