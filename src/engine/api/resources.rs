//! The REST resources (`users`, `restaurants`, `orders`): their fields and types, how a JSON
//! body is checked against them (every error names the field and what was expected), how a
//! list's query string (`?field=value`, `_page`, `_limit`, `_sort`, `_order`) is read, and
//! the SQL each operation runs. Column names only ever come from the tables below, never
//! from the request, so the SQL text is safe to build; values always travel as `?` params.

use rusqlite::types::Value;
use serde_json::Value as Json;

/// The largest page a list answers (`_limit`).
pub const MAX_LIMIT: i64 = 1000;
/// The page size when `_page` is given without `_limit` (as json-server does).
pub const DEFAULT_LIMIT: i64 = 10;
/// The longest text a field accepts, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// What an order's `status` may be.
pub const ORDER_STATUSES: [&str; 4] = ["placed", "preparing", "delivered", "cancelled"];

/// What a field holds and which values it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Non-empty text of at most `MAX_TEXT_CHARS` characters.
    Text,
    /// Text with an `@` in it.
    Email,
    /// A number from 0 to 5.
    Rating,
    /// A number of at least 0 (money).
    Amount,
    /// A whole number of at least 1 (a row id).
    Reference,
    /// One of `ORDER_STATUSES`.
    Status,
}

impl Kind {
    /// What a client should send, in words.
    pub fn expected(self) -> String {
        match self {
            Kind::Text => format!("text (1 to {MAX_TEXT_CHARS} characters)"),
            Kind::Email => "an email address (text with an @)".into(),
            Kind::Rating => "a number from 0 to 5".into(),
            Kind::Amount => "a number of at least 0".into(),
            Kind::Reference => "a whole number of at least 1 (an id)".into(),
            Kind::Status => format!("one of {}", ORDER_STATUSES.join(", ")),
        }
    }

    /// The SQL value for a JSON value, if it is acceptable.
    fn accept(self, v: &Json) -> Option<Value> {
        match self {
            Kind::Text | Kind::Email => {
                let s = v.as_str()?;
                let chars = s.chars().count();
                let ok = (1..=MAX_TEXT_CHARS).contains(&chars)
                    && (self != Kind::Email || s.contains('@'));
                ok.then(|| Value::Text(s.to_string()))
            }
            Kind::Rating => v
                .as_f64()
                .filter(|n| (0.0..=5.0).contains(n))
                .map(Value::Real),
            Kind::Amount => v
                .as_f64()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .map(Value::Real),
            Kind::Reference => v.as_i64().filter(|n| *n >= 1).map(Value::Integer),
            Kind::Status => v
                .as_str()
                .filter(|s| ORDER_STATUSES.contains(s))
                .map(|s| Value::Text(s.to_string())),
        }
    }

    /// The SQL value for a filter written in a query string.
    fn parse_filter(self, text: &str) -> Option<Value> {
        match self {
            Kind::Text | Kind::Email | Kind::Status => Some(Value::Text(text.to_string())),
            Kind::Rating | Kind::Amount => text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Value::Real),
            Kind::Reference => text.parse::<i64>().ok().map(Value::Integer),
        }
    }
}

/// One column a client may write.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Used when a create or replace leaves the field out; `None`: the field is required.
    pub default: Option<&'static str>,
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        default: None,
    }
}

/// A collection served at `/<name>`, stored in the table of the same name.
#[derive(Debug)]
pub struct Resource {
    pub name: &'static str,
    /// The writable columns, in table order (`id` comes first and is the server's).
    pub fields: &'static [Field],
    /// Every method needs `Authorization: Bearer <allowed token>`.
    pub needs_token: bool,
}

/// Every resource the API serves.
pub static RESOURCES: [Resource; 3] = [
    Resource {
        name: "users",
        fields: &[
            field("name", Kind::Text),
            field("email", Kind::Email),
            field("city", Kind::Text),
        ],
        needs_token: false,
    },
    Resource {
        name: "restaurants",
        fields: &[
            field("name", Kind::Text),
            field("cuisine", Kind::Text),
            field("city", Kind::Text),
            field("rating", Kind::Rating),
        ],
        needs_token: false,
    },
    Resource {
        name: "orders",
        fields: &[
            field("user_id", Kind::Reference),
            field("restaurant_id", Kind::Reference),
            field("total", Kind::Amount),
            Field {
                name: "status",
                kind: Kind::Status,
                default: Some("placed"),
            },
        ],
        needs_token: true,
    },
];

/// The resource named `name`.
pub fn find(name: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.name == name)
}

/// How a body is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// POST: every required field, no `id`.
    Create,
    /// PUT: every required field; an `id`, if sent, must match the URL.
    Replace,
    /// PATCH: any of the fields; an `id`, if sent, must match the URL.
    Merge,
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "true/false",
        Json::Number(_) => "a number",
        Json::String(_) => "text",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// A short picture of a value for error messages (long values are cut).
fn show(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

impl Resource {
    /// Column names a client may filter and sort by: `id` and the fields.
    pub fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once("id").chain(self.fields.iter().map(|f| f.name))
    }

    fn known(&self) -> String {
        self.columns().collect::<Vec<_>>().join(", ")
    }

    fn kind_of(&self, column: &str) -> Option<Kind> {
        if column == "id" {
            return Some(Kind::Reference);
        }
        self.fields
            .iter()
            .find(|f| f.name == column)
            .map(|f| f.kind)
    }

    /// Checks a request body; returns the columns to write with their values, in table
    /// order. `url_id` is the id in the URL (PUT, PATCH).
    pub fn parse_body(
        &self,
        bytes: &[u8],
        mode: Write,
        url_id: Option<i64>,
    ) -> Result<Vec<(&'static str, Value)>, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(format!(
                "the body is empty: send a JSON object with the fields {}",
                self.fields
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let body: Json = serde_json::from_slice(bytes)
            .map_err(|e| format!("the body is not valid JSON: {e}"))?;
        let Json::Object(object) = body else {
            return Err(format!(
                "the body must be a JSON object, got {}",
                json_kind(&body)
            ));
        };
        for (key, value) in &object {
            if key == "id" {
                match (mode, url_id) {
                    (Write::Create, _) | (_, None) => {
                        return Err("field `id` is chosen by the server: leave it out".into());
                    }
                    (_, Some(id)) if value.as_i64() != Some(id) => {
                        return Err(format!(
                            "field `id` is {} but the URL names {}: leave `id` out or make them match",
                            show(value),
                            id
                        ));
                    }
                    _ => {}
                }
            } else if self.kind_of(key).is_none() {
                return Err(format!(
                    "unknown field `{key}` for {}: the fields are {}",
                    self.name,
                    self.fields
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let mut out = Vec::with_capacity(self.fields.len());
        for f in self.fields {
            match object.get(f.name) {
                Some(v) => match f.kind.accept(v) {
                    Some(value) => out.push((f.name, value)),
                    None => {
                        return Err(format!(
                            "field `{}` must be {}, got {}",
                            f.name,
                            f.kind.expected(),
                            show(v)
                        ));
                    }
                },
                None if mode == Write::Merge => {}
                None => match f.default {
                    Some(d) => out.push((f.name, Value::Text(d.to_string()))),
                    None => {
                        return Err(format!(
                            "missing field `{}`: expected {}",
                            f.name,
                            f.kind.expected()
                        ));
                    }
                },
            }
        }
        Ok(out)
    }

    /// `SELECT * FROM <table> WHERE id = ?`
    pub fn select_one_sql(&self) -> String {
        format!("SELECT * FROM {} WHERE id = ?", self.name)
    }

    /// `INSERT INTO <table> (a, b) VALUES (?, ?) RETURNING *`
    pub fn insert_sql(&self, columns: &[&str]) -> String {
        let marks = vec!["?"; columns.len()].join(", ");
        format!(
            "INSERT INTO {} ({}) VALUES ({marks}) RETURNING *",
            self.name,
            columns.join(", ")
        )
    }

    /// `UPDATE <table> SET a = ?, b = ? WHERE id = ? RETURNING *`
    pub fn update_sql(&self, columns: &[&str]) -> String {
        let sets: Vec<String> = columns.iter().map(|c| format!("{c} = ?")).collect();
        format!(
            "UPDATE {} SET {} WHERE id = ? RETURNING *",
            self.name,
            sets.join(", ")
        )
    }

    /// `DELETE FROM <table> WHERE id = ?`
    pub fn delete_sql(&self) -> String {
        format!("DELETE FROM {} WHERE id = ?", self.name)
    }
}

/// A page of a list: which page and how many rows per page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub number: i64,
    pub limit: i64,
}

impl Page {
    /// Rows to skip.
    pub fn offset(self) -> i64 {
        (self.number - 1).saturating_mul(self.limit)
    }
}

/// A list request read from its query string.
#[derive(Debug, PartialEq)]
pub struct ListQuery {
    /// Column and the values it may equal (a repeated filter means "any of these").
    pub filters: Vec<(&'static str, Vec<Value>)>,
    pub page: Option<Page>,
    pub sort: &'static str,
    pub descending: bool,
    /// The query's other pairs, as sent, to carry into pagination links.
    pub kept: Vec<String>,
}

/// `%41` → `A`, `+` → space; bad escapes are kept as written, bad UTF-8 shown lossily.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn whole(name: &str, text: &str, low: i64, high: i64) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|n| (low..=high).contains(n))
        .ok_or_else(|| {
            format!("`{name}` must be a whole number from {low} to {high}, got `{text}`")
        })
}

impl ListQuery {
    /// Reads `raw` (the URL's query, undecoded) for resource `res`.
    pub fn parse(res: &Resource, raw: Option<&str>) -> Result<ListQuery, String> {
        let mut q = ListQuery {
            filters: Vec::new(),
            page: None,
            sort: "id",
            descending: false,
            kept: Vec::new(),
        };
        let (mut page, mut limit) = (None, None);
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (key, value) = (decode(k), decode(v));
            match key.as_str() {
                "_page" => page = Some(whole("_page", &value, 1, i64::MAX / MAX_LIMIT)?),
                "_limit" => limit = Some(whole("_limit", &value, 1, MAX_LIMIT)?),
                "_sort" => {
                    q.sort = res.columns().find(|c| *c == value).ok_or_else(|| {
                        format!(
                            "cannot sort {} by `{value}`: use one of {}",
                            res.name,
                            res.known()
                        )
                    })?;
                }
                "_order" => {
                    q.descending = match value.to_ascii_lowercase().as_str() {
                        "asc" => false,
                        "desc" => true,
                        _ => return Err(format!("`_order` must be asc or desc, got `{value}`")),
                    };
                }
                k if k.starts_with('_') => {
                    return Err(format!(
                        "unknown parameter `{k}`: use _page, _limit, _sort or _order"
                    ));
                }
                _ => {
                    let column = res.columns().find(|c| *c == key).ok_or_else(|| {
                        format!(
                            "cannot filter {} by `{key}`: it has no such field (fields: {})",
                            res.name,
                            res.known()
                        )
                    })?;
                    let kind = res.kind_of(column).expect("a listed column has a kind");
                    let parsed = kind.parse_filter(&value).ok_or_else(|| {
                        format!(
                            "filter `{column}` must be {}, got `{value}`",
                            kind.expected()
                        )
                    })?;
                    match q.filters.iter_mut().find(|(c, _)| *c == column) {
                        Some((_, values)) => values.push(parsed),
                        None => q.filters.push((column, vec![parsed])),
                    }
                }
            }
            if !matches!(key.as_str(), "_page" | "_limit") {
                q.kept.push(pair.to_string());
            }
        }
        if page.is_some() || limit.is_some() {
            q.page = Some(Page {
                number: page.unwrap_or(1),
                limit: limit.unwrap_or(DEFAULT_LIMIT),
            });
        }
        Ok(q)
    }

    /// ` WHERE a = ? AND b IN (?, ?)` (or nothing) and its params.
    fn where_clause(&self) -> (String, Vec<Value>) {
        let mut params = Vec::new();
        let mut terms = Vec::new();
        for (column, values) in &self.filters {
            params.extend(values.iter().cloned());
            terms.push(if values.len() == 1 {
                format!("{column} = ?")
            } else {
                format!("{column} IN ({})", vec!["?"; values.len()].join(", "))
            });
        }
        if terms.is_empty() {
            (String::new(), params)
        } else {
            (format!(" WHERE {}", terms.join(" AND ")), params)
        }
    }

    /// The statement that fetches the rows, and its params.
    pub fn select_sql(&self, res: &Resource) -> (String, Vec<Value>) {
        let (clause, mut params) = self.where_clause();
        let order = if self.descending { " DESC" } else { "" };
        let tiebreak = if self.sort == "id" { "" } else { ", id" };
        let mut sql = format!(
            "SELECT * FROM {}{clause} ORDER BY {}{order}{tiebreak}",
            res.name, self.sort
        );
        if let Some(page) = self.page {
            sql.push_str(" LIMIT ? OFFSET ?");
            params.push(Value::Integer(page.limit));
            params.push(Value::Integer(page.offset()));
        }
        (sql, params)
    }

    /// The statement that counts every matching row (for `X-Total-Count`), and its params.
    pub fn count_sql(&self, res: &Resource) -> (String, Vec<Value>) {
        let (clause, params) = self.where_clause();
        (
            format!("SELECT COUNT(*) AS total FROM {}{clause}", res.name),
            params,
        )
    }

    /// The `Link` header for a paginated answer with `total` matching rows.
    pub fn link_header(&self, res: &Resource, total: i64) -> Option<String> {
        let page = self.page?;
        let last = ((total + page.limit - 1) / page.limit).max(1);
        let url = |n: i64| {
            let mut pairs = self.kept.clone();
            pairs.push(format!("_page={n}"));
            pairs.push(format!("_limit={}", page.limit));
            format!("</{}?{}>", res.name, pairs.join("&"))
        };
        let mut links = vec![format!("{}; rel=\"first\"", url(1))];
        if page.number > 1 {
            links.push(format!(
                "{}; rel=\"prev\"",
                url((page.number - 1).min(last))
            ));
        }
        if page.number < last {
            links.push(format!("{}; rel=\"next\"", url(page.number + 1)));
        }
        links.push(format!("{}; rel=\"last\"", url(last)));
        Some(links.join(", "))
    }
}
