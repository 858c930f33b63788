//! The only module that writes files. Every output is rendered in memory first, then written
//! to a temporary file in the output directory and renamed into place, so a failed run leaves
//! no half-written report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Writes all `(name, bytes)` outputs into `dir` atomically per file. If any temporary write
/// fails, the temporaries are removed and nothing is renamed.
pub fn write_outputs(dir: &Path, outputs: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|source| Error::Output {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, PathBuf)]| {
        for (t, _) in temps {
            let _ = fs::remove_file(t);
        }
    };
    for (name, bytes) in outputs {
        let target = dir.join(name);
        let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let written = fs::File::create(&temp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        if let Err(source) = written {
            let _ = fs::remove_file(&temp);
            cleanup(&temps);
            return Err(Error::Output { path: target, source });
        }
        temps.push((temp, target));
    }
    let mut done = Vec::new();
    for (temp, target) in &temps {
        fs::rename(temp, target).map_err(|source| Error::Output {
            path: target.clone(),
            source,
        })?;
        done.push(target.clone());
    }
    Ok(done)
}
