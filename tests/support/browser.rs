//! A real browser for end-to-end tests of the gateway's web pages: Debian's headless Chromium,
//! driven over the Chrome DevTools Protocol (CDP) on one WebSocket to its page. Blocking, and
//! every wait bounded in time; what the page does meanwhile (its requests, its console errors,
//! its load events) is kept as it arrives.
//!
//! CDP is JSON text frames: a command `{"id":N,"method":…,"params":…}` is answered by the frame
//! with the same id; a frame without an id is an event.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// The longest Chromium may take to start, to answer a command, or to load a page.
const LIMIT: Duration = Duration::from_secs(30);

/// The largest frame or message taken from Chromium: a screenshot is a base64 PNG in one frame.
const MESSAGE_LIMIT: usize = 64 << 20;

/// A headless Chromium with one page, in a profile of its own; killed, and its profile removed,
/// on drop.
pub struct Browser {
    child: Child,
    socket: WebSocket<TcpStream>,
    binary: String,
    /// The id of the last command sent.
    last_id: u64,
    /// `Page.loadEventFired` events seen.
    loads: u64,
    requests: Vec<SeenRequest>,
    /// `requestId` → index in `requests` of its latest hop (a redirect keeps the id).
    request_ids: HashMap<String, usize>,
    errors: Vec<String>,
    /// The profile (`profile/`) and Chromium's output (`chromium.log`); dropped after `child`
    /// is killed, in `Drop`.
    home: tempfile::TempDir,
}

/// One request the page made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenRequest {
    pub url: String,
    /// The HTTP status it was answered with; `None` while unanswered, or when it failed first.
    pub status: Option<u16>,
    /// Why it failed (`Network.loadingFailed`'s errorText), if it did.
    pub failed: Option<String>,
}

/// What one read from the DevTools socket gave.
enum Incoming {
    Reply(u64, Value),
    Event,
    Nothing,
}

impl Browser {
    /// Starts `$GRPCX_CHROMIUM` (else `chromium`) headless on `about:blank`, in a new profile,
    /// with a 1280×900 window, and connects to its page with the Page, Runtime, Network and
    /// Log domains enabled. Panics when the binary is missing or does not come up in 30 s.
    pub fn launch() -> Browser {
        let binary = std::env::var("GRPCX_CHROMIUM").unwrap_or_else(|_| "chromium".to_string());
        let home = tempfile::Builder::new()
            .prefix("grpcx-chromium-")
            .tempdir()
            .unwrap();
        let profile = home.path().join("profile");
        let log = std::fs::File::create(home.path().join("chromium.log")).unwrap();
        let spawned = Command::new(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args([
                "--remote-debugging-port=0",
                "--window-size=1280,900",
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) if error.kind() == ErrorKind::NotFound => panic!(
                "{binary}: {error}: no Chromium to run (on Debian: apt-get install chromium; \
                 or set GRPCX_CHROMIUM to a Chromium binary)"
            ),
            Err(error) => panic!("{binary}: {error}"),
        };
        let socket = match connect(&mut child, &profile) {
            Ok(socket) => socket,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{binary} did not come up: {error}\n{}",
                    log_tail(&home.path().join("chromium.log"))
                );
            }
        };
        let mut browser = Browser {
            child,
            socket,
            binary,
            last_id: 0,
            loads: 0,
            requests: Vec::new(),
            request_ids: HashMap::new(),
            errors: Vec::new(),
            home,
        };
        for domain in ["Page", "Runtime", "Network", "Log"] {
            browser.command(&format!("{domain}.enable"), json!({}));
        }
        browser
    }

    /// Goes to `url` and waits (at most 30 s) for its load event; at once for a same-document
    /// navigation (a new `#fragment`), which has none. Panics when the navigation fails (an
    /// unreachable host), not on an HTTP error status.
    pub fn navigate(&mut self, url: &str) {
        let loads = self.loads;
        let reply = self.command("Page.navigate", json!({ "url": url }));
        if let Some(error) = reply.get("errorText").and_then(Value::as_str) {
            panic!("navigating to {url}: {error}");
        }
        if reply.get("loaderId").is_none() {
            return;
        }
        let deadline = Instant::now() + LIMIT;
        while self.loads == loads {
            if Instant::now() >= deadline {
                panic!("{url} did not finish loading in {LIMIT:?}");
            }
            self.next(Duration::from_millis(100));
        }
    }

    /// The value of the JavaScript `expression` in the page (a promise awaited), or the text of
    /// the exception it threw. `undefined` is `null`; a number JSON cannot hold (`NaN`,
    /// `Infinity`, `-0`, a BigInt) is its text, a string.
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        self.eval_within(expression, LIMIT)
    }

    /// Evaluates `expression` every 50 ms until it is truthy (not `null`/`undefined`, `false`,
    /// `0` or `""`) and returns that value; panics after `timeout` with the expression and
    /// its last value or exception.
    pub fn wait_for(&mut self, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let last = self.eval_within(expression, left.max(Duration::from_millis(100)));
            if let Ok(value) = &last
                && truthy(value)
            {
                return value.clone();
            }
            if Instant::now() >= deadline {
                let last = match last {
                    Ok(value) => format!("its last value was {value}"),
                    Err(error) => format!("it last threw: {error}"),
                };
                panic!("`{expression}` was not truthy after {timeout:?}: {last}");
            }
            self.pump_for(Duration::from_millis(50));
        }
    }

    /// The page as it is shown (the viewport) as a PNG at `path`, its folder created.
    pub fn screenshot(&mut self, path: &Path) {
        let reply = self.command("Page.captureScreenshot", json!({ "format": "png" }));
        let data = reply
            .get("data")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("Page.captureScreenshot answered without data: {reply}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_else(|error| panic!("Page.captureScreenshot: {error}"));
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .unwrap_or_else(|error| panic!("{}: {error}", folder.display()));
        }
        std::fs::write(path, png).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    }

    /// Shows the page in a viewport of `width`×`height` CSS pixels (scale 1, not mobile).
    pub fn set_viewport(&mut self, width: u32, height: u32) {
        self.command(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        );
    }

    /// Presses and releases the named key, as a keyboard does, on whatever has the focus:
    /// `Enter`, `Tab`, `Escape`, `Backspace`, `Delete`, `Space`, `Home`, `End`, `PageUp`,
    /// `PageDown`, and the arrows (`ArrowUp`, `ArrowDown`, `ArrowLeft`, `ArrowRight`).
    pub fn press_key(&mut self, key: &str) {
        // (key, code, windowsVirtualKeyCode, the text it types)
        let (key, code, key_code, text) = match key {
            "Enter" => ("Enter", "Enter", 13, "\r"),
            "Tab" => ("Tab", "Tab", 9, ""),
            "Escape" => ("Escape", "Escape", 27, ""),
            "Backspace" => ("Backspace", "Backspace", 8, ""),
            "Delete" => ("Delete", "Delete", 46, ""),
            "Space" | " " => (" ", "Space", 32, " "),
            "Home" => ("Home", "Home", 36, ""),
            "End" => ("End", "End", 35, ""),
            "PageUp" => ("PageUp", "PageUp", 33, ""),
            "PageDown" => ("PageDown", "PageDown", 34, ""),
            "ArrowLeft" => ("ArrowLeft", "ArrowLeft", 37, ""),
            "ArrowUp" => ("ArrowUp", "ArrowUp", 38, ""),
            "ArrowRight" => ("ArrowRight", "ArrowRight", 39, ""),
            "ArrowDown" => ("ArrowDown", "ArrowDown", 40, ""),
            other => panic!("press_key: no key named {other:?}; type text with type_text"),
        };
        let mut down = json!({
            // A key that types something is a `keyDown` (with its `char` event); others are raw.
            "type": if text.is_empty() { "rawKeyDown" } else { "keyDown" },
            "key": key,
            "code": code,
            "windowsVirtualKeyCode": key_code,
            "nativeVirtualKeyCode": key_code,
        });
        if !text.is_empty() {
            down["text"] = json!(text);
            down["unmodifiedText"] = json!(text);
        }
        self.command("Input.dispatchKeyEvent", down);
        self.command(
            "Input.dispatchKeyEvent",
            json!({
                "type": "keyUp",
                "key": key,
                "code": code,
                "windowsVirtualKeyCode": key_code,
                "nativeVirtualKeyCode": key_code,
            }),
        );
    }

    /// Types `text` into whatever has the focus, as an input method does (`Input.insertText`).
    pub fn type_text(&mut self, text: &str) {
        self.command("Input.insertText", json!({ "text": text }));
    }

    /// Every request the page made since launch, in order (each hop of a redirect its own),
    /// once no event has come for 50 ms (at most 2 s).
    pub fn requests(&mut self) -> Vec<SeenRequest> {
        self.settle();
        self.requests.clone()
    }

    /// Every error the page showed since launch, once no event has come for 50 ms (at most
    /// 2 s): `console.error` (and failed `console.assert`), uncaught exceptions (and unhandled
    /// rejections), and the browser's own error log entries (a failed request, a refused
    /// script).
    pub fn errors(&mut self) -> Vec<String> {
        self.settle();
        self.errors.clone()
    }

    /// Sends `method` and returns its result, panicking on an error or after 30 s.
    fn command(&mut self, method: &str, params: Value) -> Value {
        self.call(method, params, LIMIT)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    /// Sends `method` and returns its result, keeping the events that come meanwhile; `Err`
    /// with the error Chromium answered, or when it answered nothing in `limit`.
    fn call(&mut self, method: &str, params: Value, limit: Duration) -> Result<Value, String> {
        self.last_id += 1;
        let id = self.last_id;
        let text = json!({ "id": id, "method": method, "params": params }).to_string();
        if let Err(error) = self.socket.send(Message::Text(text.into())) {
            self.died(&format!("took no {method}: {error}"));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("{method}: no answer from chromium in {limit:?}"));
            }
            if let Incoming::Reply(got, reply) = self.next(left.min(Duration::from_millis(500)))
                && got == id
            {
                if let Some(error) = reply.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(reply.get("result").cloned().unwrap_or(Value::Null));
            }
        }
    }

    fn eval_within(&mut self, expression: &str, limit: Duration) -> Result<Value, String> {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            limit,
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            return Err(exception_text(details));
        }
        let object = &result["result"];
        Ok(object
            .get("value")
            .or_else(|| object.get("unserializableValue"))
            .cloned()
            .unwrap_or(Value::Null))
    }

    /// Reads what comes until nothing has for 50 ms, or for 2 s in all.
    fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Incoming::Nothing = self.next(Duration::from_millis(50)) {
                break;
            }
        }
    }

    /// Reads (and keeps) what comes for `wait`.
    fn pump_for(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.next(left);
        }
    }

    /// The next message, waiting at most `wait` for it: a reply is returned, an event kept.
    fn next(&mut self, wait: Duration) -> Incoming {
        let wait = wait.max(Duration::from_millis(1));
        if let Err(error) = self.socket.get_ref().set_read_timeout(Some(wait)) {
            self.died(&format!("has a socket that takes no timeout: {error}"));
        }
        let text = match self.socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => self.died(&format!("closed the connection: {frame:?}")),
            Ok(_) => return Incoming::Event,
            Err(tungstenite::Error::Io(error))
                if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return Incoming::Nothing;
            }
            Err(error) => self.died(&format!("is gone from the connection: {error}")),
        };
        let message: Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("chromium sent what is not JSON ({error}): {text}"));
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            return Incoming::Reply(id, message);
        }
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        self.keep(method, message.get("params").unwrap_or(&Value::Null));
        Incoming::Event
    }

    /// Keeps what the event `method` says that a test may ask about.
    fn keep(&mut self, method: &str, params: &Value) {
        let text = |value: &Value| value.as_str().unwrap_or("").to_string();
        let status = |response: &Value| {
            response
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|status| u16::try_from(status).ok())
        };
        let request_id = text(&params["requestId"]);
        match method {
            "Page.loadEventFired" => self.loads += 1,
            "Network.requestWillBeSent" => {
                if let Some(redirect) = params.get("redirectResponse")
                    && let Some(&hop) = self.request_ids.get(&request_id)
                {
                    self.requests[hop].status = status(redirect);
                }
                self.request_ids.insert(request_id, self.requests.len());
                self.requests.push(SeenRequest {
                    url: text(&params["request"]["url"]),
                    status: None,
                    failed: None,
                });
            }
            "Network.responseReceived" => {
                if let Some(&hop) = self.request_ids.get(&request_id) {
                    self.requests[hop].status = status(&params["response"]);
                }
            }
            "Network.loadingFailed" => {
                if let Some(&hop) = self.request_ids.get(&request_id) {
                    let mut why = text(&params["errorText"]);
                    if let Some(reason) = params.get("blockedReason").and_then(Value::as_str) {
                        why.push_str(&format!(" (blocked: {reason})"));
                    }
                    if params.get("canceled").and_then(Value::as_bool) == Some(true) {
                        why.push_str(" (canceled)");
                    }
                    self.requests[hop].failed = Some(why);
                }
            }
            "Runtime.consoleAPICalled" => {
                let kind = text(&params["type"]);
                if kind == "error" || kind == "assert" {
                    let words: Vec<String> = params["args"]
                        .as_array()
                        .map(|args| args.iter().map(remote_object_text).collect())
                        .unwrap_or_default();
                    self.errors
                        .push(format!("console.{kind}: {}", words.join(" ")));
                }
            }
            "Runtime.exceptionThrown" => {
                let error = exception_text(&params["exceptionDetails"]);
                self.errors.push(format!("uncaught: {error}"));
            }
            "Log.entryAdded" => {
                let entry = &params["entry"];
                if entry["level"] == "error" {
                    let mut line =
                        format!("{} error: {}", text(&entry["source"]), text(&entry["text"]));
                    if let Some(url) = entry.get("url").and_then(Value::as_str) {
                        line.push_str(&format!(" ({url})"));
                    }
                    self.errors.push(line);
                }
            }
            _ => {}
        }
    }

    /// Panics with what went wrong with Chromium, whether it still runs, and what it printed.
    fn died(&mut self, what: &str) -> ! {
        let state = match self.child.try_wait() {
            Ok(Some(status)) => format!("it has exited ({status})"),
            _ => "it still runs".to_string(),
        };
        panic!(
            "{} {what}; {state}\n{}",
            self.binary,
            log_tail(&self.home.path().join("chromium.log"))
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium's helper processes end with it; then `home` is removed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds Chromium's DevTools port and its page, and connects to the page.
fn connect(child: &mut Child, profile: &Path) -> Result<WebSocket<TcpStream>, String> {
    let deadline = Instant::now() + LIMIT;
    let port = devtools_port(child, &profile.join("DevToolsActivePort"), deadline)?;
    let page = loop {
        let list = http_get(port, "/json/list")?;
        let targets: Value = serde_json::from_str(&list)
            .map_err(|error| format!("/json/list is not JSON ({error}): {list}"))?;
        let page = targets.as_array().and_then(|targets| {
            targets
                .iter()
                .filter(|target| target["type"] == "page")
                .find_map(|target| target["webSocketDebuggerUrl"].as_str())
        });
        if let Some(page) = page {
            break page.to_string();
        }
        if Instant::now() >= deadline {
            return Err(format!("no page among its targets: {list}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stream = TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), LIMIT)
        .map_err(|error| format!("{page}: {error}"))?;
    stream
        .set_read_timeout(Some(LIMIT))
        .and_then(|()| stream.set_write_timeout(Some(LIMIT)))
        .and_then(|()| stream.set_nodelay(true))
        .map_err(|error| format!("{page}: {error}"))?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(MESSAGE_LIMIT))
        .max_frame_size(Some(MESSAGE_LIMIT));
    let (socket, _) = tungstenite::client::client_with_config(page.as_str(), stream, Some(config))
        .map_err(|error| format!("{page}: {error}"))?;
    Ok(socket)
}

/// The port in `DevToolsActivePort` (`PORT\n/devtools/browser/ID`), once Chromium wrote it all.
fn devtools_port(child: &mut Child, file: &Path, deadline: Instant) -> Result<u16, String> {
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Some((port, path)) = text.split_once('\n')
            && path.starts_with("/devtools/")
            && let Ok(port) = port.trim().parse()
        {
            return Ok(port);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status}) before it listened"));
        }
        if Instant::now() >= deadline {
            return Err(format!("no {} after {LIMIT:?}", file.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The body of `GET path` from 127.0.0.1:`port`, by HTTP/1.1 written by hand.
fn http_get(port: u16, path: &str) -> Result<String, String> {
    let failed = |error: std::io::Error| format!("GET {path} from port {port}: {error}");
    let mut stream = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5),
    )
    .map_err(failed)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(failed)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(failed)?;
    let mut answer = Vec::new();
    let mut buffer = [0; 8192];
    loop {
        // Read to the end of the body its Content-Length says, or to the end of the stream.
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
        match stream.read(&mut buffer).map_err(failed)? {
            0 => break,
            read => answer.extend_from_slice(&buffer[..read]),
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path}: no HTTP answer: {text:?}"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("GET {path}: {head}"));
    }
    Ok(body.to_string())
}

/// Whether JavaScript would take `value` as true.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(value) => *value,
        Value::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        Value::String(text) => !text.is_empty() && !matches!(text.as_str(), "NaN" | "-0" | "0n"),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// An exception as DevTools shows it: its description (with the stack) where it has one.
fn exception_text(details: &Value) -> String {
    let exception = &details["exception"];
    let text = exception
        .get("description")
        .or_else(|| exception.get("value"))
        .map(|value| {
            value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string)
        })
        .or_else(|| details["text"].as_str().map(str::to_string))
        .unwrap_or_else(|| details.to_string());
    match details["url"].as_str() {
        Some(url) if !url.is_empty() => format!(
            "{text} (at {url}:{}:{})",
            details["lineNumber"].as_u64().map_or(0, |line| line + 1),
            details["columnNumber"]
                .as_u64()
                .map_or(0, |column| column + 1)
        ),
        _ => text,
    }
}

/// A console argument as the console shows it.
fn remote_object_text(object: &Value) -> String {
    match object.get("value") {
        Some(Value::String(text)) => text.clone(),
        Some(value) => value.to_string(),
        None => object
            .get("description")
            .or_else(|| object.get("unserializableValue"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| object["type"].as_str().unwrap_or("?"))
            .to_string(),
    }
}

/// The last lines Chromium printed, for a failure's message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    format!("chromium's output ({}):\n{tail}", log.display())
}
