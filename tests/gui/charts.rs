//! The Charts page driven as an analyst would (egui_kittest on the demo lake): a filter changes
//! the cards to the chosen school's figures, and clicking a cell of the school × grade matrix
//! opens the table browser at exactly the students behind it.

use crate::common;

use std::sync::Arc;

use crate::harness::*;
use edlake::metrics::{self, Filter};
use edlake::ui::Page;
use edlake::ui::dialogs::QueuedDialogs;
use egui_kittest::kittest::{NodeT, Queryable};

/// Waits until the charts page shows metric `name`.
fn shown(h: &mut egui_kittest::Harness<'static, edlake::ui::App>, name: &'static str) {
    wait(h, name, move |a| {
        view(a)
            .charts
            .current
            .done()
            .is_some_and(|c| c.output.name == name)
    });
    h.run_steps(2);
}

fn ints(df: &polars::prelude::DataFrame, c: &str) -> Vec<Option<i64>> {
    df.column(c)
        .expect("column")
        .cast(&polars::prelude::DataType::Int64)
        .expect("ints")
        .i64()
        .expect("ints")
        .iter()
        .collect()
}

#[test]
fn a_school_filter_changes_the_cards_to_that_school() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Charts");
    click(&mut h, "Students, school days, schools, logins");
    shown(&mut h, "clever-summary");
    let lake = view(h.state()).lake.clone();
    let all = metrics::compute_direct(&lake, "clever-summary", &Filter::default())
        .expect("district")
        .frame;
    h.get_by_label(&ints(&all, "students")[0].expect("students").to_string());
    h.get_by_label("2"); // schools

    // Choose one school in the filter bar: the cards become that school's.
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "School")
        .click();
    h.run_steps(3);
    click(&mut h, "Mitchell High");
    wait(&mut h, "the school's cards", |a| {
        view(a)
            .charts
            .current
            .done()
            .is_some_and(|c| c.output.name == "clever-summary" && a.saved.filter.school.is_some())
    });
    h.run_steps(2);
    let one = metrics::compute_direct(
        &lake,
        "clever-summary",
        &Filter {
            school: Some("Mitchell High".into()),
            ..Filter::default()
        },
    )
    .expect("school")
    .frame;
    let students = ints(&one, "students")[0].expect("students");
    assert!(students < ints(&all, "students")[0].expect("students"));
    let shown = view(h.state()).charts.current.done().expect("computed");
    assert_eq!(ints(&shown.output.frame, "students")[0], Some(students));
    h.get_by_label(&students.to_string());
    h.get_by_label("1"); // one school
}

#[test]
fn clicking_a_matrix_cell_opens_the_students_behind_it() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Charts");
    click(&mut h, "Attendance by school and grade");
    shown(&mut h, "school-by-grade");
    let c = view(h.state()).charts.current.done().expect("computed");
    let df = c.output.frame.clone();
    let schools = common::text_col(&df, "school");
    let grades = common::text_col(&df, "grade");
    let students = ints(&df, "students");
    let rates: Vec<String> = df
        .column("in_person_rate")
        .expect("rates")
        .f64()
        .expect("f64")
        .iter()
        .map(|v| format!("{:.1}", v.expect("a rate") * 100.0))
        .collect();
    // A cell whose text is unique on the page, so the click lands on it.
    let i = (0..df.height())
        .find(|i| rates.iter().filter(|r| **r == rates[*i]).count() == 1)
        .expect("a cell with a unique value");
    click(&mut h, &rates[i]);
    assert_eq!(h.state().saved.page, Page::Tables);
    let (school, grade) = (schools[i].clone().unwrap(), grades[i].clone().unwrap());
    let tables = &view(h.state()).tables;
    assert_eq!(tables.selected, Some(edlake::derive::hybrid_table()));
    assert_eq!(
        tables.query().exact,
        [
            ("school".to_string(), school.clone()),
            ("grade".to_string(), grade.clone())
        ]
    );
    let want = students[i].expect("students") as usize;
    wait(&mut h, "the cell's rows", move |a| {
        view(a).tables.total_rows == Some(want)
    });
    wait_label(
        &mut h,
        &format!("Rows where school is {school} and grade is {grade}"),
    );
}

#[test]
fn two_periods_and_schools_side_by_side() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Charts");
    click(&mut h, "Students, school days, schools, logins");
    shown(&mut h, "clever-summary");
    click(&mut h, "Compare with");
    // The compared side: the last week, at Maple Ridge High.
    h.get_by_label("Compare from date").focus();
    h.run_steps(1);
    h.get_by_label("Compare from date").type_text("2025-09-08");
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Compare school")
        .click();
    h.run_steps(3);
    click(&mut h, "Maple Ridge High");
    wait(&mut h, "both sides", |a| {
        view(a)
            .charts
            .current
            .done()
            .and_then(|c| c.compare.as_ref())
            .is_some_and(|m| m.labels[1] == "from 2025-09-08, Maple Ridge High")
    });
    h.run_steps(2);
    debug_shot(&mut h, "compare");
    wait_label(&mut h, "all dates, all schools");
    wait_label(&mut h, "from 2025-09-08, Maple Ridge High");
    let lake = view(h.state()).lake.clone();
    let want = |f: Filter| {
        let df = metrics::compute_direct(&lake, "clever-summary", &f)
            .expect("direct")
            .frame;
        (ints(&df, "students")[0], ints(&df, "school_days")[0])
    };
    let c = view(h.state()).charts.current.done().expect("computed");
    let m = c.compare.as_ref().expect("compared");
    let got =
        |df: &polars::prelude::DataFrame| (ints(df, "students")[0], ints(df, "school_days")[0]);
    assert_eq!(got(&c.output.frame), want(Filter::default()));
    let second = want(Filter {
        from: chrono::NaiveDate::from_ymd_opt(2025, 9, 8),
        school: Some("Maple Ridge High".into()),
        ..Filter::default()
    });
    assert_eq!(got(&m.output.frame), second);
    // The last week has 6 school days of data (Sep 8–12 and 15), fewer than the whole range.
    assert_eq!(second.1, Some(6));
    assert!(second.0 < got(&c.output.frame).0);
}

#[test]
fn a_report_holds_the_charts_filters_notes_and_numbers_and_no_student() {
    let out = tempfile::tempdir().expect("tmp");
    let path = out.path().join("report.html");
    let mut h = demo(Arc::new(QueuedDialogs::new([path.clone()])));
    click(&mut h, "Charts");
    click(&mut h, "Top resources");
    shown(&mut h, "top-resources");
    click(&mut h, "Export report…");
    let t = std::time::Instant::now();
    while !path.exists() && t.elapsed() < std::time::Duration::from_secs(60) {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let html = std::fs::read_to_string(&path).expect("the report was written");
    assert!(html.contains("<h1>Clever · Top resources</h1>"), "{html}");
    assert!(html.contains("<li>all dates, all schools</li>"));
    assert!(html.contains("groups of fewer than 10 students are hidden"));
    // The chart as an inline PNG.
    let start = html.find("data:image/png;base64,").expect("an image") + 22;
    let end = start + html[start..].find('"').expect("end of the image");
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(&html[start..end])
        .expect("base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 2000, "an image of the chart, not an empty one");
    // The numbers: every resource of the chart with its students.
    let c = view(h.state()).charts.current.done().expect("computed");
    let names = common::text_col(&c.output.frame, "resource_name");
    let students = ints(&c.output.frame, "students");
    for (n, s) in names.iter().zip(&students) {
        let row = format!("<td>{}</td>", n.as_deref().expect("a name"));
        assert!(html.contains(&row), "{row}");
        assert!(html.contains(&format!("<td>{}</td>", s.expect("students"))));
    }
    // Aggregates only: no raw student id.
    for id in raw_ids() {
        assert!(!html.contains(&id), "a raw id in the report");
    }
}

#[test]
fn grade_and_class_filters_narrow_the_charts_that_take_them() {
    let mut h = demo(Arc::new(QueuedDialogs::default()));
    click(&mut h, "Charts");
    click(&mut h, "Students, attendance and digital engagement");
    shown(&mut h, "hybrid-summary");
    let lake = view(h.state()).lake.clone();
    let grade = |g: &str| Filter {
        grade: Some(g.into()),
        ..Filter::default()
    };
    let want = metrics::compute(&lake, "hybrid-summary", &grade("7"))
        .expect("grade 7")
        .frame;
    let all = metrics::compute(&lake, "hybrid-summary", &Filter::default())
        .expect("all")
        .frame;
    let n = ints(&want, "students")[0].expect("students");
    assert!(n < ints(&all, "students")[0].expect("students"));

    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Grade")
        .click();
    h.run_steps(3);
    // "7" is also the grades card: the option is the popup's button.
    h.get_by_role_and_label(egui::accesskit::Role::Button, "7")
        .click();
    h.run_steps(2);
    wait(&mut h, "grade 7's cards", |a| {
        a.saved.filter.grade.as_deref() == Some("7")
            && view(a)
                .charts
                .current
                .done()
                .is_some_and(|c| c.output.name == "hybrid-summary")
    });
    h.run_steps(2);
    let got = view(h.state()).charts.current.done().expect("computed");
    assert_eq!(got.output.frame, want);
    h.get_by_label(&n.to_string());

    // Clever's cards take the grade too (the SIS grade of each student).
    click(&mut h, "Students, school days, schools, logins");
    shown(&mut h, "clever-summary");
    let clever = metrics::compute(&lake, "clever-summary", &grade("7"))
        .expect("grade 7")
        .frame;
    let got = view(h.state()).charts.current.done().expect("computed");
    assert_eq!(got.output.frame, clever);

    // An Insights chart does not take a grade: its numbers are the district's and the grade
    // chooser is disabled there; a class narrows it to the class's events.
    click(&mut h, "Students, days, schools, classes, events, apps");
    shown(&mut h, "insights-summary");
    let district = metrics::compute(&lake, "insights-summary", &Filter::default())
        .expect("district")
        .frame;
    let got = view(h.state()).charts.current.done().expect("computed");
    assert_eq!(got.output.frame, district);
    let combo = h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Grade");
    assert!(
        combo.accesskit_node().is_disabled(),
        "the grade chooser is disabled on Insights charts"
    );
    let class = metrics::classes::labels(&lake).expect("classes")[0].clone();
    let one_class = metrics::compute(
        &lake,
        "insights-summary",
        &Filter {
            class: Some(class.clone()),
            ..Filter::default()
        },
    )
    .expect("one class")
    .frame;
    assert_eq!(ints(&one_class, "classes")[0], Some(1));
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Class")
        .click();
    h.run_steps(3);
    h.get_by_role_and_label(egui::accesskit::Role::Button, &class)
        .click();
    h.run_steps(2);
    wait(&mut h, "the class's cards", |a| {
        a.saved.filter.class.as_deref() == Some(class.as_str())
            && view(a)
                .charts
                .current
                .done()
                .is_some_and(|c| c.output.name == "insights-summary" && c.output.frame == one_class)
    });
    h.run_steps(2);
    let got = view(h.state()).charts.current.done().expect("computed");
    assert_eq!(got.output.frame, one_class);
    assert_ne!(got.output.frame, district);
}
