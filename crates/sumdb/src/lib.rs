//! Pure building blocks of the Go checksum database (`sum.golang.org`).
//!
//! This crate is a faithful port of Go 1.27.3's `golang.org/x/mod/sumdb`
//! packages, minus everything that touches the outside world:
//!
//! * [`note`]: signed notes and their Ed25519 keys (`sumdb/note`);
//! * [`tlog`]: the RFC 6962 transparent log: record and node hashes, the
//!   stored-hash layout, tree hashes, inclusion and consistency proofs,
//!   hash tiles, tree notes and lookup records (`sumdb/tlog`);
//! * [`lookup`]: the `/lookup` response format and the client-side checks
//!   that authenticate it (`sumdb/server.go`, `sumdb/client.go`).
//!
//! There is no file, network or clock access anywhere, and no function
//! panics on any input: everything an attacker (or a fuzzer) can reach
//! returns a typed error instead. Storage is abstracted behind the
//! [`tlog::HashReader`] and [`tlog::TileReader`] traits, and randomness for
//! key generation is supplied by the caller ([`note::generate_key`]).
//!
//! Go's `int` and `int64` both become `i64` here, so every value Go can
//! represent round-trips unchanged (tile levels, widths and heights
//! included).

#![forbid(unsafe_code)]

pub mod lookup;
pub mod note;
pub mod tlog;

mod gobase64;
