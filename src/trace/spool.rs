//! The full log of a run, spooled to disk as JSON lines (one journey a line), so memory
//! stays bounded however long the run and every export can still hold every request.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::Journey;

/// Appends finished journeys to a file.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
}

impl Spool {
    /// Creates (or truncates) the spool file at `path`.
    pub fn create(path: &Path) -> io::Result<Spool> {
        Ok(Spool {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 * 1024, File::create(path)?),
            written: 0,
        })
    }

    /// Appends one journey.
    pub fn write(&mut self, journey: &Journey) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, journey)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// Makes everything written so far readable by `read`.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Journeys written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads journeys back from a spool file, in the order they were written.
pub fn read(path: &Path) -> io::Result<impl Iterator<Item = io::Result<Journey>>> {
    let lines = BufReader::with_capacity(256 * 1024, File::open(path)?).lines();
    Ok(lines.map(|line| {
        let line = line?;
        serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Outcome, TraceId};

    #[test]
    fn journeys_come_back_as_written() {
        let dir = std::env::temp_dir().join(format!("hopscope-spool-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("spool.jsonl");
        let mut spool = Spool::create(&path).expect("create");
        for i in 1..=3 {
            let j = Journey {
                id: TraceId(i),
                outcome: Some(Outcome::Status(200)),
                ..Journey::default()
            };
            spool.write(&j).expect("write");
        }
        spool.flush().expect("flush");
        let back: Vec<Journey> = read(&path)
            .expect("open")
            .collect::<io::Result<_>>()
            .expect("read");
        assert_eq!(
            back.iter().map(|j| j.id.0).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
