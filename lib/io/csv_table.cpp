// What a caller takes from a CsvTable: a column by name or number, the number columns as a
// matrix, a column as class labels.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/printable.hpp"
#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

using detail::printable;

constexpr std::size_t kNamesListed = 20;

std::string prefix_of(const CsvTable& table) {
  return table.source.empty() ? std::string() : table.source + ": ";
}

// "line 7" for a row read from a file, "row 7" (from 1) for a table made by hand.
std::string where(const CsvTable& table, std::size_t row) {
  if (table.lines.size() == table.rows) return "line " + std::to_string(table.lines[row]);
  return "row " + std::to_string(row + 1);
}

void check_index(const CsvTable& table, std::size_t column, const char* who) {
  if (column >= table.cols()) {
    throw ValueError(prefix_of(table) + who + ": column index " + std::to_string(column) +
                     " (from 0) outside a table of " + std::to_string(table.cols()) + " columns");
  }
}

bool equals_ignoring_case(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// "-12" or "7": a column number as find_column takes it (at most 18 digits: no overflow).
bool parse_column_number(const std::string& spec, long long& value) {
  const std::size_t digits_from = !spec.empty() && spec[0] == '-' ? 1 : 0;
  const std::size_t digits = spec.size() - digits_from;
  if (digits == 0 || digits > 18) return false;
  value = 0;
  for (std::size_t i = digits_from; i < spec.size(); ++i) {
    if (spec[i] < '0' || spec[i] > '9') return false;
    value = value * 10 + (spec[i] - '0');
  }
  if (digits_from == 1) value = -value;
  return true;
}

// 2,5 -> "1,5": a decimal comma, which read_csv does not take.
bool decimal_comma(const std::string& text) {
  const std::size_t comma = text.find(',');
  if (comma == std::string::npos || comma == 0 || comma + 1 == text.size()) return false;
  for (std::size_t i = text[0] == '-' ? 1 : 0; i < text.size(); ++i)
    if (i != comma && (text[i] < '0' || text[i] > '9')) return false;
  return true;
}

}  // namespace

std::size_t find_column(const CsvTable& table, const std::string& spec) {
  const std::size_t n = table.cols();
  std::vector<std::size_t> named;
  for (std::size_t j = 0; j < n; ++j)
    if (table.names[j] == spec) named.push_back(j);
  if (named.size() == 1) return named[0];
  if (named.size() > 1) {
    std::string list;
    for (const std::size_t j : named)
      list += (list.empty() ? "" : ", ") + std::to_string(j + 1);
    throw ValueError(prefix_of(table) + "the name '" + printable(spec) + "' is in columns " + list +
                     ": give the column's number instead");
  }
  const std::string numbers = "a number from 1 to " + std::to_string(n) + ", or -1 to -" +
                              std::to_string(n) + " from the end";
  long long number = 0;
  if (parse_column_number(spec, number)) {
    const auto count = static_cast<long long>(n);
    if (number >= 1 && number <= count) return static_cast<std::size_t>(number - 1);
    if (number <= -1 && number >= -count) return static_cast<std::size_t>(count + number);
    throw ValueError(prefix_of(table) + "no column " + spec + ": there are " + std::to_string(n) +
                     " columns (" + numbers + ")");
  }
  std::string message = prefix_of(table) + "no column '" + printable(spec) + "'";
  for (std::size_t j = 0; j < n; ++j) {
    if (equals_ignoring_case(table.names[j], spec)) {
      message += " (did you mean '" + printable(table.names[j]) + "'?)";
      break;
    }
  }
  if (!table.has_header) {
    throw ValueError(message + ": the file has no header row, so its columns have no names; " +
                     "give " + numbers);
  }
  std::string list;
  for (std::size_t j = 0; j < n && j < kNamesListed; ++j)
    list += (j ? ", '" : "'") + printable(table.names[j]) + "'";
  if (n > kNamesListed) list += ", ... (" + std::to_string(n) + " in all)";
  throw ValueError(message + "; its columns: " + list + "; or " + numbers);
}

std::optional<std::size_t> find_column_if_present(const CsvTable& table, const std::string& spec) {
  long long number = 0;
  const bool named = std::find(table.names.begin(), table.names.end(), spec) != table.names.end();
  if (!named && !parse_column_number(spec, number)) return std::nullopt;
  return find_column(table, spec);  // a name in several columns, a number naming none: refused
}

std::optional<std::size_t> column_named_ignoring_case(const CsvTable& table,
                                                      const std::string& name) {
  for (std::size_t j = 0; j < table.cols() && j < table.names.size(); ++j)
    if (equals_ignoring_case(table.names[j], name)) return j;
  return std::nullopt;
}

std::vector<std::size_t> columns_except(const CsvTable& table,
                                        const std::vector<std::size_t>& excluded) {
  for (const std::size_t j : excluded)
    check_index(table, j, "columns_except");
  std::vector<std::size_t> kept;
  for (std::size_t j = 0; j < table.cols(); ++j)
    if (std::find(excluded.begin(), excluded.end(), j) == excluded.end()) kept.push_back(j);
  return kept;
}

void detail::require_number_columns(const CsvTable& table, const std::vector<std::size_t>& columns,
                                    const char* who) {
  const std::string prefix = prefix_of(table);
  for (const std::size_t j : columns) {
    check_index(table, j, who);
    const CsvColumn& c = table.columns[j];
    if (!c.is_text()) continue;
    std::string message = prefix + describe_column(table, j) + " holds text, not numbers";
    if (c.first_text_line > 0) {
      message +=
          " (line " + std::to_string(c.first_text_line) + ": '" + printable(c.first_text) + "'";
      if (decimal_comma(c.first_text)) message += ", a decimal comma? numbers take a point";
      message += ")";
    }
    if (c.number_count > 0) {
      message += "; " + std::to_string(c.number_count) + " of its " + std::to_string(table.rows) +
                 " values are numbers";
    }
    // Its text on the first row, the rest numbers, and the first row a number in another
    // column: a header read_csv did not detect, or a first row of data with a typo. Say which
    // rule decided, so that neither is a guess.
    const bool first_row = !table.has_header && !table.lines.empty() &&
                           c.first_text_line == table.lines[0] && c.number_count + 1 == table.rows;
    std::size_t numbers = table.cols();  // a number column: its first value is on the first row
    for (std::size_t k = 0; k < table.cols() && first_row; ++k)
      if (!table.columns[k].is_text()) numbers = std::min(numbers, k);
    if (first_row && numbers < table.cols()) {
      message += "; line " + std::to_string(c.first_text_line) +
                 " is read as data, not as a header: it holds a number in " +
                 describe_column(table, numbers) + ", as the rows below do";
    }
    throw ValueError(message);
  }
}

template <class T>
T detail::csv_value_as(const CsvTable& table, std::size_t row, std::size_t column, double value) {
  const T converted = static_cast<T>(value);
  if (std::is_same_v<T, float> && std::isinf(converted) && std::isfinite(value)) {
    throw ValueError(prefix_of(table) + where(table, row) + ", " + describe_column(table, column) +
                     ": " + format_number(value) + " is beyond the range of float32");
  }
  return converted;
}

template float detail::csv_value_as<float>(const CsvTable&, std::size_t, std::size_t, double);
template double detail::csv_value_as<double>(const CsvTable&, std::size_t, std::size_t, double);

template <class T>
Matrix<T> numeric_matrix(const CsvTable& table, const std::vector<std::size_t>& columns) {
  detail::require_number_columns(table, columns, "numeric_matrix");
  for (const std::size_t j : columns) {
    const CsvColumn& c = table.columns[j];
    if (c.numbers.size() != table.rows) {
      throw ValueError(prefix_of(table) + describe_column(table, j) + " has " +
                       std::to_string(c.numbers.size()) + " values for " +
                       std::to_string(table.rows) + " rows");
    }
  }
  Matrix<T> m(table.rows, columns.size());
  // Blocks of rows, so that the block of m being written stays in cache while each column's
  // values are read in order.
  constexpr std::size_t kRowBlock = 256;
  for (std::size_t i0 = 0; i0 < table.rows; i0 += kRowBlock) {
    const std::size_t i1 = std::min(table.rows, i0 + kRowBlock);
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const double* values = table.columns[columns[k]].numbers.data();
      for (std::size_t i = i0; i < i1; ++i)
        m(i, k) = detail::csv_value_as<T>(table, i, columns[k], values[i]);
    }
  }
  return m;
}

template <class T>
Matrix<T> numeric_matrix(const CsvTable& table) {
  return numeric_matrix<T>(table, columns_except(table, {}));
}

CsvLabels class_labels(const CsvTable& table, std::size_t column) {
  check_index(table, column, "class_labels");
  const CsvColumn& c = table.columns[column];
  if ((c.is_text() ? c.texts.size() : c.numbers.size()) != table.rows) {
    throw ValueError(prefix_of(table) + describe_column(table, column) + " does not have " +
                     std::to_string(table.rows) + " values, one per row");
  }
  CsvLabels out;
  out.labels.reserve(table.rows);
  if (c.is_text()) {
    out.classes = c.texts;
    std::sort(out.classes.begin(), out.classes.end());
    out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
    for (const std::string& text : c.texts) {
      const auto at = std::lower_bound(out.classes.begin(), out.classes.end(), text);
      out.labels.push_back(at - out.classes.begin());
    }
    return out;
  }
  constexpr double kLimit = 9223372036854775808.0;  // 2^63: int64 holds [-2^63, 2^63)
  for (std::size_t i = 0; i < c.numbers.size(); ++i) {
    const double v = c.numbers[i];
    if (!(v >= -kLimit && v < kLimit) || v != std::trunc(v)) {
      throw ValueError(prefix_of(table) + where(table, i) + ", " + describe_column(table, column) +
                       ": " + format_number(v) + " is not a class label: expected an integer" +
                       (std::isfinite(v) && v == std::trunc(v) ? " in int64's range" : ""));
    }
    out.labels.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

template Matrix<float> numeric_matrix<float>(const CsvTable&, const std::vector<std::size_t>&);
template Matrix<double> numeric_matrix<double>(const CsvTable&, const std::vector<std::size_t>&);
template Matrix<float> numeric_matrix<float>(const CsvTable&);
template Matrix<double> numeric_matrix<double>(const CsvTable&);

}  // namespace nobias
