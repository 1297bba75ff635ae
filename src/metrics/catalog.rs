//! The list of metrics: each one's CLI name, the title and group the app lists it under, and
//! what it shows.

/// One metric: its name (as the CLI spells it), the title and group the app lists it under,
/// and what it shows.
pub struct MetricInfo {
    pub name: &'static str,
    /// The chart's name in the app, in an analyst's words.
    pub title: &'static str,
    /// The source it belongs to in the app's list ([`GROUPS`]).
    pub group: &'static str,
    pub about: &'static str,
}

/// The headings the app groups the charts under, in order.
pub const GROUPS: &[&str] = &["Clever", "Insights", "In person and digital"];

/// Every metric, in the order charts show them.
pub const METRICS: &[MetricInfo] = &[
    MetricInfo {
        name: "clever-summary",
        title: "Students, school days, schools, logins",
        group: "Clever",
        about: "Clever: distinct students active, school days with data, schools and logins in \
                the range (the report's cards)",
    },
    MetricInfo {
        name: "daily-active",
        title: "Active students and logins per day",
        group: "Clever",
        about: "Clever: students active and logins per school day and school",
    },
    MetricInfo {
        name: "clever-by-school",
        title: "Logins and resources per student, by school",
        group: "Clever",
        about: "Clever: average logins and resources per student per day, by school",
    },
    MetricInfo {
        name: "top-resources",
        title: "Top resources",
        group: "Clever",
        about: "Clever: resources ranked by the distinct students who used them",
    },
    MetricInfo {
        name: "top-resources-by-school",
        title: "Top 5 resources per school",
        group: "Clever",
        about: "Clever: at each school, the five resources the most students used",
    },
    MetricInfo {
        name: "clever-app-share",
        title: "Share of app use",
        group: "Clever",
        about: "Clever: each app's share of all accesses (the report's treemap as shares); apps \
                fewer students used than the smallest group are shown together",
    },
    MetricInfo {
        name: "clever-apps-daily",
        title: "Apps used per day",
        group: "Clever",
        about: "Clever: how many apps students used each day, and their accesses",
    },
    MetricInfo {
        name: "resource-types",
        title: "Students by resource type",
        group: "Clever",
        about: "Clever: distinct students by resource type (the accesses are in the CSV export)",
    },
    MetricInfo {
        name: "insights-summary",
        title: "Students, days, schools, classes, events, apps",
        group: "Insights",
        about: "Insights: distinct students active, days with activity, events and apps used in \
                the range (the report's cards)",
    },
    MetricInfo {
        name: "insights-weekly",
        title: "Students per week by activity type",
        group: "Insights",
        about: "Insights: distinct students active per week by activity type (Teams visits, file \
                activity, Assignments, OneNote, Reading Progress, Reflect), and their events",
    },
    MetricInfo {
        name: "insights-daily",
        title: "Signals per day by activity type",
        group: "Insights",
        about: "Insights: signals (events) and distinct students per day by activity type",
    },
    MetricInfo {
        name: "teams-by-school",
        title: "Teams use by school",
        group: "Insights",
        about: "Insights: per school, students active in Insights, those who used Teams and \
                their Teams events",
    },
    MetricInfo {
        name: "insights-apps",
        title: "Apps by students",
        group: "Insights",
        about: "Insights: apps ranked by the distinct students who used them (events in the CSV \
                export)",
    },
    MetricInfo {
        name: "hybrid-summary",
        title: "Students, attendance and digital engagement",
        group: "In person and digital",
        about: "Hybrid: students, schools, grades, average in-person attendance, students at or \
                above the threshold (90 %), average digital attendance from Clever and Insights \
                (the report's first page)",
    },
    MetricInfo {
        name: "attendance-vs-digital",
        title: "In-person vs digital attendance by school",
        group: "In person and digital",
        about: "Hybrid: in-person vs digital attendance per school (students per school)",
    },
    MetricInfo {
        name: "engagement-by-grade",
        title: "Attendance by grade",
        group: "In person and digital",
        about: "Hybrid: in-person and digital attendance per grade, with the 90 % target",
    },
    MetricInfo {
        name: "class-engagement",
        title: "Attendance and digital engagement by class",
        group: "In person and digital",
        about: "Hybrid: per class (section), its students' in-person and digital attendance; a \
                class's students are those its Insights activity names",
    },
    MetricInfo {
        name: "attendance-over-time",
        title: "Attendance over time",
        group: "In person and digital",
        about: "Hybrid: per school day, the share of students present in person and the shares \
                with Clever or Insights activity",
    },
    MetricInfo {
        name: "school-by-grade",
        title: "Attendance by school and grade",
        group: "In person and digital",
        about: "Hybrid: in-person attendance per school and grade (a matrix; digital rates in \
                the CSV export)",
    },
    MetricInfo {
        name: "below-threshold",
        title: "Students below the attendance threshold",
        group: "In person and digital",
        about: "Hybrid: students below the attendance threshold per school (counts only)",
    },
];

/// A metric's entry by its CLI name.
pub fn info(name: &str) -> Option<&'static MetricInfo> {
    METRICS.iter().find(|m| m.name == name)
}
