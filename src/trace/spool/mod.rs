//! The full log of a run, spooled to disk so memory stays bounded however long the run and
//! every export can still hold every request — within a limit, so a long run cannot fill
//! the disk.
//!
//! The file is a short header, then blocks: `raw length (u32 LE)`, `compressed length
//! (u32 LE)`, then that many bytes of zstd holding journeys as compact records
//! (`codec.rs`; repeated text is interned across the whole file, `strings.rs`). A block is
//! written in one piece, so a reader that meets a block cut short (the writer is still at
//! it, or the disk filled up mid-write) stops there without an error; a block that is whole
//! but does not decode is an error.
//!
//! Bounded: the spool stops keeping journeys before its blocks would pass `limit_bytes`,
//! and stops for good at the first failed write (disk full, read-only); either way it says
//! why ([`SpoolStop`]) and how many it kept, and the recorder goes on counting.

mod codec;
mod strings;
mod wire;

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Journey;
use codec::{Decoder, Encoder};

/// The first bytes of every spool file (format version 1).
const MAGIC: &[u8; 8] = b"HOPSPL1\n";
/// Records are gathered into blocks of about this much before they are compressed.
const BLOCK_BYTES: usize = 128 * 1024;
/// A block can never be larger than this (a damaged length is caught before allocating).
const MAX_BLOCK_BYTES: u32 = 64 << 20;
/// zstd level: 1 is its fastest standard level and already shrinks the records severalfold.
const ZSTD_LEVEL: i32 = 1;
/// Bytes of a block's header.
const BLOCK_HEADER: u64 = 8;

/// Why the spool stopped keeping journeys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It reached `trace.spool_limit` (or half the free space of its disk).
    SpoolLimit,
    /// Writing failed (no space left, a read-only disk, a folder that cannot be created).
    WriteFailed,
}

/// The spool stopped keeping journeys: when, why, and how many it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolStop {
    pub reason: StopReason,
    /// What happened, in words (the limit and where it came from, or the error).
    pub message: String,
    /// When the first request that was not kept ended, in µs since the run started.
    pub at_micros: u64,
    /// Requests kept: the ones that reached the spool before it stopped (they ended before
    /// `at_micros`, give or take the microseconds events from different threads take to
    /// reach the recorder).
    pub requests_kept: u64,
}

impl SpoolStop {
    /// What happened and what it means, in one line (for a terminal).
    pub fn warning(&self) -> String {
        format!(
            "{}; from {:.1} s into the run on, every request is still counted (outcomes, \
             metrics, summary) but no longer kept, so exports hold only the first {} requests",
            self.message,
            self.at_micros as f64 / 1e6,
            self.requests_kept
        )
    }
}

/// How large the spool may grow, in words for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolLimit {
    pub bytes: u64,
    /// The limit as people read it, with where it came from (`4GiB, trace.spool_limit`).
    pub described: String,
}

impl SpoolLimit {
    /// No limit (tests and benchmarks).
    pub fn unlimited() -> SpoolLimit {
        SpoolLimit {
            bytes: u64::MAX,
            described: "no limit".into(),
        }
    }
}

/// Appends finished journeys to a file, within a limit.
pub struct Spool {
    path: PathBuf,
    /// `None` once it has failed.
    file: Option<File>,
    encoder: Encoder,
    compressor: zstd::bulk::Compressor<'static>,
    /// Records not yet compressed, and the journeys in them.
    block: Vec<u8>,
    block_journeys: u64,
    /// When the first journey of the pending block ended.
    block_first_end: u64,
    record: Vec<u8>,
    /// Journeys in blocks on disk.
    on_disk: u64,
    /// Bytes of blocks on disk.
    bytes: u64,
    limit: SpoolLimit,
    stop: Option<SpoolStop>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("path", &self.path)
            .field("written", &self.written())
            .field("bytes", &self.bytes)
            .field("stop", &self.stop)
            .finish()
    }
}

/// An upper bound of the compressed size of `raw` bytes (zstd's `ZSTD_compressBound`).
fn bound(raw: usize) -> u64 {
    (zstd::zstd_safe::compress_bound(raw) as u64) + BLOCK_HEADER
}

impl Spool {
    /// Creates (or truncates) the spool file at `path`.
    pub fn create(path: &Path, limit: SpoolLimit) -> io::Result<Spool> {
        let mut file = File::create(path)?;
        file.write_all(MAGIC)?;
        Ok(Spool {
            path: path.to_path_buf(),
            file: Some(file),
            encoder: Encoder::default(),
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
            block: Vec::with_capacity(BLOCK_BYTES + 64 * 1024),
            block_journeys: 0,
            block_first_end: 0,
            record: Vec::with_capacity(4096),
            on_disk: 0,
            bytes: 0,
            limit,
            stop: None,
        })
    }

    /// Appends one journey. Returns whether it is kept: false once the spool has stopped
    /// (full or failed; [`Spool::stopped`] says which).
    pub fn write(&mut self, journey: &Journey) -> bool {
        if self.stop.is_some() {
            return false;
        }
        let end = journey.end_micros.unwrap_or(journey.start_micros);
        self.record.clear();
        self.encoder.journey(&mut self.record, journey);
        let room = self.limit.bytes.saturating_sub(self.bytes);
        if bound(self.block.len() + self.record.len()) > room {
            // Near the limit: write what is pending (it fits, it was checked), then see
            // whether this record fits on its own.
            self.write_block();
            let room = self.limit.bytes.saturating_sub(self.bytes);
            if self.stop.is_none() && bound(self.record.len()) > room {
                self.stop = Some(SpoolStop {
                    reason: StopReason::SpoolLimit,
                    message: format!(
                        "the trace spool reached its limit of {}",
                        self.limit.described
                    ),
                    at_micros: end,
                    requests_kept: self.on_disk,
                });
            }
            if self.stop.is_some() {
                return false;
            }
        }
        if self.block_journeys == 0 {
            self.block_first_end = end;
        }
        self.block.extend_from_slice(&self.record);
        self.block_journeys += 1;
        if self.block.len() >= BLOCK_BYTES {
            self.write_block();
        }
        true
    }

    /// Compresses and writes the pending block. A failure stops the spool (the pending
    /// journeys are lost; the ones already on disk stay readable).
    fn write_block(&mut self) {
        if self.block.is_empty() {
            return;
        }
        let Some(file) = &mut self.file else { return };
        let result = self.compressor.compress(&self.block).and_then(|packed| {
            let mut out = Vec::with_capacity(packed.len() + BLOCK_HEADER as usize);
            out.extend_from_slice(&(self.block.len() as u32).to_le_bytes());
            out.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            out.extend_from_slice(&packed);
            file.write_all(&out).map(|()| out.len() as u64)
        });
        match result {
            Ok(n) => {
                self.bytes += n;
                self.on_disk += self.block_journeys;
            }
            Err(e) => {
                self.file = None;
                self.stop = Some(SpoolStop {
                    reason: StopReason::WriteFailed,
                    message: format!("cannot write the trace spool {}: {e}", self.path.display()),
                    at_micros: self.block_first_end,
                    requests_kept: self.on_disk,
                });
            }
        }
        self.block.clear();
        self.block_journeys = 0;
    }

    /// Makes everything written so far readable by [`read`].
    pub fn flush(&mut self) {
        self.write_block();
    }

    /// Journeys kept: on disk, or waiting in the block being gathered.
    pub fn written(&self) -> u64 {
        self.on_disk + self.block_journeys
    }

    /// Bytes on disk (blocks and their headers; the file header not counted).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Why it stopped keeping journeys, once it has.
    pub fn stopped(&self) -> Option<&SpoolStop> {
        self.stop.as_ref()
    }

    /// The limit it keeps to.
    pub fn limit(&self) -> &SpoolLimit {
        &self.limit
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads journeys back from a spool file, in the order they were written. A block cut short
/// at the end of the file (still being written, or the disk filled up) ends the journeys
/// quietly; a damaged block is an `InvalidData` error, after which nothing more is read.
pub fn read(path: &Path) -> io::Result<impl Iterator<Item = io::Result<Journey>>> {
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(
            io::ErrorKind::InvalidData,
            "not a hopscope spool: the file is too short",
        ),
        _ => e,
    })?;
    if &magic != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a hopscope spool (or one written by another version)",
        ));
    }
    Ok(Reader {
        file,
        decoder: Decoder::default(),
        block: Vec::new(),
        at: 0,
        done: false,
    })
}

struct Reader {
    file: BufReader<File>,
    decoder: Decoder,
    block: Vec<u8>,
    at: usize,
    done: bool,
}

/// Reads as much of `buf` as the file has; returns how much that was.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("damaged spool: {what}"))
}

impl Reader {
    /// Loads the next block; false at the end (or at a block cut short).
    fn next_block(&mut self) -> io::Result<bool> {
        let mut header = [0u8; BLOCK_HEADER as usize];
        if read_up_to(&mut self.file, &mut header)? < header.len() {
            return Ok(false);
        }
        let word =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (raw, packed) = (word(0), word(4));
        if raw > MAX_BLOCK_BYTES || packed > MAX_BLOCK_BYTES {
            return Err(damaged("a block length is out of range"));
        }
        let mut compressed = vec![0u8; packed as usize];
        if read_up_to(&mut self.file, &mut compressed)? < compressed.len() {
            return Ok(false);
        }
        self.block = zstd::bulk::decompress(&compressed, raw as usize)
            .map_err(|e| damaged(&format!("a block does not decompress ({e})")))?;
        if self.block.len() != raw as usize {
            return Err(damaged("a block is shorter than its header says"));
        }
        self.at = 0;
        Ok(true)
    }

    fn next_journey(&mut self) -> io::Result<Option<Journey>> {
        while self.at >= self.block.len() {
            if !self.next_block()? {
                return Ok(None);
            }
        }
        let mut input = wire::Input::new(&self.block[self.at..]);
        let journey = self.decoder.journey(&mut input)?;
        self.at = self.block.len() - input.remaining();
        Ok(Some(journey))
    }
}

impl Iterator for Reader {
    type Item = io::Result<Journey>;

    fn next(&mut self) -> Option<io::Result<Journey>> {
        if self.done {
            return None;
        }
        match self.next_journey() {
            Ok(Some(j)) => Some(Ok(j)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests;
