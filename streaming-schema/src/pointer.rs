//! Where the check is in the body: a chain of keys and indexes on the stack,
//! spelled as a JSON pointer only when a violation is recorded.

/// A location in the body.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The JSON pointer (RFC 6901): `""` for the root, `/tasks/3/title` below it.
    pub(crate) fn pointer(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write(out);
                out.push('/');
                out.push_str(&escape(key));
            }
            Path::Index(parent, i) => {
                parent.write(out);
                out.push('/');
                out.push_str(&i.to_string());
            }
        }
    }
}

/// A key as a pointer segment: `~` is `~0` and `/` is `~1`.
pub(crate) fn escape(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains(['~', '/']) { key.replace('~', "~0").replace('/', "~1").into() } else { key.into() }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn pointers_escape_tildes_and_slashes() {
        let root = Path::Root;
        let items = Path::Key(&root, "a/b~c");
        let third = Path::Index(&items, 3);
        assert_eq!(third.pointer(), "/a~1b~0c/3");
        assert_eq!(root.pointer(), "");
    }
}
