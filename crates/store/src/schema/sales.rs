//! Tables of scenarios, loss reasons, interests and the work around them.

use super::Uuid;

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    scenarios (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        definition -> Text,
        is_default -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    loss_reasons (id) {
        id -> Uuid,
        name -> Text,
        name_key -> Text,
        active -> Bool,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    interests (id) {
        id -> Uuid,
        scenario_id -> Uuid,
        stage -> Text,
        state -> Text,
        pending_stage -> Nullable<Text>,
        title -> Text,
        potential_minor -> Nullable<BigInt>,
        currency -> Text,
        service_type -> Nullable<Text>,
        client_id -> Nullable<Uuid>,
        contact_id -> Nullable<Uuid>,
        responsible_id -> Uuid,
        loss_reason_id -> Nullable<Uuid>,
        loss_comment -> Nullable<Text>,
        loss_approver_id -> Nullable<Uuid>,
        stage_entered_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        expected_close_on -> Date,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    interactions (id) {
        id -> Uuid,
        interest_id -> Uuid,
        kind -> Text,
        status -> Text,
        subject -> Text,
        planned_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        result -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    tasks (id) {
        id -> Uuid,
        interest_id -> Nullable<Uuid>,
        title -> Text,
        task_kind -> Text,
        assignee_id -> Uuid,
        due_at -> Timestamp,
        status -> Text,
        rule_stage -> Nullable<Text>,
        rule -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        completed_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        interest_id -> Nullable<Uuid>,
        text -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    timeline_entries (id) {
        id -> Uuid,
        interest_id -> Uuid,
        kind -> Text,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        occurred_at -> Timestamp,
        summary -> Text,
        payload -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    stage_moves (id) {
        id -> Uuid,
        interest_id -> Uuid,
        scenario_id -> Uuid,
        from_stage -> Nullable<Text>,
        to_stage -> Text,
        moved_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Uuid>,
        trigger_event -> Nullable<Text>,
        interaction_result -> Nullable<Text>,
        loss_reason_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    sales_plans (id) {
        id -> Uuid,
        month -> Date,
        user_id -> Nullable<Uuid>,
        department_id -> Nullable<Uuid>,
        currency -> Text,
        amount_minor -> BigInt,
        note -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::Uuid;
    interest_emails (id) {
        id -> Uuid,
        interest_id -> Uuid,
        direction -> Text,
        status -> Text,
        from_address -> Nullable<Text>,
        to_addresses -> Text,
        cc_addresses -> Text,
        subject -> Text,
        body -> Text,
        attachments -> Text,
        message_id -> Text,
        in_reply_to -> Nullable<Text>,
        interaction_id -> Nullable<Uuid>,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        requested_by -> Nullable<Uuid>,
        sent_at -> Nullable<Timestamp>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}
