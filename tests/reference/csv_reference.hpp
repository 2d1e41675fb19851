// A slow, obvious reading of CSV by the rules of include/nobias/csv.hpp, the fuzzer's oracle
// (tests/fuzz/csv_fuzzer.cpp). It shares no code with lib/io: the whole text is cut into
// records first, character by character, and numbers are recognised by their grammar, written
// out here, and valued by strtod. Nothing is fast or streamed.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <vector>

namespace reference {

struct CsvField {
  std::string text;
  bool quoted = false;
  std::size_t line = 0;
};

struct CsvRecord {
  std::vector<CsvField> fields;
  std::size_t line = 0;
};

// What the file is refused for, and where: the library's message must say so.
enum class CsvDefect {
  None,
  Empty,
  Utf16,
  Nul,
  Unclosed,
  AfterQuote,
  FieldCount,
  Missing,
  NotFinite
};

struct CsvColumn {
  bool text = false;
  std::vector<double> numbers;
  std::vector<std::string> texts;
  std::string first_text;
  std::size_t first_text_line = 0, number_count = 0;
};

struct CsvReading {
  CsvDefect defect = CsvDefect::None;
  std::size_t line = 0, column = 0;  // of the defect (column from 1, value defects only)
  bool header = false;
  char delimiter = ',';
  std::vector<std::string> names;
  std::vector<CsvColumn> columns;
  std::vector<std::size_t> lines;
};

// The records up to the first defect of the text (then defect and line say which).
struct Cut {
  std::vector<CsvRecord> records;
  CsvDefect defect = CsvDefect::None;
  std::size_t line = 0;
};

inline Cut cut_records(const std::string& s, char delimiter, std::size_t line) {
  const auto blank = [&](char c) { return c == ' ' || (c == '\t' && delimiter != '\t'); };
  const auto is_break = [](char c) { return c == '\r' || c == '\n'; };
  Cut cut;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    CsvRecord record;
    record.line = line;
    for (;;) {
      while (i < n && blank(s[i]))
        ++i;
      CsvField field;
      field.line = line;
      if (i < n && s[i] == '"') {
        field.quoted = true;
        const std::size_t open = line;
        ++i;
        for (;;) {
          if (i >= n) {
            cut.defect = CsvDefect::Unclosed;
            cut.line = open;
            return cut;
          }
          const char c = s[i];
          if (c == '"' && i + 1 < n && s[i + 1] == '"') {
            field.text += '"';
            i += 2;
            continue;
          }
          if (c == '"') {
            ++i;
            break;
          }
          if (c == '\0') {
            cut.defect = CsvDefect::Nul;
            cut.line = line;
            return cut;
          }
          if (c == '\n' || (c == '\r' && !(i + 1 < n && s[i + 1] == '\n'))) ++line;
          field.text += c;
          ++i;
        }
        while (i < n && blank(s[i]))
          ++i;
        if (i < n && s[i] != delimiter && !is_break(s[i])) {
          cut.defect = CsvDefect::AfterQuote;
          cut.line = line;
          return cut;
        }
      } else {
        while (i < n && s[i] != delimiter && !is_break(s[i])) {
          if (s[i] == '\0') {
            cut.defect = CsvDefect::Nul;
            cut.line = line;
            return cut;
          }
          field.text += s[i];
          ++i;
        }
        while (!field.text.empty() && blank(field.text.back()))
          field.text.pop_back();
      }
      record.fields.push_back(field);
      if (i >= n) break;
      if (s[i] == delimiter) {
        ++i;
        continue;
      }
      i += (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') ? std::size_t{2} : std::size_t{1};
      ++line;
      break;
    }
    cut.records.push_back(record);
  }
  return cut;
}

enum class Kind { Number, Text, Missing };

inline bool digit(char c) {
  return c >= '0' && c <= '9';
}

inline std::string lowercase(std::string t) {
  for (char& c : t)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return t;
}

// strtod's grammar in the "C" locale, without hexadecimal: [+-] then digits with an optional
// point and exponent, or inf, infinity, nan, nan(letters, digits, _).
inline bool is_number(const std::string& t) {
  std::size_t i = 0;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  const std::string rest = lowercase(t.substr(i));
  if (rest == "inf" || rest == "infinity" || rest == "nan") return true;
  if (rest.size() >= 5 && rest.compare(0, 4, "nan(") == 0 && rest.back() == ')') {
    for (std::size_t k = 4; k + 1 < rest.size(); ++k)
      if (!digit(rest[k]) && !(rest[k] >= 'a' && rest[k] <= 'z') && rest[k] != '_') return false;
    return true;
  }
  std::size_t digits = 0;
  while (i < t.size() && digit(t[i]))
    ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && digit(t[i]))
      ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    std::size_t exponent_digits = 0;
    while (i < t.size() && digit(t[i]))
      ++i, ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == t.size();
}

inline Kind kind_of(const std::string& field_text, double& value) {
  std::string t = field_text;
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t'))
    t.pop_back();
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t'))
    t.erase(0, 1);
  if (is_number(t)) {
    value = std::strtod(t.c_str(), nullptr);
    return std::isnan(value) ? Kind::Missing : Kind::Number;
  }
  const std::string l = lowercase(t);
  for (const char* token : {"", "?", "na", "n/a", "#n/a", "#n/a n/a", "#na", "<na>", "null", "none",
                            "1.#ind", "-1.#ind", "1.#qnan", "-1.#qnan"})
    if (l == token) return Kind::Missing;
  return Kind::Text;
}

// header: 0 auto, 1 yes, 2 no; delimiter '\0': detected.
inline CsvReading read_csv(std::string s, int header, char delimiter) {
  CsvReading r;
  if (s.size() >= 2 && ((s[0] == '\xff' && s[1] == '\xfe') || (s[0] == '\xfe' && s[1] == '\xff'))) {
    r.defect = CsvDefect::Utf16;
    r.line = 1;
    return r;
  }
  if (s.compare(0, 3, "\xef\xbb\xbf") == 0) s.erase(0, 3);
  std::size_t first_line = 1;
  while (!s.empty() && (s[0] == '\r' || s[0] == '\n')) {
    s.erase(0, s.size() > 1 && s[0] == '\r' && s[1] == '\n' ? 2 : 1);
    ++first_line;
  }
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n'))
    s.pop_back();
  if (s.empty()) {
    r.defect = CsvDefect::Empty;
    return r;
  }
  r.delimiter = delimiter ? delimiter : ',';
  if (!delimiter) {
    for (const char candidate : {'\t', ';'}) {
      const Cut c = cut_records(s, candidate, first_line);
      if (c.defect != CsvDefect::None && c.records.size() < 20) continue;
      bool same = c.records[0].fields.size() > 1;
      for (std::size_t k = 0; k < c.records.size() && k < 20; ++k)
        same = same && c.records[k].fields.size() == c.records[0].fields.size();
      if (same) {
        r.delimiter = candidate;
        break;
      }
    }
  }
  const Cut cut = cut_records(s, r.delimiter, first_line);
  const std::size_t cols = cut.records.empty() ? 0 : cut.records[0].fields.size();
  for (const CsvRecord& record : cut.records) {
    if (record.fields.size() != cols) {
      r.defect = CsvDefect::FieldCount;
      r.line = record.line;
      return r;
    }
  }
  if (cut.defect != CsvDefect::None) {
    r.defect = cut.defect;
    r.line = cut.line;
    return r;
  }
  const std::vector<CsvRecord>& records = cut.records;
  std::vector<std::vector<Kind>> kinds(records.size());
  std::vector<std::vector<double>> values(records.size());
  for (std::size_t k = 0; k < records.size(); ++k)
    for (const CsvField& f : records[k].fields) {
      double v = 0;
      kinds[k].push_back(kind_of(f.text, v));
      values[k].push_back(v);
    }
  r.header = header == 1;
  for (std::size_t j = 0; header == 0 && j < cols && !r.header; ++j) {
    bool numbers_below = kinds[0][j] == Kind::Text;
    for (std::size_t k = 1; k < records.size(); ++k)
      numbers_below = numbers_below && kinds[k][j] != Kind::Text;
    r.header = numbers_below;
  }
  const std::size_t from = r.header ? 1 : 0;
  for (std::size_t j = 0; j < cols; ++j) {
    const std::string given = r.header ? records[0].fields[j].text : "";
    r.names.push_back(given.empty() ? "column " + std::to_string(j + 1) : given);
  }
  for (std::size_t k = from; k < records.size(); ++k)
    for (std::size_t j = 0; j < cols; ++j) {
      const bool missing = kinds[k][j] == Kind::Missing;
      if (missing || (kinds[k][j] == Kind::Number && !std::isfinite(values[k][j]))) {
        r.defect = missing ? CsvDefect::Missing : CsvDefect::NotFinite;
        r.line = records[k].fields[j].line;
        r.column = j + 1;
        return r;
      }
    }
  r.columns.resize(cols);
  for (std::size_t j = 0; j < cols; ++j) {
    CsvColumn& c = r.columns[j];
    for (std::size_t k = from; k < records.size(); ++k) {
      c.texts.push_back(records[k].fields[j].text);
      c.numbers.push_back(values[k][j]);
      if (kinds[k][j] == Kind::Number) ++c.number_count;
      if (kinds[k][j] == Kind::Text && !c.text) {
        c.text = true;
        c.first_text = records[k].fields[j].text;
        c.first_text_line = records[k].fields[j].line;
      }
    }
  }
  for (std::size_t k = from; k < records.size(); ++k)
    r.lines.push_back(records[k].line);
  return r;
}

}  // namespace reference
