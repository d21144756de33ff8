//! `/docs`: Swagger UI reading the gateway's `/openapi.json`, its "Try it out" calling the
//! gateway itself. The assets are Swagger UI's own release files, packaged in the
//! `swagger-ui-redist` crate and served from the binary: the page works offline and asks no
//! other host for anything (its Content-Security-Policy says so to the browser too). The page
//! carries the gateway's token, which "Try it out" sends with each call (`server::check_token`).

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use swagger_ui_redist::{SwaggerUi, SwaggerUiStaticFile};

/// Where the page is served; its assets are under it.
pub const DOCS_PATH: &str = "/docs";

/// The page: Swagger UI's assets, and the script that starts it on `/openapi.json`;
/// `{{TOKEN}}` becomes the gateway's token.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="grpcx-token" content="{{TOKEN}}">
  <title>API reference · grpcx gateway</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="stylesheet" href="/docs/index.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/start.js"></script>
</body>
</html>
"#;

/// Starts Swagger UI: a separate file, so that the page needs no inline script.
const START: &str = r##"window.addEventListener("load", function () {
  var token = document.querySelector('meta[name="grpcx-token"]').content;
  window.ui = SwaggerUIBundle({
    requestInterceptor: function (request) {
      request.headers["X-Grpcx-Token"] = token;
      return request;
    },
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    displayRequestDuration: true,
    filter: true,
    tryItOutEnabled: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
});
"##;

/// What the page may load: only what this gateway serves (Swagger UI needs inline styles and
/// `data:` images of its own).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The answer to `path` (`/docs` or a file under it), `None` for anything else.
pub fn answer(path: &str, token: &str) -> Option<Response> {
    if path == DOCS_PATH || path == "/docs/" {
        let mut page = file(
            Body::from(PAGE.replace("{{TOKEN}}", token)),
            "text/html; charset=utf-8",
        );
        // The token is this run's: never kept.
        page.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Some(page);
    }
    let name = path.strip_prefix("/docs/")?;
    if name == "start.js" {
        return Some(file(Body::from(START), "text/javascript; charset=utf-8"));
    }
    SwaggerUi::static_files()
        .iter()
        .find(|(asset, _)| asset.file_name() == name)
        .map(|(asset, bytes)| file(Body::from(*bytes), content_type(*asset)))
}

fn content_type(asset: SwaggerUiStaticFile) -> &'static str {
    match asset {
        SwaggerUiStaticFile::Css | SwaggerUiStaticFile::IndexCss => "text/css; charset=utf-8",
        SwaggerUiStaticFile::Js | SwaggerUiStaticFile::StandalonePresetJs => {
            "text/javascript; charset=utf-8"
        }
        SwaggerUiStaticFile::Favicon16 | SwaggerUiStaticFile::Favicon32 => "image/png",
        _ => "application/octet-stream",
    }
}

fn file(body: Body, content_type: &'static str) -> Response {
    own_file(
        body,
        content_type,
        CONTENT_SECURITY_POLICY,
        "public, max-age=3600",
    )
}

/// A file of the gateway's own pages (`/docs`, `/ui`): its type, the policy that keeps the
/// page to what the gateway serves, no sniffing, and how long a browser may keep it.
pub(super) fn own_file(
    body: Body,
    content_type: &'static str,
    policy: &'static str,
    cache: &'static str,
) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_every_asset_it_names_are_served() {
        let page = PAGE;
        for name in [
            "swagger-ui.css",
            "index.css",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
            "start.js",
            "favicon-32x32.png",
        ] {
            assert!(page.contains(&format!("/docs/{name}")), "{name}");
            assert!(answer(&format!("/docs/{name}"), "t").is_some(), "{name}");
        }
        assert!(answer("/docs", "t").is_some());
        assert!(answer("/docs/nothing.js", "t").is_none());
        assert!(answer("/other", "t").is_none());
    }
}
