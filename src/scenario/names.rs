//! Server names: `server-N` is how the scenario, the engine, the trace and the window name
//! the N-th API server. This file owns the one formatter and the one parser of that name, so
//! every layer reads `server-2` the same way.

/// The name of server `n` (`server-3` for 3), as the engine, trace and window show it.
pub fn server_name(n: u16) -> String {
    format!("server-{n}")
}

/// The number N of a `server-N` name; `None` for anything else (`server-`, `server-x`,
/// `server-0`, a number past `u16`, `cdn`). N is read as `u16::from_str` reads it, so
/// `server-03` is server 3, as every reader of these names has always accepted.
pub fn server_number(name: &str) -> Option<u16> {
    name.strip_prefix("server-")?
        .parse::<u16>()
        .ok()
        .filter(|&n| n > 0)
}

/// Sort key for names that may be `server-N`: servers by N, then anything else last, each
/// tie broken by the name.
pub fn server_sort_key(name: &str) -> (u32, String) {
    let n = server_number(name).map_or(u32::MAX, u32::from);
    (n, name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_reads_back_to_its_number() {
        for n in [1, 2, 10, 64, u16::MAX] {
            assert_eq!(server_number(&server_name(n)), Some(n));
        }
        assert_eq!(server_name(3), "server-3");
    }

    #[test]
    fn anything_but_a_positive_server_number_is_refused() {
        for name in [
            "",
            "server",
            "server-",
            "server-x",
            "server-0",
            "server--1",
            "server-1x",
            "server-65536",
            "Server-1",
            "servers-1",
            " server-1",
            "server-1 ",
            "cdn",
            "db",
        ] {
            assert_eq!(server_number(name), None, "{name:?}");
        }
    }

    #[test]
    fn leading_zeros_are_read_as_u16_reads_them() {
        assert_eq!(server_number("server-03"), Some(3));
        assert_eq!(server_number("server-+3"), Some(3));
    }

    #[test]
    fn servers_sort_by_number_then_the_rest_by_name() {
        let mut names = vec!["lb", "server-10", "server-2", "cdn", "server-1", "server-0"];
        names.sort_by_key(|n| server_sort_key(n));
        assert_eq!(
            names,
            ["server-1", "server-2", "server-10", "cdn", "lb", "server-0"]
        );
    }
}
