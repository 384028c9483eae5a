//! What a duplicate check reports: the records that may be the one being
//! entered, and why each was taken for it.

use uuid::Uuid;

/// Which kind of record a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartyKind {
    Client,
    Contact,
}

impl PartyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Client => "client",
            PartyKind::Contact => "contact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client" => Some(PartyKind::Client),
            "contact" => Some(PartyKind::Contact),
            _ => None,
        }
    }
}

/// Why a record was taken for a possible duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    SamePhone,
    SameEmail,
    SameTaxId,
    SimilarName,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::SamePhone => "same_phone",
            MatchKind::SameEmail => "same_email",
            MatchKind::SameTaxId => "same_tax_id",
            MatchKind::SimilarName => "similar_name",
        }
    }
}

/// One reason, with the value that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchReason {
    pub reason: MatchKind,
    pub value: String,
    /// For `similar_name`, how alike the names are (0–1).
    pub score: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub kind: PartyKind,
    pub id: Uuid,
    /// The name, or — when the viewer may not see the record — its masked form.
    pub name: String,
    pub client_id: Option<Uuid>,
    pub responsible_id: Option<Uuid>,
    /// Whom to ask: the responsible manager's name.
    pub responsible_name: Option<String>,
    /// Whether the viewer may open the record; when not, only what routing
    /// needs is shown (id, reasons, masked name, the responsible's name).
    pub visible: bool,
    pub reasons: Vec<MatchReason>,
    /// Higher is likelier the same.
    pub score: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_the_published_ones() {
        assert_eq!(PartyKind::Client.as_str(), "client");
        assert_eq!(PartyKind::Contact.as_str(), "contact");
        for k in [PartyKind::Client, PartyKind::Contact] {
            assert_eq!(PartyKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(PartyKind::parse("Client"), None);
        assert_eq!(MatchKind::SamePhone.as_str(), "same_phone");
        assert_eq!(MatchKind::SameEmail.as_str(), "same_email");
        assert_eq!(MatchKind::SameTaxId.as_str(), "same_tax_id");
        assert_eq!(MatchKind::SimilarName.as_str(), "similar_name");
    }
}
