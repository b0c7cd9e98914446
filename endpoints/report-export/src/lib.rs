//! `GET /api/v1/reports/{reportId}/export`: a report as a PDF download.

use gatehouse_sdk::{Error, Request, Response};

/// The reports this example knows: id, title, lines.
const REPORTS: &[(&str, &str, &[&str])] = &[
    ("1001", "Quarterly revenue", &["Q1: 120,000", "Q2: 135,500", "Q3: 142,250", "Q4: 160,900"]),
    ("1002", "Active users", &["January: 4,210", "February: 4,730", "March: 5,102"]),
    ("1003", "Support tickets", &["Opened: 312", "Closed: 298", "Median time to close: 5h"]),
];

fn handle(req: Request) -> Result<Response, Error> {
    let id = req.param("reportId").unwrap_or_default();
    let Some((_, title, lines)) = REPORTS.iter().find(|(rid, _, _)| *rid == id) else {
        // The docs' answer: `{"success": false, "error": "Report not found", "code": "NOT_FOUND"}`.
        return Err(Error::not_found("Report not found").with_code("NOT_FOUND"));
    };
    let pdf = render_pdf(&format!("Report {id}: {title}"), lines);
    Ok(Response::bytes(200, "application/pdf", pdf)
        .with_header("content-disposition", &format!("attachment; filename=\"report-{id}.pdf\"")))
}

/// A one-page PDF 1.4 document with a title and lines of text, with a correct
/// cross-reference table so viewers open it without repair.
fn render_pdf(title: &str, lines: &[&str]) -> Vec<u8> {
    let mut text = format!("BT /F1 18 Tf 72 720 Td ({}) Tj ET\n", escape(title));
    for (i, line) in lines.iter().enumerate() {
        let y = 690 - 20 * i as i32;
        text.push_str(&format!("BT /F1 12 Tf 72 {y} Td ({}) Tj ET\n", escape(line)));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{text}endstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")
}

gatehouse_sdk::endpoint!(handle);
