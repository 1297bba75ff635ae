//! The integration tests that need no window, as one test binary: one link instead of one per
//! file (each link of the library and polars is ~140 MB), and the files' tests share the two
//! test threads, so one waiting on cron or a service does not hold the whole suite. Tests in
//! different files now run side by side: a shared service that one test disturbs (the SFTP
//! server, whose sessions the dropped-connection test kills) is taken through
//! `common::sftp_server_lock`.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/raw.rs"]
mod raw;

mod attendance_codes;
mod azure;
mod browse;
mod clever_views;
mod cli;
mod crash;
mod custom_module;
mod disk_full;
mod engagement;
mod engagement_views;
mod exit_codes;
mod faults;
mod identity_ids;
mod insights_export;
mod insights_views;
mod layers;
mod micromasters;
mod notify;
mod operations;
mod overrides;
mod permissions;
mod pipeline;
mod reflink;
mod roster;
mod roster_roles;
mod schedule;
mod scheduler_files;
mod serving;
mod serving_days;
mod sftp;
mod sis;
mod sites;
