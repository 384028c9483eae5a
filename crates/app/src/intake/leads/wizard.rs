//! The acceptance wizard: candidates, the identified client and contact
//! (or a glimpse of them when the viewer may not see them), the proposal.

use crm_scenario::InterestState;
use crm_store::queries::clients as cq;
use crm_store::queries::sales as sq;
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy::visibility;
use crate::identity::principal::Principal;
use crate::parties::clients::{self, ClientView};

use crate::parties::duplicates::Candidate;

use super::*;
use crate::parties::contacts::ContactView;
use crate::platform::error::AppError;
use crate::sales::interests::{self, InterestView};
use crate::App;

/// A matched record the viewer may not open: what routing needs, no more.
#[derive(Debug, Clone)]
pub struct Glimpse {
    pub id: Uuid,
    pub masked_name: String,
    pub responsible_id: Option<Uuid>,
    pub responsible_name: Option<String>,
}

/// What the acceptance wizard shows for a lead.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub lead: LeadView,
    pub candidates: Vec<Candidate>,
    /// The identified client, whole — when the viewer may see it.
    pub client: Option<ClientView>,
    /// The identified client when the viewer may not see it.
    pub client_glimpse: Option<Glimpse>,
    pub contact: Option<ContactView>,
    pub contact_glimpse: Option<Glimpse>,
    pub proposed_responsible_id: Option<Uuid>,
    pub active_interests: Vec<InterestView>,
    /// The user's usual service type, preset for the new interest.
    pub default_service_type: Option<String>,
}

pub fn acceptance(app: &App, actor: &Principal, id: Uuid) -> Result<Acceptance, AppError> {
    actor.require(&permissions::PROCESS_LEADS)?;
    let now = app.now();
    let fallback = app.settings().default_time_zone.tz();
    app.read(|conn| {
        let row = visible_lead(conn, actor, id)?;
        let points: Vec<(String, String)> = [("phone", &row.phone), ("email", &row.email)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
            .collect();
        let candidates = crate::parties::duplicates::find_candidates(
            conn,
            actor,
            row.name.as_deref(),
            &points,
            None,
            None,
        )?;
        // The lead matched these by a phone or e-mail someone typed: the
        // viewer sees them whole only if GET would show them.
        let client_row = match row.client_id {
            Some(c) => cq::find_client(conn, c)?,
            None => None,
        };
        let contact_row = match row.contact_id {
            Some(c) => cq::find_contact(conn, c)?,
            None => None,
        };
        let client_responsible = client_row.as_ref().and_then(|c| c.responsible_id).map(Into::into);
        let (mut client, mut client_glimpse) = (None, None);
        if let Some(r) = client_row {
            if clients::client_visible(conn, actor, r.id.0)? {
                client = Some(clients::load_client_view(conn, r)?);
            } else {
                client_glimpse = Some(glimpse(conn, r.id.0, &r.name, r.responsible_id)?);
            }
        }
        let (mut contact, mut contact_glimpse) = (None, None);
        if let Some(r) = contact_row {
            if crate::parties::contacts::contact_visible(conn, actor, r.id.0)? {
                contact = Some(crate::parties::contacts::load_contact_view(conn, r)?);
            } else {
                contact_glimpse = Some(glimpse(conn, r.id.0, &r.name, r.responsible_id)?);
            }
        }
        let proposed = client_responsible.or_else(|| actor.user().map(|u| u.id));
        let mut active_interests = Vec::new();
        if let Some(c) = row.client_id {
            let vis = visibility(conn, actor)?;
            let f = sq::InterestFilter {
                client_id: Some(c),
                states: Some(vec![
                    InterestState::Active.as_str().to_owned(),
                    InterestState::AwaitingLossApproval.as_str().to_owned(),
                ]),
                responsible_in: vis.filter(),
                ..Default::default()
            };
            for r in sq::list_interests(conn, &f, crm_store::queries::PageQuery::first(50))? {
                active_interests.push(interests::interest_view_in(conn, r.id, now, fallback)?);
            }
        }
        let default_service_type = match actor.user() {
            Some(u) => {
                crm_store::queries::users::find(conn, u.id.into())?.and_then(|u| u.default_service_type)
            }
            None => None,
        };
        Ok(Acceptance {
            lead: view(row),
            candidates,
            client,
            client_glimpse,
            contact,
            contact_glimpse,
            proposed_responsible_id: proposed,
            active_interests,
            default_service_type,
        })
    })
}

pub(super) fn glimpse(
    conn: &mut DbConnection,
    id: Uuid,
    name: &str,
    responsible: Option<DbUuid>,
) -> Result<Glimpse, AppError> {
    let responsible_name = match responsible {
        Some(r) => crm_store::queries::users::find(conn, r)?.map(|u| u.name),
        None => None,
    };
    Ok(Glimpse {
        id,
        masked_name: crate::parties::duplicates::mask_name(name),
        responsible_id: responsible.map(Into::into),
        responsible_name,
    })
}
