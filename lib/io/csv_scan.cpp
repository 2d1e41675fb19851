// The CSV record scanner: one pass over the bytes, numbers parsed where they stand.
#include "io/csv_scan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "core/printable.hpp"
#include "nobias/error.hpp"

#include <locale.h>

namespace nobias::detail {
namespace {

constexpr std::size_t kSampleRecords = 20;

bool is_line_break(char c) {
  return c == '\n' || c == '\r';
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_lowercase(std::string_view text, std::string_view lowercase) {
  if (text.size() != lowercase.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (lower(text[i]) != lowercase[i]) return false;
  return true;
}

// pandas' default na_values (read_csv), and "?", which the UCI repository uses. NaN of every
// spelling strtod reads is missing too, but that is decided by parsing it.
bool is_missing_token(std::string_view text) {
  static constexpr std::string_view kTokens[] = {
      "",     "?",    "na",   "n/a",    "#n/a",    "#n/a n/a", "#na",
      "<na>", "null", "none", "1.#ind", "-1.#ind", "1.#qnan",  "-1.#qnan"};
  for (const std::string_view token : kTokens)
    if (equals_lowercase(text, token)) return true;
  return false;
}

// from_chars says only "out of range": strtod, in the "C" locale whatever the program's, tells
// an overflow (HUGE_VAL) from an underflow (0 or a subnormal, which strtod's readers keep).
double out_of_range_value(std::string_view number) {
  static const locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(0));
  const std::string text(number);
  const locale_t previous = uselocale(c_locale);
  const double value = std::strtod(text.c_str(), nullptr);
  uselocale(previous);
  return value;
}

// Parses a number at the start of [begin, end): an optional '+' (which from_chars does not
// take), then what from_chars takes. Returns where it stopped, begin if nothing was a number.
const char* parse_number(const char* begin, const char* end, double& value) {
  const char* at = begin;
  if (end - at >= 2 && *at == '+' && at[1] != '-' && at[1] != '+') ++at;
  const std::from_chars_result r = std::from_chars(at, end, value);
  if (r.ptr == at) return begin;
  if (r.ec == std::errc::result_out_of_range) {
    value = out_of_range_value(std::string_view(begin, static_cast<std::size_t>(r.ptr - begin)));
  }
  return r.ptr;
}

CsvClass number_class(double value, bool& finite) {
  if (std::isnan(value)) return CsvClass::Missing;
  finite = std::isfinite(value);
  return CsvClass::Number;
}

}  // namespace

CsvClass classify_csv_text(std::string_view text, double& value, bool& finite) {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t'))
    ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t'))
    --e;
  const char* begin = text.data() + b;
  const char* end = text.data() + e;
  finite = true;
  if (begin != end && parse_number(begin, end, value) == end) return number_class(value, finite);
  return is_missing_token(text.substr(b, e - b)) ? CsvClass::Missing : CsvClass::Text;
}

CsvRecords::CsvRecords(CsvInput& input, char delimiter, std::string prefix, std::size_t offset,
                       std::size_t line)
    : input_(input),
      delimiter_(delimiter),
      prefix_(std::move(prefix)),
      offset_(offset),
      line_(line) {}

bool CsvRecords::next(std::vector<CsvField>& fields) {
  for (;;) {
    bool final = false;
    const std::string_view w = input_.window(offset_, want_, final);
    try {
      std::size_t p = 0;  // only line breaks to the end: trailing blank lines, no record
      while (p < w.size() && is_line_break(w[p]))
        ++p;
      if (p == w.size() && final) return false;
      if (p == w.size()) throw NeedMore{};
      scan_line_ = line_;
      offset_ += scan(w, final, fields);
      line_ = scan_line_;
      want_ = 1;
      return true;
    } catch (const NeedMore&) {
      want_ = std::max(want_, w.size()) * 2;
    }
  }
}

std::size_t CsvRecords::scan(std::string_view w, bool final, std::vector<CsvField>& fields) {
  std::size_t p = 0, count = 0;
  for (bool ended = false; !ended; ++count) {
    if (count == fields.size()) fields.emplace_back();
    if (count == scratch_.size()) scratch_.emplace_back();
    fields[count].unescaped = false;
    field_index_ = count;
    p = field(w, final, p, fields[count], ended);
  }
  fields.resize(count);
  for (std::size_t k = 0; k < count; ++k)  // scratch_ may have moved since
    if (fields[k].unescaped) fields[k].text = scratch_[k];
  return p;
}

std::size_t CsvRecords::field(std::string_view w, bool final, std::size_t p, CsvField& f,
                              bool& ended) {
  const std::size_t n = w.size();
  while (p < n && blank(w[p]))
    ++p;
  f.line = scan_line_;
  f.quoted = false;
  f.finite = true;
  if (p < n && w[p] == '"') {
    std::size_t t = quoted(w, final, p + 1, f);
    while (t < n && blank(w[t]))
      ++t;
    if (t == n && !final) throw NeedMore{};
    if (t < n && w[t] != delimiter_ && !is_line_break(w[t])) {
      fail(scan_line_, "'" + printable(std::string(1, w[t])) +
                           "' after the closing quote of a field: expected the delimiter " +
                           csv_delimiter_name(delimiter_) + " or the end of the line (a quote " +
                           "inside a field is written twice, \"\", and the whole field quoted)");
    }
    return end_field(w, final, t, ended);
  }
  // The common case, a number: parsed in place, then only its end is checked.
  const char* begin = w.data() + p;
  const char* stop = parse_number(begin, w.data() + n, f.value);
  if (stop != begin) {
    std::size_t t = static_cast<std::size_t>(stop - w.data());
    while (t < n && blank(w[t]))
      ++t;
    if (t == n && !final) throw NeedMore{};
    if (t == n || w[t] == delimiter_ || is_line_break(w[t])) {
      f.text = std::string_view(begin, static_cast<std::size_t>(stop - begin));
      f.kind = number_class(f.value, f.finite);
      return end_field(w, final, t, ended);
    }
  }
  std::size_t t = p;
  for (; t < n; ++t) {
    const char c = w[t];
    if (c == delimiter_ || is_line_break(c)) break;
    if (c == '\0') fail(scan_line_, "a NUL byte: expected text (is this a CSV file?)");
  }
  if (t == n && !final) throw NeedMore{};
  std::size_t e = t;
  while (e > p && blank(w[e - 1]))
    --e;
  f.text = w.substr(p, e - p);
  f.kind = is_missing_token(f.text) ? CsvClass::Missing : CsvClass::Text;
  return end_field(w, final, t, ended);
}

std::size_t CsvRecords::quoted(std::string_view w, bool final, std::size_t start, CsvField& f) {
  const std::size_t n = w.size();
  const std::size_t open_line = scan_line_;
  std::string* scratch = nullptr;
  std::size_t segment = start, p = start;
  for (;; ++p) {
    if (p >= n) {
      if (!final) throw NeedMore{};
      fail(open_line, "a quoted field starts here and is never closed (expected a closing '\"')");
    }
    const char c = w[p];
    if (c == '"') {
      if (p + 1 >= n || w[p + 1] != '"') break;
      if (!scratch) {
        scratch = &scratch_[field_index_];
        scratch->clear();
      }
      scratch->append(w.data() + segment, p + 1 - segment);  // one quote of the two
      segment = p + 2;
      ++p;
    } else if (c == '\n') {
      ++scan_line_;
    } else if (c == '\r') {
      // CRLF counts once, at its LF. (A CR at the window's end: the quote is not closed in
      // this window, so the record is scanned again, counted again, in a longer one.)
      if (p + 1 >= n || w[p + 1] != '\n') ++scan_line_;
    } else if (c == '\0') {
      fail(scan_line_, "a NUL byte: expected text (is this a CSV file?)");
    }
  }
  if (scratch) {
    scratch->append(w.data() + segment, p - segment);
    f.text = *scratch;
    f.unescaped = true;
  } else {
    f.text = w.substr(start, p - start);
  }
  f.quoted = true;
  f.kind = classify_csv_text(f.text, f.value, f.finite);
  return p + 1;
}

std::size_t CsvRecords::end_field(std::string_view w, bool final, std::size_t at, bool& ended) {
  const std::size_t n = w.size();
  ended = true;
  if (at >= n) return n;
  if (w[at] == delimiter_) {
    ended = false;
    return at + 1;
  }
  ++scan_line_;
  if (w[at] == '\r') {
    if (at + 1 >= n && !final) throw NeedMore{};
    if (at + 1 < n && w[at + 1] == '\n') return at + 2;
  }
  return at + 1;
}

void CsvRecords::fail(std::size_t line, const std::string& what) const {
  throw IoError(prefix_ + "line " + std::to_string(line) + ": " + what);
}

std::size_t csv_start(CsvInput& input, const std::string& prefix, std::size_t& line, bool& empty) {
  bool final = false;
  const std::string_view head = input.window(0, 3, final);
  if (head.size() >= 2 &&
      ((head[0] == '\xff' && head[1] == '\xfe') || (head[0] == '\xfe' && head[1] == '\xff'))) {
    throw IoError(prefix + "line 1: the file is UTF-16 (it starts with a UTF-16 byte-order " +
                  "mark): expected UTF-8 or ASCII text; save it as UTF-8");
  }
  std::size_t offset = head.substr(0, 3) == "\xef\xbb\xbf" ? 3 : 0;
  line = 1;
  for (;;) {
    const std::string_view w = input.window(offset, 2, final);
    empty = w.empty();
    if (empty || !is_line_break(w[0])) return offset;
    offset += w[0] == '\r' && w.size() > 1 && w[1] == '\n' ? std::size_t{2} : std::size_t{1};
    ++line;
  }
}

char detect_csv_delimiter(CsvInput& input, std::size_t offset, std::size_t line) {
  std::vector<CsvField> fields;
  for (const char candidate : {'\t', ';'}) {
    CsvRecords records(input, candidate, "", offset, line);
    std::size_t first_count = 0;
    bool consistent = true;
    try {
      for (std::size_t r = 0; r < kSampleRecords && records.next(fields); ++r) {
        if (r == 0) first_count = fields.size();
        if (fields.size() != first_count) consistent = false;
      }
    } catch (const IoError&) {
      consistent = false;
    }
    if (consistent && first_count > 1) return candidate;
  }
  return ',';
}

std::string csv_delimiter_name(char delimiter) {
  if (delimiter == '\t') return "tab";
  return "'" + printable(std::string(1, delimiter)) + "'";
}

}  // namespace nobias::detail
