//! Desktop notifications for what nobody watched: a scheduled run that failed or was skipped
//! says so on the desktop (the freedesktop notification service on Linux, Notification Center
//! on macOS, toast notifications on Windows). Best effort: a desktop without a notification
//! service is noted in the run's log, and Home shows the failure anyway.

/// Why a notification could not be shown.
#[derive(Debug, thiserror::Error)]
#[error("the desktop notification could not be shown: {0}")]
pub struct NotifyError(String);

/// Shows a notification from edlake.
pub fn desktop(summary: &str, body: &str) -> Result<(), NotifyError> {
    notify_rust::Notification::new()
        .appname("edlake")
        .summary(summary)
        .body(body)
        .show()
        .map(|_| ())
        .map_err(|e| NotifyError(e.to_string()))
}
