// Internal: the record scanner beneath read_csv (lib/io/csv.cpp), its inputs and the delimiter
// detection; the rules it implements are those of include/nobias/csv.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nobias/csv.hpp"

namespace nobias::detail {

enum class CsvClass : unsigned char { Number, Text, Missing };

struct CsvField {
  // Unquoted: without its surrounding spaces; quoted: what is between the quotes, "" undone.
  // Valid until the next record is read.
  std::string_view text;
  double value = 0;  // kind Number
  CsvClass kind = CsvClass::Text;
  bool finite = true;  // kind Number: false for an infinity or a number past double's range
  bool quoted = false;
  bool unescaped = false;  // text is in the scanner's scratch (a quoted field with "")
  std::size_t line = 0;    // the line the field starts on
};

// Where the bytes come from, a window at a time, so that a file is read in blocks of a few
// MiB into one buffer rather than whole into fresh memory.
class CsvInput {
 public:
  virtual ~CsvInput() = default;
  // The bytes from offset on: at least want of them, or all that are left (then final is
  // true). Valid until the next call. IoError for a read error.
  virtual std::string_view window(std::size_t offset, std::size_t want, bool& final) = 0;
  // The input's size when known in advance (0 if not): to reserve room for the rows.
  virtual std::size_t size_hint() const = 0;
};

inline constexpr std::size_t kCsvBlock = std::size_t{1} << 22;

// Bytes in memory (not copied: they must outlive the input). block: windows of at most that
// many bytes (or want), as a file's; 0: the whole rest at once. The tests and the fuzzer read
// with small blocks to reach every place where a record crosses a block's end.
std::unique_ptr<CsvInput> memory_csv_input(std::string_view bytes, std::size_t block = 0);
// A file: a regular file is read in blocks of at least `block` bytes (pread); anything else (a
// pipe, /dev/stdin) is read whole first, since it can be read only once. IoError ("prefix"
// first) as read_csv says.
std::unique_ptr<CsvInput> file_csv_input(const std::string& path, const std::string& prefix,
                                         std::size_t block = kCsvBlock);

// read_csv from any input; name stands for the path in messages.
CsvTable parse_csv(CsvInput& input, const std::string& name, const CsvOptions& options);

// Where the rows of data start: the first record, or the one after the header.
struct CsvDataStart {
  std::size_t offset = 0, line = 0;
};

// parse_csv's pass, with every value (values) or without any (CsvRowReader's first pass): the
// names, the header, the delimiter, the rows and their lines, each column's kind, first text and
// count of numbers, and the same refusals, in the same order. data: where the rows start.
// unchecked: the column options.unchecked_column names, whose values are not refused, or the
// column count for none (its spec refused between the structure's refusals and the values').
CsvTable scan_csv(CsvInput& input, const std::string& name, const CsvOptions& options, bool values,
                  CsvDataStart* data, std::size_t* unchecked);

// read_csv's refusal of an option (a delimiter refused), before any file is opened.
void check_csv_options(const CsvOptions& options);

// A CsvRowReader of any input (the tests read in small blocks); name stands for the path.
CsvRowReader csv_row_reader(std::unique_ptr<CsvInput> input, const std::string& name,
                            const CsvOptions& options);

// What numeric_matrix refuses, for CsvRowReader too (csv_table.cpp): a text column among
// columns, and a value beyond float's range (row from 0). who names the caller in an index's
// refusal.
void require_number_columns(const CsvTable& table, const std::vector<std::size_t>& columns,
                            const char* who);
template <class T>
T csv_value_as(const CsvTable& table, std::size_t row, std::size_t column, double value);

// Reads records one at a time. Structural defects (a quote never closed, text after a closing
// quote, a NUL byte) are IoErrors starting with prefix.
class CsvRecords {
 public:
  // At a record start seen before (its offset and line).
  CsvRecords(CsvInput& input, char delimiter, std::string prefix, std::size_t offset,
             std::size_t line);

  // Reads the next record's fields; false at the end of the input (trailing blank lines are
  // no record). A blank line elsewhere is a record of one empty field.
  bool next(std::vector<CsvField>& fields);

  std::size_t offset() const { return offset_; }  // of the next record
  std::size_t line() const { return line_; }      // where the next record starts

 private:
  struct NeedMore {};  // the window ended inside the record: read it again with more
  std::size_t scan(std::string_view w, bool final, std::vector<CsvField>& fields);
  std::size_t field(std::string_view w, bool final, std::size_t p, CsvField& f, bool& ended);
  std::size_t quoted(std::string_view w, bool final, std::size_t p, CsvField& f);
  std::size_t end_field(std::string_view w, bool final, std::size_t at, bool& ended);
  bool blank(char c) const { return c == ' ' || (c == '\t' && delimiter_ != '\t'); }
  [[noreturn]] void fail(std::size_t line, const std::string& what) const;

  CsvInput& input_;
  char delimiter_;
  std::string prefix_;
  std::size_t offset_, line_;
  std::size_t scan_line_ = 0;         // the line while a record is scanned
  std::size_t field_index_ = 0;       // in the record scanned
  std::size_t want_ = 1;              // bytes asked of the input: more after NeedMore
  std::vector<std::string> scratch_;  // per field: a quoted text with "" undone
};

// Where the first record starts: after a UTF-8 byte-order mark and blank lines (counted in
// line). IoError for UTF-16. Sets empty when nothing but blank lines follows.
std::size_t csv_start(CsvInput& input, const std::string& prefix, std::size_t& line, bool& empty);

// What a field's text is, once read: a number (value and whether it is finite), missing, or
// text. Surrounding spaces and tabs are ignored here.
CsvClass classify_csv_text(std::string_view text, double& value, bool& finite);

// The delimiter by csv.hpp's rule, from the first 20 records from offset.
char detect_csv_delimiter(CsvInput& input, std::size_t offset, std::size_t line);

// "','", "';'", "tab", or the byte quoted: how messages name a delimiter.
std::string csv_delimiter_name(char delimiter);

}  // namespace nobias::detail
