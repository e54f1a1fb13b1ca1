//! REST routing with json-server-like semantics: which route a request names, which methods
//! it allows (405 with `Allow`), bearer tokens for `orders` (401/403), JSON bodies (415,
//! 413, 400), the database work of each route, and the finishing touches every answer gets
//! here: `Content-Type`, `Cache-Control` (public for public resources, else `no-store`), a
//! strong `ETag` on GET answers and `304 Not Modified` when `If-None-Match` matches it.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderMap, HeaderName, HeaderValue,
    IF_NONE_MATCH, LOCATION,
};
use hyper::http::request::Parts;
use hyper::{Method, Response, StatusCode};
use rusqlite::types::Value;
use serde_json::{Value as Json, json};

use super::ApiShared;
use super::carts::{self, MemoryCarts};
use super::list::{ListQuery, decode};
use super::resources::{self, Resource, Write};
use crate::engine::db::{Db, DbError, Row};
use crate::engine::http::{Body, read_body};
use crate::trace::TraceId;

/// What a route needs to know about the request it serves and the server it runs on.
pub struct Ctx<'a> {
    pub id: TraceId,
    pub shared: &'a ApiShared,
    pub carts: &'a MemoryCarts,
    /// `server-N`.
    pub server: &'a str,
    pub max_body_bytes: usize,
    /// How long the body may take to arrive whole (then 408).
    pub body_timeout: std::time::Duration,
}

impl Ctx<'_> {
    /// The shared database.
    pub fn db(&self) -> &Db {
        &self.shared.db
    }
}

/// A route's answer before the common headers are added.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Json>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A public resource's representation, which shared caches may keep.
    pub public: bool,
}

impl Reply {
    /// An answer with a JSON body.
    pub fn json(status: StatusCode, body: Json) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            public: false,
        }
    }

    /// `{"error": message, "status": code}`.
    pub fn error(status: StatusCode, message: &str) -> Reply {
        Reply::json(
            status,
            json!({ "error": message, "status": status.as_u16() }),
        )
    }

    /// Adds a header (a value that cannot be a header is left out).
    pub fn with(mut self, name: HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    /// Marks it as cacheable by shared caches.
    pub fn public(mut self, public: bool) -> Reply {
        self.public = public;
        self
    }
}

/// The answer for a failed query: 409 when the change broke a rule (a duplicate email),
/// else 500.
pub fn db_failure(e: &DbError) -> Reply {
    if e.is_constraint() {
        Reply::error(
            StatusCode::CONFLICT,
            &format!("the change conflicts with data already stored: {e}"),
        )
    } else {
        Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the database failed: {e}"),
        )
    }
}

/// What a path names.
enum Target {
    Index,
    Collection(&'static Resource),
    /// The id as a number, or as written when it is not a usable id.
    Item(&'static Resource, Result<i64, String>),
    Cart,
    CartItems,
    Unknown,
}

impl Target {
    fn of(path: &str) -> Target {
        let trimmed = path
            .strip_suffix('/')
            .filter(|p| !p.is_empty())
            .unwrap_or(path);
        let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
        match segments.as_slice() {
            [""] => Target::Index,
            ["cart"] => Target::Cart,
            ["cart", "items"] => Target::CartItems,
            [name] => resources::find(name).map_or(Target::Unknown, Target::Collection),
            [name, id] => match resources::find(name) {
                Some(res) => Target::Item(
                    res,
                    id.parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| decode(id)),
                ),
                None => Target::Unknown,
            },
            _ => Target::Unknown,
        }
    }

    /// The route's pattern, as in `GET /users/:id`.
    fn pattern(&self) -> String {
        match self {
            Target::Index => "/".into(),
            Target::Collection(r) => format!("/{}", r.name),
            Target::Item(r, _) => format!("/{}/:id", r.name),
            Target::Cart => "/cart".into(),
            Target::CartItems => "/cart/items".into(),
            Target::Unknown => "(no route)".into(),
        }
    }

    fn allowed(&self) -> &'static [Method] {
        match self {
            Target::Index | Target::Cart => &[Method::GET, Method::HEAD],
            Target::Collection(_) => &[Method::GET, Method::HEAD, Method::POST],
            Target::Item(..) => &[
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ],
            Target::CartItems => &[Method::POST],
            Target::Unknown => &[],
        }
    }
}

/// Every method some route answers (the `Allow` of a CONNECT).
const SERVED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";

/// The label of the route a request takes (`GET /users/:id`), for the trace.
pub fn label(method: &Method, path: &str) -> String {
    format!("{method} {}", Target::of(path).pattern())
}

/// Serves one request (its label comes from `label`).
pub async fn route(ctx: &Ctx<'_>, parts: &Parts, body: Incoming) -> Reply {
    let target = Target::of(parts.uri.path());
    let method = &parts.method;
    if *method == Method::CONNECT {
        // CONNECT asks for a tunnel (its target is `host:port`, not a path): a proxy's job,
        // not an API's. 405 with the methods this server does answer.
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "CONNECT asks for a tunnel to {}, and this API server is not a proxy: \
                 use {SERVED_METHODS} on paths like /users",
                parts.uri.authority().map_or("a host", |a| a.as_str())
            ),
        )
        .with(hyper::header::ALLOW, SERVED_METHODS);
    }
    if let Target::Unknown = target {
        return Reply::error(
            StatusCode::NOT_FOUND,
            &format!(
                "nothing at {}: try /users, /restaurants, /orders or /cart",
                parts.uri.path()
            ),
        );
    }
    let allowed = target.allowed();
    if !allowed.contains(method) {
        let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        return Reply::error(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "{method} is not allowed on {}: use {}",
                target.pattern(),
                list.join(", ")
            ),
        )
        .with(hyper::header::ALLOW, &list.join(", "));
    }
    if let Target::Collection(res) | Target::Item(res, _) = &target
        && res.needs_token
        && let Err(refused) = authorize(ctx, &parts.headers, res)
    {
        return refused;
    }
    let wants_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
    let bytes = if wants_body {
        if !is_json(&parts.headers) {
            return Reply::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with the header Content-Type: application/json",
            );
        }
        match read_body(&parts.headers, body, ctx.max_body_bytes, ctx.body_timeout).await {
            Ok(b) => b,
            Err(e) => {
                let resp = e.response();
                return Reply::error(resp.status(), &e.to_string());
            }
        }
    } else {
        bytes::Bytes::new()
    };
    let result = match target {
        Target::Index => Ok(index(ctx)),
        Target::Cart => Ok(carts::show(ctx, &parts.headers).await),
        Target::CartItems => Ok(carts::add(ctx, &parts.headers, &bytes).await),
        Target::Collection(res) if wants_body => create(ctx, res, &bytes).await,
        Target::Collection(res) => list(ctx, res, parts.uri.query()).await,
        Target::Item(res, Err(raw)) => Err(Reply::error(
            StatusCode::NOT_FOUND,
            &format!(
                "no {} with id `{raw}`: ids are whole numbers from 1",
                res.name
            ),
        )),
        Target::Item(res, Ok(id)) => match *method {
            Method::PUT => write(ctx, res, id, &bytes, Write::Replace).await,
            Method::PATCH => write(ctx, res, id, &bytes, Write::Merge).await,
            Method::DELETE => delete(ctx, res, id).await,
            _ => get_one(ctx, res, id).await,
        },
        Target::Unknown => Err(Reply::error(StatusCode::NOT_FOUND, "no such route")),
    };
    result.unwrap_or_else(|refused| refused)
}

/// Whether `Content-Type` says JSON (`application/json`, or `application/*+json`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

fn authorize(ctx: &Ctx<'_>, headers: &HeaderMap, res: &Resource) -> Result<(), Reply> {
    let challenge = "Bearer realm=\"hopscope\"";
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(Reply::error(
            StatusCode::UNAUTHORIZED,
            &format!(
                "{} needs a token: send the header Authorization: Bearer <token>",
                res.name
            ),
        )
        .with(hyper::header::WWW_AUTHENTICATE, challenge));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
        });
    match token {
        None => Err(Reply::error(
            StatusCode::UNAUTHORIZED,
            "the Authorization header must look like `Bearer <token>`",
        )
        .with(
            hyper::header::WWW_AUTHENTICATE,
            "Bearer realm=\"hopscope\", error=\"invalid_request\"",
        )),
        Some(t) if t == ctx.shared.api.allowed_token => Ok(()),
        Some(_) => Err(Reply::error(
            StatusCode::FORBIDDEN,
            &format!("this token is known but may not use {}", res.name),
        )),
    }
}

fn is_public(ctx: &Ctx<'_>, res: &Resource) -> bool {
    ctx.shared
        .api
        .public_resources
        .iter()
        .any(|r| r == res.name)
}

fn index(ctx: &Ctx<'_>) -> Reply {
    let resources: Vec<String> = resources::RESOURCES
        .iter()
        .map(|r| format!("/{}", r.name))
        .collect();
    Reply::json(
        StatusCode::OK,
        json!({
            "server": ctx.server,
            "resources": resources,
            "cart": "/cart",
            "health": "/health",
        }),
    )
}

fn not_found(res: &Resource, id: i64) -> Reply {
    Reply::error(
        StatusCode::NOT_FOUND,
        &format!("no {} with id {id}", res.name),
    )
}

fn bad_request(message: String) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, &message)
}

async fn list(ctx: &Ctx<'_>, res: &Resource, raw: Option<&str>) -> Result<Reply, Reply> {
    let q = ListQuery::parse(res, raw).map_err(bad_request)?;
    let (sql, params) = q.select_sql(res);
    let rows = ctx
        .db()
        .query(ctx.id, &sql, &params)
        .await
        .map_err(|e| db_failure(&e))?;
    let total = match q.page {
        None => rows.len() as i64,
        Some(_) => {
            let (sql, params) = q.count_sql(res);
            let counted = ctx
                .db()
                .query(ctx.id, &sql, &params)
                .await
                .map_err(|e| db_failure(&e))?;
            counted
                .first()
                .and_then(|r| r.get("total"))
                .and_then(Json::as_i64)
                .unwrap_or(0)
        }
    };
    let rows: Vec<Json> = rows.into_iter().map(Json::Object).collect();
    let mut reply = Reply::json(StatusCode::OK, Json::Array(rows))
        .with(HeaderName::from_static("x-total-count"), &total.to_string())
        .public(is_public(ctx, res));
    if let Some(link) = q.link_header(res, total) {
        reply = reply.with(hyper::header::LINK, &link);
    }
    Ok(reply)
}

async fn fetch(ctx: &Ctx<'_>, res: &Resource, id: i64) -> Result<Option<Row>, Reply> {
    let rows = ctx
        .db()
        .query(ctx.id, &res.select_one_sql(), &[Value::Integer(id)])
        .await
        .map_err(|e| db_failure(&e))?;
    Ok(rows.into_iter().next())
}

async fn get_one(ctx: &Ctx<'_>, res: &Resource, id: i64) -> Result<Reply, Reply> {
    let row = fetch(ctx, res, id)
        .await?
        .ok_or_else(|| not_found(res, id))?;
    Ok(Reply::json(StatusCode::OK, Json::Object(row)).public(is_public(ctx, res)))
}

async fn create(ctx: &Ctx<'_>, res: &Resource, bytes: &[u8]) -> Result<Reply, Reply> {
    let fields = res
        .parse_body(bytes, Write::Create, None)
        .map_err(bad_request)?;
    let (columns, params): (Vec<&str>, Vec<Value>) = fields.into_iter().unzip();
    let rows = ctx
        .db()
        .query(ctx.id, &res.insert_sql(&columns), &params)
        .await
        .map_err(|e| db_failure(&e))?;
    let row = rows.into_iter().next().ok_or_else(|| {
        Reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the database stored the row but did not return it",
        )
    })?;
    let id = row.get("id").and_then(Json::as_i64).unwrap_or(0);
    Ok(Reply::json(StatusCode::CREATED, Json::Object(row))
        .with(LOCATION, &format!("/{}/{id}", res.name)))
}

async fn write(
    ctx: &Ctx<'_>,
    res: &Resource,
    id: i64,
    bytes: &[u8],
    mode: Write,
) -> Result<Reply, Reply> {
    let fields = res.parse_body(bytes, mode, Some(id)).map_err(bad_request)?;
    if fields.is_empty() {
        // An empty PATCH changes nothing: answer with the row as it is.
        let row = fetch(ctx, res, id)
            .await?
            .ok_or_else(|| not_found(res, id))?;
        return Ok(Reply::json(StatusCode::OK, Json::Object(row)));
    }
    let (columns, mut params): (Vec<&str>, Vec<Value>) = fields.into_iter().unzip();
    params.push(Value::Integer(id));
    let rows = ctx
        .db()
        .query(ctx.id, &res.update_sql(&columns), &params)
        .await
        .map_err(|e| db_failure(&e))?;
    let row = rows.into_iter().next().ok_or_else(|| not_found(res, id))?;
    Ok(Reply::json(StatusCode::OK, Json::Object(row)))
}

async fn delete(ctx: &Ctx<'_>, res: &Resource, id: i64) -> Result<Reply, Reply> {
    let done = ctx
        .db()
        .execute(ctx.id, &res.delete_sql(), &[Value::Integer(id)])
        .await
        .map_err(|e| db_failure(&e))?;
    if done.rows_changed == 0 {
        return Err(not_found(res, id));
    }
    Ok(Reply {
        status: StatusCode::NO_CONTENT,
        body: None,
        headers: Vec::new(),
        public: false,
    })
}

/// A strong validator for a body: FNV-1a, the same on every server for the same bytes.
pub fn etag_of(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for GET).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// Turns a reply into the response: body, `Content-Type`, `ETag`/304 and `Cache-Control`.
pub fn finish(
    reply: Reply,
    method: &Method,
    request_headers: &HeaderMap,
    max_age: Duration,
) -> Response<Body> {
    let bytes = reply
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default());
    let mut status = reply.status;
    let readable = matches!(*method, Method::GET | Method::HEAD);
    let mut etag = None;
    if readable && status == StatusCode::OK {
        let tag = etag_of(bytes.as_deref().unwrap_or_default());
        if none_match(request_headers, &tag) {
            status = StatusCode::NOT_MODIFIED;
        }
        etag = Some(tag);
    }
    let send_body = status != StatusCode::NOT_MODIFIED;
    let body = match (&bytes, send_body) {
        (Some(b), true) => Body::new(bytes::Bytes::from(b.clone())),
        _ => Body::default(),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if bytes.is_some() && send_body {
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(ETAG, tag);
    }
    let cache_control = if reply.public
        && readable
        && matches!(status, StatusCode::OK | StatusCode::NOT_MODIFIED)
    {
        format!("public, max-age={}", max_age.as_secs())
    } else {
        "no-store".to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        h.insert(CACHE_CONTROL, v);
    }
    for (name, value) in reply.headers {
        h.append(name, value);
    }
    resp
}
