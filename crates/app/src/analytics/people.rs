//! Who sells and where sales come from: figures per manager, per lead
//! source, and the open interests nobody has touched for a while.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use crm_store::queries::analytics::{self as q, DealFacts, LeadFacts};
use crm_store::queries::users as uq;
use crm_store::DbUuid;
use uuid::Uuid;

use super::{cycle_seconds, days, mean_days, percent, report, Period, ReportFilter, Sums};
use crate::identity::principal::Principal;
use crate::platform::error::AppError;
use crate::App;

/// One manager's figures.
#[derive(Debug, Clone, Default)]
pub struct ManagerFigures {
    pub user_id: Uuid,
    pub name: String,
    /// Leads they accepted into an interest or linked to one in the period.
    pub leads_taken: usize,
    /// Interests made in the period that they are responsible for.
    pub opened: usize,
    pub won: usize,
    pub won_amount: Sums,
    pub lost: usize,
    pub win_rate: Option<f64>,
    /// Days from creation to closing of the interests they closed in the period.
    pub average_cycle_days: Option<f64>,
    /// Their open interests now, and those with a task overdue now.
    pub open: usize,
    pub open_with_overdue_tasks: usize,
}

#[derive(Debug, Clone)]
pub struct Managers {
    pub period: Period,
    /// By name.
    pub managers: Vec<ManagerFigures>,
}

/// Per manager and head in the reader's view: leads taken, interests opened,
/// won (count and revenue) and lost in the period, the win rate and cycle,
/// and their open interests now with those that have an overdue task.
pub fn managers(app: &App, actor: &Principal, filter: &ReportFilter) -> Result<Managers, AppError> {
    let now = app.now().naive_utc();
    report(app, actor, filter, |conn, period, scope| {
        let mut rows: HashMap<DbUuid, ManagerFigures> = HashMap::new();
        let in_scope = |id: &DbUuid| scope.responsible_in.as_ref().is_none_or(|people| people.contains(id));
        for (id, name, _, active) in q::sales_people(conn)? {
            if active && in_scope(&id) {
                rows.insert(id, ManagerFigures { user_id: id.0, name, ..Default::default() });
            }
        }
        // Leads are counted by who took them, whatever scenario their interest follows.
        for lead in q::leads_taken_between(conn, scope.responsible_in.as_deref(), period.start, period.end)? {
            if let Some(by) = lead.processed_by {
                rows.entry(by)
                    .or_insert_with(|| ManagerFigures { user_id: by.0, ..Default::default() })
                    .leads_taken += 1;
            }
        }
        for d in q::interests_created_between(conn, &scope, period.start, period.end)? {
            rows.entry(d.responsible_id)
                .or_insert_with(|| ManagerFigures { user_id: d.responsible_id.0, ..Default::default() })
                .opened += 1;
        }
        let mut cycles: HashMap<DbUuid, Vec<i64>> = HashMap::new();
        for d in q::interests_closed_between(conn, &scope, period.start, period.end)? {
            let r = rows
                .entry(d.responsible_id)
                .or_insert_with(|| ManagerFigures { user_id: d.responsible_id.0, ..Default::default() });
            if d.state == "won" {
                r.won += 1;
                r.won_amount.add(&d.currency, i128::from(d.potential_minor.unwrap_or(0)));
            } else {
                r.lost += 1;
            }
            cycles.entry(d.responsible_id).or_default().push(cycle_seconds(&d));
        }
        for (who, count) in q::open_counts_by_responsible(conn, &scope, None)? {
            rows.entry(who).or_insert_with(|| ManagerFigures { user_id: who.0, ..Default::default() }).open =
                usize::try_from(count).unwrap_or(0);
        }
        for (who, count) in q::open_counts_by_responsible(conn, &scope, Some(now))? {
            rows.entry(who)
                .or_insert_with(|| ManagerFigures { user_id: who.0, ..Default::default() })
                .open_with_overdue_tasks = usize::try_from(count).unwrap_or(0);
        }
        // People who left the sales roles but hold figures: named all the same.
        let unnamed: Vec<DbUuid> =
            rows.iter().filter(|(_, r)| r.name.is_empty()).map(|(id, _)| *id).collect();
        for user in uq::find_many(conn, &unnamed)? {
            if let Some(r) = rows.get_mut(&user.id) {
                r.name = user.name;
            }
        }
        let mut managers: Vec<ManagerFigures> = rows
            .into_iter()
            .map(|(id, mut r)| {
                r.win_rate = percent(r.won, r.won + r.lost);
                r.average_cycle_days = cycles.get(&id).and_then(|c| mean_days(c));
                r
            })
            .collect();
        managers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.user_id.cmp(&b.user_id)));
        Ok(Managers { period, managers })
    })
}

/// One channel and source of leads.
#[derive(Debug, Clone)]
pub struct LeadSourceFigures {
    /// `email`, `telegram`, `vk`, `phone`, `form`, `manual`…
    pub channel: String,
    /// The form, bot, mailbox or line the leads came through, when known.
    pub source: Option<String>,
    pub received: usize,
    /// Accepted into an interest or linked to one (so far).
    pub taken: usize,
    /// Of those, interests won (so far), and what they brought.
    pub won: usize,
    pub won_amount: Sums,
}

#[derive(Debug, Clone)]
pub struct LeadSources {
    pub period: Period,
    pub received: usize,
    /// Most leads first.
    pub sources: Vec<LeadSourceFigures>,
}

/// Per channel and source: leads received, leads taken, won interests.
type SourceTally = (usize, usize, HashSet<DbUuid>);

/// Per channel and source, the leads received in the period: how many were
/// taken into interests, how many of those interests are won, and their revenue.
pub fn lead_sources(app: &App, actor: &Principal, filter: &ReportFilter) -> Result<LeadSources, AppError> {
    report(app, actor, filter, |conn, period, scope| {
        // Leads are the assignee's; the shared inbox's only for those who see everything.
        let leads: Vec<LeadFacts> =
            q::leads_received_between(conn, scope.responsible_in.as_deref(), period.start, period.end)?;
        let interest_ids: Vec<DbUuid> =
            leads.iter().filter_map(|l| l.interest_id).collect::<HashSet<_>>().into_iter().collect();
        let won: HashMap<DbUuid, DealFacts> = q::interests_by_id(conn, &interest_ids)?
            .into_iter()
            .filter(|d| d.state == "won" && scope.scenario_id.is_none_or(|s| s == d.scenario_id))
            .map(|d| (d.id, d))
            .collect();
        let mut groups: BTreeMap<(String, Option<String>), SourceTally> = BTreeMap::new();
        for l in &leads {
            let g = groups.entry((l.channel.clone(), l.source.clone())).or_default();
            g.0 += 1;
            if matches!(l.status.as_str(), "accepted" | "linked") {
                g.1 += 1;
            }
            if let Some(i) = l.interest_id.filter(|i| won.contains_key(i)) {
                g.2.insert(i);
            }
        }
        let mut sources: Vec<LeadSourceFigures> = groups
            .into_iter()
            .map(|((channel, source), (received, taken, won_ids))| {
                let mut won_amount = Sums::default();
                for d in won_ids.iter().filter_map(|i| won.get(i)) {
                    won_amount.add(&d.currency, i128::from(d.potential_minor.unwrap_or(0)));
                }
                LeadSourceFigures { channel, source, received, taken, won: won_ids.len(), won_amount }
            })
            .collect();
        sources.sort_by(|a, b| {
            b.received.cmp(&a.received).then_with(|| (&a.channel, &a.source).cmp(&(&b.channel, &b.source)))
        });
        Ok(LeadSources { period, received: leads.len(), sources })
    })
}

/// An open interest nobody has moved or talked to the client about lately.
#[derive(Debug, Clone)]
pub struct StaleInterest {
    pub interest_id: Uuid,
    pub title: String,
    pub stage: String,
    pub responsible_id: Uuid,
    /// The last move or done interaction.
    pub last_activity_at: DateTime<Utc>,
    pub idle_days: f64,
    pub potential_minor: Option<i64>,
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct StaleInterests {
    pub days: u32,
    /// Every stale interest, and their potential per currency.
    pub count: usize,
    pub at_risk: Sums,
    /// The longest idle first, at most `limit`.
    pub items: Vec<StaleInterest>,
}

/// Open interests with no stage move and no done interaction for `days`
/// days: their count, the potential at risk, and the longest idle first.
pub fn stale_interests(
    app: &App,
    actor: &Principal,
    filter: &ReportFilter,
    idle_days: u32,
    limit: usize,
) -> Result<StaleInterests, AppError> {
    let now = app.now().naive_utc();
    let cutoff = now - chrono::Duration::days(i64::from(idle_days));
    report(app, actor, filter, |conn, _, scope| {
        // An interest's last move is when it entered its stage; only one
        // unmoved since the cutoff can be stale, and then only if no
        // interaction was done with the client since either.
        let talked: HashMap<DbUuid, NaiveDateTime> = q::last_interactions_of_open_interests(conn, &scope)?
            .into_iter()
            .filter_map(|(id, at)| at.map(|a| (id, a)))
            .collect();
        let mut stale: Vec<q::Idle> = q::open_interests_unmoved_since(conn, &scope, cutoff)?
            .into_iter()
            .map(|(id, moved, amount, currency)| {
                let last = talked.get(&id).map_or(moved, |t| (*t).max(moved));
                (id, last, amount, currency)
            })
            .filter(|(_, last, _, _)| *last < cutoff)
            .collect();
        let mut at_risk = Sums::default();
        for (_, _, amount, currency) in &stale {
            at_risk.add(currency, i128::from(amount.unwrap_or(0)));
        }
        stale.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let count = stale.len();
        stale.truncate(limit);
        let ids: Vec<DbUuid> = stale.iter().map(|s| s.0).collect();
        let mut facts: HashMap<DbUuid, DealFacts> =
            q::interests_by_id(conn, &ids)?.into_iter().map(|d| (d.id, d)).collect();
        let items = stale
            .into_iter()
            .filter_map(|(id, at, _, _)| {
                let d = facts.remove(&id)?;
                Some(StaleInterest {
                    interest_id: d.id.0,
                    title: d.title,
                    stage: d.stage,
                    responsible_id: d.responsible_id.0,
                    last_activity_at: at.and_utc(),
                    idle_days: days((now - at).num_seconds()),
                    potential_minor: d.potential_minor,
                    currency: d.currency,
                })
            })
            .collect();
        Ok(StaleInterests { days: idle_days, count, at_risk, items })
    })
}
