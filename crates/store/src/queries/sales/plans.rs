//! Sales plans: monthly amounts per manager or department.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::queries::{keyset, PageQuery};
use crate::rows::SalesPlanRow;
use crate::schema::sales_plans;
use crate::types::DbUuid;

/// Plans of these users or of these departments.
pub type PlanTargets = (Vec<DbUuid>, Vec<DbUuid>);

/// Which plans a list holds.
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    /// Plans the reader may see: of these users or of these departments
    /// (`None`: every plan).
    pub visible: Option<PlanTargets>,
    /// Only plans of these users or these departments (`None`: no narrowing).
    pub targets: Option<PlanTargets>,
    /// First days of the first and last months, both included.
    pub month_from: Option<NaiveDate>,
    pub month_to: Option<NaiveDate>,
    pub updated_since: Option<NaiveDateTime>,
    /// Deleted plans too (a syncing reader learns of deletions).
    pub with_deleted: bool,
}

pub fn insert_plan(conn: &mut DbConnection, row: &SalesPlanRow) -> QueryResult<()> {
    diesel::insert_into(sales_plans::table).values(row).execute(conn).map(|_| ())
}

/// A plan, deleted or not.
pub fn find_plan(conn: &mut DbConnection, id: DbUuid) -> QueryResult<Option<SalesPlanRow>> {
    sales_plans::table.find(id).select(SalesPlanRow::as_select()).first(conn).optional()
}

/// The live plan of a month, target and currency, if there is one.
pub fn find_live_plan(
    conn: &mut DbConnection,
    month: NaiveDate,
    user: Option<DbUuid>,
    department: Option<DbUuid>,
    currency: &str,
) -> QueryResult<Option<SalesPlanRow>> {
    let mut q = sales_plans::table
        .filter(sales_plans::month.eq(month))
        .filter(sales_plans::currency.eq(currency))
        .filter(sales_plans::deleted_at.is_null())
        .select(SalesPlanRow::as_select())
        .into_boxed();
    q = match (user, department) {
        (Some(u), _) => q.filter(sales_plans::user_id.eq(u)),
        (None, Some(d)) => q.filter(sales_plans::department_id.eq(d)),
        (None, None) => return Ok(None),
    };
    q.first(conn).optional()
}

pub fn list_plans(
    conn: &mut DbConnection,
    filter: &PlanFilter,
    page: PageQuery,
) -> QueryResult<Vec<SalesPlanRow>> {
    let mut q = sales_plans::table.select(SalesPlanRow::as_select()).into_boxed();
    if let Some((users, departments)) = &filter.visible {
        q = q.filter(
            sales_plans::user_id
                .eq_any(users.clone())
                .or(sales_plans::department_id.eq_any(departments.clone())),
        );
    }
    if let Some((users, departments)) = &filter.targets {
        q = q.filter(
            sales_plans::user_id
                .eq_any(users.clone())
                .or(sales_plans::department_id.eq_any(departments.clone())),
        );
    }
    if let Some(from) = filter.month_from {
        q = q.filter(sales_plans::month.ge(from));
    }
    if let Some(to) = filter.month_to {
        q = q.filter(sales_plans::month.le(to));
    }
    if let Some(since) = filter.updated_since {
        q = q.filter(sales_plans::updated_at.ge(since));
    }
    if !filter.with_deleted {
        q = q.filter(sales_plans::deleted_at.is_null());
    }
    keyset!(q, sales_plans, page).load(conn)
}

/// Sets a live plan's amount and note if it is still at `expected_version`;
/// the number of rows changed.
pub fn update_plan(
    conn: &mut DbConnection,
    id: DbUuid,
    expected_version: i64,
    amount_minor: i64,
    note: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sales_plans::table
            .filter(sales_plans::id.eq(id))
            .filter(sales_plans::version.eq(expected_version))
            .filter(sales_plans::deleted_at.is_null()),
    )
    .set((
        sales_plans::amount_minor.eq(amount_minor),
        sales_plans::note.eq(note),
        sales_plans::version.eq(expected_version + 1),
        sales_plans::updated_at.eq(at),
    ))
    .execute(conn)
}

/// Marks a live plan deleted if it is still at `expected_version`; the
/// number of rows changed.
pub fn delete_plan(
    conn: &mut DbConnection,
    id: DbUuid,
    expected_version: i64,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sales_plans::table
            .filter(sales_plans::id.eq(id))
            .filter(sales_plans::version.eq(expected_version))
            .filter(sales_plans::deleted_at.is_null()),
    )
    .set((
        sales_plans::deleted_at.eq(Some(at)),
        sales_plans::version.eq(expected_version + 1),
        sales_plans::updated_at.eq(at),
    ))
    .execute(conn)
}
