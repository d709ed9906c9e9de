//! ACLs: the schemes ZooKeeper ships (world, auth, digest, ip, super) and the
//! permission checks, as `ZooKeeperServer.checkACL` and `PrepRequestProcessor.fixupACL` make them.

use crate::error::ErrorCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};

/// Permission bits (`ZooDefs.Perms`).
pub mod perms {
    /// Read data and list children.
    pub const READ: i32 = 1;
    /// Set data.
    pub const WRITE: i32 = 2;
    /// Create children.
    pub const CREATE: i32 = 4;
    /// Delete children.
    pub const DELETE: i32 = 8;
    /// Set the ACL.
    pub const ADMIN: i32 = 16;
    /// Everything.
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// An identity: a scheme and an id in it (`digest`, `user:hash`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    /// The auth scheme: world, auth, digest, ip, super.
    pub scheme: String,
    /// The id within the scheme.
    pub id: String,
}

impl Id {
    /// Builds an id from borrowed strings.
    pub fn new(scheme: &str, id: &str) -> Id {
        Id { scheme: scheme.to_string(), id: id.to_string() }
    }
}

/// One ACL entry: the permissions granted to an id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Acl {
    /// A bit set of `perms`.
    pub perms: i32,
    /// Who gets them.
    pub id: Id,
}

impl Acl {
    /// Builds an ACL entry.
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl { perms, id: Id::new(scheme, id) }
    }
}

/// `ZooDefs.Ids.OPEN_ACL_UNSAFE`: world:anyone with every permission.
pub fn open_acl_unsafe() -> Vec<Acl> {
    vec![Acl::new(perms::ALL, "world", "anyone")]
}

/// `ZooDefs.Ids.READ_ACL_UNSAFE`: world:anyone may read.
pub fn read_acl_unsafe() -> Vec<Acl> {
    vec![Acl::new(perms::READ, "world", "anyone")]
}

/// The digest id for `user:password`: `user:base64(sha1("user:password"))`.
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!("{}:{}", user, base64::engine::general_purpose::STANDARD.encode(hash))
}

/// The ids a successful `addauth digest user:password` grants.
///
/// A session whose digest equals the configured super digest also becomes
/// `super`, which bypasses every ACL check.
pub fn authenticate_digest(user_password: &[u8], super_digest: Option<&str>) -> Result<Vec<Id>, ErrorCode> {
    let text = std::str::from_utf8(user_password).map_err(|_| ErrorCode::AuthFailed)?;
    let digest = digest_id(text);
    let mut ids = Vec::with_capacity(2);
    if super_digest == Some(digest.as_str()) {
        ids.push(Id::new("super", ""));
    }
    ids.push(Id { scheme: "digest".into(), id: digest });
    Ok(ids)
}

/// Checks that `auth` holds `perm` on a node with `acl` (`checkACL`).
///
/// An empty ACL allows everything, as in ZooKeeper.
pub fn check(acl: &[Acl], perm: i32, auth: &[Id]) -> Result<(), ErrorCode> {
    if acl.is_empty() || is_super(auth) {
        return Ok(());
    }
    let granted = acl.iter().filter(|a| a.perms & perm != 0).any(|a| {
        (a.id.scheme == "world" && a.id.id == "anyone")
            || auth.iter().any(|who| who.scheme == a.id.scheme && matches(&a.id.scheme, &who.id, &a.id.id))
    });
    if granted {
        Ok(())
    } else {
        Err(ErrorCode::NoAuth)
    }
}

/// True when the session authenticated as the super user.
pub fn is_super(auth: &[Id]) -> bool {
    auth.iter().any(|id| id.scheme == "super")
}

/// Validates an ACL from a request and resolves the `auth` scheme to the
/// caller's authenticated ids (`fixupACL`); duplicates in the request are dropped.
pub fn fixup(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    if acl.is_empty() {
        return Err(ErrorCode::InvalidAcl);
    }
    // Duplicates are dropped from the request before `auth` expands, as
    // `fixupACL` does: an expansion may repeat an entry given explicitly.
    let mut unique: Vec<&Acl> = Vec::with_capacity(acl.len());
    for a in acl {
        if !unique.contains(&a) {
            unique.push(a);
        }
    }
    let mut out: Vec<Acl> = Vec::with_capacity(unique.len());
    for a in unique {
        if a.id.scheme == "world" && a.id.id == "anyone" {
            out.push(a.clone());
        } else if a.id.scheme == "auth" {
            // Only schemes that authenticate a user count; an ip id does not.
            let mut any = false;
            for who in auth.iter().filter(|who| who.scheme == "digest") {
                any = true;
                out.push(Acl { perms: a.perms, id: who.clone() });
            }
            if !any {
                return Err(ErrorCode::InvalidAcl);
            }
        } else if is_valid_id(&a.id) {
            out.push(a.clone());
        } else {
            return Err(ErrorCode::InvalidAcl);
        }
    }
    Ok(out)
}

/// The ACL as shown to a caller without ADMIN: digest hashes replaced by `x`.
pub fn masked_for_non_admin(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| {
            if a.id.scheme == "digest" {
                let user = a.id.id.split(':').next().unwrap_or("");
                Acl { perms: a.perms, id: Id { scheme: "digest".into(), id: format!("{user}:x") } }
            } else {
                a.clone()
            }
        })
        .collect()
}

fn is_valid_id(id: &Id) -> bool {
    match id.scheme.as_str() {
        // Java's split drops trailing empty strings: "a:" is invalid, ":b" is valid.
        "digest" => {
            let parts: Vec<&str> = id.id.split(':').collect();
            let trimmed = parts.iter().rposition(|p| !p.is_empty()).map_or(0, |i| i + 1);
            trimmed == 2
        }
        "ip" => parse_ip_pattern(&id.id).is_some(),
        _ => false,
    }
}

fn matches(scheme: &str, who: &str, pattern: &str) -> bool {
    match scheme {
        "digest" => who == pattern,
        "ip" => ip_matches(who, pattern),
        _ => false,
    }
}

/// An address as bytes and the number of prefix bits that must match.
fn parse_ip_pattern(text: &str) -> Option<(Vec<u8>, u32)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let bytes = parse_ip(addr)?;
    let max = bytes.len() as u32 * 8;
    let bits = match bits {
        Some(b) => b.parse::<u32>().ok().filter(|b| *b <= max)?,
        None => max,
    };
    Some((bytes, bits))
}

fn parse_ip(addr: &str) -> Option<Vec<u8>> {
    if let Ok(v4) = addr.parse::<core::net::Ipv4Addr>() {
        return Some(v4.octets().to_vec());
    }
    addr.parse::<core::net::Ipv6Addr>().ok().map(|v6| v6.octets().to_vec())
}

fn ip_matches(who: &str, pattern: &str) -> bool {
    let (Some((want, bits)), Some(have)) = (parse_ip_pattern(pattern), parse_ip(who)) else {
        return false;
    };
    if want.len() != have.len() {
        return false;
    }
    (0..bits as usize).all(|i| {
        let mask = 0x80u8 >> (i % 8);
        want[i / 8] & mask == have[i / 8] & mask
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The digest of u:p is the one a real ZooKeeper 3.8 computes.
    #[test]
    fn digest_matches_zookeeper() {
        assert_eq!(digest_id("u:p"), "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
    }

    // world:anyone grants to everyone; digest grants only to its holder; super bypasses.
    #[test]
    fn check_schemes() {
        let me = vec![Id::new("digest", &digest_id("u:p"))];
        let acl = vec![Acl::new(perms::ALL, "digest", &digest_id("u:p")), Acl::new(perms::READ, "world", "anyone")];
        assert_eq!(check(&acl, perms::WRITE, &me), Ok(()));
        assert_eq!(check(&acl, perms::WRITE, &[]), Err(ErrorCode::NoAuth));
        assert_eq!(check(&acl, perms::READ, &[]), Ok(()));
        assert_eq!(check(&acl, perms::WRITE, &[Id::new("super", "")]), Ok(()));
        assert_eq!(check(&[], perms::WRITE, &[]), Ok(()));
    }

    // ip ACLs match by CIDR prefix, for IPv4 and IPv6.
    #[test]
    fn ip_cidr() {
        let acl = vec![Acl::new(perms::READ, "ip", "10.1.0.0/16")];
        assert_eq!(check(&acl, perms::READ, &[Id::new("ip", "10.1.200.3")]), Ok(()));
        assert_eq!(check(&acl, perms::READ, &[Id::new("ip", "10.2.0.1")]), Err(ErrorCode::NoAuth));
        let exact = vec![Acl::new(perms::READ, "ip", "127.0.0.1")];
        assert_eq!(check(&exact, perms::READ, &[Id::new("ip", "127.0.0.1")]), Ok(()));
        let v6 = vec![Acl::new(perms::READ, "ip", "fe80::/10")];
        assert_eq!(check(&v6, perms::READ, &[Id::new("ip", "fe80::1")]), Ok(()));
        assert_eq!(check(&v6, perms::READ, &[Id::new("ip", "127.0.0.1")]), Err(ErrorCode::NoAuth));
    }

    // fixup rejects empty lists, unknown schemes and auth without ids, and expands auth.
    #[test]
    fn fixup_rules() {
        assert_eq!(fixup(&[], &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(perms::ALL, "auth", "")], &[Id::new("ip", "127.0.0.1")]), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(perms::ALL, "nope", "x")], &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(perms::ALL, "world", "someone")], &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(perms::ALL, "ip", "10.0.0.0/33")], &[]), Err(ErrorCode::InvalidAcl));
        assert_eq!(fixup(&[Acl::new(perms::ALL, "digest", "a:")], &[]), Err(ErrorCode::InvalidAcl));
        let me = Id::new("digest", "u:h");
        assert_eq!(
            fixup(&[Acl::new(perms::ALL, "auth", ""), Acl::new(perms::ALL, "auth", ""), Acl::new(perms::ALL, "digest", "u:h")], &[Id::new("ip", "1.2.3.4"), me.clone()]),
            Ok(vec![Acl { perms: perms::ALL, id: me.clone() }, Acl { perms: perms::ALL, id: me }])
        );
    }

    // Authenticating with the super password adds the super id.
    #[test]
    fn super_digest() {
        let sup = digest_id("super:secret");
        let ids = authenticate_digest(b"super:secret", Some(&sup)).unwrap();
        assert!(is_super(&ids));
        assert!(!is_super(&authenticate_digest(b"u:p", Some(&sup)).unwrap()));
    }
}
