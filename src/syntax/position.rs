//! Byte offsets and 1-based line:column positions (columns count Unicode code points, as
//! SARIF's `unicodeCodePoints` and editors do), in both directions.
//!
//! [`LineIndex`] answers many lookups in one text in O(log lines); [`pos_at`] and
//! [`offset_of`] are the one-off forms.

use crate::model::Pos;

/// The byte offset where each line of a text starts.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the lines of `text` (`\n` ends a line; a `\r` before it stays in the line).
    #[must_use]
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// The position of byte `offset` of `text` (clamped to the text).
    #[must_use]
    pub fn pos(&self, text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// The byte offset of 1-based `line` and `column` in `text`, clamped to the line's end and
    /// to the text.
    #[must_use]
    pub fn offset(&self, text: &str, line: u32, column: u32) -> usize {
        let Some(&start) = self.starts.get((line.max(1) - 1) as usize) else {
            return text.len();
        };
        let rest = &text[start..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        rest[..line_end]
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(start + line_end, |(i, _)| start + i)
    }
}

impl LineIndex {
    /// The 1-based `line` of `text`: its start offset and its text without the line break.
    #[must_use]
    pub fn line<'t>(&self, text: &'t str, line: usize) -> Option<(usize, &'t str)> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).copied().unwrap_or(text.len());
        let body = text.get(start..end)?;
        Some((start, body.trim_end_matches(['\n', '\r'])))
    }
}

/// The position of byte `offset` of `text`.
#[must_use]
pub fn pos_at(text: &str, offset: usize) -> Pos {
    LineIndex::new(text).pos(text, offset)
}

/// The byte offset of 1-based `line` and `column` in `text`.
#[must_use]
pub fn offset_of(text: &str, line: u32, column: u32) -> usize {
    LineIndex::new(text).offset(text, line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_offsets_round_trip() {
        let text = "a: 1\nbé: ü2\r\nlast";
        for (offset, line, column) in [(0, 1, 1), (5, 2, 1), (10, 2, 5), (15, 3, 1), (19, 3, 5)] {
            assert_eq!(pos_at(text, offset), Pos { line, column }, "{offset}");
            assert_eq!(offset_of(text, line, column), offset, "{line}:{column}");
        }
    }

    #[test]
    fn offsets_clamp_to_the_line_and_the_text() {
        let text = "ab\ncd";
        assert_eq!(offset_of(text, 1, 9), 2);
        assert_eq!(offset_of(text, 9, 1), text.len());
        assert_eq!(pos_at(text, 99), Pos { line: 2, column: 3 });
    }
}
