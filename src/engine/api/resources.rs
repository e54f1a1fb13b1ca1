//! The REST resources (`users`, `restaurants`, `orders`): their fields and types, how a JSON
//! body is checked against them (every error names the field and what was expected), and the
//! SQL each write runs. Column names only ever come from the tables below, never from the
//! request, so the SQL text is safe to build; values always travel as `?` params.

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
    pub fn parse_filter(self, text: &str) -> Option<Value> {
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

    pub fn known(&self) -> String {
        self.columns().collect::<Vec<_>>().join(", ")
    }

    pub fn kind_of(&self, column: &str) -> Option<Kind> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> &'static Resource {
        find("users").expect("users exists")
    }

    #[test]
    fn bodies_are_checked_against_the_url_and_the_fields() {
        let ok = users()
            .parse_body(br#"{"id":4,"city":"Rome"}"#, Write::Merge, Some(4))
            .expect("matching id is fine");
        assert_eq!(ok, vec![("city", Value::Text("Rome".into()))]);
        let moved = users()
            .parse_body(br#"{"id":5,"city":"Rome"}"#, Write::Merge, Some(4))
            .expect_err("id differs");
        assert!(moved.contains("`id`") && moved.contains('4'), "{moved}");
        let empty = users()
            .parse_body(b"  ", Write::Create, None)
            .expect_err("empty");
        assert!(empty.contains("name, email, city"), "{empty}");
        let email = users()
            .parse_body(
                br#"{"name":"A","email":"nope","city":"X"}"#,
                Write::Replace,
                Some(1),
            )
            .expect_err("bad email");
        assert!(email.contains("`email`") && email.contains("@"), "{email}");
    }
}
