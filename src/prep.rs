//! `prep`: turning a client write into a `Txn` at the leader
//! (ZooKeeper's `PrepRequestProcessor`). Every check that can fail happens
//! here, against the leader's view of the tree including proposals not yet
//! committed; a failure becomes a `TxnOp::Error` that still takes a zxid.

use crate::acl::{self, perms, Id};
use crate::error::ErrorCode;
use crate::request::{CreateMode, WriteOp};
use crate::tree::{path, DataTree, NodeKind, MAX_TTL_MS};
use crate::txn::{Txn, TxnOp};
use crate::zxid::{SessionId, Zxid};

/// Server settings that change how requests are judged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrepConfig {
    /// `zookeeper.extendedTypesEnabled`: allows TTL nodes.
    pub extended_types_enabled: bool,
}

/// Who asks, and the header the transaction will carry.
#[derive(Clone, Copy, Debug)]
pub struct PrepContext<'a> {
    /// The zxid the transaction gets.
    pub zxid: Zxid,
    /// The requesting session.
    pub session: SessionId,
    /// The request's xid.
    pub cxid: i32,
    /// The leader's clock, ms since the epoch.
    pub time_ms: i64,
    /// The session's authenticated ids (including its `ip` id).
    pub auth: &'a [Id],
    /// Server settings.
    pub config: &'a PrepConfig,
}

/// Turns a write request into the transaction to propose.
///
/// `tree` must reflect every transaction proposed before this one, committed or not.
pub fn prep(tree: &DataTree, ctx: &PrepContext<'_>, op: &WriteOp) -> Txn {
    let op = match op {
        WriteOp::Multi(ops) => prep_multi(tree, ctx, ops),
        op => prep_op(tree, ctx, op).unwrap_or_else(TxnOp::Error),
    };
    Txn { zxid: ctx.zxid, session: ctx.session, cxid: ctx.cxid, time_ms: ctx.time_ms, op }
}

/// Prepares each op against the effects of the ones before it; on the first
/// failure the whole multi becomes errors: Ok before it, its code at it,
/// RuntimeInconsistency after it.
fn prep_multi(tree: &DataTree, ctx: &PrepContext<'_>, ops: &[WriteOp]) -> TxnOp {
    let mut scratch = tree.clone();
    let mut prepared = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let result = match op {
            WriteOp::Create { .. } | WriteOp::Delete { .. } | WriteOp::SetData { .. } | WriteOp::Check { .. } | WriteOp::Refused(_) => prep_op(&scratch, ctx, op),
            _ => Err(ErrorCode::BadArguments),
        };
        match result {
            Ok(txn_op) => {
                scratch.apply_op(ctx.zxid, ctx.session, ctx.time_ms, &txn_op, &mut Vec::new());
                prepared.push(txn_op);
            }
            Err(code) => {
                let errors = (0..ops.len())
                    .map(|j| {
                        TxnOp::Error(match j.cmp(&i) {
                            std::cmp::Ordering::Less => ErrorCode::Ok,
                            std::cmp::Ordering::Equal => code,
                            std::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
                        })
                    })
                    .collect();
                return TxnOp::Multi(errors);
            }
        }
    }
    TxnOp::Multi(prepared)
}

fn prep_op(tree: &DataTree, ctx: &PrepContext<'_>, op: &WriteOp) -> Result<TxnOp, ErrorCode> {
    match op {
        WriteOp::Create { path, data, acl, mode, ttl_ms } => prep_create(tree, ctx, path, data, acl, *mode, *ttl_ms),
        WriteOp::Delete { path, version } => {
            let parent = parent_of_deletable(path)?;
            let parent = tree.node(parent).ok_or(ErrorCode::NoNode)?;
            acl::check(&parent.acl, perms::DELETE, ctx.auth)?;
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            check_version(node.version, *version)?;
            if node.num_children > 0 {
                return Err(ErrorCode::NotEmpty);
            }
            Ok(TxnOp::Delete { path: path.clone() })
        }
        WriteOp::DeleteContainer { path } => {
            let parent = parent_of_deletable(path)?;
            tree.node(parent).ok_or(ErrorCode::NoNode)?;
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            if node.num_children > 0 {
                return Err(ErrorCode::NotEmpty);
            }
            // Stricter than ZooKeeper, which refuses only session ephemerals: the
            // cleanup timer must never delete a node that is no longer a container
            // or TTL node (say, recreated as persistent since the scan).
            if !matches!(node.kind, NodeKind::Container | NodeKind::Ttl { .. }) {
                return Err(ErrorCode::BadVersion);
            }
            Ok(TxnOp::Delete { path: path.clone() })
        }
        WriteOp::SetData { path, data, version } => {
            path::validate(path)?;
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::WRITE, ctx.auth)?;
            let version = check_version(node.version, *version)?;
            Ok(TxnOp::SetData { path: path.clone(), data: data.clone(), version })
        }
        WriteOp::SetAcl { path, acl, version } => {
            path::validate(path)?;
            let acl = acl::fixup(acl, ctx.auth)?;
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::ADMIN, ctx.auth)?;
            let aversion = check_version(node.aversion, *version)?;
            Ok(TxnOp::SetAcl { path: path.clone(), acl, aversion })
        }
        WriteOp::Check { path, version } => {
            path::validate(path)?;
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::READ, ctx.auth)?;
            check_version(node.version, *version)?;
            Ok(TxnOp::Check { path: path.clone() })
        }
        WriteOp::CreateSession { timeout_ms } => Ok(TxnOp::CreateSession { timeout_ms: *timeout_ms }),
        WriteOp::CloseSession => Ok(TxnOp::CloseSession { ephemerals: tree.ephemerals(ctx.session) }),
        WriteOp::Multi(_) => Err(ErrorCode::BadArguments),
        WriteOp::Refused(code) => Err(*code),
    }
}

#[allow(clippy::too_many_arguments)]
fn prep_create(
    tree: &DataTree,
    ctx: &PrepContext<'_>,
    path: &str,
    data: &crate::tree::Data,
    acl: &[acl::Acl],
    mode: CreateMode,
    ttl_ms: Option<i64>,
) -> Result<TxnOp, ErrorCode> {
    if mode.is_ttl() && !ctx.config.extended_types_enabled {
        return Err(ErrorCode::Unimplemented);
    }
    let ttl = ttl_ms.unwrap_or(-1);
    let ttl_ok = if mode.is_ttl() { ttl > 0 && ttl <= MAX_TTL_MS } else { ttl < 0 };
    if !ttl_ok {
        return Err(ErrorCode::BadArguments);
    }
    let last_slash = path.rfind('/').ok_or(ErrorCode::BadArguments)?;
    if path.contains('\0') {
        return Err(ErrorCode::BadArguments);
    }
    let acl = acl::fixup(acl, ctx.auth)?;
    let parent_path = if last_slash == 0 { "/" } else { &path[..last_slash] };
    let parent = tree.node(parent_path).ok_or(ErrorCode::NoNode)?;
    acl::check(&parent.acl, perms::CREATE, ctx.auth)?;
    let path = if mode.is_sequential() { format!("{path}{:010}", parent.cversion) } else { path.to_string() };
    path::validate(&path)?;
    if tree.node(&path).is_some() {
        return Err(ErrorCode::NodeExists);
    }
    if matches!(parent.kind, NodeKind::Ephemeral { .. }) {
        return Err(ErrorCode::NoChildrenForEphemerals);
    }
    let kind = if mode.is_container() {
        NodeKind::Container
    } else if mode.is_ttl() {
        NodeKind::Ttl { ttl_ms: ttl }
    } else if mode.is_ephemeral() {
        NodeKind::Ephemeral { owner: ctx.session }
    } else {
        NodeKind::Persistent
    };
    Ok(TxnOp::Create { path, data: data.clone(), acl, kind, parent_cversion: parent.cversion.wrapping_add(1) })
}

/// The parent of a node a delete may name (`getParentPathAndValidate`): "/" and
/// the /zookeeper system nodes cannot be deleted.
fn parent_of_deletable(path: &str) -> Result<&str, ErrorCode> {
    const SPECIAL: [&str; 4] = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];
    if path.contains('\0') || SPECIAL.contains(&path) {
        return Err(ErrorCode::BadArguments);
    }
    path::split(path).map(|(parent, _)| parent).ok_or(ErrorCode::BadArguments)
}

/// `checkAndIncVersion`: −1 matches anything; returns the next version (wrapping as Java's int).
fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}
