//! The duplicate check: candidates by phone, e-mail, tax id and similar
//! name, concealed as the viewer's visibility requires.

use std::collections::HashMap;

use crm_domain::contact_data::{name_key, name_similarity, name_tokens};
use crm_domain::{Email, Phone, TaxId};
use crm_store::queries::clients as q;
use crm_store::rows::{ClientRow, ContactRow};
use crm_store::{DbConnection, DbUuid};
use uuid::Uuid;

use crate::identity::permissions;
use crate::identity::policy;
use crate::identity::principal::Principal;
use crate::platform::error::{AppError, Problems};
use crate::App;
pub use crm_domain::duplicates::{Candidate, MatchKind, MatchReason, PartyKind};

pub(in crate::parties) const MAX_POINTS: usize = 10;
/// Names at least this alike are reported as `similar_name`.
pub(in crate::parties) const SIMILAR: f64 = 0.85;

/// `ООО «Ромашка»` → `О** «Р******»`: the first letter of each word, the rest
/// starred, so a colleague can tell which record it is without learning it.
pub fn mask_name(name: &str) -> String {
    name.split(' ')
        .map(|w| {
            let mut seen_letter = false;
            w.chars()
                .map(|c| {
                    if c.is_alphanumeric() {
                        if seen_letter {
                            '*'
                        } else {
                            seen_letter = true;
                            c
                        }
                    } else {
                        c
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Candidates as this viewer may see them: records outside their view keep
/// the id, the match reasons (whose values the viewer typed themselves), the
/// responsible manager's name and a masked name; a similar name's value is
/// masked too. Nothing else of the record leaves.
pub(in crate::parties) fn conceal(
    conn: &mut DbConnection,
    actor: &Principal,
    candidates: Vec<Candidate>,
) -> Result<Vec<Candidate>, AppError> {
    let vis = policy::clients(conn, actor)?;
    // A contact of a client is seen as its client is (as GET /contacts/{id} judges).
    let owners: Vec<DbUuid> = candidates.iter().filter_map(|c| c.client_id.map(Into::into)).collect();
    let owner_responsible: HashMap<Uuid, Option<DbUuid>> = if owners.is_empty() {
        HashMap::new()
    } else {
        q::find_clients(conn, &owners)?.into_iter().map(|c| (c.id.0, c.responsible_id)).collect()
    };
    let people: Vec<DbUuid> = candidates.iter().filter_map(|c| c.responsible_id.map(Into::into)).collect();
    let names: HashMap<Uuid, String> = if people.is_empty() {
        HashMap::new()
    } else {
        crm_store::queries::users::find_many(conn, &people)?.into_iter().map(|u| (u.id.0, u.name)).collect()
    };
    Ok(candidates
        .into_iter()
        .map(|mut c| {
            c.responsible_name = c.responsible_id.and_then(|r| names.get(&r).cloned());
            let judged_by = match c.client_id {
                Some(owner) => owner_responsible.get(&owner).copied().flatten(),
                None => c.responsible_id.map(Into::into),
            };
            c.visible = policy::sees(&vis, judged_by);
            if !c.visible {
                c.name = mask_name(&c.name);
                for r in &mut c.reasons {
                    if r.reason == MatchKind::SimilarName {
                        r.value = mask_name(&r.value);
                    }
                }
            }
            c
        })
        .collect())
}

/// Parsed phones and e-mails, every bad one reported by its index.
pub(crate) fn parse_points(p: &mut Problems, phones: &[String], emails: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if phones.len() > MAX_POINTS {
        p.push("phones", "too_many", format!("at most {MAX_POINTS}"));
    }
    if emails.len() > MAX_POINTS {
        p.push("emails", "too_many", format!("at most {MAX_POINTS}"));
    }
    for (i, raw) in phones.iter().enumerate() {
        if let Some(phone) = p.check(&format!("phones[{i}]"), Phone::parse(raw)) {
            let v = ("phone".to_owned(), phone.as_str().to_owned());
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    for (i, raw) in emails.iter().enumerate() {
        if let Some(email) = p.check(&format!("emails[{i}]"), Email::parse(raw)) {
            let v = ("email".to_owned(), email.as_str().to_owned());
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Candidates that share a phone, e-mail or tax id, or have a similar name.
/// Every lookup goes through an index on the normalised value.
pub(crate) fn find_candidates(
    conn: &mut DbConnection,
    actor: &Principal,
    name: Option<&str>,
    points: &[(String, String)],
    tax_id: Option<&str>,
    exclude: Option<Uuid>,
) -> Result<Vec<Candidate>, AppError> {
    let found = find_candidates_unmasked(conn, name, points, tax_id, exclude)?;
    conceal(conn, actor, found)
}

/// A stored owner kind; anything else is a corrupt row, not a guess.
pub(in crate::parties) fn owner_kind(raw: &str) -> Result<PartyKind, AppError> {
    PartyKind::parse(raw).ok_or_else(|| AppError::internal(format!("contact point owner kind {raw:?}")))
}

/// At most this many records are weighed for a similar name.
const NAME_CANDIDATES: usize = 500;

/// The records sharing a word with the name, rarest word first, at most
/// `NAME_CANDIDATES` of them. A word that hundreds of names share ("строй",
/// "торг") must not crowd out the one record that shares a rare word with
/// this name: each word's owners are read (up to the cap, so the cost does
/// not grow with the table) and the smaller sets are taken first.
fn named_owners(conn: &mut DbConnection, tokens: &[String]) -> Result<Vec<(PartyKind, DbUuid)>, AppError> {
    let mut by_token = Vec::with_capacity(tokens.len());
    for token in tokens {
        by_token.push(q::owners_of_tokens(conn, std::slice::from_ref(token), NAME_CANDIDATES as i64)?);
    }
    by_token.sort_by_key(Vec::len);
    let mut named: Vec<(PartyKind, DbUuid)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in by_token.into_iter().flatten() {
        let owner = (owner_kind(&t.owner_kind)?, t.owner_id);
        if named.len() < NAME_CANDIDATES && seen.insert(owner) {
            named.push(owner);
        }
    }
    Ok(named)
}

pub(in crate::parties) fn find_candidates_unmasked(
    conn: &mut DbConnection,
    name: Option<&str>,
    points: &[(String, String)],
    tax_id: Option<&str>,
    exclude: Option<Uuid>,
) -> Result<Vec<Candidate>, AppError> {
    let mut reasons: HashMap<(PartyKind, DbUuid), Vec<MatchReason>> = HashMap::new();
    for kind in ["phone", "email"] {
        let values: Vec<String> = points.iter().filter(|(k, _)| k == kind).map(|(_, v)| v.clone()).collect();
        if values.is_empty() {
            continue;
        }
        for hit in q::owners_of_points(conn, kind, &values)? {
            let owner = owner_kind(&hit.owner_kind)?;
            let reason = if kind == "phone" { MatchKind::SamePhone } else { MatchKind::SameEmail };
            reasons.entry((owner, hit.owner_id)).or_default().push(MatchReason {
                reason,
                value: hit.value,
                score: None,
            });
        }
    }
    if let Some(tax) = tax_id {
        for c in q::clients_by_tax_id(conn, tax)? {
            reasons.entry((PartyKind::Client, c.id)).or_default().push(MatchReason {
                reason: MatchKind::SameTaxId,
                value: tax.to_owned(),
                score: None,
            });
        }
    }
    let key = name.map(name_key).unwrap_or_default();
    let tokens = name_tokens(&key);
    let named = named_owners(conn, &tokens)?;
    let client_ids: Vec<DbUuid> = reasons
        .keys()
        .chain(named.iter())
        .filter(|(k, _)| *k == PartyKind::Client)
        .map(|(_, id)| *id)
        .collect();
    let contact_ids: Vec<DbUuid> = reasons
        .keys()
        .chain(named.iter())
        .filter(|(k, _)| *k == PartyKind::Contact)
        .map(|(_, id)| *id)
        .collect();
    let clients: HashMap<DbUuid, ClientRow> =
        q::find_clients(conn, &client_ids)?.into_iter().map(|c| (c.id, c)).collect();
    let contacts: HashMap<DbUuid, ContactRow> =
        q::find_contacts(conn, &contact_ids)?.into_iter().map(|c| (c.id, c)).collect();
    for owner in named {
        let other_key = match owner.0 {
            PartyKind::Client => clients.get(&owner.1).map(|c| c.name_key.as_str()),
            PartyKind::Contact => contacts.get(&owner.1).map(|c| c.name_key.as_str()),
        };
        let Some(other_key) = other_key else { continue };
        let score = name_similarity(&key, other_key);
        if score >= SIMILAR {
            let entry = reasons.entry(owner).or_default();
            if !entry.iter().any(|r| r.reason == MatchKind::SimilarName) {
                entry.push(MatchReason {
                    reason: MatchKind::SimilarName,
                    value: other_key.to_owned(),
                    score: Some((score * 100.0).round() / 100.0),
                });
            }
        }
    }
    let mut out: Vec<Candidate> = reasons
        .into_iter()
        .filter(|((_, id), _)| Some(id.0) != exclude)
        .filter_map(|((kind, id), reasons)| {
            let score: f64 = reasons
                .iter()
                .map(|r| match r.reason {
                    MatchKind::SameTaxId => 1.0,
                    MatchKind::SamePhone | MatchKind::SameEmail => 0.9,
                    MatchKind::SimilarName => 0.6 * r.score.unwrap_or(0.0),
                })
                .sum();
            match kind {
                PartyKind::Client => clients.get(&id).map(|c| Candidate {
                    kind,
                    id: id.0,
                    name: c.name.clone(),
                    client_id: None,
                    responsible_id: c.responsible_id.map(Into::into),
                    responsible_name: None,
                    visible: false,
                    reasons,
                    score,
                }),
                PartyKind::Contact => contacts.get(&id).map(|c| Candidate {
                    kind,
                    id: id.0,
                    name: c.name.clone(),
                    client_id: c.client_id.map(Into::into),
                    responsible_id: c.responsible_id.map(Into::into),
                    responsible_name: None,
                    visible: false,
                    reasons,
                    score,
                }),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    out.truncate(20);
    Ok(out)
}

/// Only exact matches (phone, e-mail, tax id) block a create; similar names are advice.
pub(in crate::parties) fn blocking(candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.into_iter().filter(|c| c.reasons.iter().any(|r| r.reason != MatchKind::SimilarName)).collect()
}

/// A contact may share its own client's (or a colleague's) office phone or e-mail.
pub(in crate::parties) fn outside_client(candidates: Vec<Candidate>, client: Option<Uuid>) -> Vec<Candidate> {
    match client {
        None => candidates,
        Some(client) => {
            candidates.into_iter().filter(|c| c.id != client && c.client_id != Some(client)).collect()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DuplicateQuery {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub tax_id: Option<String>,
}

/// Looks for clients and contacts that match any of the given details.
pub fn search_duplicates(
    app: &App,
    actor: &Principal,
    query: DuplicateQuery,
) -> Result<Vec<Candidate>, AppError> {
    actor.require(&permissions::READ_CLIENTS)?;
    let mut p = Problems::new();
    if query.name.is_none() && query.phone.is_none() && query.email.is_none() && query.tax_id.is_none() {
        p.push("name", "required", "give at least one of name, phone, email, tax_id");
    }
    let phones: Vec<String> = query.phone.iter().cloned().collect();
    let emails: Vec<String> = query.email.iter().cloned().collect();
    let mut points = parse_points(&mut p, &phones, &emails);
    let tax = query.tax_id.as_deref().and_then(|t| p.check("tax_id", TaxId::parse(t)));
    // Report the request's own field names, not the list positions used inside.
    p.into_result().map_err(|e| match e {
        AppError::Validation(mut fields) => {
            for f in &mut fields {
                f.field = f.field.replace("phones[0]", "phone").replace("emails[0]", "email");
            }
            AppError::Validation(fields)
        }
        other => other,
    })?;
    points.dedup();
    app.read(|conn| {
        find_candidates(conn, actor, query.name.as_deref(), &points, tax.as_ref().map(TaxId::as_str), None)
    })
}
