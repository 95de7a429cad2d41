//! The aligned table printed for people.

use std::io::{self, Write};

use tokbal::report::Document;

/// Writes the snapshot line and one row per result.
pub fn write(out: &mut impl Write, doc: &Document) -> io::Result<()> {
    for (network, snap) in doc.snapshot.networks() {
        if let Some(v) = snap.ledger_version {
            writeln!(out, "# {network}: ledger version {v}")?;
        }
        if let Some(t) = snap.at {
            writeln!(out, "# {network}: {}", tokbal::time::format_rfc3339(t))?;
        }
    }
    let header = ["QUERY", "BALANCE", "AT", "ERROR"];
    let rows: Vec<[String; 4]> = doc
        .results
        .iter()
        .map(|r| {
            [
                r.query.clone(),
                r.balance.clone().unwrap_or_default(),
                r.ledger_version
                    .clone()
                    .or_else(|| r.at.clone())
                    .unwrap_or_default(),
                r.error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.kind, e.message))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: [&str; 4]| -> io::Result<()> {
        // Balances are right-aligned so that digits line up; the last column is not padded.
        writeln!(
            out,
            "{:<w0$}  {:>w1$}  {:>w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    line(out, header)?;
    for row in &rows {
        line(out, [&row[0], &row[1], &row[2], &row[3]])?;
    }
    Ok(())
}
