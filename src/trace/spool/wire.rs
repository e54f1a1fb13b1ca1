//! The spool's primitives: LEB128 variable-length integers (small numbers take one byte),
//! zigzag for numbers that may be negative, and length-prefixed bytes. Reading checks every
//! length against what is left, so damaged input is an error, never a panic or a huge
//! allocation.

use std::io;

/// Appends `v` as a LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a signed difference, zigzag-encoded (small either way → one byte).
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// `b - a` as a signed difference (times are far below 2^63 µs).
pub fn diff(a: u64, b: u64) -> i64 {
    b.wrapping_sub(a) as i64
}

/// Appends a length and the bytes.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn cut() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "damaged spool: a record is cut short",
    )
}

/// Reads primitives from a block of the spool.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads from `data`.
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    /// Whether everything has been read.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.data.len()
    }

    /// One byte.
    pub fn byte(&mut self) -> io::Result<u8> {
        let (&b, rest) = self.data.split_first().ok_or_else(cut)?;
        self.data = rest;
        Ok(b)
    }

    /// `n` bytes.
    pub fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        if n > self.data.len() {
            return Err(cut());
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    /// A LEB128 varint.
    pub fn varint(&mut self) -> io::Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "damaged spool: a number is too long",
        ))
    }

    /// A zigzag-encoded signed difference.
    pub fn signed(&mut self) -> io::Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// `base` moved by a signed difference.
    pub fn after(&mut self, base: u64) -> io::Result<u64> {
        Ok(base.wrapping_add(self.signed()? as u64))
    }

    /// A count of items, each at least one byte, so it cannot exceed what is left.
    pub fn count(&mut self) -> io::Result<usize> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.data.len())
            .ok_or_else(cut)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let n = self.count()?;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        let mut out = Vec::new();
        let unsigned = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        let signed = [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX];
        for v in unsigned {
            put_varint(&mut out, v);
        }
        for v in signed {
            put_signed(&mut out, v);
        }
        put_bytes(&mut out, b"hop");
        let mut input = Input::new(&out);
        for v in unsigned {
            assert_eq!(input.varint().expect("varint"), v);
        }
        for v in signed {
            assert_eq!(input.signed().expect("signed"), v);
        }
        assert_eq!(input.bytes().expect("bytes"), b"hop");
        assert!(input.is_empty());
        assert_eq!(diff(10, 3), -7);
        assert_eq!(Input::new(&[14]).after(100).expect("after"), 107);
    }

    #[test]
    fn short_or_overlong_input_is_an_error() {
        assert!(Input::new(&[0x80]).varint().is_err());
        assert!(Input::new(&[0xff; 11]).varint().is_err());
        assert!(Input::new(&[5, 1, 2]).bytes().is_err());
        assert!(Input::new(&[]).byte().is_err());
    }
}
