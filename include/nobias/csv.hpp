// Tables as CSV files, so that a user's own data trains, evaluates and predicts without numpy.
//
//   nobias::CsvTable t = nobias::read_csv("iris.csv");          // header and delimiter detected
//   std::size_t y = nobias::find_column(t, "species");          // or "5", or "-1"
//   nobias::Matrix<float> x = nobias::numeric_matrix<float>(t, nobias::columns_except(t, {y}));
//   nobias::CsvLabels labels = nobias::class_labels(t, y);      // 0, 1, 2 and their names
//   ...
//   nobias::write_csv("p.csv", predictions.view(), {"setosa", "versicolor", "virginica"});
//
// What read_csv reads (RFC 4180, and what spreadsheets and pandas write):
//   - Records end with LF, CRLF or a lone CR; the last one may end the file without one. Blank
//     lines at the start and the end are ignored; one in between is refused (a blank line in a
//     one-column file would otherwise hide a missing value). A UTF-8 byte-order mark is skipped;
//     UTF-16 and files holding NUL bytes are refused.
//   - Fields are separated by the delimiter: given (CsvOptions::delimiter), or detected from
//     the first 20 records: a tab if it splits the first record into several fields and the
//     20 records (or all, if fewer) into as many each; else ';' by the same rule (files with
//     decimal commas use it); else ','. Delimiters inside quotes do not count. A field may be
//     quoted: "a, b", "say ""hi""", newlines inside. Spaces (and tabs, unless tab is the delimiter)
//     around a field are ignored; inside quotes they are kept.
//   - Every record has as many fields as the first one.
//   - A field is a number when, without its surrounding spaces, it is all of a decimal number
//     as strtod reads it in the "C" locale (1, -2.5, .5, 1e-3, +4; no hex, no decimal comma,
//     no thousands separators), quoted or not. A number must be finite: inf and 1e999 are
//     refused. Numbers too small for a double read as 0 or a subnormal, as strtod reads them.
//   - A field is missing when it is empty or, in any case, NA, N/A, #N/A, #NA, <NA>, NaN (any
//     NaN strtod reads: -nan, nan(1)), null, None, ?, #N/A N/A, 1.#IND, -1.#IND, 1.#QNAN or
//     -1.#QNAN (pandas' list, and ? of the UCI repository). Missing values are refused: nobias
//     fits every value, and guessing one is the user's decision.
//   - Anything else is text. A column is a number column when every value is a number, else a
//     text column (class names such as "setosa"; a typo in a number column makes it text too,
//     and numeric_matrix names the line).
//   - Header row: declared (CsvHeader::Yes / No) or, with Auto, detected: over the columns
//     whose other values are all numbers (or missing), the first record is a header when one
//     of its fields there is text and none is a number. A first record with a number where
//     the rows below hold numbers could be data, so it is data: "1,2x,3" above rows of numbers
//     is a first row with a typo (its column then holds text, and numeric_matrix names line 1),
//     not a header. So a header holding a number ("1,2,3", or "0,1,label") is not detected,
//     nor one over columns that are all text: declare it. A file of one record is a header
//     when one of its fields is text and none is a number. Without a header the columns are
//     named "column 1", "column 2", ...; an empty name in a header is given that name too.
//   - A file is read in blocks of 4 MiB, never held whole: the memory taken is the table's. A
//     file rewritten while it is read may be refused ("the file changed while it was read").
//   - Nothing is half-read: every refusal is an IoError thrown before anything is returned,
//     "read_csv: PATH: line L, column 3 ('age'): missing value 'NA' ...". Lines are counted as
//     a text editor counts them, from 1; a record or field spanning lines is named by the line
//     it starts on. Defects of the file's structure (a quote never closed, text after a closing
//     quote, a record with another number of fields, a NUL byte) are named first, at the first
//     one in the file; then values (missing, not finite), at the first one in the file.
//
// What the writers write, read_csv reads back unchanged: ',' between fields (a tab in a file
// whose name ends in .tsv, any case: csv_delimiter_for; the streams take a delimiter), LF after
// each record, numbers as the shortest text that reads back to the same float or double
// (format_number's rule, for T: 0.1f is "0.1"; read_csv reads a double and numeric_matrix<float>
// rounds it, which for one float, 7.038531e-26, gives the next float: that one is written with
// a double's digits), texts quoted where they must be (a ',', ';' or tab, a quote, a line
// break, surrounding spaces, a first byte of a byte-order mark). An empty name is written as
// the name read_csv would give it ("column 3"). A text column whose values all look like
// numbers reads back as a number column. They refuse (ValueError) what read_csv would
// refuse: non-finite numbers, missing texts (empty, "NA", ...), NUL bytes. Atomic as write_npy
// (nobias/staged.hpp: links followed, devices such as /dev/stdout written through): on failure
// the previous file is intact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "nobias/matrix.hpp"

namespace nobias {

enum class CsvHeader { Auto, Yes, No };

struct CsvOptions {
  CsvHeader header = CsvHeader::Auto;
  // '\0': detected among ',', ';' and '\t'. Given, any byte but a quote, a space, a line
  // break, NUL, a letter, a digit, '.', '+' and '-' (ValueError for those).
  char delimiter = '\0';
  // CsvRowReader only (read_csv keeps every value: it refuses this, ValueError): a column, as
  // find_column_if_present names it, that the caller never reads, whose values are therefore
  // never checked: a missing value, 1e999 or text there is not refused (nobias-predict --target:
  // the targets of new rows may be unknown). The rest of the file is checked as ever, that
  // column's fields counted too. "" none; a name no column has is no column (new rows may come
  // without it). A spec find_column_if_present refuses (a number naming no column, a name in
  // several columns) is a ValueError from the constructor, after the file's structure is checked
  // and before its values are.
  std::string unchecked_column;
};

enum class CsvKind { Number, Text };

// One column of a table: numbers (kind Number) or texts (kind Text), one per row.
struct CsvColumn {
  CsvKind kind = CsvKind::Number;
  std::vector<double> numbers;     // kind Number
  std::vector<std::string> texts;  // kind Text: every value as written (numbers too), unquoted
  // Kind Text, from read_csv: the column's first value that is not a number and the line it is
  // on, and how many of its values are numbers; a front door words its advice from these.
  std::string first_text;
  std::size_t first_text_line = 0;
  std::size_t number_count = 0;

  bool is_text() const { return kind == CsvKind::Text; }
};

struct CsvTable {
  std::string source;              // the path read (or read_csv_bytes' name); starts messages
  std::vector<std::string> names;  // one per column: the header's, or "column 1", ...
  std::vector<CsvColumn> columns;
  std::size_t rows = 0;
  // From read_csv: the line each row starts on (so messages about row r name lines[r]);
  // empty for a table made by hand.
  std::vector<std::size_t> lines;
  bool has_header = false;
  char delimiter = ',';

  std::size_t cols() const { return columns.size(); }
};

// Reads a CSV file by the rules above. IoError naming the path for a file that cannot be read
// (does not exist, a directory, unreadable) and for any refusal of its contents; the empty
// file (nothing but blank lines) is refused, a header with no rows is a table of 0 rows (the
// caller refuses it if it needs data). ValueError for a delimiter option refused above.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// read_csv of bytes held in memory; name stands for the path in messages and in source.
CsvTable read_csv_bytes(const std::string& bytes, const std::string& name,
                        const CsvOptions& options = {});

class CsvRowReader;
namespace detail {
class CsvInput;
class CsvRecords;
CsvRowReader csv_row_reader(std::unique_ptr<CsvInput> input, const std::string& name,
                            const CsvOptions& options);
}  // namespace detail

// A CSV file read twice, for data larger than its table: read_csv keeps 8 bytes a value (a
// double), CsvRowReader only what the caller asks for (4 for float inputs, or a window of rows
// at a time). The first pass, at construction, reads what read_csv reads but the values: the
// names, the header, the delimiter, the rows and their lines, each column's kind (a text column
// is one with a value that is not a number), with read_csv's refusals (IoError, the same words);
// table() is that table, its columns without values. The second pass, read(), hands the rows in
// order, a block at a time:
//
//   nobias::CsvRowReader file("digits.csv");
//   const std::size_t y = nobias::find_column(file.table(), "label");
//   nobias::Matrix<float> x(file.table().rows, file.table().cols() - 1);
//   file.read(x.view(), nobias::columns_except(file.table(), {y}), {y});  // y's values kept
//   nobias::CsvLabels labels = nobias::class_labels(file.table(), y);
//
// A regular file is read in blocks of 4 MiB, twice (but a file of one block, whose bytes the
// first pass leaves in the buffer), or once more after each rewind(); a pipe or a device is
// read whole into memory first, as read_csv reads one (it can be read only once). A file rewritten
// between the passes so that a row no longer fits what the first pass read (fewer rows, another
// number of fields, text or a missing value where it read numbers) is refused at that row ("the
// file changed while it was read"); other new values are read as they are now.
class CsvRowReader {
 public:
  explicit CsvRowReader(const std::string& path, const CsvOptions& options = {});
  ~CsvRowReader();
  CsvRowReader(CsvRowReader&&) noexcept;
  CsvRowReader& operator=(CsvRowReader&&) noexcept;

  // The file's table without values, but those read() appended to the kept columns.
  const CsvTable& table() const { return table_; }
  // The column CsvOptions::unchecked_column named (0-based), or table().cols() for none.
  // read() and read_kept() refuse it (ValueError): its values were never checked.
  std::size_t unchecked_column() const { return unchecked_; }
  // Rows handed so far, of table().rows.
  std::size_t rows_read() const { return read_; }

  // The next out.rows() rows: column columns[k] of each into out's column k, as T (numeric_matrix's
  // refusals: a text column among columns, a value beyond float's range), and the values of the
  // kept columns appended to table()'s (numbers to a number column's numbers, texts to a text
  // column's texts, as read_csv holds them). ValueError for an index out of range, for out's
  // columns not columns.size(), for a column kept twice, and for more rows than are left.
  template <class T>
  void read(MatrixView<T> out, const std::vector<std::size_t>& columns,
            const std::vector<std::size_t>& kept = {});
  // The next rows rows' values of the kept columns alone, as read() keeps them.
  void read_kept(std::size_t rows, const std::vector<std::size_t>& kept);
  // Back to the first row, for another second pass without a first (nobias-evaluate --target
  // reads the targets' column, then the inputs): rows_read() 0 and the kept columns' values
  // dropped, table() as the first pass left it. Also after a refusal. ValueError on a
  // moved-from reader.
  void rewind();

 private:
  friend CsvRowReader detail::csv_row_reader(std::unique_ptr<detail::CsvInput>, const std::string&,
                                             const CsvOptions&);
  CsvRowReader(std::unique_ptr<detail::CsvInput> input, const std::string& name,
               const CsvOptions& options);

  template <class T>
  void read_rows(std::size_t rows, T* out, std::size_t stride,
                 const std::vector<std::size_t>& columns, const std::vector<std::size_t>& kept);

  CsvTable table_;
  std::unique_ptr<detail::CsvInput> input_;      // before records_: they read it
  std::unique_ptr<detail::CsvRecords> records_;  // at the next row to hand
  std::size_t read_ = 0;
  std::size_t data_offset_ = 0, data_line_ = 0;  // where the first row starts: for rewind()
  std::size_t unchecked_ = 0;                    // table_.cols(): none
};

// "column 5 ('species')", or "column 5" when the name is the default one: how messages name a
// column (index is 0-based; the text counts from 1).
std::string describe_column(const CsvTable& table, std::size_t index);

// The 0-based index of the column that spec names: a name (exactly; a name wins over a
// number), a number from 1, or a negative number counting from the end (-1: the last).
// ValueError "PATH: no column 'specis' (columns: 'a', 'b', 'species'; or a number from 1 to 3,
// or -1 to -3 from the end)", also when a name is in several columns (give its number).
std::size_t find_column(const CsvTable& table, const std::string& spec);

// find_column's column, or none (std::nullopt) when spec is a name that no column has and not a
// number either: a column a file may lack (nobias-predict --target). ValueError as find_column's
// for a number naming no column ("no column 0: there are 6 columns ...") and for a name in
// several columns.
std::optional<std::size_t> find_column_if_present(const CsvTable& table, const std::string& spec);

// The first column whose name is name but for the case of ASCII letters ('Y' for 'y'), or none:
// a "did you mean" of a caller's own.
std::optional<std::size_t> column_named_ignoring_case(const CsvTable& table,
                                                      const std::string& name);

// Every column's index but those listed, in order.
std::vector<std::size_t> columns_except(const CsvTable& table,
                                        const std::vector<std::size_t>& excluded);

// The columns listed (0-based), in that order, as a rows x columns.size() row-major matrix.
// ValueError for an index out of range, and for a text column: "PATH: column 5 ('species')
// holds text, not numbers (line 2: 'setosa')", adding how many of its values are numbers when
// some are (a typo). For float, a value beyond float's range is a ValueError naming its line.
template <class T>
Matrix<T> numeric_matrix(const CsvTable& table, const std::vector<std::size_t>& columns);
// Every column.
template <class T>
Matrix<T> numeric_matrix(const CsvTable& table);

// A column as class labels, one per row. A text column: its distinct texts sorted (byte-wise,
// as numpy.unique and scikit-learn's LabelEncoder sort) are the classes, and each row's label
// is its text's index there, so predictions can print names. A number column: its values,
// which must be integers in int64's range (ValueError naming the line otherwise); classes is
// then empty. Labels are not checked further here (one_hot refuses negative ones).
struct CsvLabels {
  std::vector<std::int64_t> labels;
  std::vector<std::string> classes;  // text column: classes[k] is label k's name
};
CsvLabels class_labels(const CsvTable& table, std::size_t column);

// The delimiter the writers put in a file at path: a tab when its name ends in .tsv (in any
// case), else ','. read_csv detects either.
char csv_delimiter_for(const std::string& path);

// Writes m, with a header row of names (one per column) unless names is empty. ValueError for
// another count of names or a value or name refused above.
template <class T>
void write_csv(const std::string& path, MatrixView<const T> m,
               const std::vector<std::string>& names);
// Writes a table (numbers as doubles), header row from its names. ValueError for a column of
// another length than rows, or a value refused above.
void write_csv(const std::string& path, const CsvTable& table);
// One text column: class names, the predictions of a classifier; header row: name. (Read it
// back with CsvHeader::Yes: a header over text alone is not detected.)
void write_csv_labels(const std::string& path, const std::vector<std::string>& labels,
                      const std::string& name);

// The bytes the writers write, to any stream (no atomicity: the caller's, e.g. a StagedFile),
// delimiter ',' or '\t' (csv_delimiter_for(path) for a file; ValueError for another).
// A refused value throws before anything is written.
template <class T>
void write_csv_stream(std::ostream& out, MatrixView<const T> m,
                      const std::vector<std::string>& names, char delimiter = ',');
void write_csv_stream(std::ostream& out, const CsvTable& table, char delimiter = ',');
// The table's rows without its header row: a later block of rows of a file written a block at
// a time (the first by write_csv_stream). A matrix's later blocks: write_csv_stream, no names.
void write_csv_rows(std::ostream& out, const CsvTable& table, char delimiter = ',');

// Conveniences so that write_csv(path, matrix, names) deduces T.
template <class T>
void write_csv(const std::string& path, const Matrix<T>& m, const std::vector<std::string>& names) {
  write_csv<T>(path, m.view(), names);
}
template <class T, class = std::enable_if_t<!std::is_const_v<T>>>
void write_csv(const std::string& path, MatrixView<T> m, const std::vector<std::string>& names) {
  write_csv<T>(path, MatrixView<const T>(m), names);
}

}  // namespace nobias
