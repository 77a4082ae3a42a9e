//! A small, tolerant reader for the TOML subset that `containers.conf` and
//! `storage.conf` use: `[a.b]` and `[[a.b]]` tables, `key = value` with
//! basic, literal and multi-line strings, integers, floats, booleans,
//! arrays (spanning lines, trailing commas, comments inside) and inline
//! tables (kept as raw text). Garbage is a [`ParseError`] with the line and
//! the text found there, never a panic.
//!
//! Like the Go decoder podman uses, a key defined twice in one file is an
//! error (podman refuses to start on it).

use std::collections::BTreeMap;

/// A value as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
    /// Floats, dates and inline tables: kept as written.
    Other(String),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The strings of an array (other elements are skipped).
    pub fn as_str_array(&self) -> Option<Vec<String>> {
        match self {
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The value written back as TOML-ish text, for evidence.
    pub fn render(&self) -> String {
        match self {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Value::render)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Other(s) => s.clone(),
        }
    }
}

/// One `key = value` with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub line: usize,
}

/// A parsed file: full dotted key (`engine.cgroup_manager`) to entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub entries: BTreeMap<String, Entry>,
}

impl Doc {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(|e| e.value.as_str())
    }
}

/// A TOML basic string: `"…"` with `\\`, `\"` and control characters escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_value(v: &Value) -> String {
    match v {
        Value::Str(s) => quote(s),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(render_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Other(s) => s.clone(),
    }
}

fn render_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

/// Writes settings (full dotted key → value) back as a TOML document, one
/// `[table]` per key prefix. `None` when the text would not read back as
/// the same settings (a key segment with a dot in it, a value kept as raw
/// text that does not parse), so a caller never writes a file that means
/// something else than it meant.
pub fn render_settings<'a>(
    settings: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Option<String> {
    let mut tables: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
    let mut wanted: BTreeMap<String, Value> = BTreeMap::new();
    for (key, value) in settings {
        let (table, name) = key.rsplit_once('.').unwrap_or(("", key));
        tables.entry(table).or_default().push((name, value));
        wanted.insert(key.to_string(), value.clone());
    }
    let mut out = String::new();
    for (table, entries) in &tables {
        if !table.is_empty() {
            let header: Vec<String> = table.split('.').map(render_key).collect();
            out.push_str(&format!("[{}]\n", header.join(".")));
        }
        for (name, value) in entries {
            out.push_str(&format!("{} = {}\n", render_key(name), render_value(value)));
        }
    }
    let back = parse(&out).ok()?;
    let same = back.entries.len() == wanted.len()
        && back
            .entries
            .iter()
            .all(|(k, e)| wanted.get(k) == Some(&e.value));
    same.then_some(out)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
    /// The text of that line (trimmed, at most 120 characters).
    pub text: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}: {} (found {:?})",
            self.line, self.message, self.text
        )
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    lines: Vec<&'a str>,
}

type PResult<T> = Result<T, ParseError>;

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Doc, ParseError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        lines: text.lines().collect(),
    };
    let mut doc = Doc::default();
    let mut table: Vec<String> = Vec::new();
    let mut seen_tables: Vec<String> = Vec::new();
    loop {
        p.skip_ws_comments_newlines();
        let Some(c) = p.peek() else { break };
        if c == '[' {
            let array = p.peek_at(1) == Some('[');
            p.pos += if array { 2 } else { 1 };
            p.skip_inline_ws();
            let keys = p.key_path()?;
            p.skip_inline_ws();
            if !p.eat(']') || (array && !p.eat(']')) {
                return Err(p.err("unterminated table header"));
            }
            let name = keys.join(".");
            if !array {
                if seen_tables.contains(&name) {
                    return Err(p.err(&format!("table [{name}] defined twice")));
                }
                seen_tables.push(name);
            }
            table = keys;
            p.end_of_line()?;
            continue;
        }
        let line = p.line;
        let keys = p.key_path()?;
        p.skip_inline_ws();
        if !p.eat('=') {
            return Err(p.err("expected `=` after a key"));
        }
        p.skip_inline_ws();
        let value = p.value()?;
        p.end_of_line()?;
        let full = table
            .iter()
            .chain(keys.iter())
            .cloned()
            .collect::<Vec<_>>()
            .join(".");
        if doc.entries.contains_key(&full) {
            return Err(ParseError {
                line,
                message: format!("key {full:?} defined twice"),
                text: p.line_text(line),
            });
        }
        doc.entries.insert(full, Entry { value, line });
    }
    Ok(doc)
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn line_text(&self, line: usize) -> String {
        let t = self
            .lines
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or("")
            .trim();
        t.chars().take(120).collect()
    }

    fn err(&self, message: &str) -> ParseError {
        ParseError {
            line: self.line,
            message: message.to_string(),
            text: self.line_text(self.line),
        }
    }

    fn skip_inline_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn skip_comment(&mut self) {
        if self.peek() == Some('#') {
            while !matches!(self.peek(), None | Some('\n')) {
                self.bump();
            }
        }
    }

    fn skip_ws_comments_newlines(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r') => {
                    self.bump();
                }
                Some('#') => self.skip_comment(),
                _ => break,
            }
        }
    }

    /// After a value or header: only spaces and a comment up to the newline.
    fn end_of_line(&mut self) -> PResult<()> {
        self.skip_inline_ws();
        self.skip_comment();
        self.eat('\r');
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.bump();
                Ok(())
            }
            Some(_) => Err(self.err("unexpected text after the value")),
        }
    }

    fn key_path(&mut self) -> PResult<Vec<String>> {
        let mut keys = vec![self.key()?];
        loop {
            self.skip_inline_ws();
            if self.peek() == Some('.') {
                self.bump();
                self.skip_inline_ws();
                keys.push(self.key()?);
            } else {
                return Ok(keys);
            }
        }
    }

    fn key(&mut self) -> PResult<String> {
        match self.peek() {
            Some('"') => {
                self.bump();
                self.basic_string()
            }
            Some('\'') => {
                self.bump();
                self.literal_string()
            }
            _ => {
                let mut k = String::new();
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        k.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                if k.is_empty() {
                    Err(self.err("expected a key"))
                } else {
                    Ok(k)
                }
            }
        }
    }

    fn value(&mut self) -> PResult<Value> {
        match self.peek() {
            Some('"') => {
                if self.starts_with("\"\"\"") {
                    self.pos += 3;
                    self.multiline(true).map(Value::Str)
                } else {
                    self.bump();
                    self.basic_string().map(Value::Str)
                }
            }
            Some('\'') => {
                if self.starts_with("'''") {
                    self.pos += 3;
                    self.multiline(false).map(Value::Str)
                } else {
                    self.bump();
                    self.literal_string().map(Value::Str)
                }
            }
            Some('[') => {
                self.bump();
                self.array()
            }
            Some('{') => self.inline_table(),
            Some(_) => self.scalar(),
            None => Err(self.err("expected a value")),
        }
    }

    fn basic_string(&mut self) -> PResult<String> {
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.err("unterminated string")),
                Some('"') => return Ok(s),
                Some('\\') => s.push(self.escape()?),
                Some(c) => s.push(c),
            }
        }
    }

    fn escape(&mut self) -> PResult<char> {
        let c = self.bump().ok_or_else(|| self.err("unterminated escape"))?;
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'e' => '\u{1b}',
            '"' => '"',
            '\\' => '\\',
            'u' | 'U' => {
                let n = if c == 'u' { 4 } else { 8 };
                let hex: String = (0..n).filter_map(|_| self.bump()).collect();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| self.err("invalid unicode escape"))?
            }
            _ => return Err(self.err(&format!("invalid escape \\{c}"))),
        })
    }

    fn literal_string(&mut self) -> PResult<String> {
        let mut s = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return Err(self.err("unterminated string")),
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
            }
        }
    }

    fn multiline(&mut self, basic: bool) -> PResult<String> {
        let quote = if basic { "\"\"\"" } else { "'''" };
        let start = self.line;
        let mut s = String::new();
        if self.starts_with("\r\n") {
            self.pos += 1;
        }
        if self.peek() == Some('\n') {
            self.bump();
        }
        loop {
            if self.starts_with(quote) {
                self.pos += 3;
                return Ok(s);
            }
            match self.bump() {
                None => {
                    return Err(ParseError {
                        line: start,
                        message: "unterminated multi-line string".into(),
                        text: self.line_text(start),
                    })
                }
                Some('\\') if basic => {
                    if matches!(self.peek(), Some('\n' | ' ' | '\t' | '\r')) {
                        while matches!(self.peek(), Some('\n' | ' ' | '\t' | '\r')) {
                            self.bump();
                        }
                    } else {
                        s.push(self.escape()?);
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn array(&mut self) -> PResult<Value> {
        let start = self.line;
        let mut items = Vec::new();
        loop {
            self.skip_ws_comments_newlines();
            match self.peek() {
                None => {
                    return Err(ParseError {
                        line: start,
                        message: "unterminated array".into(),
                        text: self.line_text(start),
                    })
                }
                Some(']') => {
                    self.bump();
                    return Ok(Value::Array(items));
                }
                _ => {}
            }
            items.push(self.value()?);
            self.skip_ws_comments_newlines();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                None => {
                    return Err(ParseError {
                        line: start,
                        message: "unterminated array".into(),
                        text: self.line_text(start),
                    })
                }
                Some(_) => return Err(self.err("expected `,` or `]` in an array")),
            }
        }
    }

    fn inline_table(&mut self) -> PResult<Value> {
        let start = self.pos;
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None | Some('\n') => return Err(self.err("unterminated inline table")),
                Some('"') => {
                    self.bump();
                    self.basic_string()?;
                    continue;
                }
                Some('\'') => {
                    self.bump();
                    self.literal_string()?;
                    continue;
                }
                Some('{') => depth += 1,
                Some('}') => {
                    depth -= 1;
                    if depth == 0 {
                        self.bump();
                        let raw: String = self.chars[start..self.pos].iter().collect();
                        return Ok(Value::Other(raw));
                    }
                }
                _ => {}
            }
            self.bump();
        }
    }

    fn scalar(&mut self) -> PResult<Value> {
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            if matches!(c, ',' | ']' | '}' | '#' | '\n' | '\r') {
                break;
            }
            raw.push(c);
            self.bump();
        }
        let raw = raw.trim_end().to_string();
        match raw.as_str() {
            "true" => return Ok(Value::Bool(true)),
            "false" => return Ok(Value::Bool(false)),
            "" => return Err(self.err("expected a value")),
            _ => {}
        }
        let clean = raw.replace('_', "");
        let int = if let Some(h) = clean.strip_prefix("0x") {
            i64::from_str_radix(h, 16).ok()
        } else if let Some(o) = clean.strip_prefix("0o") {
            i64::from_str_radix(o, 8).ok()
        } else if let Some(b) = clean.strip_prefix("0b") {
            i64::from_str_radix(b, 2).ok()
        } else {
            clean.parse::<i64>().ok()
        };
        if let Some(i) = int {
            return Ok(Value::Int(i));
        }
        let first = raw.chars().next().unwrap_or(' ');
        let numberish = first.is_ascii_digit() || matches!(first, '+' | '-');
        let looks_ok = raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.:_ ".contains(c));
        if numberish && looks_ok || matches!(raw.as_str(), "inf" | "nan" | "+inf" | "-inf") {
            return Ok(Value::Other(raw));
        }
        Err(self.err(&format!("invalid value {raw:?} (strings need quotes)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subset_podman_uses() {
        let doc = parse(
            "# comment\n[containers]\nnetns=\"host\"\nvolumes = [\n\t\"/proc:/proc\", # proc\n]\n\
             default_sysctls = []\nlog_size_max = -1\n\n[engine]\ncgroup_manager = 'cgroupfs'\n\
             no_pivot_root = false\n[engine.runtimes]\ncrun = [\"/usr/bin/crun\",\n \"/usr/local/bin/crun\"]\n\
             [storage.options.overlay]\nmountopt = \"nodev,fsync=0\"\nx.y = { a = 1, b = \"}\" }\n\
             f = 1.5\n",
        )
        .unwrap();
        assert_eq!(doc.str("containers.netns"), Some("host"));
        assert_eq!(
            doc.get("containers.volumes").unwrap().value.as_str_array(),
            Some(vec!["/proc:/proc".to_string()])
        );
        assert_eq!(doc.get("containers.volumes").unwrap().line, 4);
        assert_eq!(
            doc.get("containers.default_sysctls").unwrap().value,
            Value::Array(vec![])
        );
        assert_eq!(
            doc.get("containers.log_size_max").unwrap().value,
            Value::Int(-1)
        );
        assert_eq!(doc.str("engine.cgroup_manager"), Some("cgroupfs"));
        assert_eq!(
            doc.get("engine.no_pivot_root").unwrap().value,
            Value::Bool(false)
        );
        assert_eq!(
            doc.get("engine.runtimes.crun")
                .unwrap()
                .value
                .as_str_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            doc.str("storage.options.overlay.mountopt"),
            Some("nodev,fsync=0")
        );
        assert!(doc.get("storage.options.overlay.x.y").is_some());
        assert_eq!(
            doc.get("storage.options.overlay.f").unwrap().value,
            Value::Other("1.5".into())
        );
    }

    #[test]
    fn strings_with_escapes_and_multiline() {
        let doc =
            parse("a = \"q\\\"x\\u00e9\"\nb = \"\"\"\nline1\nline2\"\"\"\nc = '''raw\\n'''\n")
                .unwrap();
        assert_eq!(doc.str("a"), Some("q\"xé"));
        assert_eq!(doc.str("b"), Some("line1\nline2"));
        assert_eq!(doc.str("c"), Some("raw\\n"));
    }

    #[test]
    fn garbage_is_an_error_with_its_line() {
        let e = parse("[engine]\ncgroup_manager = systemd\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("systemd"), "{e}");
        assert_eq!(e.text, "cgroup_manager = systemd");
        let e = parse("[engine]\nevents_logger = \n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("[storage\ndriver=\"vfs\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("x = [\"a\",\n\"b\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("array"));
        let e = parse("a = 1\na = 2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("a = \"x\" y\n").is_err());
        assert!(parse("\u{0}\u{1}binary").is_err());
        assert!(parse("[a]\n[a]\n").is_err());
    }

    #[test]
    fn never_panics_on_truncations() {
        let text = "[containers]\nvolumes = [\"/a:/b\", 'c']\nx = \"\"\"y\"\"\"\nz = {a=\"}\"}\n";
        for i in 0..text.len() {
            if text.is_char_boundary(i) {
                let _ = parse(&text[..i]);
            }
        }
    }

    #[test]
    fn real_debian_containers_conf_parses() {
        // Debian 12 ships the full commented containers.conf here.
        let Ok(text) = std::fs::read_to_string("/usr/share/containers/containers.conf") else {
            return;
        };
        let doc = parse(&text).unwrap();
        // Everything in the shipped file is commented out except tables.
        assert!(doc.entries.len() < 20, "{:?}", doc.entries.keys());
    }
}
