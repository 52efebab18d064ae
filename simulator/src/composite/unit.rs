//! [`Unit`]: one transaction spanning the awaits of a multi-record call.
//!
//! A composite call or an `allOrNone` collection is one Salesforce transaction, but its steps wait in
//! between (each step's row locks are only known once earlier steps have run: `@{ref.id}`). A unit
//! takes each step's row locks as it comes, then a processing slot for the step's write (the lock
//! order of [`crate::org::capacity`]), and keeps the data lock only while the step writes. With
//! `all_or_none`, the transaction is parked between steps (its writes applied, its undo log kept)
//! and every row lock stays held until the unit commits or rolls back; otherwise each step commits
//! on its own and releases its locks at once.
//!
//! Dropping an uncommitted all-or-none unit (the client went away mid-call) rolls it back.

use crate::error::ApiResult;
use crate::org::changes::Change;
use crate::org::locks::{LockGuard, RowKey};
use crate::org::store::{OrgData, ParkedTxn, Txn};
use crate::org::Org;
use crate::rest::dml;
use std::collections::HashSet;
use std::sync::Arc;

/// A transaction over several steps (see the module docs).
pub struct Unit {
    org: Arc<Org>,
    all_or_none: bool,
    /// Locks held to the end (all-or-none only).
    guards: Vec<LockGuard>,
    held: HashSet<RowKey>,
    parked: Option<ParkedTxn>,
}

/// An all-or-none scope opened with [`Unit::enter`].
pub enum Scope {
    /// A savepoint in the unit's own transaction.
    Nested((usize, usize)),
    /// The unit switched to all-or-none for the scope.
    Own,
}

/// What a step holds until it is done: its processing slot, and its row locks unless the unit keeps
/// them to the end.
pub struct StepLocks(#[allow(dead_code)] LockGuard);

impl Unit {
    /// Start a unit.
    pub fn begin(org: Arc<Org>, all_or_none: bool) -> Unit {
        Unit {
            org,
            all_or_none,
            guards: Vec::new(),
            held: HashSet::new(),
            parked: None,
        }
    }

    pub fn all_or_none(&self) -> bool {
        self.all_or_none
    }

    pub fn org(&self) -> &Arc<Org> {
        &self.org
    }

    /// Read the data (including this unit's uncommitted writes).
    pub fn read<R>(&self, f: impl FnOnce(&OrgData) -> R) -> R {
        f(&self.org.data.read())
    }

    /// Lock the rows a step writes (rows this unit already holds are skipped, so a unit never waits
    /// on itself), take a processing slot, and spend the write's service time holding them.
    pub async fn lock(&mut self, keys: Vec<RowKey>) -> ApiResult<StepLocks> {
        let keys: Vec<RowKey> = keys
            .into_iter()
            .filter(|k| !self.held.contains(k))
            .collect();
        let rows = dml::lock_rows(&self.org, keys).await?;
        let mut step = if self.all_or_none {
            self.held.extend(rows.keys());
            self.guards.push(rows);
            // An empty guard, only to carry the slot.
            dml::lock_rows(&self.org, vec![]).await?
        } else {
            rows
        };
        step.attach(self.org.capacity.acquire().await);
        let hold = self.org.config.contention.write_time;
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        Ok(StepLocks(step))
    }

    /// Keep rows this unit created locked until it ends (all-or-none: others must not touch rows that
    /// may still be rolled back). Takes no slot: nothing is written.
    pub async fn hold(&mut self, keys: Vec<RowKey>) -> ApiResult<()> {
        if !self.all_or_none {
            return Ok(());
        }
        let keys: Vec<RowKey> = keys
            .into_iter()
            .filter(|k| !self.held.contains(k))
            .collect();
        let rows = dml::lock_rows(&self.org, keys).await?;
        self.held.extend(rows.keys());
        self.guards.push(rows);
        Ok(())
    }

    /// Run one step's writes. A failing step leaves nothing behind; a successful one is committed
    /// and published at once, or (all-or-none) kept in the parked transaction.
    pub fn write<R>(&mut self, f: impl FnOnce(&mut Txn<'_>) -> ApiResult<R>) -> ApiResult<R> {
        let changes: Vec<Change>;
        let r;
        {
            let mut data = self.org.data.write();
            let mut txn = match self.parked.take() {
                Some(p) => data.resume(p),
                None => data.txn(),
            };
            let sp = txn.savepoint();
            r = f(&mut txn);
            if r.is_err() {
                txn.rollback_to(sp);
            }
            if self.all_or_none {
                self.parked = Some(txn.park());
                return r;
            }
            changes = txn.commit();
        }
        self.org.publish(changes);
        r
    }

    /// Open an all-or-none scope (an `allOrNone` collection inside a composite call): nested in the
    /// unit's transaction when it has one, its own transaction otherwise. Close it with
    /// [`Unit::leave`].
    pub fn enter(&mut self) -> Scope {
        if self.all_or_none {
            Scope::Nested(self.write(|txn| Ok(txn.savepoint())).unwrap_or((0, 0)))
        } else {
            self.all_or_none = true;
            Scope::Own
        }
    }

    /// Close a scope, keeping or undoing what was written in it.
    pub fn leave(&mut self, scope: Scope, keep: bool) {
        match scope {
            Scope::Nested(sp) => {
                if !keep {
                    let _ = self.write(|txn| {
                        txn.rollback_to(sp);
                        Ok(())
                    });
                }
            }
            Scope::Own => {
                if keep {
                    self.publish_parked();
                } else {
                    self.undo();
                }
                self.all_or_none = false;
                self.guards.clear();
                self.held.clear();
            }
        }
    }

    /// Keep everything written so far (all-or-none: publish it as one transaction).
    pub fn commit(mut self) {
        self.publish_parked();
    }

    fn publish_parked(&mut self) {
        if let Some(p) = self.parked.take() {
            let changes = {
                let mut data = self.org.data.write();
                data.resume(p).commit()
            };
            self.org.publish(changes);
        }
    }

    /// Undo everything written so far (all-or-none) and release the locks.
    pub fn rollback(mut self) {
        self.undo();
    }

    fn undo(&mut self) {
        if let Some(p) = self.parked.take() {
            let mut data = self.org.data.write();
            drop(data.resume(p));
        }
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        self.undo();
    }
}
