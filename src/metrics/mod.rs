//! Engagement aggregates behind the charts (filled in by the metrics work).
