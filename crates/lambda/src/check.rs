//! Holds a function's configuration reader and its list in [`crate::vars`] to each other: for
//! each function crate's tests.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{Debug, Display};

use crate::vars::{FunctionVars, Need, Read};

/// Reads the configuration three ways, recording every variable asked for:
///
/// 1. only the required variables and those Lambda sets (each its example): must succeed;
/// 2. every listed variable set to its example: must succeed;
/// 3. as 1, plus every variable with a default set to that default: must give the same
///    configuration as 1 (the list's defaults are the code's).
///
/// Then the variables asked for must be exactly the listed ones. `read` is the function's
/// `from_lookup`. Returns what is wrong, for the test to print.
pub fn reads_match<C, E>(
    function: &FunctionVars,
    read: impl Fn(&dyn Fn(&str) -> Option<String>) -> Result<C, E>,
) -> Result<(), String>
where
    C: PartialEq + Debug,
    E: Display,
{
    let asked = RefCell::new(BTreeSet::new());
    let run = |values: BTreeMap<&str, &str>| {
        let lookup = |name: &str| {
            asked.borrow_mut().insert(name.to_owned());
            values.get(name).map(|value| (*value).to_owned())
        };
        read(&lookup)
    };
    let with = |keep: &dyn Fn(&Read) -> Option<&'static str>| -> BTreeMap<&str, &str> {
        function
            .reads
            .iter()
            .filter_map(|read| keep(read).map(|value| (read.var.name, value)))
            .collect()
    };
    let minimal = with(&|read| {
        matches!(read.need, Need::Required | Need::SetByLambda).then_some(read.example)
    });
    let bare = run(minimal.clone()).map_err(|error| {
        format!(
            "{}: with only the required variables: {error}",
            function.binary
        )
    })?;
    run(with(&|read| Some(read.example)))
        .map_err(|error| format!("{}: with every example: {error}", function.binary))?;
    let mut defaults = minimal;
    defaults.extend(with(&|read| match read.need {
        Need::Default(value) => Some(value),
        _ => None,
    }));
    let explicit = run(defaults).map_err(|error| {
        format!(
            "{}: with every default written out: {error}",
            function.binary
        )
    })?;
    if bare != explicit {
        return Err(format!(
            "{}: the listed defaults are not the code's:\n  unset:   {bare:?}\n  written: {explicit:?}",
            function.binary
        ));
    }
    let asked = asked.into_inner();
    let listed: BTreeSet<String> = function
        .reads
        .iter()
        .map(|read| read.var.name.to_owned())
        .collect();
    let unlisted: Vec<&String> = asked.difference(&listed).collect();
    let unread: Vec<&String> = listed.difference(&asked).collect();
    if unlisted.is_empty() && unread.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: read but not listed in sirslack_lambda::vars: {unlisted:?}; listed but never read: {unread:?}",
            function.binary
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{ConfigError, Env};
    use crate::vars::{TABLE_NAME, Var};

    const SIZE: Var = Var {
        name: "SIZE",
        meaning: "a test size",
    };

    const LIST: FunctionVars = FunctionVars {
        binary: "test",
        reads: &[
            Read {
                var: TABLE_NAME,
                need: Need::Required,
                example: "t",
            },
            Read {
                var: SIZE,
                need: Need::Default("4"),
                example: "8",
            },
        ],
    };

    #[test]
    fn a_reader_that_matches_its_list_passes() {
        let read = |lookup: &dyn Fn(&str) -> Option<String>| {
            let env = Env::new(lookup);
            Ok::<_, ConfigError>((env.required(&TABLE_NAME)?, env.number(&SIZE, 4, 1..=9)?))
        };
        assert_eq!(reads_match(&LIST, read), Ok(()));
    }

    #[test]
    fn an_unlisted_variable_or_a_wrong_default_fails() {
        let unlisted = |lookup: &dyn Fn(&str) -> Option<String>| {
            let env = Env::new(lookup);
            let _ = env.text(&Var {
                name: "OTHER",
                meaning: "not listed",
            });
            Ok::<_, ConfigError>((env.required(&TABLE_NAME)?, env.number(&SIZE, 4, 1..=9)?))
        };
        assert!(reads_match(&LIST, unlisted).unwrap_err().contains("OTHER"));
        let wrong_default = |lookup: &dyn Fn(&str) -> Option<String>| {
            let env = Env::new(lookup);
            Ok::<_, ConfigError>((env.required(&TABLE_NAME)?, env.number(&SIZE, 5, 1..=9)?))
        };
        assert!(
            reads_match(&LIST, wrong_default)
                .unwrap_err()
                .contains("defaults")
        );
    }
}
