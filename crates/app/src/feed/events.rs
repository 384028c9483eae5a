//! Reads the change feed for one reader: events in commit order after a
//! cursor, only those of entities the reader may see at that change, and a
//! tombstone where an entity left their view.

use chrono::{DateTime, Utc};
use crm_domain::events::EventType;
use crm_domain::status::Word;
pub use crm_store::queries::outbox::FeedPosition as Position;
use crm_store::queries::outbox::{self as q, FeedPosition};
use crm_store::rows::FeedEventRow;
use crm_store::DbConnection;
use uuid::Uuid;

use crate::identity::permissions::{self, Access};
use crate::identity::policy::{self, Visibility};
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::platform::outbox::Audience;
use crate::App;

/// The most events one page holds.
pub const MAX_LIMIT: usize = 500;

/// How many stored events one request looks at, at most, per item it may
/// return: a reader who may see little of a busy feed still gets an answer
/// promptly, and follows `has_more`.
const SCAN_FACTOR: usize = 20;

/// One event as a reader gets it.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub id: Uuid,
    pub kind: EventType,
    pub occurred_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub entity_type: String,
    pub entity_id: Uuid,
    pub entity_version: Option<i64>,
    /// The entity as its GET returned it at this change; `None` on a tombstone.
    pub data: Option<serde_json::Value>,
    /// `{field: {from, to}}` against the entity's previous event; `None` on
    /// the first event of an entity and on tombstones.
    pub changes: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    /// Where to read on from: past every event looked at, shown or not.
    pub next: FeedPosition,
    /// Whether events past `next` were already there (read on at once).
    pub has_more: bool,
}

/// A `types` filter entry: an exact type or every type of one prefix (`order.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypePattern {
    Exact(EventType),
    Prefix(String),
}

impl TypePattern {
    pub(crate) fn matches(&self, kind: EventType) -> bool {
        match self {
            TypePattern::Exact(t) => *t == kind,
            TypePattern::Prefix(p) => kind.as_str().split('.').next() == Some(p.as_str()),
        }
    }

    /// The stored kinds that can yield a match (a tombstone is made from any
    /// event of its entity).
    pub(crate) fn sql(&self) -> String {
        match self {
            TypePattern::Exact(t) if !t.is_stored() => format!("{}.%", prefix(*t)),
            TypePattern::Exact(t) => t.as_str().to_owned(),
            TypePattern::Prefix(p) => format!("{p}.%"),
        }
    }
}

fn prefix(t: EventType) -> &'static str {
    t.as_str().split('.').next().unwrap_or_default()
}

/// Reads `types` as the API takes it: each an event type of the catalogue or
/// `<prefix>.*` for a prefix one of them has. Every bad entry is named.
pub fn parse_types(raw: &[String]) -> Result<Vec<TypePattern>, AppError> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for entry in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if let Some(p) = entry.strip_suffix(".*") {
            if EventType::ALL.iter().any(|t| prefix(*t) == p) {
                out.push(TypePattern::Prefix(p.to_owned()));
                continue;
            }
        } else if let Some(t) = EventType::parse(entry) {
            out.push(TypePattern::Exact(t));
            continue;
        }
        bad.push(entry.to_owned());
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(AppError::malformed(
            "types",
            "unknown_event_type",
            format!(
                "{} is not an event type of the catalogue nor <prefix>.* of one (for example order.*, payment.registered)",
                bad.join(", ")
            ),
        ))
    }
}

/// Whose records of a kind a reader sees: by the kind's own visibility rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Everyone who may read the kind sees every record.
    Open,
    Leads,
    Clients,
    Interests,
    Orders,
    Tasks,
    /// Sales plans: a manager's as their interests, a department's for the
    /// heads above it (recorded as the audience's persons).
    Plans,
}

/// The read access and visibility rule of each kind of entity, as its GET
/// applies them; `None` for a kind the feed does not know (never handed out).
fn rule(entity_type: &str) -> Option<(&'static Access, Family)> {
    use permissions as p;
    Some(match entity_type {
        "user" => (&p::READ_USER, Family::Open),
        "department" => (&p::READ_DEPARTMENT, Family::Open),
        "api_key" => (&p::MANAGE_API_KEYS, Family::Open),
        "scenario" => (&p::READ_SCENARIOS, Family::Open),
        "loss_reason" => (&p::READ_LOSS_REASONS, Family::Open),
        "channel" => (&p::MANAGE_CHANNELS, Family::Open),
        "product" => (&p::READ_CATALOG, Family::Open),
        "organization" => (&p::READ_ORGANIZATION, Family::Open),
        "lead" => (&p::READ_LEADS, Family::Leads),
        "client" | "contact" => (&p::READ_CLIENTS, Family::Clients),
        "agreement" => (&p::READ_AGREEMENTS, Family::Clients),
        "interest" | "interaction" => (&p::READ_INTERESTS, Family::Interests),
        "quote" => (&p::READ_QUOTES, Family::Interests),
        "task" => (&p::READ_TASKS, Family::Tasks),
        "order" => (&p::READ_ORDERS, Family::Orders),
        "payment" => (&p::READ_PAYMENTS, Family::Orders),
        "shipment" => (&p::READ_SHIPMENTS, Family::Orders),
        "related_document" => (&p::READ_PURCHASING, Family::Orders),
        "sales_plan" => (&p::READ_SALES_PLANS, Family::Plans),
        // The absent user and whoever sees their work; the deputy by name.
        "absence" => (&p::ABSENCES, Family::Plans),
        "client_date" => (&p::READ_CLIENTS, Family::Clients),
        _ => return None,
    })
}

/// One reader's scopes, worked out once per request as first needed.
struct Reader<'a> {
    actor: &'a Principal,
    interests: Option<Visibility>,
    clients: Option<Visibility>,
    orders: Option<Visibility>,
}

impl<'a> Reader<'a> {
    fn new(actor: &'a Principal) -> Self {
        Reader { actor, interests: None, clients: None, orders: None }
    }

    fn scope(&mut self, conn: &mut DbConnection, family: Family) -> Result<&Visibility, AppError> {
        let actor = self.actor;
        let slot = match family {
            Family::Clients => &mut self.clients,
            Family::Orders => &mut self.orders,
            _ => &mut self.interests,
        };
        if slot.is_none() {
            *slot = Some(match family {
                Family::Clients => policy::clients(conn, actor)?,
                Family::Orders => crate::documents::orders::order_visibility(conn, actor)?,
                _ => policy::visibility(conn, actor)?,
            });
        }
        slot.as_ref().ok_or_else(|| AppError::internal("visibility not worked out"))
    }

    /// Whether the reader sees an entity of `family` whose audience at one
    /// change was `audience` (`None` where none was recorded: only readers
    /// who see everything).
    fn sees(
        &mut self,
        conn: &mut DbConnection,
        family: Family,
        audience: Option<&Audience>,
    ) -> Result<bool, AppError> {
        if family == Family::Open {
            return Ok(true);
        }
        let me = self.actor.user().map(|u| u.id);
        let vis = self.scope(conn, family)?;
        if matches!(vis, Visibility::All) {
            return Ok(true);
        }
        let Some(audience) = audience else { return Ok(false) };
        let owner = audience.owners.first().copied();
        Ok(match family {
            // An unassigned lead waits in the shared inbox every reader of leads sees.
            Family::Leads => owner.is_none_or(|o| vis.allows(o)),
            Family::Tasks | Family::Plans => {
                me.is_some_and(|me| audience.persons.contains(&me))
                    || audience.owners.iter().any(|o| vis.allows(*o))
            }
            _ => audience.owners.iter().any(|o| vis.allows(*o)),
        })
    }
}

fn audience(text: Option<&str>) -> Result<Option<Audience>, AppError> {
    text.map(|t| serde_json::from_str(t).map_err(AppError::internal)).transpose()
}

fn json(text: Option<&str>) -> Result<Option<serde_json::Value>, AppError> {
    text.map(|t| serde_json::from_str(t).map_err(AppError::internal)).transpose()
}

/// Up to `limit` events after `after` (`None`: from the oldest kept) that
/// `actor` may see, of `types` (empty: all).
pub fn read(
    app: &App,
    actor: &Principal,
    after: Option<FeedPosition>,
    types: &[TypePattern],
    limit: usize,
) -> Result<FeedPage, AppError> {
    actor.require(&permissions::READ_EVENTS)?;
    let limit = limit.clamp(1, MAX_LIMIT);
    app.read(|conn| {
        let horizon = q::horizon(conn)?;
        let start = match (after, horizon) {
            (Some(a), Some(h)) if a < h => return Err(AppError::CursorExpired),
            (Some(a), _) => a,
            (None, h) => h.unwrap_or_default(),
        };
        let sql: Option<Vec<String>> =
            (!types.is_empty()).then(|| types.iter().map(TypePattern::sql).collect());
        let mut reader = Reader::new(actor);
        let mut items = Vec::new();
        let mut next = start;
        let mut scanned = 0;
        let batch = i64::try_from(limit).unwrap_or(100);
        let has_more = loop {
            let rows = q::feed_after(conn, next, sql.as_deref(), batch)?;
            let got = rows.len();
            for row in rows {
                next = FeedPosition::of(&row);
                scanned += 1;
                if let Some(item) = shown(conn, &mut reader, row)? {
                    if types.is_empty() || types.iter().any(|t| t.matches(item.kind)) {
                        items.push(item);
                    }
                }
                if items.len() == limit {
                    break;
                }
            }
            if items.len() == limit {
                break !q::feed_after(conn, next, sql.as_deref(), 1)?.is_empty();
            }
            if got < limit {
                break false;
            }
            if scanned >= limit * SCAN_FACTOR {
                break true;
            }
        };
        Ok(FeedPage { items, next, has_more })
    })
}

/// The event as this reader gets it: whole, as a tombstone, or not at all.
fn shown(
    conn: &mut DbConnection,
    reader: &mut Reader<'_>,
    row: FeedEventRow,
) -> Result<Option<FeedItem>, AppError> {
    let Some(stored) = EventType::parse(&row.kind) else { return Ok(None) };
    let Some((access, family)) = rule(&row.entity_type) else { return Ok(None) };
    if !reader.actor.may(access) {
        return Ok(None);
    }
    if prefix(stored) == "invoice" && !reader.actor.may(&permissions::READ_INVOICES) {
        return Ok(None);
    }
    let now = audience(row.audience.as_deref())?;
    let before = audience(row.prev_audience.as_deref())?;
    let removed = EventType::removed(&row.entity_type);
    if reader.sees(conn, family, now.as_ref())? {
        return whole(row).map(Some);
    }
    // Left the reader's view with this change: they saw the previous event.
    if let (Some(before), Some(removed)) = (before, removed) {
        if reader.sees(conn, family, Some(&before))? {
            let tomb = whole(row)?;
            return Ok(Some(FeedItem {
                kind: removed,
                entity_version: None,
                data: None,
                changes: None,
                ..tomb
            }));
        }
    }
    Ok(None)
}

/// The whole event, as a webhook gets it (the organisation's own endpoint:
/// no reader's visibility applies).
pub(crate) fn whole(row: FeedEventRow) -> Result<FeedItem, AppError> {
    let kind = EventType::parse(&row.kind).ok_or_else(|| {
        AppError::internal(format!("an event of a type not in the catalogue: {}", row.kind))
    })?;
    Ok(FeedItem {
        id: row.id.0,
        kind,
        occurred_at: row.occurred_at.and_utc(),
        actor_kind: row.actor_kind,
        actor_id: row.actor_id.map(Uuid::from),
        entity_type: row.entity_type,
        entity_id: row.entity_id.0,
        entity_version: row.entity_version,
        data: json(row.data.as_deref())?,
        changes: json(row.changes.as_deref())?,
    })
}
