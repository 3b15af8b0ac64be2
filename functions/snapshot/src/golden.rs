//! Golden files (`golden/` of this package): the published formats, byte for byte. A test
//! renders a format and [`check`]s it against its file, so renaming a model field cannot
//! change a contract by accident.

use std::path::Path;

/// Compares `actual` with `golden/<name>`. With `UPDATE_GOLDEN=1` it (re)writes the file
/// first, so an intended change is one rerun and a reviewed diff; under `CI` it refuses to,
/// because a rewrite there would make the test pass whatever the code renders.
pub(crate) fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        assert!(
            std::env::var_os("CI").is_none(),
            "UPDATE_GOLDEN is set under CI: golden files are rewritten only on a developer's \
             machine, where the diff is reviewed; unset UPDATE_GOLDEN"
        );
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        actual == expected,
        "{} differs from what the code renders: a published format changed. If that is \
         intended, bump the format (e.g. the schema version), rerun with UPDATE_GOLDEN=1 and \
         review the diff.\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
