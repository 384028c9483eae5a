//! Checks a scenario a head submits; every problem is reported at once.

use std::collections::HashSet;

use crate::model::*;

/// One thing wrong with a scenario, with where it is (`stages[2].on_entry[0].title`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

const MAX_DAYS: u32 = 366;
const MAX_HOURS: u32 = 24 * 366;
const MAX_STAGES: usize = 50;
const MAX_CYCLE_DAYS: u32 = 3650;

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && code.starts_with(|c: char| c.is_ascii_lowercase())
}

fn check_text(problems: &mut Vec<Problem>, path: String, text: &str, max: usize) {
    let len = text.trim().chars().count();
    if len == 0 {
        problems.push(Problem { path, code: "blank", message: "must not be blank".to_owned() });
    } else if len > max {
        problems.push(Problem {
            path,
            code: "too_long",
            message: format!("must be at most {max} characters"),
        });
    }
}

fn check_actions(problems: &mut Vec<Problem>, path: &str, actions: &[Action]) {
    for (i, action) in actions.iter().enumerate() {
        let here = format!("{path}[{i}]");
        match action {
            Action::CreateTask { task } => {
                check_text(problems, format!("{here}.title"), &task.title, 200);
                if !valid_code(&task.task_kind) {
                    problems.push(Problem {
                        path: format!("{here}.task_kind"),
                        code: "invalid_code",
                        message: "use 1–40 lower-case letters, digits and _".to_owned(),
                    });
                }
                if task.due.days > MAX_DAYS || task.due.hours > MAX_HOURS {
                    problems.push(Problem {
                        path: format!("{here}.due"),
                        code: "out_of_range",
                        message: format!("at most {MAX_DAYS} days and {MAX_HOURS} hours"),
                    });
                }
            }
            Action::Notify { text, .. } => check_text(problems, format!("{here}.text"), text, 500),
            Action::CloseTasks { task_kind } => {
                if !valid_code(task_kind) {
                    problems.push(Problem {
                        path: format!("{here}.task_kind"),
                        code: "invalid_code",
                        message: "use 1–40 lower-case letters, digits and _".to_owned(),
                    });
                }
            }
            Action::SetPotentialToRevenue => {}
        }
    }
}

/// Every problem of a scenario; empty when it is sound.
pub fn validate(s: &Scenario) -> Vec<Problem> {
    let mut p = Vec::new();
    if s.stages.len() > MAX_STAGES {
        p.push(Problem {
            path: "stages".into(),
            code: "too_many",
            message: format!("at most {MAX_STAGES} stages"),
        });
    }
    if s.cycle_days.is_some_and(|d| d == 0 || d > MAX_CYCLE_DAYS) {
        p.push(Problem {
            path: "cycle_days".into(),
            code: "out_of_range",
            message: format!("a cycle is 1 to {MAX_CYCLE_DAYS} days"),
        });
    }
    let mut codes = HashSet::new();
    for (i, stage) in s.stages.iter().enumerate() {
        if !valid_code(&stage.code) {
            p.push(Problem {
                path: format!("stages[{i}].code"),
                code: "invalid_code",
                message: "use 1–40 lower-case letters, digits and _, starting with a letter".to_owned(),
            });
        }
        if !codes.insert(stage.code.as_str()) {
            p.push(Problem {
                path: format!("stages[{i}].code"),
                code: "duplicate_stage",
                message: format!("stage code {:?} is used twice", stage.code),
            });
        }
        check_text(&mut p, format!("stages[{i}].name"), &stage.name, 100);
        if stage.probability.is_some_and(|pr| pr > 100) {
            p.push(Problem {
                path: format!("stages[{i}].probability"),
                code: "out_of_range",
                message: "a probability is a percent from 0 to 100".to_owned(),
            });
        }
        check_actions(&mut p, &format!("stages[{i}].on_entry"), &stage.on_entry);
        if stage.kind.is_final() && !stage.triggers.is_empty() {
            p.push(Problem {
                path: format!("stages[{i}].triggers"),
                code: "final_stage_moves",
                message: "a won or lost stage cannot move on by itself".to_owned(),
            });
        }
        if stage.kind == StageKind::Lost && !stage.guards.contains(&Guard::LossReasonSet) {
            p.push(Problem {
                path: format!("stages[{i}].guards"),
                code: "loss_reason_guard",
                message: "a lost stage must require a loss reason".to_owned(),
            });
        }
    }
    let count = |kind| s.stages.iter().filter(|st| st.kind == kind).count();
    if count(StageKind::Open) == 0 {
        p.push(Problem {
            path: "stages".into(),
            code: "no_open_stage",
            message: "at least one open stage is needed".into(),
        });
    }
    if count(StageKind::Won) != 1 {
        p.push(Problem {
            path: "stages".into(),
            code: "won_stage",
            message: "exactly one won stage is needed".into(),
        });
    }
    if count(StageKind::Lost) == 0 {
        p.push(Problem {
            path: "stages".into(),
            code: "no_lost_stage",
            message: "at least one lost stage is needed".into(),
        });
    }
    for (i, stage) in s.stages.iter().enumerate() {
        for (j, t) in stage.triggers.iter().enumerate() {
            match s.stage(&t.move_to) {
                None => p.push(Problem {
                    path: format!("stages[{i}].triggers[{j}].move_to"),
                    code: "unknown_stage",
                    message: format!("no stage {:?}", t.move_to),
                }),
                Some(target) if target.code == stage.code => p.push(Problem {
                    path: format!("stages[{i}].triggers[{j}].move_to"),
                    code: "moves_to_itself",
                    message: "a trigger must move to another stage".into(),
                }),
                Some(target) if target.kind == StageKind::Lost => p.push(Problem {
                    path: format!("stages[{i}].triggers[{j}].move_to"),
                    code: "automatic_loss",
                    message: "a loss needs a reason and the head's approval; it cannot happen by itself"
                        .into(),
                }),
                Some(_) => {}
            }
        }
    }
    for (i, rule) in s.event_rules.iter().enumerate() {
        for (j, code) in rule.stages.iter().enumerate() {
            if s.stage(code).is_none() {
                p.push(Problem {
                    path: format!("event_rules[{i}].stages[{j}]"),
                    code: "unknown_stage",
                    message: format!("no stage {code:?}"),
                });
            }
        }
        if rule.actions.is_empty() {
            p.push(Problem {
                path: format!("event_rules[{i}].actions"),
                code: "empty",
                message: "name at least one action".into(),
            });
        }
        check_actions(&mut p, &format!("event_rules[{i}].actions"), &rule.actions);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typical_sale;

    #[test]
    fn the_typical_sale_is_sound() {
        assert_eq!(validate(&typical_sale()), vec![]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut s = typical_sale();
        s.stages[1].code = "request".into();
        s.stages[2].triggers[0].move_to = "nowhere".into();
        s.stages.retain(|st| st.kind != StageKind::Won);
        s.stages.push(Stage {
            code: "Bad Code".into(),
            name: " ".into(),
            kind: StageKind::Lost,
            probability: Some(101),
            guards: vec![],
            on_entry: vec![Action::CreateTask {
                task: TaskTemplate {
                    title: "".into(),
                    task_kind: "x".into(),
                    assignee: Assignee::Responsible,
                    due: DueOffset { days: 1000, hours: 0 },
                },
            }],
            triggers: vec![],
        });
        let codes: Vec<_> = validate(&s).into_iter().map(|p| (p.code, p.path)).collect();
        for expected in [
            ("duplicate_stage", "stages[1].code"),
            ("unknown_stage", "stages[2].triggers[0].move_to"),
            ("won_stage", "stages"),
            ("invalid_code", "stages[5].code"),
            ("blank", "stages[5].name"),
            ("blank", "stages[5].on_entry[0].title"),
            ("out_of_range", "stages[5].on_entry[0].due"),
            ("loss_reason_guard", "stages[5].guards"),
            ("out_of_range", "stages[5].probability"),
        ] {
            assert!(
                codes.iter().any(|(c, p)| *c == expected.0 && p == expected.1),
                "missing {expected:?} in {codes:?}"
            );
        }
    }

    #[test]
    fn scenarios_without_open_or_lost_stages_are_refused() {
        let s = Scenario { stages: vec![], event_rules: vec![], cycle_days: None };
        let codes: Vec<_> = validate(&s).into_iter().map(|p| p.code).collect();
        assert!(
            codes.contains(&"no_open_stage")
                && codes.contains(&"won_stage")
                && codes.contains(&"no_lost_stage")
        );
    }

    #[test]
    fn the_definition_round_trips_through_json() {
        let s = typical_sale();
        let json = serde_json::to_string(&s).unwrap();
        let back: Scenario = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(json.contains("\"action\":\"create_task\""));
    }
}

#[cfg(test)]
mod edge_tests {
    use super::*;
    use crate::typical_sale;

    fn codes(s: &Scenario) -> Vec<&'static str> {
        validate(s).into_iter().map(|p| p.code).collect()
    }

    fn with_task_due(due: DueOffset) -> Scenario {
        let mut s = typical_sale();
        s.stages[0].on_entry.push(Action::CreateTask {
            task: TaskTemplate {
                title: "Check".into(),
                task_kind: "check".into(),
                assignee: Assignee::Responsible,
                due,
            },
        });
        s
    }

    #[test]
    fn codes_are_forty_characters_at_most() {
        assert!(valid_code(&"a".repeat(40)));
        assert!(!valid_code(&"a".repeat(41)));
        assert!(!valid_code(""));
        assert!(!valid_code("1a"));
        assert!(!valid_code("a-b"));
    }

    #[test]
    fn names_are_one_hundred_characters_at_most() {
        let mut s = typical_sale();
        s.stages[0].name = "я".repeat(100);
        assert_eq!(codes(&s), Vec::<&str>::new());
        s.stages[0].name = "я".repeat(101);
        assert_eq!(codes(&s), ["too_long"]);
        s.stages[0].name = "я".repeat(102);
        assert_eq!(codes(&s), ["too_long"]);
    }

    #[test]
    fn due_offsets_run_to_a_year_in_days_or_hours() {
        assert_eq!(codes(&with_task_due(DueOffset { days: 366, hours: 24 * 366 })), Vec::<&str>::new());
        assert_eq!(codes(&with_task_due(DueOffset { days: 367, hours: 0 })), ["out_of_range"]);
        assert_eq!(codes(&with_task_due(DueOffset { days: 0, hours: 24 * 366 + 1 })), ["out_of_range"]);
        assert_eq!(codes(&with_task_due(DueOffset { days: 0, hours: 24 * 366 + 2 })), ["out_of_range"]);
    }

    #[test]
    fn a_cycle_is_one_day_to_ten_years() {
        let mut s = typical_sale();
        for (days, ok) in [(0, false), (1, true), (3650, true), (3651, false)] {
            s.cycle_days = Some(days);
            assert_eq!(codes(&s).is_empty(), ok, "{days} days");
        }
    }

    #[test]
    fn fifty_stages_at_most() {
        let mut s = typical_sale();
        let extra = |i: usize| Stage {
            code: format!("extra_{i}"),
            name: format!("Extra {i}"),
            kind: StageKind::Open,
            probability: None,
            guards: vec![],
            on_entry: vec![],
            triggers: vec![],
        };
        let mut i = 0;
        while s.stages.len() < MAX_STAGES {
            s.stages.push(extra(i));
            i += 1;
        }
        assert_eq!(codes(&s), Vec::<&str>::new());
        s.stages.push(extra(i));
        assert_eq!(codes(&s), ["too_many"]);
        s.stages.push(extra(i + 1));
        assert_eq!(codes(&s), ["too_many"]);
    }

    #[test]
    fn a_trigger_moves_elsewhere_and_never_to_a_loss() {
        let mut s = typical_sale();
        let (i, j) = s
            .stages
            .iter()
            .enumerate()
            .find_map(|(i, st)| (!st.triggers.is_empty()).then_some((i, 0)))
            .unwrap();
        let own = s.stages[i].code.clone();
        s.stages[i].triggers[j].move_to = own;
        assert_eq!(codes(&s), ["moves_to_itself"]);
        s.stages[i].triggers[j].move_to = "lost".into();
        assert_eq!(codes(&s), ["automatic_loss"]);
    }
}
