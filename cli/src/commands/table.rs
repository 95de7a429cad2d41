//! The aligned tables printed for people.

use std::io::{self, Write};

use tokbal::report::{BatchRecord, Document, ResultRecord};
use tokbal::Snapshot;

use super::safe_text;

/// `get`'s document: the snapshot, then one row per result.
pub fn write_document(out: &mut impl Write, doc: &Document) -> io::Result<()> {
    let metadata = doc.results.iter().any(|r| r.token.is_some());
    let rows = doc
        .results
        .iter()
        .map(|r| cells(r, None, metadata))
        .collect();
    write(out, &doc.snapshot, false, metadata, rows)
}

/// `batch`'s records (already in input order), with their line numbers.
pub fn write_batch(
    out: &mut impl Write,
    snapshot: &Snapshot,
    records: &[BatchRecord],
) -> io::Result<()> {
    let metadata = records.iter().any(|r| r.record.token.is_some());
    let rows = records
        .iter()
        .map(|r| cells(&r.record, Some(r.line), metadata))
        .collect();
    write(out, snapshot, true, metadata, rows)
}

/// The most characters of a symbol a row shows.
const SYMBOL_WIDTH: usize = 16;
/// The most characters of any other cell (an error message may quote a contract).
const CELL_WIDTH: usize = 400;

fn cells(r: &ResultRecord, line: Option<u64>, metadata: bool) -> Vec<String> {
    let mut row = Vec::with_capacity(7);
    if let Some(line) = line {
        row.push(line.to_string());
    }
    row.push(abbreviate_hex(&r.query));
    row.push(r.balance.clone().unwrap_or_default());
    if metadata {
        row.push(r.formatted.clone().unwrap_or_default());
        let symbol = r.token.as_ref().and_then(|t| t.symbol.as_deref());
        row.push(safe_text::cell(symbol.unwrap_or_default(), SYMBOL_WIDTH));
    }
    row.push(
        r.ledger_version
            .clone()
            .or_else(|| r.block.as_ref().map(|b| format!("block {b}")))
            .or_else(|| r.at.clone())
            .unwrap_or_default(),
    );
    row.push(
        r.error
            .as_ref()
            .map(|e| format!("{}: {}", e.kind, e.message))
            .unwrap_or_default(),
    );
    // Nothing a chain or a user wrote reaches the terminal raw.
    row.into_iter()
        .map(|cell| safe_text::cell(&cell, CELL_WIDTH))
        .collect()
}

fn write(
    out: &mut impl Write,
    snapshot: &Snapshot,
    with_line: bool,
    metadata: bool,
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    write_snapshot(out, snapshot)?;
    write_table(out, with_line, metadata, rows)
}

/// One line per network of `snapshot`: what it was read at.
fn write_snapshot(out: &mut impl Write, snapshot: &Snapshot) -> io::Result<()> {
    for (network, snap) in snapshot.networks() {
        let at = snap.at.map(tokbal::time::format_rfc3339);
        if let (Some(number), Some(hash)) = (snap.block, &snap.block_hash) {
            let time = snap
                .block_time
                .map(tokbal::time::format_rfc3339)
                .unwrap_or_default();
            let how = match (&at, snap.at_tip, snap.finalized) {
                (Some(t), true, _) => format!(", the latest (asked for {t}, past the tip)"),
                (Some(t), false, _) => format!(", the last at or before {t}"),
                (None, _, true) => ", finalized".to_string(),
                (None, _, false) => String::new(),
            };
            writeln!(
                out,
                "# {network}: block {number} ({}) of {time}{how}",
                abbreviate_hex(hash)
            )?;
            continue;
        }
        let what = match (snap.ledger_version, at) {
            (Some(v), Some(t)) if snap.at_tip => {
                format!("ledger version {v}, the node's latest (asked for {t}, past its tip)")
            }
            (Some(v), Some(t)) => format!("ledger version {v}, the last at or before {t}"),
            (Some(v), None) => format!("ledger version {v}"),
            (None, Some(t)) => t,
            (None, None) => continue,
        };
        writeln!(out, "# {network}: {what}")?;
    }
    Ok(())
}

/// `holdings`: the snapshot, then each owner's title line and its holdings' rows.
pub fn write_owners(
    out: &mut impl Write,
    snapshot: &Snapshot,
    owners: &[(String, Vec<ResultRecord>)],
) -> io::Result<()> {
    write_snapshot(out, snapshot)?;
    for (title, records) in owners {
        writeln!(out)?;
        writeln!(out, "{}", safe_text::cell(title, CELL_WIDTH))?;
        let rows = records.iter().map(|r| cells(r, None, true)).collect();
        write_table(out, false, true, rows)?;
    }
    Ok(())
}

fn write_table(
    out: &mut impl Write,
    with_line: bool,
    metadata: bool,
    rows: Vec<Vec<String>>,
) -> io::Result<()> {
    // Each column, and whether it holds numbers (right-aligned, so that digits line up).
    let mut spec = vec![("QUERY", false), ("BALANCE", true)];
    if metadata {
        spec.extend([("AMOUNT", true), ("SYMBOL", false)]);
    }
    spec.extend([("AT", true), ("ERROR", false)]);
    if with_line {
        spec.insert(0, ("LINE", true));
    }
    let header: Vec<&str> = spec.iter().map(|(h, _)| *h).collect();
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // The last column is not padded.
    let numeric = |i: usize| spec.get(i).is_some_and(|(_, n)| *n);
    let mut line = |cells: &[&str]| -> io::Result<()> {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == columns {
                text.push_str(cell);
            } else if numeric(i) {
                text.push_str(&format!("{cell:>w$}  ", w = widths[i]));
            } else {
                text.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&header)?;
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

/// Shortens runs of more than 16 hex digits after `0x` to their first and last four, so that
/// 64-digit addresses fit a table row (`0x8b52…2a3d`). Only the table does this; JSON and CSV
/// keep every digit.
fn abbreviate_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at + 2]);
        let after = &rest[at + 2..];
        let run = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        if run > 16 {
            out.push_str(&after[..4]);
            out.push('…');
            out.push_str(&after[run - 4..run]);
        } else {
            out.push_str(&after[..run]);
        }
        rest = &after[run..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::abbreviate_hex;

    #[test]
    fn long_hex_runs_are_shortened() {
        let long = format!(
            "aptos:0x{}1/0x1::coin::C<0x{}ab>",
            "0".repeat(63),
            "f".repeat(62)
        );
        assert_eq!(
            abbreviate_hex(&long),
            "aptos:0x0000…0001/0x1::coin::C<0xffff…ffab>"
        );
        assert_eq!(
            abbreviate_hex("ethereum:0xdac17f958d2ee523a2206206994597c13d831ec7"),
            "ethereum:0xdac1…1ec7"
        );
        assert_eq!(abbreviate_hex("aptos:0x1 0x"), "aptos:0x1 0x");
    }
}
