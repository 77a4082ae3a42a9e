//! A reader for TOML 1.0 (checked against the toml-test suite in
//! `tests/toml_suite.rs`), used for `containers.conf`, `storage.conf` and
//! `registries.conf`. Its model is what the areas need: a [`Doc`] of every
//! leaf value under its full dotted key (`engine.runtimes.crun`, also when
//! written as an inline table), with the line it was written on; floats and
//! date-times are validated and kept as written (nothing here needs their
//! numeric value, and the float parser would cost bytes).
//!
//! Hostile input is bounded: nesting (tables, arrays, inline tables, dotted
//! keys together) stops at [`MAX_DEPTH`] with an error instead of exhausting
//! the stack, and tables are looked up in ordered maps, never by a linear
//! search. A [`ParseError`] names the line, the column and what was
//! expected, never the text found there: the file may be anything a link
//! pointed at (`/etc/shadow`), so no byte of it reaches a report.

use std::collections::BTreeMap;

/// How deep tables, arrays and inline tables may nest in all.
pub const MAX_DEPTH: usize = 128;

/// A value as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Value>),
    /// A float as written (validated: `1_000.5e-3`, `inf`, `-nan`).
    Float(String),
    /// An offset or local date-time, date or time as written, with `T`
    /// and `Z` in upper case and a space separator turned into `T`.
    Datetime(String),
    /// An inline table, or an element of an array of tables.
    Table(Table),
}

/// A table: key to value.
pub type Table = BTreeMap<String, Value>;

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

    /// The value written back as TOML text (also used as evidence).
    pub fn render(&self) -> String {
        match self {
            Value::Str(s) => quote(s),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Float(s) | Value::Datetime(s) => s.clone(),
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(Value::render).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Table(t) => {
                let items: Vec<String> = t
                    .iter()
                    .map(|(k, v)| format!("{} = {}", render_key(k), v.render()))
                    .collect();
                format!("{{ {} }}", items.join(", "))
            }
        }
    }
}

/// One leaf `key = value` with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub line: usize,
}

/// A parsed file: full dotted key (`engine.cgroup_manager`) to entry. An
/// inline table's values are entries of their own (`engine.runtimes.myrt`);
/// an array of tables is one entry holding `Value::Table`s.
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
/// the same settings (a key segment with a dot in it), so a caller never
/// writes a file that means something else than it meant.
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
            out.push_str(&format!("{} = {}\n", render_key(name), value.render()));
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

/// Where a file stops being TOML and what was expected there. It never
/// carries text of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What was expected or what is wrong, in words of this module only.
    pub message: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: expected {}",
            self.line, self.column, self.message
        )
    }
}

/// Parses a whole file into its leaf entries.
pub fn parse(text: &str) -> Result<Doc, ParseError> {
    let root = parse_nodes(text)?;
    let mut doc = Doc::default();
    flatten(root.map, "", &mut doc.entries);
    Ok(doc)
}

/// Parses a whole file into its tree of tables (the suite compares it).
pub fn parse_tree(text: &str) -> Result<Table, ParseError> {
    Ok(to_table(parse_nodes(text)?))
}

/// A node of the tree under construction: a value (frozen), a table that
/// headers and dotted keys may still extend, or an array of tables.
enum Node {
    Leaf(Value, usize),
    Tab(Tab),
    Aot(Vec<Tab>, usize),
}

#[derive(Default)]
struct Tab {
    map: BTreeMap<String, Node>,
    /// Defined by a `[header]` of its own (not only as a prefix).
    explicit: bool,
    /// Created by a dotted key (`a.b = 1` creates `a`).
    dotted: bool,
}

fn to_table(t: Tab) -> Table {
    t.map
        .into_iter()
        .map(|(k, n)| {
            let v = match n {
                Node::Leaf(v, _) => v,
                Node::Tab(t) => Value::Table(to_table(t)),
                Node::Aot(ts, _) => {
                    Value::Array(ts.into_iter().map(to_table).map(Value::Table).collect())
                }
            };
            (k, v)
        })
        .collect()
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn flatten(map: BTreeMap<String, Node>, prefix: &str, out: &mut BTreeMap<String, Entry>) {
    for (k, n) in map {
        let full = join(prefix, &k);
        match n {
            Node::Leaf(Value::Table(t), line) => flatten_inline(t, &full, line, out),
            Node::Leaf(value, line) => {
                out.insert(full, Entry { value, line });
            }
            Node::Tab(t) => flatten(t.map, &full, out),
            Node::Aot(ts, line) => {
                let value =
                    Value::Array(ts.into_iter().map(|t| Value::Table(to_table(t))).collect());
                out.insert(full, Entry { value, line });
            }
        }
    }
}

fn flatten_inline(t: Table, prefix: &str, line: usize, out: &mut BTreeMap<String, Entry>) {
    for (k, value) in t {
        let full = join(prefix, &k);
        match value {
            Value::Table(t) => flatten_inline(t, &full, line, out),
            value => {
                out.insert(full, Entry { value, line });
            }
        }
    }
}

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
    /// Byte offset where the current line starts (for the column).
    line_start: usize,
    /// Current nesting: table path, dotted key, arrays, inline tables.
    depth: usize,
}

fn parse_nodes(text: &str) -> PResult<Tab> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        depth: 0,
    };
    let mut root = Tab::default();
    let mut current: Vec<String> = Vec::new();
    loop {
        p.skip_ws();
        match p.peek() {
            None => return Ok(root),
            Some(b'#' | b'\n' | b'\r') => {}
            Some(b'[') => current = p.header(&mut root)?,
            Some(_) => {
                let line = p.line;
                let (keys, value) = p.keyval(current.len())?;
                let table = walk(&mut root, &current).ok_or_else(|| p.err("a table to add to"))?;
                insert(table, &keys, value, line).map_err(|m| p.err(m))?;
            }
        }
        p.end_of_line()?;
    }
}

/// The table at `path`, entering the last element of arrays of tables.
fn walk<'t>(mut t: &'t mut Tab, path: &[String]) -> Option<&'t mut Tab> {
    for k in path {
        t = match t.map.get_mut(k)? {
            Node::Tab(x) => x,
            Node::Aot(v, _) => v.last_mut()?,
            Node::Leaf(..) => return None,
        };
    }
    Some(t)
}

/// `keys = value` into `t`: dotted keys create or extend tables that
/// only dotted keys made, never one a header defined or a value.
fn insert(mut t: &mut Tab, keys: &[String], value: Value, line: usize) -> Result<(), &'static str> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("a key");
    };
    for k in parents {
        let node = t.map.entry(k.clone()).or_insert_with(|| {
            Node::Tab(Tab {
                dotted: true,
                ..Tab::default()
            })
        });
        t = match node {
            Node::Tab(x) if !x.explicit => x,
            _ => {
                return Err(
                    "a new key (this dotted key extends a table or value defined elsewhere)",
                )
            }
        };
    }
    if t.map.contains_key(last) {
        return Err("a new key (this key is already defined)");
    }
    t.map.insert(last.clone(), Node::Leaf(value, line));
    Ok(())
}

/// `[a.b]` or `[[a.b]]`: creates or enters the table, returns its path.
fn define(root: &mut Tab, keys: &[String], array: bool, line: usize) -> Result<(), &'static str> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("a key");
    };
    let mut t = root;
    for k in parents {
        t = match t.map.entry(k.clone()).or_default() {
            Node::Tab(x) => x,
            Node::Aot(v, _) => v.last_mut().ok_or("a table")?,
            Node::Leaf(..) => return Err("a table name (this key already holds a value)"),
        };
    }
    let fresh = Tab {
        explicit: true,
        ..Tab::default()
    };
    match t.map.get_mut(last) {
        None if array => {
            t.map.insert(last.clone(), Node::Aot(vec![fresh], line));
        }
        None => {
            t.map.insert(last.clone(), Node::Tab(fresh));
        }
        Some(Node::Aot(v, _)) if array => v.push(fresh),
        Some(Node::Tab(x)) if !array && !x.explicit && !x.dotted => x.explicit = true,
        Some(_) => return Err("a new table name (this table or key is already defined)"),
    }
    Ok(())
}

impl Default for Node {
    fn default() -> Node {
        Node::Tab(Tab::default())
    }
}

fn is_bare(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.s.get(self.pos + off).copied()
    }

    fn starts_with(&self, pat: &[u8]) -> bool {
        self.s[self.pos..].starts_with(pat)
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
            self.line_start = self.pos + 1;
        }
        self.pos += 1;
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.bump();
        }
        hit
    }

    fn err(&self, message: &'static str) -> ParseError {
        let upto = self.pos.min(self.s.len());
        let column = self.s[self.line_start.min(upto)..upto]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count()
            + 1;
        ParseError {
            line: self.line,
            column,
            message,
        }
    }

    fn expect(&mut self, c: u8, message: &'static str) -> PResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(message))
        }
    }

    fn enter(&mut self, n: usize) -> PResult<()> {
        self.depth += n;
        if self.depth > MAX_DEPTH {
            return Err(
                self.err("less nesting (tables, arrays and inline tables nest at most 128 deep)")
            );
        }
        Ok(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A comment, if one starts here: no control characters in it.
    fn comment(&mut self) -> PResult<()> {
        if self.peek() != Some(b'#') {
            return Ok(());
        }
        // issue 10: one scan to the first control byte (containers.conf is
        // mostly comments), not a peek per byte.
        self.pos += 1;
        let rest = self.s.get(self.pos..).unwrap_or_default();
        let stop = rest.iter().position(|&c| is_control(c));
        self.pos += stop.unwrap_or(rest.len());
        match self.peek() {
            None | Some(b'\n') => Ok(()),
            Some(b'\r') if self.peek_at(1) == Some(b'\n') => Ok(()),
            Some(_) => Err(self.err("a comment without control characters")),
        }
    }

    /// A line end: LF or CRLF.
    fn newline(&mut self) -> bool {
        if self.starts_with(b"\r\n") {
            self.pos += 1;
        }
        self.eat(b'\n')
    }

    /// After a header or key/value: spaces, a comment, then a line end.
    fn end_of_line(&mut self) -> PResult<()> {
        self.skip_ws();
        self.comment()?;
        if self.peek().is_none() || self.newline() {
            Ok(())
        } else {
            Err(self.err("a new line after the value (or a comment)"))
        }
    }

    /// Spaces, comments and line ends (inside arrays).
    fn skip_wcn(&mut self) -> PResult<()> {
        loop {
            self.skip_ws();
            self.comment()?;
            if !self.newline() {
                return Ok(());
            }
        }
    }

    fn header(&mut self, root: &mut Tab) -> PResult<Vec<String>> {
        let line = self.line;
        self.bump();
        let array = self.eat(b'[');
        self.skip_ws();
        let keys = self.key_path()?;
        if keys.len() > MAX_DEPTH {
            return Err(self.err("a shorter table name (at most 128 parts)"));
        }
        self.expect(b']', "`]` to end the table header")?;
        if array {
            self.expect(b']', "`]]` to end the table header")?;
        }
        define(root, &keys, array, line).map_err(|m| self.err(m))?;
        Ok(keys)
    }

    /// `key = value`; `base` is how deep the table it goes into is.
    fn keyval(&mut self, base: usize) -> PResult<(Vec<String>, Value)> {
        let keys = self.key_path()?;
        self.expect(b'=', "`=` after the key")?;
        self.skip_ws();
        let saved = self.depth;
        self.enter(base + keys.len())?;
        let value = self.value()?;
        self.depth = saved;
        Ok((keys, value))
    }

    /// Dotted key; spaces around the dots and after it are skipped.
    fn key_path(&mut self) -> PResult<Vec<String>> {
        let mut keys = Vec::new();
        loop {
            keys.push(self.key()?);
            self.skip_ws();
            if !self.eat(b'.') {
                return Ok(keys);
            }
            self.skip_ws();
        }
    }

    fn key(&mut self) -> PResult<String> {
        match self.peek() {
            Some(b'"') => {
                self.bump();
                self.basic_string()
            }
            Some(b'\'') => {
                self.bump();
                self.literal_string()
            }
            _ => {
                let start = self.pos;
                while self.peek().is_some_and(is_bare) {
                    self.pos += 1;
                }
                if start == self.pos {
                    return Err(self.err("a key (letters, digits, `_`, `-`, or quoted)"));
                }
                Ok(self.text(start).to_string())
            }
        }
    }

    fn text(&self, start: usize) -> &str {
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    fn value(&mut self) -> PResult<Value> {
        match self.peek() {
            Some(b'"') if self.starts_with(b"\"\"\"") => self.multiline(b'"').map(Value::Str),
            Some(b'"') => {
                self.bump();
                self.basic_string().map(Value::Str)
            }
            Some(b'\'') if self.starts_with(b"'''") => self.multiline(b'\'').map(Value::Str),
            Some(b'\'') => {
                self.bump();
                self.literal_string().map(Value::Str)
            }
            Some(b'[') => self.array(),
            Some(b'{') => self.inline_table(),
            _ => self.scalar(),
        }
    }

    /// The character starting here (the input is UTF-8).
    fn char_here(&mut self) -> Option<char> {
        let len = match self.peek()? {
            0..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        let c = std::str::from_utf8(self.s.get(self.pos..self.pos + len)?)
            .ok()?
            .chars()
            .next()?;
        self.pos += c.len_utf8() - 1;
        self.bump();
        Some(c)
    }

    fn basic_string(&mut self) -> PResult<String> {
        let mut s = String::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(s);
                }
                Some(b'\\') => {
                    self.bump();
                    s.push(self.escape()?);
                }
                None | Some(b'\n') => return Err(self.err("`\"` to end the string")),
                Some(c) if is_control(c) => {
                    return Err(self.err("no control characters in a string (escape them)"))
                }
                Some(_) => s.extend(self.char_here()),
            }
        }
    }

    fn escape(&mut self) -> PResult<char> {
        let c = self.peek();
        self.bump();
        Ok(match c {
            Some(b'n') => '\n',
            Some(b't') => '\t',
            Some(b'r') => '\r',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'u') => self.unicode(4)?,
            Some(b'U') => self.unicode(8)?,
            _ => {
                return Err(
                    self.err("a valid escape (\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)")
                )
            }
        })
    }

    fn unicode(&mut self, n: usize) -> PResult<char> {
        let hex = self.s.get(self.pos..self.pos + n).unwrap_or(b"");
        let ok = hex.len() == n && hex.iter().all(u8::is_ascii_hexdigit);
        let c = std::str::from_utf8(hex)
            .ok()
            .filter(|_| ok)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .ok_or_else(|| self.err("a Unicode scalar value in hex after \\u or \\U"))?;
        self.pos += n;
        Ok(c)
    }

    fn literal_string(&mut self) -> PResult<String> {
        let start = self.pos;
        loop {
            match self.peek() {
                Some(b'\'') => {
                    let s = self.text(start).to_string();
                    self.bump();
                    return Ok(s);
                }
                None | Some(b'\n') => return Err(self.err("`'` to end the string")),
                Some(c) if is_control(c) => {
                    return Err(self.err("no control characters in a literal string"))
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `"""…"""` or `'''…'''`; up to two quotes may precede the closing three.
    fn multiline(&mut self, q: u8) -> PResult<String> {
        self.pos += 3;
        self.newline();
        let mut s = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("the end of the multi-line string")),
                Some(c) if c == q && self.starts_with(&[q, q, q]) => {
                    let mut n = 3;
                    while self.peek_at(n) == Some(q) {
                        n += 1;
                    }
                    if n > 5 {
                        return Err(self.err("at most two quotes before the closing three"));
                    }
                    s.extend(std::iter::repeat_n(q as char, n - 3));
                    self.pos += n;
                    return Ok(s);
                }
                Some(b'\\') if q == b'"' => {
                    self.bump();
                    if self.line_continuation()? {
                        continue;
                    }
                    s.push(self.escape()?);
                }
                Some(b'\n') => {
                    self.bump();
                    s.push('\n');
                }
                Some(b'\r') if self.peek_at(1) == Some(b'\n') => {
                    self.pos += 1;
                }
                Some(c) if is_control(c) => {
                    return Err(self.err("no control characters in a string (escape them)"))
                }
                Some(_) => s.extend(self.char_here()),
            }
        }
    }

    /// After `\` in a multi-line basic string: `\` + spaces + line end
    /// trims up to the next non-blank character.
    fn line_continuation(&mut self) -> PResult<bool> {
        let save = (self.pos, self.line, self.line_start);
        self.skip_ws();
        if !self.newline() {
            (self.pos, self.line, self.line_start) = save;
            return Ok(false);
        }
        loop {
            self.skip_ws();
            if !self.newline() {
                return Ok(true);
            }
        }
    }

    fn array(&mut self) -> PResult<Value> {
        self.bump();
        self.enter(1)?;
        let mut items = Vec::new();
        loop {
            self.skip_wcn()?;
            if self.eat(b']') {
                break;
            }
            items.push(self.value()?);
            self.skip_wcn()?;
            if self.eat(b']') {
                break;
            }
            self.expect(b',', "`,` or `]` in the array")?;
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// `{ k = v, … }` on one line, no trailing comma (TOML 1.0).
    fn inline_table(&mut self) -> PResult<Value> {
        self.bump();
        self.enter(1)?;
        let mut t = Tab::default();
        self.skip_ws();
        if !self.eat(b'}') {
            loop {
                self.skip_ws();
                let line = self.line;
                let (keys, value) = self.keyval(0)?;
                insert(&mut t, &keys, value, line).map_err(|m| self.err(m))?;
                self.skip_ws();
                if self.eat(b'}') {
                    break;
                }
                self.expect(b',', "`,` or `}` in the inline table (on one line)")?;
            }
        }
        self.depth -= 1;
        Ok(Value::Table(to_table(t)))
    }

    /// Booleans, numbers and date-times: a run of their characters, then
    /// checked as a whole.
    fn scalar(&mut self) -> PResult<Value> {
        let start = self.pos;
        let word =
            |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-' | b'.' | b':');
        while self.peek().is_some_and(word) {
            self.pos += 1;
        }
        // `1979-05-27 07:32:00`: a space may separate date and time.
        let date_only = self.pos - start == 10 && self.s[start + 4] == b'-';
        let time_follows = self.peek() == Some(b' ')
            && self.peek_at(1).is_some_and(|c| c.is_ascii_digit())
            && self.peek_at(3) == Some(b':');
        if date_only && time_follows {
            self.pos += 1;
            while self.peek().is_some_and(word) {
                self.pos += 1;
            }
        }
        match scalar_value(self.text(start)) {
            Some(v) => Ok(v),
            None => {
                self.pos = start;
                Err(self.err(
                    "a value (a quoted string, number, true/false, date-time, array or inline table)",
                ))
            }
        }
    }
}

fn is_control(c: u8) -> bool {
    (c < 0x20 && c != b'\t') || c == 0x7f
}

/// A bare value: boolean, integer, float or date-time, checked whole.
fn scalar_value(raw: &str) -> Option<Value> {
    match raw {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "inf" | "+inf" | "-inf" | "nan" | "+nan" | "-nan" => return Some(Value::Float(raw.into())),
        _ => {}
    }
    let b = raw.as_bytes();
    if b.len() >= 10 && b[4] == b'-' || b.len() >= 8 && b[2] == b':' {
        return datetime(raw).map(Value::Datetime);
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = raw.strip_prefix(prefix) {
            let ok = digit_run(digits, |c| c.is_digit(radix));
            return ok
                .then(|| i64::from_str_radix(&digits.replace('_', ""), radix).ok())
                .flatten()
                .map(Value::Int);
        }
    }
    number(raw)
}

/// Digits with single `_` between them.
fn digit_run(s: &str, digit: impl Fn(char) -> bool) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c == '_' || digit(c))
}

/// A decimal integer or float: no leading zeros, `_` between digits.
fn number(raw: &str) -> Option<Value> {
    let dec = |s: &str| digit_run(s, |c| c.is_ascii_digit());
    let unsigned = raw.strip_prefix(['+', '-']).unwrap_or(raw);
    let (mantissa, exp) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let leading_zero = int.len() > 1 && int.starts_with('0');
    if !dec(int) || leading_zero {
        return None;
    }
    if frac.is_some_and(|f| !dec(f)) {
        return None;
    }
    if let Some(e) = exp {
        if !dec(e.strip_prefix(['+', '-']).unwrap_or(e)) {
            return None;
        }
    }
    if frac.is_some() || exp.is_some() {
        return Some(Value::Float(raw.into()));
    }
    raw.replace('_', "").parse().ok().map(Value::Int)
}

/// `n` ASCII digits at the start of `s` as a number.
fn digits(s: &str, n: usize) -> Option<u32> {
    let d = s.get(..n)?;
    d.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| d.parse().ok())?
}

/// A date-time, date or time in RFC 3339 form with TOML's variations;
/// the canonical text (upper-case `T`/`Z`, `T` for a space) or `None`.
fn datetime(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = raw;
    if raw.as_bytes().get(4) == Some(&b'-') {
        let (y, m, d) = (
            digits(raw, 4)?,
            digits(raw.get(5..)?, 2)?,
            digits(raw.get(8..)?, 2)?,
        );
        let sep = raw.as_bytes()[7] == b'-';
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if !sep || !(1..=12).contains(&m) || d < 1 || d > days[m as usize - 1] {
            return None;
        }
        out.push_str(&raw[..10]);
        rest = &raw[10..];
        if rest.is_empty() {
            return Some(out);
        }
        rest = rest.strip_prefix(['T', 't', ' '])?;
        out.push('T');
    }
    let time = time_of_day(rest)?;
    out.push_str(&rest[..time]);
    rest = &rest[time..];
    if out.len() == time {
        // A local time has no offset.
        return rest.is_empty().then_some(out);
    }
    match rest {
        "" => {}
        "Z" | "z" => out.push('Z'),
        _ => {
            let (h, m) = (digits(rest.get(1..)?, 2)?, digits(rest.get(4..)?, 2)?);
            let ok = rest.len() == 6 && rest.starts_with(['+', '-']) && &rest[3..4] == ":";
            if !ok || h > 23 || m > 59 {
                return None;
            }
            out.push_str(rest);
        }
    }
    Some(out)
}

/// `HH:MM:SS` with an optional fraction: its length, or `None`.
fn time_of_day(s: &str) -> Option<usize> {
    let (h, m, sec) = (
        digits(s, 2)?,
        digits(s.get(3..)?, 2)?,
        digits(s.get(6..)?, 2)?,
    );
    let b = s.as_bytes();
    if b[2] != b':' || b[5] != b':' || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut n = 8;
    if b.get(8) == Some(&b'.') {
        let frac = b[9..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return None;
        }
        n = 9 + frac;
    }
    Some(n)
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
        assert_eq!(
            doc.get("storage.options.overlay.x.y.b").unwrap().value,
            Value::Str("}".into())
        );
        assert_eq!(
            doc.get("storage.options.overlay.f").unwrap().value,
            Value::Float("1.5".into())
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
        assert_eq!((e.line, e.column), (2, 18));
        assert!(e.message.contains("quoted string"), "{e}");
        let e = parse("[engine]\nevents_logger = \n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = parse("[storage\ndriver=\"vfs\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("x = [\"a\",\n\"b\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(e.message.contains("array"), "{e}");
        let e = parse("a = 1\na = 2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("a = \"x\" y\n").is_err());
        assert!(parse("\u{0}\u{1}binary").is_err());
        assert!(parse("[a]\n[a]\n").is_err());
    }

    #[test]
    fn an_inline_table_is_read_as_its_keys() {
        // Issue 11: `runtimes = { myrt = [...] }` was kept as raw text.
        let doc = parse("[engine]\nruntimes = { myrt = [\"/usr/bin/myrt\"], b.c = 1 }\n").unwrap();
        let e = doc.get("engine.runtimes.myrt").unwrap();
        assert_eq!(
            e.value.as_str_array(),
            Some(vec!["/usr/bin/myrt".to_string()])
        );
        assert_eq!(e.line, 2);
        assert_eq!(doc.get("engine.runtimes.b.c").unwrap().value, Value::Int(1));
        // An inline table cannot be extended afterwards.
        assert!(parse("a = { b = 1 }\n[a.c]\n").is_err());
        assert!(parse("a = { b = 1 }\na.c = 2\n").is_err());
    }

    #[test]
    fn arrays_of_tables_are_one_entry() {
        let doc = parse(
            "[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\nlocation = \"m\"\n\
             [[registry]]\nlocation = \"b\"\n",
        )
        .unwrap();
        let Value::Array(regs) = &doc.get("registry").unwrap().value else {
            panic!("array");
        };
        assert_eq!(regs.len(), 2);
        let Value::Table(first) = &regs[0] else {
            panic!("table")
        };
        assert_eq!(first["location"], Value::Str("a".into()));
        assert!(matches!(&first["mirror"], Value::Array(m) if m.len() == 1));
    }

    #[test]
    fn errors_never_carry_the_file_text() {
        // Issue 9 item 7: a file linked to /etc/shadow printed root's hash.
        let secret = "root:$6$Zx9secretHash$abc:19000:0:99999:7:::";
        for text in [
            secret.to_string(),
            format!("a = {secret}"),
            format!("a = \"{secret}"),
            format!("[{secret}]"),
            format!("{secret} = 1\n{secret} = 2"),
        ] {
            let e = parse(&text).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains("secretHash") && !shown.contains("root"),
                "{shown}"
            );
            assert_eq!(e.line, 1, "{shown}");
        }
        let e = parse("a = 1\nb = \"x\" y\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 9), "{e}");
        assert_eq!(
            e.to_string(),
            "line 2, column 9: expected a new line after the value (or a comment)"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // Issue 9 item 4: 30 000 `[` overflowed the stack (SIGSEGV).
        for text in [
            format!("a = {}", "[".repeat(30_000)),
            format!("a = {}", "{ b = ".repeat(30_000)),
            format!("[{}]", vec!["a"; 30_000].join(".")),
            format!("{} = 1", vec!["a"; 30_000].join(".")),
            "[".repeat(30_000),
        ] {
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, 1, "{e}");
        }
        let e = parse(&format!("a = {}", "[".repeat(30_000))).unwrap_err();
        assert!(e.message.contains("nest"), "{e}");
        let ok = format!("a = {}1{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn many_table_headers_are_looked_up_not_searched() {
        // Issue 9 item 4: 100 000 headers took 210 s, each one searched a
        // list of all earlier ones (quadratic: 30 000 headers are 4.5e8
        // string comparisons, minutes in a debug build). The tree is
        // ordered maps: about a second here in a debug build.
        let text: String = (0..30_000).map(|i| format!("[t{i}]\nk = {i}\n")).collect();
        let doc = parse(&text).unwrap();
        assert_eq!(doc.entries.len(), 30_000);
        assert_eq!(doc.get("t29999.k").unwrap().line, 60_000);
        let dup: String = (0..1_000).map(|i| format!("[t{i}]\n")).collect();
        assert_eq!(parse(&format!("{dup}[t5]\n")).unwrap_err().line, 1_001);
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
