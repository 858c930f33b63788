//! The SHA-256 and size of an input file (case.toml, evidence, the recommendations export),
//! taken in one read-only pass. Storage logs are hashed while they stream instead (see
//! `chunk`), so a large file is read once.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, InputError, Location, Result};

/// SHA-256 and size of a file, read once, read-only.
///
/// # Errors
/// An input error naming the file when it cannot be opened or read.
pub fn hash_file(path: &Path, what: &str) -> Result<(String, u64)> {
    let mut file = File::open(path).map_err(|e| {
        Error::from(
            InputError::new(what, "cannot open file", Location::file(path))
                .found(&e.to_string())
                .expected("a readable file"),
        )
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::from(InputError::new(what, "read error", Location::file(path)).found(&e.to_string())))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    let hex = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, size))
}
