//! A list request's query string (`?field=value`, `_page`, `_limit`, `_sort`, `_order`),
//! read against a resource's columns, and the SQL and `Link` header it leads to. Unknown
//! fields and bad values are errors that name them; column names only ever come from the
//! resource, values always travel as `?` parameters.

use rusqlite::types::Value;

use super::resources::{DEFAULT_LIMIT, MAX_LIMIT, Resource};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::resources::find;

    fn users() -> &'static Resource {
        find("users").expect("users exists")
    }

    #[test]
    fn query_text_is_decoded_without_panicking_on_bad_escapes() {
        assert_eq!(decode("New+York%21"), "New York!");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("caf%C3%A9"), "café");
        assert_eq!(decode("%FF"), "\u{fffd}");
    }

    #[test]
    fn lists_become_parameterised_sql() {
        let q = ListQuery::parse(users(), Some("city=Oslo&id=1&id=2&_sort=name&_order=DESC"))
            .expect("valid");
        let (sql, params) = q.select_sql(users());
        assert_eq!(
            sql,
            "SELECT * FROM users WHERE city = ? AND id IN (?, ?) ORDER BY name DESC, id"
        );
        assert_eq!(params.len(), 3);
        let (count, _) = q.count_sql(users());
        assert_eq!(
            count,
            "SELECT COUNT(*) AS total FROM users WHERE city = ? AND id IN (?, ?)"
        );
        assert_eq!(q.link_header(users(), 3), None, "no pages asked for");

        let paged = ListQuery::parse(users(), Some("city=Oslo&_page=1")).expect("valid");
        let (sql, params) = paged.select_sql(users());
        assert!(sql.ends_with("ORDER BY id LIMIT ? OFFSET ?"), "{sql}");
        assert_eq!(
            params[1..],
            [Value::Integer(DEFAULT_LIMIT), Value::Integer(0)]
        );
        let link = paged.link_header(users(), 25).expect("paged");
        assert!(!link.contains("prev"), "{link}");
        assert!(
            link.contains("</users?city=Oslo&_page=3&_limit=10>; rel=\"last\""),
            "{link}"
        );
    }
}
