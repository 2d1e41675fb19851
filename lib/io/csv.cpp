// read_csv: the scanner's fields (csv_scan.cpp) gathered into columns, the header decided, and
// every refusal made before a table is returned.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/printable.hpp"
#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace {

using detail::CsvClass;
using detail::CsvField;
using detail::CsvRecords;
using detail::printable;

// A column while the rows after the first are read: its values too when values.
struct Builder {
  bool values = true;
  bool text = false;
  std::vector<double> numbers;     // while !text
  std::vector<std::string> texts;  // once text; rows below fill_below are placeholders
  std::size_t fill_below = 0;      // rows [0, fill_below) still to be read again for their text
  std::string first_text;
  std::size_t first_text_line = 0;
  std::size_t number_count = 0;

  void become_text(std::size_t rows) {
    text = true;
    if (!values) return;
    fill_below = rows;
    texts.resize(rows);
    numbers = {};
  }
};

// The first value refused, kept until the header is decided: the header names its column.
struct ValueDefect {
  bool found = false;
  bool missing = false;  // else a number that is not finite
  bool quoted = false;
  std::size_t line = 0, column = 0;
  std::size_t record = 0;  // from 0, the first record (a header or not)
  std::string text;

  void note(const CsvField& f, std::size_t j, std::size_t in_record) {
    if (found) return;
    *this = {true,      f.kind == CsvClass::Missing, f.quoted, f.line, j,
             in_record, std::string(f.text)};
  }
};

struct FirstField {
  CsvField field;  // its text views `text`
  std::string text;
};

// f, column j of the row'th record after the first; defect: column j's first refused value.
void add(Builder& b, const CsvField& f, std::size_t row, std::size_t j, ValueDefect& defect) {
  if (f.kind == CsvClass::Text) {
    if (!b.text) {
      b.become_text(row);
      b.first_text = f.text;
      b.first_text_line = f.line;
    }
    if (b.values) b.texts.emplace_back(f.text);
    return;
  }
  if (f.kind == CsvClass::Missing || !f.finite) defect.note(f, j, row + 1);
  if (f.kind == CsvClass::Number) ++b.number_count;
  if (!b.values) return;
  if (b.text) {
    b.texts.emplace_back(f.text);
  } else {
    b.numbers.push_back(f.value);
  }
}

std::string default_name(std::size_t j) {
  return "column " + std::to_string(j + 1);
}

std::string describe(const std::vector<std::string>& names, std::size_t j) {
  if (names[j] == default_name(j)) return default_name(j);
  return default_name(j) + " ('" + printable(names[j]) + "')";
}

[[noreturn]] void refuse_value(const ValueDefect& d, const std::vector<std::string>& names,
                               const std::string& prefix) {
  std::string what = "line " + std::to_string(d.line) + ", " + describe(names, d.column) + ": ";
  if (!d.missing) {
    const bool spelled = d.text.find_first_of("iI") != std::string::npos;  // inf, Infinity
    throw IoError(prefix + what + "'" + printable(d.text) + "' is " +
                  (spelled ? "not a finite number" : "beyond the range of a double") +
                  ": expected a finite number");
  }
  if (d.text.empty()) {
    what += "missing value (an empty field";
    if (!d.quoted && d.column + 1 == names.size() && names.size() > 1) {
      what += ": the line ends with the delimiter";
    }
    what += ")";
  } else {
    what += "missing value '" + printable(d.text) + "'";
  }
  throw IoError(prefix + what + "; every value must be given: fill it in or remove the row");
}

void check_delimiter(char d) {
  const bool alnum = (d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z');
  if (alnum || d == '"' || d == ' ' || d == '\n' || d == '\r' || d == '.' || d == '+' || d == '-') {
    throw ValueError("read_csv: delimiter " + detail::csv_delimiter_name(d) +
                     " refused: it would split numbers, quotes or lines (use ',', ';', tab, " +
                     "'|', ...)");
  }
}

// read_csv keeps every value: an unchecked column would hold values no one checked.
void refuse_unchecked_column(const CsvOptions& options) {
  if (!options.unchecked_column.empty()) {
    throw ValueError("read_csv: CsvOptions::unchecked_column ('" +
                     printable(options.unchecked_column) +
                     "') is CsvRowReader's: read_csv keeps and checks every value");
  }
}

}  // namespace

std::string describe_column(const CsvTable& table, std::size_t index) {
  return describe(table.names, index);
}

void detail::check_csv_options(const CsvOptions& options) {
  if (options.delimiter != '\0') check_delimiter(options.delimiter);
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  if (options.delimiter != '\0') check_delimiter(options.delimiter);
  refuse_unchecked_column(options);
  const auto input = detail::file_csv_input(path, "read_csv: " + path + ": ");
  return detail::parse_csv(*input, path, options);
}

CsvTable read_csv_bytes(const std::string& bytes, const std::string& name,
                        const CsvOptions& options) {
  refuse_unchecked_column(options);
  const auto input = detail::memory_csv_input(bytes);
  return detail::parse_csv(*input, name, options);
}

CsvTable detail::parse_csv(CsvInput& input, const std::string& name, const CsvOptions& options) {
  refuse_unchecked_column(options);
  return scan_csv(input, name, options, true, nullptr, nullptr);
}

CsvTable detail::scan_csv(CsvInput& input, const std::string& name, const CsvOptions& options,
                          bool values, CsvDataStart* data, std::size_t* unchecked) {
  if (options.delimiter != '\0') check_delimiter(options.delimiter);
  const std::string prefix = "read_csv: " + name + ": ";
  std::size_t first_line = 1;
  bool empty = false;
  const std::size_t start = detail::csv_start(input, prefix, first_line, empty);
  if (empty) throw IoError(prefix + "the file is empty: expected a header row or rows of values");
  const char delimiter = options.delimiter ? options.delimiter
                                           : detail::detect_csv_delimiter(input, start, first_line);
  CsvRecords records(input, delimiter, prefix, start, first_line);
  std::vector<CsvField> fields;
  if (!records.next(fields)) throw IoError(prefix + "the file is empty");  // csv_start saw text
  std::vector<FirstField> first;
  for (const CsvField& f : fields)
    first.push_back({f, std::string(f.text)});
  const std::size_t cols = first.size();
  std::vector<Builder> columns(cols);
  for (Builder& b : columns)
    b.values = values;
  std::vector<std::size_t> offsets, lines;  // of the rows after the first (offsets: for values)
  std::size_t second_offset = 0;            // of the row after the first
  std::vector<ValueDefect> defects(cols);   // each column's first refused value
  std::size_t rows = 0;
  for (;;) {
    const std::size_t offset = records.offset(), line = records.line();
    if (!records.next(fields)) break;
    if (rows == 0) second_offset = offset;
    if (rows == 64 && input.size_hint() > offset) {  // room for the rest, at the first 64's rate
      const std::size_t estimate =
          (input.size_hint() - offset) / (offset - second_offset) * 66 + 64;
      for (Builder& b : columns)
        if (values && !b.text) b.numbers.reserve(b.numbers.size() + estimate);
      if (values) offsets.reserve(offsets.size() + estimate);
      lines.reserve(lines.size() + estimate);
    }
    if (fields.size() != cols) {
      const std::string expected =
          "expected " + std::to_string(cols) + " fields as on line " + std::to_string(first_line);
      if (fields.size() == 1 && fields[0].text.empty() && !fields[0].quoted &&
          records.line() == line + 1 && records.offset() - offset <= 2) {
        throw IoError(prefix + "line " + std::to_string(line) + " is empty: " + expected +
                      " (blank lines may only start or end the file)");
      }
      throw IoError(prefix + "line " + std::to_string(line) + " has " +
                    std::to_string(fields.size()) +
                    (fields.size() == 1 ? " field, " : " fields, ") + expected + " (delimiter " +
                    detail::csv_delimiter_name(delimiter) + ")");
    }
    for (std::size_t j = 0; j < cols; ++j)
      add(columns[j], fields[j], rows, j, defects[j]);
    if (values) offsets.push_back(offset);
    lines.push_back(line);
    ++rows;
  }
  if (data != nullptr) {
    data->offset = rows > 0 ? second_offset : records.offset();
    data->line = rows > 0 ? lines[0] : records.line();
  }

  bool header = options.header == CsvHeader::Yes;
  if (options.header == CsvHeader::Auto) {
    // Over the columns whose other values are all numbers (or missing): text in one, and a
    // number in none. A first record with a number where the rows below hold numbers could be
    // data, so it is: a typo or a stray word in the first row of a headerless file is then
    // named by numeric_matrix, never dropped with a header it is not.
    bool text = false, number = false;
    for (std::size_t j = 0; j < cols; ++j) {
      if (columns[j].text) continue;
      text = text || first[j].field.kind == CsvClass::Text;
      number = number || first[j].field.kind == CsvClass::Number;
    }
    header = text && !number;
  }
  CsvTable table;
  table.source = name;
  table.has_header = header;
  table.delimiter = delimiter;
  for (std::size_t j = 0; j < cols; ++j)
    table.names.push_back(header && !first[j].text.empty() ? first[j].text : default_name(j));
  if (!header && data != nullptr) *data = {start, first_line};
  if (!header) {  // the first row is data, and its refusals come first in the file
    for (std::size_t j = 0; j < cols; ++j) {
      CsvField& field = first[j].field;
      field.text = first[j].text;
      if (field.kind != CsvClass::Text && (field.kind == CsvClass::Missing || !field.finite)) {
        defects[j] = {};
        defects[j].note(field, j, 0);
      }
    }
  }
  // The column the caller never reads, once the header has named the columns: its values are
  // not refused.
  std::size_t skipped = cols;
  if (!options.unchecked_column.empty()) {
    CsvTable named;  // find_column's view of the table: its source, names and header
    named.source = name;
    named.names = table.names;
    named.columns.resize(cols);
    named.has_header = header;
    if (const auto j = find_column_if_present(named, options.unchecked_column)) skipped = *j;
  }
  if (unchecked != nullptr) *unchecked = skipped;
  const ValueDefect* defect = nullptr;  // the first in the file: by record, then column
  for (std::size_t j = 0; j < cols; ++j) {
    if (j == skipped || !defects[j].found) continue;
    if (defect == nullptr || defects[j].record < defect->record) defect = &defects[j];
  }
  if (defect != nullptr) refuse_value(*defect, table.names, prefix);

  if (!header) {
    for (std::size_t j = 0; j < cols; ++j)
      if (!columns[j].text && first[j].field.kind == CsvClass::Text) columns[j].become_text(rows);
  }
  // Columns that became text after some numbers: those rows are read again for their text.
  std::size_t refill = 0;
  for (const Builder& b : columns)
    if (b.text) refill = std::max(refill, b.fill_below);
  if (refill > 0) {
    CsvRecords again(input, delimiter, prefix, offsets[0], lines[0]);
    for (std::size_t r = 0; r < refill; ++r) {
      if (!again.next(fields) || fields.size() != cols) {  // a file being written meanwhile
        throw IoError(prefix + "the file changed while it was read (line " +
                      std::to_string(lines[r]) + " is no longer what it was)");
      }
      for (std::size_t j = 0; j < cols; ++j)
        if (columns[j].text && r < columns[j].fill_below) columns[j].texts[r] = fields[j].text;
    }
  }
  table.rows = header ? rows : rows + 1;
  table.lines = std::move(lines);
  if (!header) table.lines.insert(table.lines.begin(), first_line);
  for (std::size_t j = 0; j < cols; ++j) {
    Builder& b = columns[j];
    const CsvField& head = first[j].field;
    CsvColumn column;
    if (!header && head.kind == CsvClass::Number) ++b.number_count;
    if (b.text) {
      if (!header) {
        if (values) b.texts.insert(b.texts.begin(), first[j].text);
        if (head.kind == CsvClass::Text) {
          b.first_text = first[j].text;
          b.first_text_line = head.line;
        }
      }
      column.kind = CsvKind::Text;
      column.texts = std::move(b.texts);
      column.first_text = std::move(b.first_text);
      column.first_text_line = b.first_text_line;
    } else {
      if (!header && values) b.numbers.insert(b.numbers.begin(), head.value);
      column.numbers = std::move(b.numbers);
    }
    column.number_count = b.number_count;
    table.columns.push_back(std::move(column));
  }
  return table;
}

}  // namespace nobias
