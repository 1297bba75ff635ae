//! Command-line interface. Exit codes: 0 done; 1 failed; 2 bad input (arguments, folders, files
//! that are not the expected format); 3 done, but rows were quarantined or files rejected;
//! 4 the lake is busy with another run; 130 cancelled.

mod access;
mod commands;
mod ctx;
mod ingest;
mod ops;
mod outcome;
mod program;
mod progress;
mod reports;
mod roster;
mod schedule;
mod scheduled;
mod sites;
mod sources;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub use commands::run;
pub(crate) use outcome::cancel_on_ctrl_c;
pub use outcome::{Coded, EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_PARTIAL, exit_code_for};
pub use schedule::ScheduleAction;

/// edlake: your district's education data lake, on your own machine.
#[derive(Debug, Parser)]
#[command(name = "edlake", version, about, long_about = None)]
pub struct Cli {
    /// Lake folder (default: the configured lake, else the platform data folder).
    #[arg(long, global = true, env = "EDLAKE_LAKE")]
    pub lake: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Keep secrets in memory for this run only (when no OS keyring is available).
    #[arg(long, global = true)]
    pub session_secrets: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a lake (OEA folder layout) and its salt in the OS keyring.
    Init,
    /// List every table with its stage, rows, columns and version.
    Tables,
    /// Show rows of a table (restricted tables need --unlock, which is audited).
    Preview {
        /// Table name as `edlake tables` shows it (e.g. general/clever/daily_participation).
        table: String,
        /// How many rows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Skip this many rows first.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Only these columns (comma-separated).
        #[arg(long, value_delimiter = ',')]
        columns: Option<Vec<String>>,
        /// Show a restricted table (Ingested, sensitive lookups, quarantine); recorded in the audit log.
        #[arg(long)]
        unlock: bool,
    },
    /// Import or export the lake's pseudonymization salt.
    Salt {
        #[command(subcommand)]
        action: SaltAction,
    },
    /// Land, ingest and refine data from a source system.
    Ingest {
        #[command(subcommand)]
        source: IngestSource,
    },
    /// Saved sources (SFTP servers, folders) that ingest reads from with --source NAME.
    Source {
        #[command(subcommand)]
        action: SourceAction,
    },
    /// Custom modules: any CSV source described by an OEA metadata.csv.
    Module {
        #[command(subcommand)]
        action: ModuleAction,
    },
    /// Clever roster syncs (students marked transferred / reactivated) and their operations log.
    Roster {
        #[command(subcommand)]
        action: RosterAction,
    },
    /// Which roster identifier links each source's students, and the match rates.
    Identity {
        #[command(subcommand)]
        action: IdentityAction,
    },
    /// The MicroMasters program (courses and passing grades), its reports and outreach lists.
    Program {
        #[command(subcommand)]
        action: ProgramAction,
    },
    /// The audit log: every unlock and export of restricted data and of the salt, checked
    /// line by line against its hash chain.
    Audit {
        /// Only check the chain (exit 1 when a line was edited, added or removed).
        #[arg(long)]
        verify: bool,
    },
    /// Who may read the lake besides its owner: nobody (the default) or the members of one
    /// OS group, such as the district's data team (Linux and macOS). Without options, shows it.
    Access {
        /// Share the lake (read and write) with this OS group.
        #[arg(long, conflicts_with = "private")]
        group: Option<String>,
        /// Make the lake owner-only again.
        #[arg(long)]
        private: bool,
    },
    /// Run every source set up in the lake (or those named) as one job: the roster first, then
    /// Clever, Insights, SIS, edX and custom modules, under the lake lock, derived once. What a
    /// schedule runs.
    Run {
        /// Only these sources (by source or module name), comma-separated.
        #[arg(long, value_delimiter = ',')]
        sources: Vec<String>,
        /// Run as the schedule does: log to _edlake/logs/, wait for a busy lake (then record
        /// "skipped: busy"), record every reason it could not run.
        #[arg(long)]
        scheduled: bool,
    },
    /// The lake's daily run: set it (installed into the OS scheduler, so it runs with the app
    /// closed), show it, remove it.
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// How current each source is: last run, last success, newest day of data, school days
    /// behind. Exits 5 when a source's last run failed, its data is stale or it never ran.
    Status {
        /// School days the newest data may be behind today before it counts as stale.
        #[arg(long)]
        stale_after: Option<u32>,
    },
    /// The history of runs.
    Runs {
        /// Show only the most recent N runs.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Write deterministic demo data in the vendors' formats.
    GenTestData {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 600)]
        students: u32,
        /// School days.
        #[arg(long, default_value_t = 20)]
        days: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Engagement aggregates (the numbers behind the charts); without a name, lists them.
    Metrics(reports::MetricsArgs),
    /// Rebuild the stage3 engagement tables (also done after every ingest).
    Stage3 {
        /// SIS AttendanceCode values that count as present where a row has no PresenceFlag
        /// (comma-separated; kept in the lake; default P).
        #[arg(long, value_delimiter = ',')]
        present_codes: Option<Vec<String>>,
    },
    /// School names across SIS, Clever and Insights (the site mapping); --set names one.
    Schools(sites::SchoolsArgs),
    /// Time a district year (75,000 students x 180 days) through land + ingest + refine.
    Bench {
        #[arg(long, default_value_t = 75_000)]
        students: u32,
        #[arg(long, default_value_t = 180)]
        days: u32,
        /// Work folder (default: a temporary folder, removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Keep the generated input and lake.
        #[arg(long)]
        keep: bool,
        /// Also generate and ingest Insights and SIS data for the same students, rebuild stage3
        /// and time every chart aggregate (about 12 GB of CSV at full scale).
        #[arg(long)]
        all_sources: bool,
        /// Internal: time the ingest of an already generated work folder in this process.
        #[arg(long, hide = true)]
        measure: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModuleAction {
    /// Define a module from a metadata.csv; then `edlake ingest NAME --from DIR` (a subfolder per entity).
    Add {
        /// Module name (lowercase letters, digits, `_`); also its folder in the lake.
        name: String,
        /// The OEA metadata.csv describing the entities, columns and pseudonymization.
        #[arg(long)]
        metadata: PathBuf,
        /// Batch type of an entity: ENTITY=snapshot|additive|delta|delete (default snapshot).
        #[arg(long = "batch", value_name = "ENTITY=TYPE")]
        batches: Vec<String>,
        /// Primary key column of an entity: ENTITY=COLUMN (repeat for a composite key).
        #[arg(long = "key", value_name = "ENTITY=COLUMN")]
        keys: Vec<String>,
        /// Replace an existing definition of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// Compare a folder's files with a metadata.csv before defining a module: per entity, each
    /// column's type in the metadata and as inferred from the data, and what does not line up
    /// (exit code 3 when something does not).
    Check {
        #[arg(long)]
        metadata: PathBuf,
        #[arg(long)]
        from: PathBuf,
    },
    /// List the custom modules of this lake.
    List,
    /// Forget a custom module's definition (its tables stay in the lake).
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ProgramAction {
    /// Define the program from a JSON file ({"name", "title", "courses": [{"course":
    /// "DemoX+DA101x", "title", "passing_grade": 0.6}], "required": N}) and build the reports.
    Set {
        #[arg(long)]
        file: PathBuf,
    },
    /// Show the program.
    Show,
    /// Rebuild the reports (also done after every edX ingest).
    Report,
    /// Export an outreach list (upgrade-candidates or next-course-candidates) to CSV; it holds
    /// names and emails, so it needs --unlock and is recorded in the audit log.
    Outreach {
        list: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        unlock: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RosterAction {
    /// Sync Clever roster files (schools, students, teachers, sections, enrollments CSVs), from
    /// the folder itself or from its dated subfolders (2024-09-03/), oldest first.
    Sync {
        /// Folder holding the roster files or dated snapshot folders.
        #[arg(long)]
        from: PathBuf,
        /// Date of a snapshot that is not in a dated folder (default today).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Which roles a sync takes besides students (always synced: identity matching needs
    /// them). Without options, shows the choice.
    Roles {
        /// Sync teachers (teachers.csv) and keep their status.
        #[arg(long)]
        teachers: Option<bool>,
        /// Sync other staff (staff.csv) and keep their status.
        #[arg(long)]
        staff: Option<bool>,
    },
    /// Show the operations log (counts per sync, match rates, unmatched examples as pseudonyms).
    Log {
        /// Write the log as CSV to this file instead.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdentityAction {
    /// Show the keys and the latest match rates.
    Show,
    /// Choose keys (SOURCE=KEY: clever|sis|insights = sis_id|student_number|state_id), rebuild
    /// the map and show the match rates before and after.
    Set {
        #[arg(value_name = "SOURCE=KEY", required = true)]
        links: Vec<String>,
        /// Which Insights id is compared: aad_object_id (the activity's), aad_student_id
        /// (AadUser.StudentId) or person_identifier (School Data Sync's PersonIdentifier).
        #[arg(long)]
        insights_id: Option<String>,
    },
}

/// `edlake ingest NAME --from DIR` for a custom module.
#[derive(Debug, Parser)]
#[command(name = "edlake ingest")]
pub struct CustomIngest {
    /// The custom module's name.
    pub name: String,
    #[command(flatten)]
    pub input: FromOrSource,
}

/// Output formats of `metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

pub(crate) fn metric_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        edlake::metrics::METRICS
            .iter()
            .map(|m| clap::builder::PossibleValue::new(m.name).help(m.about)),
    )
}

#[derive(Debug, Subcommand)]
pub enum SaltAction {
    /// Read a salt from standard input (e.g. your OEA Key Vault `oeaSalt`) and keep it in the keyring.
    Import {
        /// Replace an existing salt even though the lake already holds pseudonymized data.
        #[arg(long)]
        replace: bool,
    },
    /// Print the salt (needs --print: it is a secret).
    Export {
        /// Yes, print the secret salt to standard output.
        #[arg(long)]
        print: bool,
    },
}

/// Where a run reads: a folder, or a source saved in the lake.
#[derive(Debug, clap::Args)]
pub struct FromOrSource {
    /// The folder (Clever: the one holding the report folders; Insights: the export root,
    /// holding activity/, roster/ and schema/; SIS and custom modules: a subfolder or file per
    /// entity; edX: the downloads, in any layout).
    #[arg(long, required_unless_present = "source", conflicts_with = "source")]
    pub from: Option<PathBuf>,
    /// A source saved in the lake (`edlake source add ...`; what the app set up is saved under
    /// the module's name).
    #[arg(long)]
    pub source: Option<String>,
    /// Show what would be fetched, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum IngestSource {
    /// Clever Participation Reports (daily-participation/ and resource-usage/ folders), from a
    /// folder (--from) or a saved source such as Clever's SFTP server (--source).
    Clever(FromOrSource),
    /// A Microsoft Education Insights (School Data Sync) data-lake export: the folder holding
    /// activity/, roster/ and schema/.
    Insights(FromOrSource),
    /// edX course downloads (grade_report and student_profile_info CSVs, any folder layout);
    /// rebuilds the MicroMasters reports when a program is defined.
    Edx(FromOrSource),
    /// A custom module defined with `edlake module add` (`edlake ingest NAME --from DIR` or
    /// `--source NAME`).
    #[command(external_subcommand)]
    Custom(Vec<String>),
    /// SIS files (OEA Contoso SIS formats): one subfolder or file per entity — studentattendance,
    /// students, studentdemographics, studentsectionmark.
    Sis(FromOrSource),
}

#[derive(Debug, Subcommand)]
pub enum SourceAction {
    /// Save a source.
    Add {
        #[command(subcommand)]
        kind: AddSource,
    },
    /// List the saved sources (never their secrets).
    List,
    /// Connect, show the server's fingerprint and the report folders with file counts.
    Test {
        name: String,
        /// Accept (pin) this host key fingerprint if the server shows it (SHA256:...).
        #[arg(long, value_name = "SHA256:...")]
        accept_host_key: Option<String>,
    },
    /// Forget a source and delete its secret from the keyring.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum AddSource {
    /// A local (or synced, or network) folder that a module reads: what the app's "Choose…"
    /// saves, so a lake set up in either runs from the other.
    Folder {
        /// Name to use with `--source` (letters, digits, `-`, `_`); the app uses the module's name.
        name: String,
        /// The module that reads it: clever, insights, sis, edx, roster or a custom module.
        #[arg(long)]
        module: String,
        /// The folder.
        #[arg(long)]
        path: PathBuf,
        /// Replace a source of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// An SFTP server (Clever's report server): the password or key passphrase goes to the keyring.
    Sftp {
        /// Name to use with `--source` (letters, digits, `-`, `_`).
        name: String,
        /// The module that reads it.
        #[arg(long, default_value = "clever")]
        module: String,
        #[arg(long)]
        host: String,
        #[arg(long, default_value_t = 22)]
        port: u16,
        #[arg(long)]
        user: String,
        /// Read the password from standard input (stored in the OS keyring only).
        #[arg(long, conflicts_with = "key", required_unless_present = "key")]
        password_stdin: bool,
        /// Log in with this OpenSSH private key file.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Read the key's passphrase from standard input (stored in the OS keyring only).
        #[arg(long, requires = "key")]
        passphrase_stdin: bool,
        /// Remote folder holding the reports (default: the login folder).
        #[arg(long, default_value = "")]
        remote_dir: String,
        /// Accept (pin) the server's host key if it has this fingerprint (SHA256:...).
        #[arg(long, value_name = "SHA256:...")]
        accept_host_key: Option<String>,
        /// Seconds to wait for the network.
        #[arg(long, default_value_t = 20)]
        timeout: u64,
        /// Replace a source of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// The Insights data share: a synced local folder (--folder) or the storage account itself
    /// (Blob / ADLS Gen2: --account, --container, --prefix and a key or SAS token).
    Datashare {
        name: String,
        /// A local folder the share is synced to (AzCopy, Storage Explorer, OneDrive).
        #[arg(long, conflicts_with_all = ["account", "prefix", "key_stdin", "sas_stdin", "endpoint"], required_unless_present = "account")]
        folder: Option<PathBuf>,
        /// Storage account name.
        #[arg(long, requires = "prefix")]
        account: Option<String>,
        #[arg(long, default_value = "oea")]
        container: String,
        /// Folder of the share in the container, e.g. pre_landing/data_shares/<share>/M365.
        #[arg(long)]
        prefix: Option<String>,
        /// Read the storage account key from standard input (kept in the OS keyring only).
        #[arg(long, conflicts_with = "sas_stdin")]
        key_stdin: bool,
        /// Read a SAS token (read + list) from standard input (kept in the OS keyring only).
        #[arg(long)]
        sas_stdin: bool,
        /// Another blob endpoint (Azurite, private link), e.g. http://127.0.0.1:10000/devstoreaccount1.
        #[arg(long)]
        endpoint: Option<String>,
        #[arg(long)]
        replace: bool,
    },
}
