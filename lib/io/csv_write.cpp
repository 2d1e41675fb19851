// write_csv: what read_csv reads back unchanged, written atomically as write_npy writes.
#include <charconv>
#include <cmath>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/printable.hpp"
#include "io/atomic_file.hpp"
#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace nobias {
namespace {

using detail::printable;

constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

// A failure of the stream, after its first bad write: StagedFile reports it with the path.
void flush(std::ostream& out, std::string& buffer) {
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  buffer.clear();
}

std::string name_or_default(const std::vector<std::string>& names, std::size_t j) {
  return names[j].empty() ? "column " + std::to_string(j + 1) : names[j];
}

std::string cell(std::size_t row, std::size_t j, const std::vector<std::string>& names) {
  std::string at = "row " + std::to_string(row + 1) + ", column " + std::to_string(j + 1);
  if (j < names.size() && !names[j].empty()) at += " ('" + printable(names[j]) + "')";
  return at;
}

// ValueError unless read_csv reads text back as text (a name, when is_name: any text but NUL).
void check_text(const std::string& text, bool is_name, const std::string& prefix,
                const std::string& at) {
  if (text.find('\0') != std::string::npos) {
    throw ValueError(prefix + at + ": '" + printable(text) + "' holds a NUL byte");
  }
  if (is_name) return;
  double value = 0;
  bool finite = true;
  const detail::CsvClass kind = detail::classify_csv_text(text, value, finite);
  if (kind == detail::CsvClass::Missing) {
    throw ValueError(prefix + at + ": '" + printable(text) +
                     "' would read back as a missing value, which read_csv refuses");
  }
  if (kind == detail::CsvClass::Number && !finite) {
    throw ValueError(prefix + at + ": '" + printable(text) + "' is not a finite number");
  }
}

template <class T>
void check_number(T value, const std::string& prefix, const std::string& at) {
  if (!std::isfinite(value)) {
    throw ValueError(prefix + at + ": " + format_number(static_cast<double>(value)) +
                     " is not a finite number, which read_csv refuses");
  }
}

void put_text(std::string& line, const std::string& text) {
  // Whatever the delimiter, ',', ';' and tab: read_csv's detection counts only those outside
  // quotes.
  const bool quote = text.empty() || text.find_first_of(",;\t\"\r\n") != std::string::npos ||
                     text.front() == ' ' || text.front() == '\t' || text.back() == ' ' ||
                     text.back() == '\t' ||
                     // a byte-order mark's first byte, which only quotes keep from being one
                     text.front() == '\xef' || text.front() == '\xfe' || text.front() == '\xff';
  if (!quote) {
    line += text;
    return;
  }
  line += '"';
  for (const char c : text) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

// The shortest text that reads back to value, as read_csv reads a float: through a double,
// rounded once more. For one float in 2^31 (7.038531e-26) the float's shortest text read that
// way is the next float; the double's shortest text of the same value reads back exactly.
template <class T>
void put_number(std::string& line, T value) {
  char text[64];
  const char* end = std::to_chars(text, text + sizeof text, value).ptr;
  if constexpr (std::is_same_v<T, float>) {
    double read = 0;
    std::from_chars(text, end, read);
    if (static_cast<float>(read) != value) {
      end = std::to_chars(text, text + sizeof text, static_cast<double>(value)).ptr;
    }
  }
  line.append(text, static_cast<std::size_t>(end - text));
}

void put_header(std::string& buffer, const std::vector<std::string>& names, char delimiter) {
  for (std::size_t j = 0; j < names.size(); ++j) {
    if (j) buffer += delimiter;
    put_text(buffer, name_or_default(names, j));
  }
  buffer += '\n';
}

template <class T>
void check_matrix(MatrixView<const T> m, const std::vector<std::string>& names,
                  const std::string& prefix) {
  if (!names.empty() && names.size() != m.cols()) {
    throw ValueError(prefix + std::to_string(names.size()) + " names for " +
                     std::to_string(m.cols()) + " columns");
  }
  for (std::size_t j = 0; j < names.size(); ++j)
    check_text(names[j], true, prefix, "the name of column " + std::to_string(j + 1));
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      if (!std::isfinite(m(i, j))) check_number(m(i, j), prefix, cell(i, j, names));
}

template <class T>
void put_matrix(std::ostream& out, MatrixView<const T> m, const std::vector<std::string>& names,
                char delimiter) {
  std::string buffer;
  if (!names.empty()) put_header(buffer, names, delimiter);
  for (std::size_t i = 0; i < m.rows() && out; ++i) {
    for (std::size_t j = 0; j < m.cols(); ++j) {
      if (j) buffer += delimiter;
      put_number(buffer, m(i, j));
    }
    buffer += '\n';
    if (buffer.size() >= kFlushBytes) flush(out, buffer);
  }
  flush(out, buffer);
}

void check_table(const CsvTable& table, const std::string& prefix) {
  if (table.names.size() != table.cols()) {
    throw ValueError(prefix + std::to_string(table.names.size()) + " names for " +
                     std::to_string(table.cols()) + " columns");
  }
  for (std::size_t j = 0; j < table.cols(); ++j) {
    const CsvColumn& c = table.columns[j];
    check_text(table.names[j], true, prefix, "the name of column " + std::to_string(j + 1));
    const std::size_t count = c.is_text() ? c.texts.size() : c.numbers.size();
    if (count != table.rows) {
      throw ValueError(prefix + "column " + std::to_string(j + 1) + " has " +
                       std::to_string(count) + " values for " + std::to_string(table.rows) +
                       " rows");
    }
    for (std::size_t i = 0; i < table.rows; ++i) {
      if (c.is_text()) {
        check_text(c.texts[i], false, prefix, cell(i, j, table.names));
      } else {
        check_number(c.numbers[i], prefix, cell(i, j, table.names));
      }
    }
  }
}

void put_table(std::ostream& out, const CsvTable& table, bool header, char delimiter) {
  std::string buffer;
  if (header) put_header(buffer, table.names, delimiter);
  for (std::size_t i = 0; i < table.rows && out; ++i) {
    for (std::size_t j = 0; j < table.cols(); ++j) {
      if (j) buffer += delimiter;
      const CsvColumn& c = table.columns[j];
      if (c.is_text()) {
        put_text(buffer, c.texts[i]);
      } else {
        put_number(buffer, c.numbers[i]);
      }
    }
    buffer += '\n';
    if (buffer.size() >= kFlushBytes) flush(out, buffer);
  }
  flush(out, buffer);
}

// The delimiters read_csv detects, and so reads back without being told.
void check_delimiter(char delimiter) {
  if (delimiter != ',' && delimiter != '\t') {
    throw ValueError("write_csv: delimiter " + detail::csv_delimiter_name(delimiter) +
                     ": expected ',' or tab");
  }
}

}  // namespace

char csv_delimiter_for(const std::string& path) {
  if (path.size() < 4) return ',';
  std::string tail = path.substr(path.size() - 4);
  for (char& c : tail)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return tail == ".tsv" ? '\t' : ',';
}

template <class T>
void write_csv_stream(std::ostream& out, MatrixView<const T> m,
                      const std::vector<std::string>& names, char delimiter) {
  check_delimiter(delimiter);
  check_matrix(m, names, "write_csv: ");
  put_matrix(out, m, names, delimiter);
}

void write_csv_stream(std::ostream& out, const CsvTable& table, char delimiter) {
  check_delimiter(delimiter);
  check_table(table, "write_csv: ");
  put_table(out, table, true, delimiter);
}

void write_csv_rows(std::ostream& out, const CsvTable& table, char delimiter) {
  check_delimiter(delimiter);
  check_table(table, "write_csv: ");
  put_table(out, table, false, delimiter);
}

template <class T>
void write_csv(const std::string& path, MatrixView<const T> m,
               const std::vector<std::string>& names) {
  check_matrix(m, names, "write_csv: " + path + ": ");
  write_file_atomically(
      path, [&](std::ostream& out) { put_matrix(out, m, names, csv_delimiter_for(path)); },
      "write_csv");
}

void write_csv(const std::string& path, const CsvTable& table) {
  check_table(table, "write_csv: " + path + ": ");
  write_file_atomically(
      path, [&](std::ostream& out) { put_table(out, table, true, csv_delimiter_for(path)); },
      "write_csv");
}

void write_csv_labels(const std::string& path, const std::vector<std::string>& labels,
                      const std::string& name) {
  CsvTable table;
  table.names = {name};
  table.columns.resize(1);
  table.columns[0].kind = CsvKind::Text;
  table.columns[0].texts = labels;
  table.rows = labels.size();
  write_csv(path, table);
}

template void write_csv_stream<float>(std::ostream&, MatrixView<const float>,
                                      const std::vector<std::string>&, char);
template void write_csv_stream<double>(std::ostream&, MatrixView<const double>,
                                       const std::vector<std::string>&, char);
template void write_csv<float>(const std::string&, MatrixView<const float>,
                               const std::vector<std::string>&);
template void write_csv<double>(const std::string&, MatrixView<const double>,
                                const std::vector<std::string>&);

}  // namespace nobias
