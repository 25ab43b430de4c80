//! `infra/lib/function-environment.json` is the list in `sirslack_lambda::vars`, written out.
//! The CDK app's contract and tests read the file; this test fails when it is stale.

use std::path::PathBuf;

use sirslack_lambda::vars::{CONTRACT_PATH, contract_json};

fn contract_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(CONTRACT_PATH)
}

#[test]
fn the_infrastructure_contract_is_the_rust_list() {
    let expected = contract_json();
    let path = contract_file();
    if std::env::var_os("SIRSLACK_WRITE_CONTRACT").is_some() {
        if let Err(error) = std::fs::write(&path, &expected) {
            panic!("cannot write {}: {error}", path.display());
        }
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == expected,
        "{CONTRACT_PATH} is stale (or missing): the variables in crates/lambda/src/vars.rs changed.\n\
         Regenerate it with\n  SIRSLACK_WRITE_CONTRACT=1 cargo test -p sirslack-lambda --test contract\n\
         and commit it with the change."
    );
}
