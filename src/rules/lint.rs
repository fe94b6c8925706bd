//! Lints for the two Rego forms that regorus 0.14's compiled evaluator (RVM) gets wrong
//! (`docs/upstream/regorus-rvm.md` has the reproductions):
//!
//! 1. `x := expr` inside a rule body or comprehension. When `expr` is undefined the RVM binds
//!    `x` to undefined and goes on, where the interpreter (and OPA) fail the body. `x = expr`
//!    binds the same way when `x` is new and is checked by both evaluators, so rules use `=`
//!    in bodies. [`body_assignments`] finds every such `:=`, exactly: every `:=` inside
//!    brackets (a body, a comprehension) or after `if` in a one-line body, never a rule
//!    head's `:=` (`name := value if { … }`, `} else := value`), which compiles correctly.
//! 2. A loop in a body that `else` follows. When the loop finds nothing, the RVM ends the
//!    whole chain undefined instead of trying the `else`. Rules move the loop into a rule or
//!    function of its own and call it from the body. [`loops_before_else`] finds the loops
//!    that are spelled out (`some`, `every`, `[_]`); an iteration over an unbound variable
//!    (`xs[i]` with `i` new) cannot be told from a lookup without scoping, so the
//!    differential test is what guards that one.

use crate::model::Pos;

/// A character of Rego source outside comments and string literals, with where it is and
/// how many brackets enclose it.
struct Sig {
    c: char,
    pos: Pos,
    depth: usize,
}

/// The significant characters of `text`: comments and the inside of strings are dropped (a
/// string's quotes are kept, so that words either side stay apart).
fn significant(text: &str) -> Vec<Sig> {
    let mut out = Vec::new();
    let (mut line, mut column) = (1u32, 1u32);
    let mut depth = 0usize;

    // None: code; Some('#'): comment; Some('"') or Some('`'): inside that string.
    let mut within: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        let pos = Pos { line, column };
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
        match within {
            Some('#') => {
                if c == '\n' {
                    within = None;
                    out.push(Sig { c, pos, depth });
                }
            }
            Some(quote) => {
                if escaped {
                    escaped = false;
                } else if quote == '"' && c == '\\' {
                    escaped = true;
                } else if c == quote {
                    within = None;
                    out.push(Sig { c, pos, depth });
                }
            }
            None => match c {
                '#' => within = Some('#'),
                '"' | '`' => {
                    within = Some(c);
                    out.push(Sig { c, pos, depth });
                }
                '(' | '[' | '{' => {
                    out.push(Sig { c, pos, depth });
                    depth += 1;
                }
                ')' | ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    out.push(Sig { c, pos, depth });
                }
                _ => out.push(Sig { c, pos, depth }),
            },
        }
    }
    out
}

/// Deepest nesting of brackets (`(`, `[`, `{`) a rule file may have. regorus 0.14's parser
/// takes time exponential in the nesting depth, closed or not (20 deep: 0.5 s; 31: over a
/// minute), so a deeper file is refused before it is parsed. The built-in rules nest 9 deep
/// at most.
pub const MAX_NESTING: usize = 16;

/// Where brackets first nest deeper than [`MAX_NESTING`] in `text`, if they do.
#[must_use]
pub fn too_deep(text: &str) -> Option<Pos> {
    significant(text)
        .into_iter()
        .find(|s| matches!(s.c, '(' | '[' | '{') && s.depth >= MAX_NESTING)
        .map(|s| s.pos)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `word` stands alone at `i` (not part of a longer identifier).
fn word_at(sig: &[Sig], i: usize, word: &str) -> bool {
    let len = word.chars().count();
    sig.get(i..i + len)
        .is_some_and(|s| s.iter().map(|x| x.c).eq(word.chars()))
        && !i
            .checked_sub(1)
            .and_then(|p| sig.get(p))
            .is_some_and(|x| is_ident(x.c))
        && !sig.get(i + len).is_some_and(|x| is_ident(x.c))
}

/// The positions of every `:=` in a rule body or comprehension of `text`.
#[must_use]
pub fn body_assignments(text: &str) -> Vec<Pos> {
    let sig = significant(text);
    let mut out = Vec::new();
    // At depth 0: the statement has passed its `if` (a one-line body follows).
    let mut after_if = false;
    for (i, s) in sig.iter().enumerate() {
        match s.c {
            '}' | ')' | ']' | '\n' if s.depth == 0 => after_if = false,
            ':' if sig.get(i + 1).is_some_and(|n| n.c == '=') && (s.depth > 0 || after_if) => {
                out.push(s.pos);
            }
            'i' if s.depth == 0 && word_at(&sig, i, "if") => after_if = true,
            _ => {}
        }
    }
    out
}

/// The positions of the spelled-out loops (`some`, `every` directly in the body, `[_]`
/// anywhere in it) of every rule body that `else` follows.
#[must_use]
pub fn loops_before_else(text: &str) -> Vec<Pos> {
    let sig = significant(text);
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for (i, s) in sig.iter().enumerate() {
        if s.depth != 0 {
            continue;
        }
        match s.c {
            '{' => open = Some(i),
            '}' => {
                let Some(start) = open.take() else { continue };
                let next = sig[i + 1..].iter().position(|x| !x.c.is_whitespace());
                if !next.is_some_and(|n| word_at(&sig, i + 1 + n, "else")) {
                    continue;
                }
                for j in start + 1..i {
                    let at_body = sig[j].depth == 1;
                    let spelled = (at_body
                        && (word_at(&sig, j, "some") || word_at(&sig, j, "every")))
                        || (sig[j].c == '['
                            && sig.get(j + 1).is_some_and(|x| x.c == '_')
                            && sig.get(j + 2).is_some_and(|x| x.c == ']'));
                    if spelled {
                        out.push(sig[j].pos);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(found: &[Pos]) -> Vec<u32> {
        found.iter().map(|p| p.line).collect()
    }

    #[test]
    fn body_and_comprehension_assignments_are_reported() {
        let text = "package p\n\
                    a if {\n\ty := input.missing\n\ttrue\n}\n\
                    s := {x | some v in input.xs\n\tx := v.name}\n\
                    b if y := f(1)\n";
        assert_eq!(lines(&body_assignments(text)), vec![3, 7, 8]);
        assert_eq!(body_assignments(text)[0], Pos { line: 3, column: 4 });
    }

    #[test]
    fn heads_else_strings_and_comments_are_not() {
        let text = "package p\n\
                    f(x) := 1 if x > 0\n\
                    g(x) := v if {\n\tv = x.a\n} else := 2\n\
                    default d := 3\n\
                    m := \"a := b \\\" c := d\" # e := f\n\
                    r := `x := y`\n\
                    o := {\"k\": 1}\n";
        assert!(
            body_assignments(text).is_empty(),
            "{:?}",
            body_assignments(text)
        );
    }

    #[test]
    fn an_identifier_ending_in_if_is_not_the_keyword() {
        assert!(body_assignments("package p\nmodif := 1\nx := modif\n").is_empty());
    }

    #[test]
    fn loops_in_a_body_that_else_follows_are_reported() {
        let text = "package p\n\
                    x := 1 if {\n\tsome v in input.a\n\tv == 1\n} else := 2 if {\n\tinput.b[_] == 1\n} else := 3\n\
                    y := 1 if {\n\tsome v in input.a\n\tv == 1\n}\n\
                    z := 1 if {\n\tcount([v | some v in input.a]) > 0\n} else := 2\n";
        assert_eq!(lines(&loops_before_else(text)), vec![3, 6]);
    }
}
