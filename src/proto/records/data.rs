//! The data records shared by many messages: `Stat`, `Id`, `ACL`, `ClientInfo`.
//! `Stat`, `Id` and `ACL` are the engine's own types, encoded field for field.

use crate::acl::{Acl, Id};
use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::tree::Stat;
use crate::zxid::Zxid;

/// Bytes in an encoded `Stat`: 6 longs and 5 ints.
pub const STAT_LEN: usize = 68;

/// Fewest bytes an encoded `ACL` takes: perms and two empty strings.
pub(crate) const ACL_MIN_LEN: usize = 12;

impl Record for Stat {
    fn write(&self, w: &mut Writer<'_>) {
        w.long(self.czxid.to_i64());
        w.long(self.mzxid.to_i64());
        w.long(self.ctime_ms);
        w.long(self.mtime_ms);
        w.int(self.version);
        w.int(self.cversion);
        w.int(self.aversion);
        w.long(self.ephemeral_owner);
        w.int(self.data_length);
        w.int(self.num_children);
        w.long(self.pzxid.to_i64());
    }

    fn read(r: &mut Reader<'_>) -> Result<Stat, DecodeError> {
        Ok(Stat {
            czxid: Zxid::from_i64(r.long("Stat.czxid")?),
            mzxid: Zxid::from_i64(r.long("Stat.mzxid")?),
            ctime_ms: r.long("Stat.ctime")?,
            mtime_ms: r.long("Stat.mtime")?,
            version: r.int("Stat.version")?,
            cversion: r.int("Stat.cversion")?,
            aversion: r.int("Stat.aversion")?,
            ephemeral_owner: r.long("Stat.ephemeralOwner")?,
            data_length: r.int("Stat.dataLength")?,
            num_children: r.int("Stat.numChildren")?,
            pzxid: Zxid::from_i64(r.long("Stat.pzxid")?),
        })
    }
}

impl Record for Id {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.scheme);
        w.string(&self.id);
    }

    fn read(r: &mut Reader<'_>) -> Result<Id, DecodeError> {
        // kazoo writes an empty string as null (e.g. Id("auth", "")); Java reads it as
        // null and fixupACL ignores it, so null reads as empty here.
        Ok(Id { scheme: r.ustring("Id.scheme")?.unwrap_or_default(), id: r.ustring("Id.id")?.unwrap_or_default() })
    }
}

impl Record for Acl {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.perms);
        w.record(&self.id);
    }

    fn read(r: &mut Reader<'_>) -> Result<Acl, DecodeError> {
        Ok(Acl { perms: r.int("ACL.perms")?, id: r.record()? })
    }
}

/// Reads a `vector<ACL>`; null reads as empty, which ZooKeeper treats the same
/// (both are InvalidACL on create and setACL).
pub(crate) fn read_acl_list(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<Acl>, DecodeError> {
    Ok(r.vector(field, ACL_MIN_LEN, |r| r.record())?.unwrap_or_default())
}

/// Writes a non-null `vector<ACL>`.
pub(crate) fn write_acl_list(w: &mut Writer<'_>, acl: &[Acl]) {
    w.vector(Some(acl), |w, a| w.record(a));
}

/// One authenticated identity as whoAmI reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInfo {
    /// The auth scheme (`ip`, `digest`, ...).
    pub auth_scheme: String,
    /// The user within the scheme: the address for `ip`, the user name for `digest`.
    pub user: String,
}

impl ClientInfo {
    /// The entry ZooKeeper reports for an id (`AuthUtil.getClientInfos`):
    /// `digest` shows the user before the colon, `ip` the address, and a
    /// scheme without a provider (`super`) an empty user.
    pub fn from_id(id: &Id) -> ClientInfo {
        let user = match id.scheme.as_str() {
            "digest" => id.id.split(':').next().unwrap_or("").to_string(),
            "ip" | "x509" | "sasl" => id.id.clone(),
            _ => String::new(),
        };
        ClientInfo { auth_scheme: id.scheme.clone(), user }
    }
}

impl Record for ClientInfo {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.auth_scheme);
        w.string(&self.user);
    }

    fn read(r: &mut Reader<'_>) -> Result<ClientInfo, DecodeError> {
        Ok(ClientInfo { auth_scheme: r.string("ClientInfo.authScheme")?, user: r.string("ClientInfo.user")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Stat is 68 bytes, zxids as signed longs in jute field order.
    #[test]
    fn stat_golden_bytes() {
        let stat = Stat {
            czxid: Zxid::new(1, 2),
            mzxid: Zxid::from_i64(-1),
            ctime_ms: 3,
            mtime_ms: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: Zxid::new(0, 11),
        };
        let bytes = stat.to_bytes();
        assert_eq!(bytes.len(), STAT_LEN);
        assert_eq!(&bytes[..8], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&bytes[8..16], &[0xff; 8]);
        assert_eq!(&bytes[32..36], &[0, 0, 0, 5]);
        assert_eq!(&bytes[60..], &[0, 0, 0, 0, 0, 0, 0, 11]);
        assert_eq!(Stat::from_bytes(&bytes), Ok(stat));
    }

    // whoAmI names digest users without their hash and ip users by address, as observed on 3.8.
    #[test]
    fn client_info_from_ids() {
        assert_eq!(ClientInfo::from_id(&Id::new("digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=")).user, "u");
        assert_eq!(ClientInfo::from_id(&Id::new("ip", "127.0.0.1")).user, "127.0.0.1");
        assert_eq!(ClientInfo::from_id(&Id::new("super", "")).user, "");
    }
}
