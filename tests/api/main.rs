//! End-to-end tests: the real server over HTTP, one database per test.
//! Runs on SQLite by default and on PostgreSQL when `CRM_TEST_DATABASE_URL`
//! points at a server (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod absences;
mod access;
mod analytics;
mod api_keys;
mod areas;
mod auth;
mod calendar;
mod catalog;
mod clients;
mod contract;
mod conventions;
mod dates;
mod documents;
mod emails;
mod examples;
mod feed;
mod handover;
mod hardening;
mod helpers;
mod http;
mod intake;
mod leads;
mod operations;
mod orders;
mod organisation;
mod plans;
mod sales;
mod storage;
mod webhooks;
