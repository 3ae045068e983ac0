//! One capture HTTP server: a tiny endpoint run by the test in place of an app's back-channel
//! logout URL or an SMS gateway. It reads each request whole, answers it with the next status
//! of a script, and records what the test asks it to keep.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// One request as the capture server read it, with the status it was answered.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The request line and the headers, as sent.
    pub head: String,
    pub body: Vec<u8>,
    pub status: u16,
}

impl Captured {
    /// The value of the header `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.head, name).map(str::to_owned)
    }

    /// The field `name` of a form-encoded body.
    pub fn form_field(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(&self.body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// The status that answers nothing: the server reads the request and holds the connection open
/// until the client gives up, as an app that hangs would.
pub const NO_ANSWER: u16 = 0;

/// What a capture server kept, in the order the requests arrived.
pub type Kept<T> = Arc<Mutex<Vec<T>>>;

/// Serves at `http://127.0.0.1:<a port of its own><path>`: answers the n-th request with
/// `statuses[n]` (the last one repeats; [`NO_ANSWER`] for none) and keeps what `keep` makes of
/// it (`None`: nothing).
/// Returns the URL and what is kept.
pub async fn capture_server<T: Send + 'static>(
    path: &str,
    statuses: Vec<u16>,
    keep: impl Fn(Captured) -> Option<T> + Send + Sync + 'static,
) -> (String, Kept<T>) {
    assert!(!statuses.is_empty(), "a status to answer with");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}{path}",
        listener.local_addr().unwrap().port()
    );
    let kept: Kept<T> = Arc::default();
    let server = Arc::new(Server {
        statuses,
        answered: AtomicUsize::new(0),
        keep,
        kept: kept.clone(),
    });
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(server.clone().answer(socket));
        }
    });
    (url, kept)
}

struct Server<T, K> {
    statuses: Vec<u16>,
    answered: AtomicUsize,
    keep: K,
    kept: Kept<T>,
}

impl<T, K: Fn(Captured) -> Option<T>> Server<T, K> {
    async fn answer(self: Arc<Self>, mut socket: TcpStream) {
        let Some((head, body)) = read_request(&mut socket).await else {
            return; // closed before a whole request: nothing to answer or count
        };
        let index = self.answered.fetch_add(1, Ordering::SeqCst);
        let status = self.statuses[index.min(self.statuses.len() - 1)];
        if let Some(item) = (self.keep)(Captured { head, body, status }) {
            self.kept.lock().unwrap().push(item);
        }
        if status == NO_ANSWER {
            let mut chunk = [0u8; 1024];
            while matches!(socket.read(&mut chunk).await, Ok(n) if n > 0) {}
            return;
        }
        let reply =
            format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
        let _ = socket.write_all(reply.as_bytes()).await;
    }
}

/// Reads one request: the head up to the blank line, then `content-length` bytes of body.
async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize =
        header_in(&head, "content-length").map_or(0, |value| value.parse().unwrap());
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let n = socket.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buffer.extend_from_slice(&chunk[..n]);
    }
    Some((head, buffer[body_start..body_start + length].to_vec()))
}

/// The value of the header `name` (any case) in a request head, trimmed.
fn header_in<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}
