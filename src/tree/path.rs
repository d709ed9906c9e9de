//! Path rules (`PathUtils.validatePath`) and the map key that keeps siblings together.

use crate::error::ErrorCode;

/// Checks a path with ZooKeeper's rules: absolute, no trailing slash, no empty,
/// "." or ".." component, no null or otherwise forbidden character.
pub fn validate(path: &str) -> Result<(), ErrorCode> {
    let bad = Err(ErrorCode::BadArguments);
    if !path.starts_with('/') {
        return bad;
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return bad;
    }
    for component in path[1..].split('/') {
        if component.is_empty() || component == "." || component == ".." {
            return bad;
        }
        if component.chars().any(forbidden_char) {
            return bad;
        }
    }
    Ok(())
}

/// Characters ZooKeeper refuses in a path. Java sees UTF-16 code units, so any
/// character outside the basic plane (a surrogate pair there) is refused too.
fn forbidden_char(c: char) -> bool {
    let c = c as u32;
    c == 0
        || (0x01..=0x1f).contains(&c)
        || (0x7f..=0x9f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        || (0xfff0..=0xffff).contains(&c)
        || c > 0xffff
}

/// Splits a path into its parent and last component: "/a/b" → ("/a", "b"),
/// "/a" → ("/", "a"). `None` for the root and for strings without a slash.
pub fn split(path: &str) -> Option<(&str, &str)> {
    if path == "/" {
        return None;
    }
    let i = path.rfind('/')?;
    let parent = if i == 0 { "/" } else { &path[..i] };
    Some((parent, &path[i + 1..]))
}

/// The key a node is stored under: `parent + '\0' + name`, and "" for the root.
///
/// Paths never contain a null character, so all children of one parent are
/// exactly the keys in `[parent + "\0", parent + "\x01")`: listing children is a
/// range scan, and no node needs its own child set.
pub fn node_key(path: &str) -> Option<String> {
    if path == "/" {
        return Some(String::new());
    }
    // ZooKeeper looks paths up exactly as written, so "//a" or "/a/" name no node;
    // an empty component must not alias another path's key.
    if !path.starts_with('/') || path.contains('\0') || path.contains("//") || path.ends_with('/') {
        return None;
    }
    let (parent, name) = split(path)?;
    let mut key = String::with_capacity(parent.len() + 1 + name.len());
    key.push_str(parent);
    key.push('\0');
    key.push_str(name);
    Some(key)
}

/// The path a key stands for (the inverse of `node_key`).
pub fn key_path(key: &str) -> String {
    match key.split_once('\0') {
        None => "/".to_string(),
        Some(("/", name)) => format!("/{name}"),
        Some((parent, name)) => format!("{parent}/{name}"),
    }
}

/// The bounds of the key range holding `path`'s children.
pub fn children_range(path: &str) -> (String, String) {
    (format!("{path}\0"), format!("{path}\u{1}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // ZooKeeper's path rules, case by case.
    #[test]
    fn validation() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/...", "/a/.b", "/zookeeper/x", "/ü"] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a", "a/b", "/a/", "//", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a\0b", "/a\u{1}", "/\u{e000}", "/😀"] {
            assert_eq!(validate(bad), Err(ErrorCode::BadArguments), "{bad:?}");
        }
    }

    // Paths with empty components have no key, so they cannot alias real nodes.
    #[test]
    fn no_aliasing_keys() {
        assert_eq!(node_key("//a"), None);
        assert_eq!(node_key("/a//b"), None);
        assert_eq!(node_key("/a/"), None);
        assert_eq!(node_key("/"), Some(String::new()));
    }

    proptest! {
        // Keys round-trip to paths, and a parent's range holds exactly its children.
        #[test]
        fn keys_group_children(parts in prop::collection::vec("[a-c]{1,2}", 1..4), other in prop::collection::vec("[a-c]{1,2}", 1..4)) {
            let path = format!("/{}", parts.join("/"));
            let key = node_key(&path).unwrap();
            prop_assert_eq!(key_path(&key), path.clone());
            let other_path = format!("/{}", other.join("/"));
            let other_key = node_key(&other_path).unwrap();
            let (lo, hi) = children_range(&path);
            let is_child = split(&other_path).map(|(p, _)| p == path).unwrap_or(false);
            prop_assert_eq!(other_key >= lo && other_key < hi, is_child);
        }
    }
}
