//! Places in a scenario file: the line and column of a byte offset, the dotted field path
//! at an offset, and the offset of a field path.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted path of the innermost key whose key or value covers `offset`.
pub fn path_at(root: &Spanned<DeTable<'_>>, offset: usize) -> String {
    fn contains(value: &Spanned<DeValue<'_>>, offset: usize) -> bool {
        if value.span().contains(&offset) {
            return true;
        }
        // A table from a `[header]` spans only its header: look at its entries.
        if let Some(t) = value.get_ref().as_table() {
            return t
                .iter()
                .any(|(k, v)| k.span().contains(&offset) || contains(v, offset));
        }
        if let Some(items) = value.get_ref().as_array() {
            return items.iter().any(|v| contains(v, offset));
        }
        false
    }
    fn walk(table: &DeTable<'_>, offset: usize, path: &mut String) {
        for (key, value) in table.iter() {
            if !(key.span().contains(&offset) || contains(value, offset)) {
                continue;
            }
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key.get_ref());
            descend(value, offset, path);
            return;
        }
    }
    fn descend(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut String) {
        if let Some(t) = value.get_ref().as_table() {
            walk(t, offset, path);
        } else if let Some(items) = value.get_ref().as_array() {
            for (i, item) in items.iter().enumerate() {
                if contains(item, offset) {
                    path.push_str(&format!("[{}]", i + 1));
                    descend(item, offset, path);
                    return;
                }
            }
        }
    }
    let mut path = String::new();
    walk(root.get_ref(), offset, &mut path);
    if path.is_empty() {
        "scenario".into()
    } else {
        path
    }
}

/// The byte offset of the value at a path like `profiles[2].latency` (1-based index), or of
/// the closest parent that is written in the file.
pub fn span_of(root: &Spanned<DeTable<'_>>, path: &str) -> Option<usize> {
    let mut best = None;
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let table = match current {
            None => Some(root.get_ref()),
            Some(v) => v.get_ref().as_table(),
        };
        let found = table.and_then(|t| {
            t.iter()
                .find(|(k, _)| k.get_ref() == name)
                .map(|(k, v)| (k.span().start, v))
        });
        let Some((key_offset, mut value)) = found else {
            break;
        };
        best = Some(key_offset);
        if let Some(i) = index {
            match value
                .get_ref()
                .as_array()
                .and_then(|a| a.get(i.saturating_sub(1)))
            {
                Some(item) => {
                    value = item;
                    best = Some(item.span().start);
                }
                None => break,
            }
        }
        current = Some(value);
    }
    best
}
