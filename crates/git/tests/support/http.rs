//! A tiny HTTP server that plays every web server the discovery tests
//! need, reached as an HTTP proxy: go-get pages for any host
//! (`GET http://<host>/<path>?go-get=1`), and static files under `/files/`.
//! HTTPS tunnels (`CONNECT`) are refused, so clients fall back to plain
//! HTTP for paths they treat as insecure (GOINSECURE).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Content {
    /// `host/path` → HTML.
    pages: HashMap<String, String>,
    files: Option<PathBuf>,
}

pub struct TestServer {
    pub url: String,
    content: Arc<Mutex<Content>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let content = Arc::new(Mutex::new(Content::default()));
        let shared = content.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let content = shared.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &content);
                });
            }
        });
        TestServer { url, content }
    }

    /// Serves `<meta name="go-import" content="...">` for `import_path`.
    pub fn go_import(&self, import_path: &str, content: &str) {
        let html = format!("<!DOCTYPE html>\n<html><head>\n<meta name=\"go-import\" content=\"{content}\">\n</head><body>hi</body></html>\n");
        self.content
            .lock()
            .unwrap()
            .pages
            .insert(import_path.to_owned(), html);
    }

    /// Serves the files of `dir` under `<url>/files/`.
    pub fn files(&self, dir: PathBuf) {
        self.content.lock().unwrap().files = Some(dir);
    }
}

fn handle(stream: TcpStream, content: &Mutex<Content>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut host = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some(value) = line
            .strip_prefix("Host:")
            .or_else(|| line.strip_prefix("host:"))
        {
            host = value.trim().to_owned();
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let mut stream = stream;
    if method == "CONNECT" {
        return respond(
            &mut stream,
            "403 Forbidden",
            "text/plain",
            b"no tunnels here\n",
        );
    }
    // Absolute form (through a proxy) or origin form.
    let (host, path_and_query) = match target.strip_prefix("http://") {
        Some(rest) => match rest.find('/') {
            Some(i) => (rest[..i].to_owned(), rest[i..].to_owned()),
            None => (rest.to_owned(), "/".to_owned()),
        },
        None => (host, target.to_owned()),
    };
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((&path_and_query, ""));
    let content = content.lock().unwrap();
    if query.split('&').any(|q| q == "go-get=1") {
        let key = format!("{host}{}", if path == "/" { "" } else { path });
        return match content.pages.get(&key) {
            Some(html) => respond(
                &mut stream,
                "200 OK",
                "text/html; charset=utf-8",
                html.as_bytes(),
            ),
            None => respond(
                &mut stream,
                "404 Not Found",
                "text/plain",
                b"no such page\n",
            ),
        };
    }
    if let (Some(rest), Some(dir)) = (path.strip_prefix("/files/"), &content.files) {
        let file = dir.join(percent_decode(rest));
        if !rest.contains("..") {
            if let Ok(data) = std::fs::read(file) {
                return respond(&mut stream, "200 OK", "application/octet-stream", &data);
            }
        }
    }
    respond(&mut stream, "404 Not Found", "text/plain", b"not found\n")
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
