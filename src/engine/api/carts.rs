//! Session carts, for the statelessness lesson: `POST /cart/items` and `GET /cart`, keyed by
//! a `session` cookie (handed out with `Set-Cookie` when a request has none).
//!
//! By default a cart lives in the memory of the server that took it, so another server does
//! not know it (and a killed or restarted server forgets it) — the answer says so honestly,
//! naming the server and where the cart is kept. With `stateless` on, carts live in the
//! database's `carts` table and every server sees the same cart.

use std::collections::BTreeMap;
use std::sync::Mutex;

use hyper::StatusCode;
use hyper::header::{COOKIE, HeaderMap, SET_COOKIE};
use rusqlite::types::Value;
use serde_json::{Value as Json, json};

use super::routes::{Ctx, Reply, db_failure};

/// Sessions a server keeps in memory at most; past it, the oldest-named one is forgotten.
pub const MAX_SESSIONS: usize = 10_000;
/// Different items one cart may hold.
pub const MAX_ITEMS: usize = 100;
/// The most of one item a single request may add.
pub const MAX_QTY: i64 = 1000;
/// The longest item name, in characters.
pub const MAX_ITEM_CHARS: usize = 100;

/// Carts kept in one server's memory: session → item → quantity.
#[derive(Debug, Default)]
pub struct MemoryCarts {
    sessions: Mutex<BTreeMap<String, BTreeMap<String, i64>>>,
}

impl MemoryCarts {
    /// The items of `session`'s cart, by name.
    fn items(&self, session: &str) -> Vec<(String, i64)> {
        let sessions = self.sessions.lock().expect("cart lock");
        sessions
            .get(session)
            .map(|cart| cart.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// Adds `qty` of `item`; refuses a new item when the cart is full.
    fn add(&self, session: &str, item: &str, qty: i64) -> Result<(), String> {
        let mut sessions = self.sessions.lock().expect("cart lock");
        if !sessions.contains_key(session) && sessions.len() >= MAX_SESSIONS {
            sessions.pop_first();
        }
        let cart = sessions.entry(session.to_string()).or_default();
        if !cart.contains_key(item) && cart.len() >= MAX_ITEMS {
            return Err(format!(
                "the cart already holds {MAX_ITEMS} different items"
            ));
        }
        let n = cart.entry(item.to_string()).or_insert(0);
        *n = n.saturating_add(qty);
        Ok(())
    }

    /// Forgets every cart (the server process "died").
    pub fn clear(&self) {
        self.sessions.lock().expect("cart lock").clear();
    }

    /// Sessions held now.
    pub fn sessions(&self) -> usize {
        self.sessions.lock().expect("cart lock").len()
    }
}

/// The `session` cookie of a request, if it has a well-formed one.
fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "session")
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The request's session, or a new one (and the cookie that hands it out).
fn session(headers: &HeaderMap) -> (String, Option<String>) {
    match session_of(headers) {
        Some(s) => (s, None),
        None => {
            let s = format!("{:032x}", rand::random::<u128>());
            let cookie = format!("session={s}; Path=/; HttpOnly");
            (s, Some(cookie))
        }
    }
}

const CART_SQL: &str = "SELECT item, qty FROM carts WHERE session = ? ORDER BY item";
const ADD_SQL: &str = "INSERT INTO carts (session, item, qty) VALUES (?, ?, ?) \
     ON CONFLICT (session, item) DO UPDATE SET qty = qty + excluded.qty";

async fn items(ctx: &Ctx<'_>, session: &str) -> Result<Vec<(String, i64)>, Reply> {
    if !ctx.shared.stateless() {
        return Ok(ctx.carts.items(session));
    }
    let rows = ctx
        .db()
        .query(ctx.id, CART_SQL, &[Value::Text(session.to_string())])
        .await
        .map_err(|e| db_failure(&e))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let item = r
                .get("item")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            (item, r.get("qty").and_then(Json::as_i64).unwrap_or(0))
        })
        .collect())
}

fn cart_reply(
    ctx: &Ctx<'_>,
    status: StatusCode,
    session: &str,
    items: Vec<(String, i64)>,
) -> Reply {
    let stored_in = if ctx.shared.stateless() {
        "database".to_string()
    } else {
        format!("memory of {}", ctx.server)
    };
    let list: Vec<Json> = items
        .into_iter()
        .map(|(item, qty)| json!({ "item": item, "qty": qty }))
        .collect();
    Reply::json(
        status,
        json!({
            "session": session,
            "items": list,
            "server": ctx.server,
            "stored_in": stored_in,
        }),
    )
}

fn with_cookie(reply: Reply, cookie: Option<String>) -> Reply {
    match cookie {
        Some(c) => reply.with(SET_COOKIE, &c),
        None => reply,
    }
}

/// `GET /cart`: the session's cart as this server knows it.
pub async fn show(ctx: &Ctx<'_>, headers: &HeaderMap) -> Reply {
    let (session, cookie) = session(headers);
    let reply = match items(ctx, &session).await {
        Ok(list) => cart_reply(ctx, StatusCode::OK, &session, list),
        Err(refused) => refused,
    };
    with_cookie(reply, cookie)
}

/// Reads `{"item": "...", "qty": N}` (`qty` defaults to 1).
fn parse_item(bytes: &[u8]) -> Result<(String, i64), String> {
    let body: Json =
        serde_json::from_slice(bytes).map_err(|e| format!("the body is not valid JSON: {e}"))?;
    let Json::Object(object) = body else {
        return Err("the body must be a JSON object like {\"item\": \"pizza\", \"qty\": 2}".into());
    };
    if let Some(key) = object.keys().find(|k| *k != "item" && *k != "qty") {
        return Err(format!(
            "unknown field `{key}`: a cart item has `item` and `qty`"
        ));
    }
    let item = match object.get("item") {
        None => return Err("missing field `item`: expected the item's name as text".into()),
        Some(v) => v
            .as_str()
            .filter(|s| (1..=MAX_ITEM_CHARS).contains(&s.chars().count()))
            .ok_or_else(|| {
                format!("field `item` must be text (1 to {MAX_ITEM_CHARS} characters), got {v}")
            })?,
    };
    let qty = match object.get("qty") {
        None => 1,
        Some(v) => v
            .as_i64()
            .filter(|n| (1..=MAX_QTY).contains(n))
            .ok_or_else(|| {
                format!("field `qty` must be a whole number from 1 to {MAX_QTY}, got {v}")
            })?,
    };
    Ok((item.to_string(), qty))
}

/// `POST /cart/items`: adds to the session's cart and answers with the whole cart.
pub async fn add(ctx: &Ctx<'_>, headers: &HeaderMap, bytes: &[u8]) -> Reply {
    let (item, qty) = match parse_item(bytes) {
        Ok(pair) => pair,
        Err(message) => return Reply::error(StatusCode::BAD_REQUEST, &message),
    };
    let (session, cookie) = session(headers);
    let stored = if ctx.shared.stateless() {
        let params = [
            Value::Text(session.clone()),
            Value::Text(item),
            Value::Integer(qty),
        ];
        ctx.db()
            .execute(ctx.id, ADD_SQL, &params)
            .await
            .map(|_| ())
            .map_err(|e| db_failure(&e))
    } else {
        ctx.carts
            .add(&session, &item, qty)
            .map_err(|m| Reply::error(StatusCode::CONFLICT, &m))
    };
    let reply = match stored {
        Ok(()) => match items(ctx, &session).await {
            Ok(list) => cart_reply(ctx, StatusCode::OK, &session, list),
            Err(refused) => refused,
        },
        Err(refused) => refused,
    };
    with_cookie(reply, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn only_a_well_formed_session_cookie_counts() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; session=abc-123"),
        );
        assert_eq!(session_of(&h).as_deref(), Some("abc-123"));
        h.insert(COOKIE, HeaderValue::from_static("session=<script>"));
        assert_eq!(session_of(&h), None);
        let (fresh, cookie) = session(&h);
        assert_eq!(fresh.len(), 32);
        assert_eq!(cookie, Some(format!("session={fresh}; Path=/; HttpOnly")));
    }

    #[test]
    fn cart_items_are_checked_field_by_field() {
        assert_eq!(parse_item(br#"{"item":"tea"}"#), Ok(("tea".into(), 1)));
        let wrong = parse_item(br#"{"item":"tea","qty":"two"}"#).expect_err("qty text");
        assert!(wrong.contains("`qty`"), "{wrong}");
        let extra = parse_item(br#"{"item":"tea","price":2}"#).expect_err("unknown");
        assert!(extra.contains("`price`"), "{extra}");
        let missing = parse_item(br#"{"qty":2}"#).expect_err("missing");
        assert!(missing.contains("`item`"), "{missing}");
    }

    #[test]
    fn memory_carts_add_up_and_are_bounded() {
        let carts = MemoryCarts::default();
        carts.add("s", "tea", 2).expect("add");
        carts.add("s", "tea", 3).expect("add");
        assert_eq!(carts.items("s"), vec![("tea".to_string(), 5)]);
        for n in 1..MAX_ITEMS {
            carts.add("s", &format!("item-{n}"), 1).expect("room");
        }
        assert!(carts.add("s", "one-too-many", 1).is_err());
        carts.clear();
        assert_eq!(carts.sessions(), 0);
    }
}
