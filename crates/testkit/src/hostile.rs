//! Peers that misbehave on purpose: an upstream proxy whose answers lie,
//! stall, drip, redirect for ever or are too big, and zips no writer
//! library would make (duplicate entries, entries escaping the module,
//! sizes that lie). Each answer is set per request path.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the hostile upstream does for one path.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// `status` with `body`.
    Status(u16, Vec<u8>),
    /// 200 with `body`, honestly.
    Ok(Vec<u8>),
    /// 200 announcing `declared` bytes, sending `body`, then closing.
    LyingLength { body: Vec<u8>, declared: usize },
    /// 200 with the first `sent` bytes of `body`, then silence, connection open.
    Stall { body: Vec<u8>, sent: usize },
    /// 200, chunked, one byte every `every`.
    Drip { body: Vec<u8>, every: Duration },
    /// 302 to itself, for ever.
    RedirectLoop,
}

/// An HTTP/1.1 server on a free loopback port, one thread per connection;
/// paths without a behaviour are 404.
pub struct HostileUpstream {
    pub url: String,
    behaviours: Arc<Mutex<HashMap<String, Behaviour>>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HostileUpstream {
    pub fn start() -> HostileUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let behaviours: Arc<Mutex<HashMap<String, Behaviour>>> = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (b, r) = (behaviours.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (b, r) = (b.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &b, &r));
            }
        });
        HostileUpstream {
            url,
            behaviours,
            requests,
        }
    }

    /// Sets what `path` (as requested, e.g. `/example.com/m/@v/list`) gets.
    pub fn on(&self, path: &str, behaviour: Behaviour) -> &Self {
        self.behaviours
            .lock()
            .unwrap()
            .insert(path.to_owned(), behaviour);
        self
    }

    /// How many requests for exactly `path` arrived.
    pub fn requests_for(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
    }
}

fn serve(
    stream: TcpStream,
    behaviours: &Mutex<HashMap<String, Behaviour>>,
    requests: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                break;
            }
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        requests.lock().unwrap().push(path.clone());
        let behaviour = behaviours.lock().unwrap().get(&path).cloned();
        let head = |status: u16, length: usize| {
            format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\nContent-Type: text/plain\r\n\r\n")
        };
        let result = match behaviour {
            None => stream.write_all(format!("{}not found\n", head(404, 10)).as_bytes()),
            Some(Behaviour::Status(status, body)) => stream
                .write_all(head(status, body.len()).as_bytes())
                .and_then(|()| stream.write_all(&body)),
            Some(Behaviour::Ok(body)) => stream
                .write_all(head(200, body.len()).as_bytes())
                .and_then(|()| stream.write_all(&body)),
            Some(Behaviour::LyingLength { body, declared }) => {
                let _ = stream
                    .write_all(head(200, declared).as_bytes())
                    .and_then(|()| stream.write_all(&body));
                return;
            }
            Some(Behaviour::Stall { body, sent }) => {
                let _ = stream
                    .write_all(head(200, body.len()).as_bytes())
                    .and_then(|()| stream.write_all(&body[..sent]));
                std::thread::sleep(Duration::from_secs(600));
                return;
            }
            Some(Behaviour::Drip { body, every }) => {
                let start = "HTTP/1.1 200 X\r\nTransfer-Encoding: chunked\r\n\r\n";
                if stream.write_all(start.as_bytes()).is_err() {
                    return;
                }
                for byte in body {
                    if stream
                        .write_all(&[b'1', b'\r', b'\n', byte, b'\r', b'\n'])
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(every);
                }
                stream.write_all(b"0\r\n\r\n")
            }
            Some(Behaviour::RedirectLoop) => stream.write_all(
                format!("HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\n\r\n")
                    .as_bytes(),
            ),
        };
        if result.is_err() {
            return;
        }
    }
}

/// One entry of [`raw_zip`].
pub struct RawEntry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    /// Deflate (else store) the data.
    pub deflate: bool,
    /// The uncompressed size to declare, if not the true one (a lie).
    pub declared_size: Option<u32>,
}

impl<'a> RawEntry<'a> {
    pub fn stored(name: &'a str, data: &'a [u8]) -> RawEntry<'a> {
        RawEntry {
            name,
            data,
            deflate: false,
            declared_size: None,
        }
    }
}

/// A zip written byte by byte, so that it can hold what no zip library
/// writes: two entries with one name, names escaping the module, declared
/// sizes that lie.
pub fn raw_zip(entries: &[RawEntry<'_>]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for entry in entries {
        let payload = if entry.deflate {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(entry.data).unwrap();
            encoder.finish().unwrap()
        } else {
            entry.data.to_vec()
        };
        let (offset, crc) = (out.len() as u32, crc32(entry.data));
        let size = entry.declared_size.unwrap_or(entry.data.len() as u32);
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&(if entry.deflate { 8u16 } else { 0 }).to_le_bytes());
            v.extend_from_slice(&0u32.to_le_bytes()); // time, date
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes());
            v.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(&payload);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(entry.name.as_bytes());
    }
    let (start, len, n) = (out.len() as u32, central.len() as u32, entries.len() as u16);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
