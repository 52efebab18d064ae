//! Records of one org, kept compact: a row stores its audit fields inline and only the user fields it
//! has, as `(field index, value)` pairs. Rows live in a `BTreeMap` keyed by the ID counter, so scans come
//! back in creation order (what Salesforce returns without ORDER BY) and IDs are arithmetic.
//!
//! Every write goes through a [`Txn`]: it keeps an undo log (composite `allOrNone` and failed bulk
//! chunks roll back) and the list of [`Change`]s that become Change Data Capture events and record
//! history once the transaction commits.

use super::changes::{Change, ChangeCache, ChangeType};
use super::ids::{Id18, RecordId};
use super::schema::{FieldType, ObjectDef, Schema};
use super::value::Value;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};

pub use super::schema::SysField;

/// The header role of the field named `name` (see [`ObjectDef::sys_field`] for the cached form).
pub fn sys_field(obj: &ObjectDef, name: &str) -> Option<SysField> {
    obj.field_index(name).and_then(|fi| obj.sys_field(fi))
}

/// One stored record.
#[derive(Debug, Clone)]
pub struct Row {
    pub num: u64,
    /// User-settable fields, sorted by field index.
    pub fields: Vec<(u16, Value)>,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub created_by: u64,
    pub modified_by: u64,
    pub owner: u64,
    pub deleted: bool,
    /// Bumped on every write; feeds the ETag.
    pub version: u32,
}

impl Row {
    pub fn get_raw(&self, field: usize) -> Option<&Value> {
        let f = field as u16;
        self.fields
            .binary_search_by_key(&f, |(i, _)| *i)
            .ok()
            .map(|p| &self.fields[p].1)
    }

    fn set_raw(&mut self, field: usize, v: Value) {
        let f = field as u16;
        match self.fields.binary_search_by_key(&f, |(i, _)| *i) {
            Ok(p) if v.is_null() => {
                self.fields.remove(p);
            }
            Ok(p) => self.fields[p].1 = v,
            Err(_) if v.is_null() => {}
            Err(p) => self.fields.insert(p, (f, v)),
        }
    }
}

/// The records of one object.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: BTreeMap<u64, Row>,
    /// External-id and unique fields: lower-cased value → row numbers.
    ext_index: HashMap<u16, HashMap<Box<str>, SmallVec<[u64; 1]>>>,
    /// Reference fields: parent row number → child row numbers.
    ref_index: HashMap<u16, HashMap<u64, SmallVec<[u64; 2]>>>,
    pub live: usize,
}

impl Table {
    fn index_row(&mut self, obj: &ObjectDef, row: &Row, add: bool) {
        for (fi, v) in &row.fields {
            let f = &obj.fields[*fi as usize];
            if f.external_id || f.unique {
                if let Some(s) = v.as_str() {
                    let key: Box<str> = s.to_lowercase().into();
                    let m = self.ext_index.entry(*fi).or_default();
                    if add {
                        m.entry(key).or_default().push(row.num);
                    } else if let Some(list) = m.get_mut(&key) {
                        list.retain(|n| *n != row.num);
                        if list.is_empty() {
                            m.remove(&key);
                        }
                    }
                }
            }
            if f.ftype == FieldType::Reference {
                if let Some(parent) = v.as_str().and_then(RecordId::parse) {
                    let m = self.ref_index.entry(*fi).or_default();
                    if add {
                        m.entry(parent.num).or_default().push(row.num);
                    } else if let Some(list) = m.get_mut(&parent.num) {
                        list.retain(|n| *n != row.num);
                        if list.is_empty() {
                            m.remove(&parent.num);
                        }
                    }
                }
            }
        }
    }

    /// Live rows whose indexed field equals `value` (case-insensitively).
    pub fn find_by_index(&self, field: usize, value: &str) -> SmallVec<[u64; 1]> {
        self.ext_index
            .get(&(field as u16))
            .and_then(|m| m.get(value.to_lowercase().as_str()))
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|n| self.rows.get(n).is_some_and(|r| !r.deleted))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn has_index(&self, field: usize) -> bool {
        self.ext_index.contains_key(&(field as u16))
    }

    /// Live children of `parent` through reference field `field`.
    pub fn children_of(&self, field: usize, parent: u64) -> Vec<u64> {
        self.ref_index
            .get(&(field as u16))
            .and_then(|m| m.get(&parent))
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|n| self.rows.get(n).is_some_and(|r| !r.deleted))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Who performed a write: feeds CreatedById/LastModifiedById, CDC `commitUser`/`changeOrigin`, and
/// record history.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    pub user: u64,
    /// e.g. `com/salesforce/api/rest/62.0;client=my-sync`
    pub origin: String,
    /// The journal's client identity (username, app, client name).
    pub client: String,
}

/// All records of one org.
#[derive(Debug)]
pub struct OrgData {
    pub schema: Schema,
    pub tables: Vec<Table>,
    pub org_num: u16,
    /// Object snapshots and writer identities shared by the changes this data produces.
    pub change_cache: ChangeCache,
    next_num: u64,
    auto_number: u64,
}

#[derive(Debug)]
enum Undo {
    Inserted(usize, u64),
    Replaced(usize, Row),
}

impl OrgData {
    pub fn new(schema: Schema, org_num: u16) -> OrgData {
        let tables = schema.objects.iter().map(|_| Table::default()).collect();
        OrgData {
            schema,
            tables,
            org_num,
            change_cache: ChangeCache::default(),
            next_num: 1,
            auto_number: 1,
        }
    }

    /// Make sure every object has a table (after schema changes add objects).
    pub fn sync_tables(&mut self) {
        while self.tables.len() < self.schema.objects.len() {
            self.tables.push(Table::default());
        }
    }

    pub fn id_of(&self, obj: usize, num: u64) -> RecordId {
        RecordId::new(&self.schema.objects[obj].key_prefix, self.org_num, num)
    }

    pub fn row(&self, obj: usize, num: u64) -> Option<&Row> {
        self.tables.get(obj)?.rows.get(&num)
    }

    /// Resolve an ID string to (object index, row number), whatever its object.
    pub fn resolve_id(&self, id: &str) -> Option<(usize, u64)> {
        let rid = RecordId::parse(id)?;
        let obj = self.schema.object_by_prefix(rid.prefix())?;
        Some((obj, rid.num))
    }

    /// The value of field `fi` of a row, including header-backed system fields.
    pub fn value(&self, obj: usize, row: &Row, fi: usize) -> Value {
        self.value_ref(obj, row, fi).into_owned()
    }

    /// Like [`OrgData::value`], borrowing stored values instead of cloning them.
    pub fn value_ref<'r>(
        &self,
        obj: usize,
        row: &'r Row,
        fi: usize,
    ) -> std::borrow::Cow<'r, Value> {
        use std::borrow::Cow;
        let o = &self.schema.objects[obj];
        if o.sys_field(fi).is_none() {
            return match row.get_raw(fi) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(Value::Null),
            };
        }
        Cow::Owned(self.sys_value(obj, row, fi))
    }

    /// The id a system id field (`Id`, `OwnerId`, `CreatedById`, `LastModifiedById`) holds, formatted
    /// on the stack for rendering; `None` for every other field.
    pub fn sys_id(&self, obj: usize, row: &Row, fi: usize) -> Option<Id18> {
        let user = |num| self.user_record_id(num).encode();
        match self.schema.objects[obj].sys_field(fi)? {
            SysField::Id => Some(self.id_of(obj, row.num).encode()),
            SysField::CreatedById => Some(user(row.created_by)),
            SysField::LastModifiedById => Some(user(row.modified_by)),
            SysField::OwnerId => Some(user(row.owner)),
            _ => None,
        }
    }

    fn sys_value(&self, obj: usize, row: &Row, fi: usize) -> Value {
        let o = &self.schema.objects[obj];
        match o.sys_field(fi) {
            Some(SysField::Id) => Value::str(self.id_of(obj, row.num).to18()),
            Some(SysField::IsDeleted) => Value::Bool(row.deleted),
            Some(SysField::CreatedDate) => Value::DateTime(row.created_ms),
            Some(SysField::LastModifiedDate) | Some(SysField::SystemModstamp) => {
                Value::DateTime(row.modified_ms)
            }
            Some(SysField::CreatedById) => Value::str(self.user_id(row.created_by)),
            Some(SysField::LastModifiedById) => Value::str(self.user_id(row.modified_by)),
            Some(SysField::OwnerId) => Value::str(self.user_id(row.owner)),
            Some(SysField::FullName) => {
                let first = o
                    .field_index("FirstName")
                    .and_then(|i| row.get_raw(i))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let last = o
                    .field_index("LastName")
                    .and_then(|i| row.get_raw(i))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                Value::str(format!("{first} {last}").trim().to_string())
            }
            None => row.get_raw(fi).cloned().unwrap_or(Value::Null),
        }
    }

    pub fn user_id(&self, user_num: u64) -> String {
        self.user_record_id(user_num).to18()
    }

    pub fn user_record_id(&self, user_num: u64) -> RecordId {
        RecordId::new("005", self.org_num, user_num)
    }

    /// The row's ETag, for objects that send one.
    pub fn etag(&self, obj: usize, row: &Row) -> String {
        use base64::Engine;
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.id_of(obj, row.num).encode().as_str().as_bytes());
        h.update(row.version.to_le_bytes());
        h.update(row.modified_ms.to_le_bytes());
        let d = h.finalize();
        // `"<base64 of 20 bytes>-gzip"`
        let mut tag = String::with_capacity(1 + 28 + 6);
        tag.push('"');
        base64::engine::general_purpose::STANDARD.encode_string(&d[..20], &mut tag);
        tag.push_str("-gzip\"");
        tag
    }

    /// Start a transaction; dropping it without [`Txn::commit`] rolls every write back.
    pub fn txn(&mut self) -> Txn<'_> {
        Txn {
            data: self,
            undo: Vec::new(),
            changes: Vec::new(),
            committed: false,
            quiet: false,
        }
    }

    /// A transaction that records no changes (seed data and admin loads: no CDC events, no history).
    pub fn txn_quiet(&mut self) -> Txn<'_> {
        Txn {
            data: self,
            undo: Vec::new(),
            changes: Vec::new(),
            committed: false,
            quiet: true,
        }
    }

    /// Continue a transaction set aside with [`Txn::park`].
    pub fn resume(&mut self, parked: ParkedTxn) -> Txn<'_> {
        Txn {
            data: self,
            undo: parked.undo,
            changes: parked.changes,
            committed: false,
            quiet: parked.quiet,
        }
    }

    fn alloc(&mut self) -> u64 {
        let n = self.next_num;
        self.next_num += 1;
        n
    }

    pub fn live_count(&self, obj: usize) -> usize {
        self.tables.get(obj).map(|t| t.live).unwrap_or(0)
    }
}

/// A unit of work over [`OrgData`]: writes apply immediately (later reads in the same transaction see
/// them) and are undone unless committed.
pub struct Txn<'a> {
    data: &'a mut OrgData,
    undo: Vec<Undo>,
    changes: Vec<Change>,
    committed: bool,
    quiet: bool,
}

impl<'a> Txn<'a> {
    pub fn data(&self) -> &OrgData {
        self.data
    }

    /// Insert a record. `fields` are validated `(field index, value)` pairs; defaults are applied here.
    pub fn insert(
        &mut self,
        obj: usize,
        fields: Vec<(usize, Value)>,
        writer: &Writer,
        now_ms: i64,
    ) -> RecordId {
        let num = self.data.alloc();
        let o = &self.data.schema.objects[obj];
        let mut row = Row {
            num,
            fields: Vec::with_capacity(fields.len() + 2),
            created_ms: now_ms,
            modified_ms: now_ms,
            created_by: writer.user,
            modified_by: writer.user,
            owner: writer.user,
            deleted: false,
            version: 1,
        };
        let mut owner = None;
        for (fi, v) in fields {
            if o.sys_field(fi) == Some(SysField::OwnerId) {
                owner = v.as_str().and_then(RecordId::parse).map(|r| r.num);
                continue;
            }
            row.set_raw(fi, v);
        }
        if let Some(o) = owner {
            row.owner = o;
        }
        // Defaults and auto-numbers for fields the caller left out.
        let mut defaults = Vec::new();
        for (fi, f) in o.active_fields() {
            if row.get_raw(fi).is_some() || o.sys_field(fi).is_some() {
                continue;
            }
            if f.auto_number {
                defaults.push((fi, Value::str(format!("{:08}", self.data.auto_number))));
            } else if let Some(d) = &f.default_value {
                defaults.push((fi, d.clone()));
            }
        }
        if defaults.iter().any(|(fi, _)| o.fields[*fi].auto_number) {
            self.data.auto_number += 1;
        }
        for (fi, v) in defaults {
            row.set_raw(fi, v);
        }
        let id = self.data.id_of(obj, num);
        if !self.quiet {
            let change = Change::from_row(self.data, obj, &row, ChangeType::Create, None, writer);
            self.changes.push(change);
        }
        let table = &mut self.data.tables[obj];
        table.index_row(&self.data.schema.objects[obj], &row, true);
        table.live += 1;
        table.rows.insert(num, row);
        if !self.quiet {
            self.undo.push(Undo::Inserted(obj, num));
        }
        id
    }

    /// Update fields of a live record. Returns the names of fields whose value actually changed.
    pub fn update(
        &mut self,
        obj: usize,
        num: u64,
        fields: Vec<(usize, Value)>,
        writer: &Writer,
        now_ms: i64,
    ) -> Vec<String> {
        let Some(old) = self.data.tables[obj].rows.get(&num).cloned() else {
            return vec![];
        };
        let o = &self.data.schema.objects[obj];
        let mut row = old.clone();
        let mut changed = Vec::new();
        for (fi, v) in fields {
            if o.sys_field(fi) == Some(SysField::OwnerId) {
                if let Some(n) = v.as_str().and_then(RecordId::parse).map(|r| r.num) {
                    if n != row.owner {
                        row.owner = n;
                        changed.push(fi);
                    }
                }
                continue;
            }
            let before = row.get_raw(fi).cloned().unwrap_or(Value::Null);
            if before != v {
                changed.push(fi);
            }
            row.set_raw(fi, v);
        }
        row.modified_ms = now_ms.max(row.modified_ms);
        row.modified_by = writer.user;
        row.version += 1;
        let change = Change::from_row(
            self.data,
            obj,
            &row,
            ChangeType::Update,
            Some((&old, &changed)),
            writer,
        );
        let names = changed
            .iter()
            .map(|fi| o.fields[*fi].name.clone())
            .collect();
        let table = &mut self.data.tables[obj];
        table.index_row(&self.data.schema.objects[obj], &old, false);
        table.index_row(&self.data.schema.objects[obj], &row, true);
        table.rows.insert(num, row);
        self.undo.push(Undo::Replaced(obj, old));
        self.changes.push(change);
        names
    }

    /// Delete a record (to the recycle bin: `queryAll` still sees it), cascading to children whose
    /// relationship cascades.
    pub fn delete(&mut self, obj: usize, num: u64, writer: &Writer, now_ms: i64) {
        let Some(old) = self.data.tables[obj].rows.get(&num).cloned() else {
            return;
        };
        if old.deleted {
            return;
        }
        let mut row = old.clone();
        row.deleted = true;
        row.modified_ms = now_ms;
        row.modified_by = writer.user;
        row.version += 1;
        let change = Change::from_row(self.data, obj, &row, ChangeType::Delete, None, writer);
        let table = &mut self.data.tables[obj];
        table.live = table.live.saturating_sub(1);
        table.rows.insert(num, row);
        self.undo.push(Undo::Replaced(obj, old));
        self.changes.push(change);
        // Cascade.
        let children: Vec<(usize, usize)> = self
            .data
            .schema
            .children_of(obj)
            .iter()
            .filter(|c| c.cascade_delete)
            .filter_map(|c| {
                let ci = self.data.schema.object_index(&c.child_object)?;
                let fi = self.data.schema.objects[ci].field_index(&c.field)?;
                Some((ci, fi))
            })
            .collect();
        for (ci, fi) in children {
            for child in self.data.tables[ci].children_of(fi, num) {
                self.delete(ci, child, writer, now_ms);
            }
        }
    }

    /// Remove a deleted record for good (Bulk `hardDelete`).
    pub fn purge(&mut self, obj: usize, num: u64) {
        if let Some(old) = self.data.tables[obj].rows.remove(&num) {
            let table = &mut self.data.tables[obj];
            table.index_row(&self.data.schema.objects[obj], &old, false);
            if !old.deleted {
                table.live = table.live.saturating_sub(1);
            }
            self.undo.push(Undo::Replaced(obj, old));
        }
    }

    /// Keep the writes; hand back the changes to publish.
    pub fn commit(mut self) -> Vec<Change> {
        self.committed = true;
        std::mem::take(&mut self.changes)
    }

    /// Set the transaction aside (releasing the data lock) so its owner can wait — for row locks of the
    /// next step of a composite call — and [`OrgData::resume`] it later. The writes stay applied
    /// meanwhile; the owner must resume it and either commit or drop it.
    pub fn park(mut self) -> ParkedTxn {
        self.committed = true;
        ParkedTxn {
            undo: std::mem::take(&mut self.undo),
            changes: std::mem::take(&mut self.changes),
            quiet: self.quiet,
        }
    }

    /// A savepoint: the number of writes so far, to roll back to with [`Txn::rollback_to`].
    pub fn savepoint(&self) -> (usize, usize) {
        (self.undo.len(), self.changes.len())
    }

    pub fn rollback_to(&mut self, sp: (usize, usize)) {
        while self.undo.len() > sp.0 {
            if let Some(u) = self.undo.pop() {
                self.apply_undo(u);
            }
        }
        self.changes.truncate(sp.1);
    }

    fn apply_undo(&mut self, u: Undo) {
        match u {
            Undo::Inserted(obj, num) => {
                if let Some(row) = self.data.tables[obj].rows.remove(&num) {
                    let table = &mut self.data.tables[obj];
                    table.index_row(&self.data.schema.objects[obj], &row, false);
                    if !row.deleted {
                        table.live = table.live.saturating_sub(1);
                    }
                }
            }
            Undo::Replaced(obj, old) => {
                let table = &mut self.data.tables[obj];
                if let Some(cur) = table.rows.remove(&old.num) {
                    table.index_row(&self.data.schema.objects[obj], &cur, false);
                    if !cur.deleted {
                        table.live = table.live.saturating_sub(1);
                    }
                }
                table.index_row(&self.data.schema.objects[obj], &old, true);
                if !old.deleted {
                    table.live += 1;
                }
                table.rows.insert(old.num, old);
            }
        }
    }
}

/// A transaction between two steps (see [`Txn::park`]): its undo log and pending changes, without
/// the borrow of the data.
#[derive(Debug)]
#[must_use = "a parked transaction must be resumed and then committed or rolled back"]
pub struct ParkedTxn {
    undo: Vec<Undo>,
    changes: Vec<Change>,
    quiet: bool,
}

impl ParkedTxn {
    /// Whether it holds no writes.
    pub fn is_empty(&self) -> bool {
        self.undo.is_empty() && self.changes.is_empty()
    }
}

impl Drop for Txn<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.rollback_to((0, 0));
        }
    }
}

/// Lower-cased object name → index, for callers holding only a name.
pub fn object_index(schema: &Schema, name: &str) -> Option<usize> {
    schema.object_index(name)
}
