// CSV files wherever the programs take a .npy of data: --x, --y, --val-x/--val-y, and --x with
// --target COL, one table holding the inputs and the targets (nobias/csv.hpp reads them).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "inputs.hpp"
#include "nobias/csv.hpp"
#include "nobias/matrix.hpp"

namespace nobias_tools {

// --csv-header's values, in its order: auto (nobias/csv.hpp's rule detects a header), yes, no.
const std::vector<std::string>& csv_header_names();
// One of csv_header_names() as the library's CsvHeader (UsageError naming the flag otherwise).
nobias::CsvHeader csv_header_named(const std::string& name);
// How every CSV input of the run (--x, --y, --val-x, --val-y) finds its header row: set once
// from --csv-header, before any is read; CsvHeader::Auto until then. The rule is the run's,
// not an input's, so the readers below take it from here rather than each from its caller.
void set_csv_header(nobias::CsvHeader header);

// A path the programs read as CSV rather than .npy: its name ends in .csv or .tsv (any case).
bool is_csv_path(const std::string& path);

// Every column of a CSV file as inputs. All must be numbers: IoError naming the flag, the line
// and the column otherwise.
template <class T>
nobias::Matrix<T> read_csv_inputs(const char* flag, const std::string& path);
// The file's first pass alone (CsvRowReader), its refusals an IoError naming the flag.
// unchecked: nobias-predict's --target, a column of the file never read, so never checked (a
// blank, NA or text there is fine: new rows' targets may be unknown), when the file has it (a
// name no column has is no column: new rows may come without it); a --target that can name no
// column (a number past the columns, 0, a name in several columns) is a UsageError naming them.
nobias::CsvRowReader open_csv_rows(const char* flag, const std::string& path,
                                   const std::string& unchecked = "");
// The input columns of a file open_csv_rows opened (its first pass not made again), refused as
// read_csv_inputs refuses them before any row is read, the reader at its first row: every column
// but its unchecked one and drop's (nobias-evaluate --target: its targets' column, which the file
// has). Then read_csv_window reads each window of rows in turn, refusing a row as
// read_csv_inputs would.
std::vector<std::size_t> csv_input_columns(const char* flag, nobias::CsvRowReader& file,
                                           const std::string& drop);
template <class T>
void read_csv_window(const char* flag, nobias::CsvRowReader& file, nobias::MatrixView<T> out,
                     const std::vector<std::size_t>& columns);

// A one-column CSV file (--y labels.csv) as targets, read as read_targets reads a .npy:
// a text column is class labels, its sorted names 0, 1, ... (its first row always a header); a
// number column is class labels when its values are integers and task is not Regress (Auto refuses
// counts as for .npy), else numbers. Given names (a model's class_names), a text column's values
// are those names' indices instead: a file lacking a class numbers the others as the model does.
// UsageError naming the line and the names for a value that is not one, and for text labels
// no model could keep as its class_names (a control character: save_model's check, made before
// training rather than after it).
template <class T>
Targets<T> read_csv_targets(const char* flag, const std::string& path, Task task,
                            std::size_t classes = 0, const std::vector<std::string>& names = {});

// Whether a one-column CSV file of targets holds class labels by its values alone: text, or
// whole numbers (what an integer dtype says of a .npy; nobias-evaluate on bare weights).
bool csv_holds_labels(const char* flag, const std::string& path);

// The column of a CSV file (open_csv_rows') that target names, read as read_csv_targets reads one,
// in the file's second pass; the file is then rewound for its inputs (nobias-evaluate --target:
// read_csv_inputs' without the column, csv_input_columns), so that it is read three times in all,
// not twice for each. UsageError naming the columns for a target the file does not have.
template <class T>
Targets<T> read_csv_target_column(const char* flag, nobias::CsvRowReader& file,
                                  const std::string& target, Task task, std::size_t classes = 0,
                                  const std::vector<std::string>& names = {});

// --x data.csv --target COL: the target column (a name, a number from 1, or -1 for the last)
// as read_csv_targets reads one (class_names: a text column's), every other column as the inputs.
// UsageError naming the columns for a COL the file does not have; purpose completes "no rows to
// ...".
template <class T>
Data<T> read_csv_pair(const char* x_flag, const std::string& path, const std::string& target,
                      const char* purpose, Task task, std::size_t classes = 0,
                      std::string* note = nullptr);

}  // namespace nobias_tools
