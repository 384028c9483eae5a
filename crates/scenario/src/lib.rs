//! Sales scenarios as data and the pure rule engine that decides stage moves.
//!
//! No IO and no clock reads: time comes in as an argument. The stage model is
//! filled in by the scenarios issue; the kinds below are what every stage is.

/// What reaching a stage means for an interest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StageKind {
    /// Work is still going on.
    Open,
    /// The sale is closed successfully.
    Won,
    /// The sale is lost.
    Lost,
}

impl StageKind {
    pub fn is_final(self) -> bool {
        !matches!(self, StageKind::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_stages_are_not_final() {
        assert!(!StageKind::Open.is_final());
        assert!(StageKind::Won.is_final());
        assert!(StageKind::Lost.is_final());
    }
}
