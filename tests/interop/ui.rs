//! `/ui`, the explorer, in a real browser (Debian's chromium, headless, driven over the
//! DevTools protocol by `support::Browser`): a person's steps, made with the keyboard where a
//! person would use it, against the gateway in front of the demo (here) and of each peer
//! (`checks::explorer`). Each state is saved as a PNG under the test's output folder
//! (`target/tmp/browser/`), for a person to look at.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, Browser, Gateway};

/// The longest a step of the page may take to show its result.
const STEP: Duration = Duration::from_secs(15);

/// The explorer of one gateway, open in a browser.
pub struct ExplorerPage {
    pub browser: Browser,
    pub addr: String,
    /// Screenshots are named `<prefix>-<state>.png`.
    prefix: String,
}

impl ExplorerPage {
    pub fn open(gateway: &Gateway, prefix: &str) -> ExplorerPage {
        let mut browser = Browser::launch();
        browser.set_viewport(1280, 1000);
        browser.navigate(&format!("http://{}/ui", gateway.addr));
        browser.wait_for(
            "document.querySelectorAll('#methods button').length > 0",
            STEP,
        );
        ExplorerPage {
            browser,
            addr: gateway.addr.clone(),
            prefix: prefix.to_string(),
        }
    }

    /// Picks a method as a person does: `/` to the search box, its name, Enter.
    pub fn pick(&mut self, full_name: &str) {
        self.browser
            .eval("(() => { const search = document.getElementById('search'); search.value = ''; search.focus(); })()")
            .unwrap();
        let short = full_name.rsplit('.').next().unwrap();
        let service = full_name.rsplit('.').nth(1).unwrap();
        self.browser.type_text(&format!("{service} {short}"));
        self.browser.press_key("Enter");
        self.browser.wait_for(
            &format!("document.getElementById('method-name').textContent === {full_name:?}"),
            STEP,
        );
    }

    /// Types `text` into the form's input for the top-level field `json_name`.
    pub fn fill(&mut self, json_name: &str, text: &str) {
        let focused = self
            .browser
            .eval(&format!(
                "(() => {{ const input = document.querySelector('#form > .nested > [data-field={json_name:?}] input'); if (!input) return false; input.value = ''; input.focus(); return true; }})()"
            ))
            .unwrap();
        assert_eq!(focused, Value::Bool(true), "no input for {json_name}");
        self.browser.type_text(text);
    }

    /// Puts `request` in the JSON editor, as a paste would.
    pub fn set_json(&mut self, request: &str) {
        self.browser
            .eval(&format!(
                "(() => {{ const area = document.getElementById('json'); area.value = {request:?}; area.dispatchEvent(new Event('input')); }})()"
            ))
            .unwrap();
    }

    /// The request the JSON editor holds.
    pub fn json(&mut self) -> Value {
        let text = self
            .browser
            .eval("document.getElementById('json').value")
            .unwrap();
        serde_json::from_str(text.as_str().unwrap()).unwrap()
    }

    pub fn add_metadata(&mut self, key: &str, value: &str) {
        self.browser
            .eval(&format!(
                "(() => {{ const rows = document.querySelectorAll('#metadata-rows .pair'); const row = rows[rows.length - 1]; row.querySelector('.meta-key').value = {key:?}; row.querySelector('.meta-value').value = {value:?}; }})()"
            ))
            .unwrap();
    }

    /// Presses a button of the page by its id: focused, then Enter, as from the keyboard.
    pub fn press(&mut self, id: &str) {
        let focused = self
            .browser
            .eval(&format!(
                "(() => {{ const button = document.getElementById({id:?}); if (!button || button.hidden || button.disabled) return false; button.focus(); return document.activeElement === button; }})()"
            ))
            .unwrap();
        assert_eq!(focused, Value::Bool(true), "button #{id} cannot be pressed");
        self.browser.press_key("Enter");
    }

    /// Waits for the call to end; its status name.
    pub fn wait_status(&mut self) -> String {
        self.browser.wait_for(
            "(() => { const s = document.getElementById('status').textContent; return s && s !== 'calling…' ? s : null; })()",
            STEP,
        )
        .as_str()
        .unwrap()
        .to_string()
    }

    pub fn status(&mut self) -> String {
        let status = self
            .browser
            .eval("document.getElementById('status').textContent")
            .unwrap();
        status.as_str().unwrap().to_string()
    }

    /// Waits until `count` answers have been shown.
    pub fn wait_received(&mut self, count: usize) {
        self.browser.wait_for(
            &format!("document.querySelectorAll('#messages li.received').length >= {count}"),
            STEP,
        );
    }

    /// The answers shown, in order.
    pub fn received(&mut self) -> Vec<Value> {
        let texts = self
            .browser
            .eval("Array.from(document.querySelectorAll('#messages li.received pre')).map((pre) => pre.textContent)")
            .unwrap();
        texts
            .as_array()
            .unwrap()
            .iter()
            .map(|text| serde_json::from_str(text.as_str().unwrap()).unwrap())
            .collect()
    }

    /// The text of an element.
    pub fn text(&mut self, id: &str) -> String {
        let text = self
            .browser
            .eval(&format!("document.getElementById({id:?}).textContent"))
            .unwrap();
        text.as_str().unwrap_or_default().to_string()
    }

    /// The table of response headers or trailers, as pairs.
    pub fn table(&mut self, id: &str) -> Vec<(String, String)> {
        let rows = self
            .browser
            .eval(&format!(
                "Array.from(document.querySelectorAll('#{id} tr')).map((row) => [row.cells[0].textContent, row.cells[1].textContent])"
            ))
            .unwrap();
        serde_json::from_value(rows).unwrap()
    }

    /// The command "Copy as" shows for `what` (grpcx, curl or grpcurl).
    pub fn copy_as(&mut self, what: &str) -> String {
        self.press(&format!("copy-{what}"));
        self.browser.wait_for(
            "!document.getElementById('copied').hidden && document.getElementById('copied').textContent",
            STEP,
        );
        self.text("copied")
    }

    pub fn screenshot(&mut self, state: &str) -> PathBuf {
        let path = shots().join(format!("{}-{state}.png", self.prefix));
        self.browser.screenshot(&path);
        path
    }

    /// Every request the page made went to the gateway, and none failed; nothing was logged
    /// as an error.
    pub fn assert_clean(&mut self) {
        let own = format!("http://{}/", self.addr);
        let own_socket = format!("ws://{}/", self.addr);
        for request in self.browser.requests() {
            assert!(
                request.url.starts_with(&own) || request.url.starts_with(&own_socket),
                "the page asked another host: {request:?}"
            );
            assert_eq!(request.failed, None, "{request:?}");
            assert!(
                matches!(request.status, Some(200 | 101) | None),
                "{request:?}"
            );
        }
        let errors = self.browser.errors();
        assert!(errors.is_empty(), "the page logged errors: {errors:#?}");
    }
}

pub fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a copied command line in `sh`, with this build's grpcx first on the PATH and a
/// private home; its stdout.
pub fn run_copied(command: &str) -> String {
    let home = support::Home::new();
    let grpcx = support::grpcx_command(home.path());
    let bin = PathBuf::from(grpcx.get_program());
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = std::process::Command::new("sh");
    shell.arg("-c").arg(command).env("PATH", path);
    for (key, value) in grpcx.get_envs() {
        match value {
            Some(value) => shell.env(key, value),
            None => shell.env_remove(key),
        };
    }
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = shell
        .stdin(std::process::Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let code = support::wait_bounded(&mut child, support::RUN_LIMIT);
    let stdout = std::fs::read_to_string(out.path()).unwrap();
    let stderr = std::fs::read_to_string(err.path()).unwrap();
    assert_eq!(
        code,
        Some(0),
        "{command}\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// The demo behind the gateway, explored: every kind of method called from the form or the
/// JSON editor, a stream's answers shown as they come, a bidirectional exchange with a
/// half-close, an error with its decoded details, metadata both ways, the copied commands
/// run with the same answer, the form and the JSON kept in step, history and a shareable
/// link, and a narrow window.
#[test]
#[ignore = "needs chromium (Debian's package; .ci/run installs it): cargo test -- --include-ignored"]
fn the_explorer_calls_every_kind_of_method_in_a_real_browser() {
    let server = support::TestServer::start();
    let gateway = Gateway::start(&server, &[]);
    let mut page = ExplorerPage::open(&gateway, "ui");
    page.screenshot("start");

    // Unary, from the form, with metadata that comes back as a response header.
    page.pick("grpcx.demo.v1.ItemService.GetItem");
    page.fill("id", "2");
    assert_eq!(page.json(), serde_json::json!({"id": "2"}));
    page.add_metadata("x-echo-who", "explorer");
    page.press("call");
    assert_eq!(page.wait_status(), "OK");
    let item = page.received();
    assert_eq!(item.len(), 1, "{item:?}");
    assert_eq!(item[0]["id"], "2", "{item:?}");
    assert!(
        page.table("response-headers")
            .contains(&("x-echo-who".to_string(), "explorer".to_string())),
        "{:?}",
        page.table("response-headers")
    );
    assert!(page.text("elapsed").ends_with(" s"));

    // The copied commands give the same answer.
    let grpcx = page.copy_as("grpcx");
    assert!(grpcx.starts_with("grpcx --addr "), "{grpcx}");
    let answer: Value = serde_json::from_str(&run_copied(&grpcx)).unwrap();
    assert_eq!(answer, item[0], "{grpcx}");
    let curl = page.copy_as("curl");
    assert!(curl.contains("/v1/items/2"), "the REST route: {curl}");
    let answer: Value = serde_json::from_str(&run_copied(&curl)).unwrap();
    assert_eq!(answer, item[0], "{curl}");
    let grpcurl = page.copy_as("grpcurl");
    assert!(
        grpcurl.contains("-plaintext")
            && grpcurl.contains("-H 'x-echo-who: explorer'")
            && grpcurl.ends_with(&format!(
                "-d '{{\"id\":\"2\"}}' {} grpcx.demo.v1.ItemService/GetItem",
                server.addr
            )),
        "{grpcurl}"
    );
    page.screenshot("unary");

    // A server stream: the first answer shows while the call is still under way.
    page.pick("grpcx.demo.v1.ItemService.ListItems");
    page.set_json(r#"{"limit": 3, "delay": "0.4s"}"#);
    page.press("call");
    page.wait_received(1);
    assert_eq!(page.status(), "calling…", "the stream came all at once");
    page.screenshot("stream-arriving");
    assert_eq!(page.wait_status(), "OK");
    let ids: Vec<Value> = page
        .received()
        .iter()
        .map(|item| item["id"].clone())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);

    // Bidirectional: an answer to each message as it is sent, then the half-close ends it.
    page.pick("grpcx.demo.v1.ItemService.SyncItems");
    page.set_json(r#"{"getId": "1"}"#);
    page.press("call");
    page.wait_received(1);
    page.set_json(r#"{"getId": "3"}"#);
    page.press("send");
    page.wait_received(2);
    assert_eq!(page.status(), "calling…");
    page.screenshot("bidi-open");
    page.press("half-close");
    assert_eq!(page.wait_status(), "OK");
    let answers = page.received();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(answers[0].to_string().contains("\"1\""), "{answers:?}");
    assert!(answers[1].to_string().contains("\"3\""), "{answers:?}");
    page.screenshot("bidi-done");

    // A client stream: two items, half-closed, one summary; the copied grpcx sends both.
    page.pick("grpcx.demo.v1.ItemService.CreateItems");
    page.set_json(r#"{"name": "first from the browser"}"#);
    page.press("call");
    page.browser.wait_for(
        "document.querySelectorAll('#messages li.sent').length === 1",
        STEP,
    );
    page.set_json(r#"{"name": "second from the browser"}"#);
    page.press("send");
    page.press("half-close");
    assert_eq!(page.wait_status(), "OK");
    let summary = page.received();
    assert_eq!(summary[0]["count"], 2, "{summary:?}");
    let copied = page.copy_as("grpcx");
    let again: Value = serde_json::from_str(&run_copied(&copied)).unwrap();
    assert_eq!(again["count"], 2, "{copied}: {again}");

    // An error, its details decoded.
    page.pick("grpcx.demo.v1.TypesService.Fail");
    page.set_json(
        r#"{"code": 8, "message": "slow down", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}]}"#,
    );
    page.press("call");
    assert_eq!(page.wait_status(), "RESOURCE_EXHAUSTED");
    assert_eq!(page.text("status-message"), "slow down");
    let details = page.text("status-details");
    assert!(
        details.contains("google.rpc.RetryInfo") && details.contains("\"2s\""),
        "{details}"
    );
    page.screenshot("error");

    // Metadata that breaks gRPC's rules is refused before anything is sent.
    page.pick("grpcx.demo.v1.ItemService.GetItem");
    page.add_metadata("grpc-timeout", "1");
    page.press("call");
    page.browser.wait_for(
        "document.getElementById('metadata-error').textContent.includes('grpc-')",
        STEP,
    );
    page.add_metadata("", "");

    // Every field kind has its input, and the form and the JSON follow each other.
    page.pick("grpcx.demo.v1.TypesService.Echo");
    let kinds = page
        .browser
        .eval(
            "({ selects: document.querySelectorAll('#form select').length, \
                checkboxes: document.querySelectorAll('#form input[type=checkbox]').length, \
                adds: document.querySelectorAll('#form [data-add]').length, \
                oneofs: document.querySelectorAll('#form [data-oneof]').length, \
                areas: document.querySelectorAll('#form textarea').length })",
        )
        .unwrap();
    for kind in ["selects", "checkboxes", "adds", "oneofs", "areas"] {
        assert!(kinds[kind].as_u64().unwrap() > 0, "no {kind}: {kinds}");
    }
    let added = page
        .browser
        .eval("(() => { const add = document.querySelector('#form [data-add]'); add.click(); return add.dataset.add; })()")
        .unwrap();
    let added = added.as_str().unwrap().to_string();
    assert_eq!(
        page.json()[&added].as_array().map(Vec::len),
        Some(1),
        "{added}"
    );
    page.screenshot("form");
    page.press("call");
    assert_eq!(
        page.wait_status(),
        "OK",
        "the template is a request the server takes"
    );
    page.set_json(r#"{"oString": "from the JSON editor"}"#);
    let shown = page
        .browser
        .eval("document.querySelector('#form [data-oneof]').value")
        .unwrap();
    assert_eq!(shown, "oString", "the form follows the JSON");

    // History and the link: the page opened from its URL has the method and request.
    let link = page.browser.eval("location.href").unwrap();
    let history = page
        .browser
        .eval("document.querySelectorAll('#history button').length")
        .unwrap();
    assert!(history.as_u64().unwrap() >= 5, "{history}");
    let mut shared = ExplorerPage::open(&gateway, "ui-link");
    shared.browser.navigate(link.as_str().unwrap());
    shared.browser.wait_for(
        "document.getElementById('method-name').textContent === 'grpcx.demo.v1.TypesService.Echo'",
        STEP,
    );
    assert_eq!(
        shared.json(),
        serde_json::json!({"oString": "from the JSON editor"})
    );
    shared.assert_clean();

    // A narrow window: nothing wider than the window.
    page.browser.set_viewport(420, 900);
    page.pick("grpcx.demo.v1.ItemService.GetItem");
    let width = page
        .browser
        .eval("document.documentElement.scrollWidth")
        .unwrap();
    assert!(width.as_u64().unwrap() <= 420, "{width}");
    page.screenshot("narrow");
    page.assert_clean();
}
