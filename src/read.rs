//! Answering read requests from a replica's local tree, with ZooKeeper 3.8.0's ACL checks.

use crate::acl::{self, perms, Id};
use crate::error::ErrorCode;
use crate::request::{ReadOp, ReadResult};
use crate::tree::DataTree;
use crate::zxid::SessionId;

/// Answers `op` for `session`, authenticated as `auth`.
///
/// Reads do not validate paths: a malformed path simply is not found (NoNode), as in ZooKeeper.
pub fn read(tree: &DataTree, session: SessionId, auth: &[Id], op: &ReadOp) -> Result<ReadResult, ErrorCode> {
    match op {
        ReadOp::GetData { path } => {
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::READ, auth)?;
            Ok(ReadResult::Data { data: node.data.clone(), stat: node.stat() })
        }
        // exists checks no ACL before 3.8.4.
        ReadOp::Exists { path } => tree.stat(path).map(ReadResult::Stat).ok_or(ErrorCode::NoNode),
        ReadOp::GetChildren { path } => {
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::READ, auth)?;
            Ok(ReadResult::Children { children: tree.children(path), stat: node.stat() })
        }
        ReadOp::GetAcl { path } => {
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::READ | perms::ADMIN, auth)?;
            let acl = if acl::check(&node.acl, perms::ADMIN, auth).is_ok() { node.acl.to_vec() } else { acl::masked_for_non_admin(&node.acl) };
            Ok(ReadResult::Acl { acl, stat: node.stat() })
        }
        ReadOp::GetAllChildrenNumber { path } => {
            let node = tree.node(path).ok_or(ErrorCode::NoNode)?;
            acl::check(&node.acl, perms::READ, auth)?;
            Ok(ReadResult::Count(tree.descendant_count(path) as i32))
        }
        ReadOp::GetEphemerals { prefix } => {
            let all = tree.ephemerals(session);
            // Trimmed only to recognise "all"; the filter uses the prefix as sent.
            if prefix.trim().is_empty() || prefix.trim() == "/" {
                Ok(ReadResult::Paths(all))
            } else {
                Ok(ReadResult::Paths(all.into_iter().filter(|p| p.starts_with(prefix)).collect()))
            }
        }
        ReadOp::MultiRead(ops) => Ok(ReadResult::Multi(
            ops.iter()
                .map(|op| match op {
                    ReadOp::GetData { .. } | ReadOp::GetChildren { .. } => read(tree, session, auth, op),
                    _ => Err(ErrorCode::BadArguments),
                })
                .collect(),
        )),
    }
}
