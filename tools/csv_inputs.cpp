#include "csv_inputs.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "cli_common.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "nobias/kernels.hpp"
#include "nobias/model.hpp"
#include "nobias/names.hpp"
#include "nobias/targets.hpp"

namespace nobias_tools {

bool is_csv_path(const std::string& path) {
  if (path.size() < 4) return false;
  std::string tail = path.substr(path.size() - 4);
  std::transform(tail.begin(), tail.end(), tail.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tail == ".csv" || tail == ".tsv";
}

const std::vector<std::string>& csv_header_names() {
  static const std::vector<std::string> names = {"auto", "yes", "no"};
  return names;
}

nobias::CsvHeader csv_header_named(const std::string& name) {
  if (name == "yes") return nobias::CsvHeader::Yes;
  if (name == "no") return nobias::CsvHeader::No;
  if (name == "auto") return nobias::CsvHeader::Auto;
  throw UsageError("--csv-header must be auto, yes or no, got '" + name + "'");
}

namespace {

nobias::CsvHeader run_header = nobias::CsvHeader::Auto;  // --csv-header

// A refusal that a header row would explain: the first row of a file read without one. The
// flag that decided it, and with auto the one that declares a header the rule cannot detect.
std::string header_hint(const nobias::CsvTable& table) {
  if (table.has_header || table.lines.empty()) return "";
  const std::string line = "line " + std::to_string(table.lines[0]);
  if (run_header == nobias::CsvHeader::No) return "; --csv-header no reads " + line + " as data";
  if (run_header != nobias::CsvHeader::Auto) return "";
  return "; if " + line + " is a header, pass --csv-header yes";
}

// Whether the first of columns holding text holds it on the first row alone (the rest numbers):
// require_number_columns' refusal then is of that row, which may be a header.
bool first_row_refused(const nobias::CsvTable& table, const std::vector<std::size_t>& columns) {
  for (const std::size_t j : columns) {
    if (j >= table.cols() || !table.columns[j].is_text()) continue;
    const nobias::CsvColumn& c = table.columns[j];
    return !table.lines.empty() && c.first_text_line == table.lines[0] &&
           c.number_count + 1 == table.rows;
  }
  return false;
}

// The library's messages name the file, the line and the column; the flag says which input.
nobias::CsvTable read_table(const char* flag, const std::string& path,
                            nobias::CsvHeader header = run_header) {
  try {
    return nobias::read_csv(path, {header, '\0', ""});
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

// Inputs are read twice (CsvRowReader) rather than as a table: a table holds a double a value
// besides the matrix made of it, 3x a float matrix's memory (a 109 MB CSV of 60,000 x 785
// pixels: nobias-train peaked at 569 MB, now 274).
nobias::CsvRowReader open_rows(const char* flag, const std::string& path,
                               const std::string& unchecked = "") {
  nobias::CsvOptions options;
  options.header = run_header;
  options.unchecked_column = unchecked;
  try {
    return nobias::CsvRowReader(path, options);
  } catch (const nobias::ValueError& e) {  // the unchecked column's spec (no option else)
    if (unchecked.empty()) throw nobias::IoError(std::string(flag) + ": " + e.what());
    throw UsageError("--target " + unchecked + ": " + e.what());
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

// The columns as inputs, the kept columns' values into file's table; why completes a refusal
// of a column's values.
template <class T>
void read_rows(const char* flag, nobias::CsvRowReader& file, nobias::MatrixView<T> out,
               const std::vector<std::size_t>& columns, const std::vector<std::size_t>& kept,
               const std::string& why) {
  try {
    file.read(out, columns, kept);
  } catch (const nobias::ValueError& e) {
    const std::string hint =
        first_row_refused(file.table(), columns) ? header_hint(file.table()) : "";
    throw nobias::IoError(std::string(flag) + ": " + e.what() + why + hint);
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
}

template <class T>
nobias::Matrix<T> inputs_of(const char* flag, nobias::CsvRowReader& file,
                            const std::vector<std::size_t>& columns,
                            const std::vector<std::size_t>& kept, const std::string& why) {
  nobias::Matrix<T> x(file.table().rows, columns.size());
  read_rows<T>(flag, file, x.view(), columns, kept, why);
  return x;
}

const std::string kInputsWhy = "; every input column must hold numbers";

std::size_t column_of(const char* flag, const nobias::CsvTable& table, const std::string& spec) {
  try {
    return nobias::find_column(table, spec);
  } catch (const nobias::ValueError& e) {
    // A name, not a number, missing from a file without a header: the header may be its first row.
    const bool number = spec.find_first_not_of("-0123456789") == std::string::npos;
    throw UsageError(std::string(flag) + " " + spec + ": " + e.what() +
                     (number ? "" : header_hint(table)));
  }
}

// Whole numbers >= 0 that would make a classifier of an output per value, most seen once.
void refuse_counts(const std::string& named, const std::vector<std::int64_t>& labels) {
  const nobias::TargetValues v = nobias::describe_targets(labels);
  if (v.negative || nobias::looks_like_classes(v)) return;  // negatives: one_hot's to refuse
  throw UsageError(named + " holds integers that look like counts, not class labels (" +
                   std::to_string(v.distinct) + " distinct values in " + std::to_string(v.rows) +
                   " rows, up to " + nobias::format_number(v.largest) +
                   "); pass --task regress to fit them as numbers, or --task classify to train "
                   "a classifier of " +
                   std::to_string(v.classes()) + " outputs anyway");
}

bool whole_numbers(const nobias::CsvColumn& column) {
  return !column.is_text() &&
         std::all_of(column.numbers.begin(), column.numbers.end(),
                     [](double v) { return v == std::floor(v) && std::fabs(v) < 9e18; });
}

// A text column's values as indices into names (a model's class_names), not its own sorted
// names: a file lacking a class would number the others differently and mislabel them.
std::vector<std::int64_t> labels_by_name(const std::string& where, const nobias::CsvTable& table,
                                         std::size_t j, const std::vector<std::string>& names) {
  std::map<std::string, std::int64_t> index;
  for (std::size_t k = 0; k < names.size(); ++k)
    index[names[k]] = static_cast<std::int64_t>(k);
  std::vector<std::int64_t> labels;
  for (std::size_t i = 0; i < table.rows; ++i) {
    const std::string& text = table.columns[j].texts[i];
    const auto it = index.find(text);
    if (it == index.end()) {
      std::string known;
      for (std::size_t k = 0; k < names.size() && k < 20; ++k)
        known += (k > 0 ? ", '" : "'") + names[k] + "'";
      if (names.size() > 20) known += ", ...";
      const std::string line = table.lines.empty() ? "row " + std::to_string(i + 1)
                                                   : "line " + std::to_string(table.lines[i]);
      throw UsageError(where + ", " + line + ": '" + text +
                       "' is not a class the model knows (its " + std::to_string(names.size()) +
                       " classes: " + known + ")");
    }
    labels.push_back(it->second);
  }
  return labels;
}

template <class T>
Targets<T> targets_of(const std::string& named, const nobias::CsvTable& table, std::size_t j,
                      Task task, std::size_t classes, const std::vector<std::string>& names) {
  const nobias::CsvColumn& column = table.columns[j];
  const std::string where = named + ", " + nobias::describe_column(table, j);
  Targets<T> out;
  // Text on the first row alone, numbers below: a header the automatic rule read as data
  // ("0,1,label"), which would otherwise be a class of one row, or refused as text by regress.
  if (run_header == nobias::CsvHeader::Auto && first_row_refused(table, {j})) {
    throw UsageError(where + " holds text on line " + std::to_string(column.first_text_line) +
                     " alone ('" + column.first_text + "'), numbers below: line " +
                     std::to_string(column.first_text_line) +
                     " is read as data, not as a header, since it holds a number where the rows "
                     "below do; pass --csv-header yes if it is a header, --csv-header no if '" +
                     column.first_text + "' is a value");
  }
  if (task != Task::Regress && column.is_text() && !names.empty()) {
    out.classes = classes != 0 ? classes : names.size();
    out.y = nobias::one_hot<T>(labels_by_name(where, table, j, names), out.classes);
    out.class_names = names;
    return out;
  }
  const bool whole = whole_numbers(column);
  if (task == Task::Regress || (!column.is_text() && !whole)) {
    if (column.is_text()) {
      throw UsageError(where + " holds text ('" + column.first_text + "' on line " +
                       std::to_string(column.first_text_line) +
                       "), not numbers: --task regress fits numbers");
    }
    if (task == Task::Classify) {
      throw UsageError(where +
                       " holds numbers that are not whole; a classifier trains on class "
                       "labels (whole numbers >= 0, or text)");
    }
    out.y = nobias::Matrix<T>(table.rows, 1);
    for (std::size_t i = 0; i < table.rows; ++i)
      out.y(i, 0) = static_cast<T>(column.numbers[i]);
    nobias::require_finite(out.y, where);  // a double beyond float's range
    return out;
  }
  try {
    const nobias::CsvLabels labels = nobias::class_labels(table, j);
    if (task == Task::Auto && !column.is_text()) refuse_counts(where, labels.labels);
    out.classes = classes != 0             ? classes
                  : labels.classes.empty() ? nobias::class_count(labels.labels)
                                           : labels.classes.size();
    out.y = nobias::one_hot<T>(labels.labels, out.classes);
    out.class_names = labels.classes;
  } catch (const nobias::Error& e) {
    throw nobias::IoError(where + ": " + e.what());
  }
  // save_model refuses names it cannot keep: refused here, the run would end after training.
  if (const std::string problem =
          nobias::class_names_problem(out.class_names, out.class_names.size());
      !problem.empty()) {
    throw UsageError(where + ": class labels a model cannot keep: the column " + problem);
  }
  return out;
}

}  // namespace

void set_csv_header(nobias::CsvHeader header) {
  run_header = header;
}

nobias::CsvRowReader open_csv_rows(const char* flag, const std::string& path,
                                   const std::string& unchecked) {
  return open_rows(flag, path, unchecked);
}

std::vector<std::size_t> csv_input_columns(const char* flag, nobias::CsvRowReader& file,
                                           const std::string& drop) {
  std::vector<std::size_t> excluded;
  if (file.unchecked_column() < file.table().cols()) excluded.push_back(file.unchecked_column());
  if (!drop.empty()) excluded.push_back(column_of("--target", file.table(), drop));
  std::vector<std::size_t> columns = nobias::columns_except(file.table(), excluded);
  read_rows<double>(flag, file, {nullptr, 0, columns.size()}, columns, {}, kInputsWhy);
  return columns;
}

template <class T>
void read_csv_window(const char* flag, nobias::CsvRowReader& file, nobias::MatrixView<T> out,
                     const std::vector<std::size_t>& columns) {
  read_rows<T>(flag, file, out, columns, {}, kInputsWhy);
}

template <class T>
nobias::Matrix<T> read_csv_inputs(const char* flag, const std::string& path) {
  nobias::CsvRowReader file = open_rows(flag, path);
  const std::vector<std::size_t> columns = csv_input_columns(flag, file, "");
  return inputs_of<T>(flag, file, columns, {}, kInputsWhy);
}

template <class T>
Targets<T> read_csv_targets(const char* flag, const std::string& path, Task task,
                            std::size_t classes, const std::vector<std::string>& names) {
  nobias::CsvTable table = read_table(flag, path);
  // A header over text alone is not detected, but a column of class names has one, as pandas
  // and write_csv_labels write it: without it the name would be a class of one row.
  if (run_header == nobias::CsvHeader::Auto && table.cols() == 1 && table.columns[0].is_text() &&
      !table.has_header) {
    table = read_table(flag, path, nobias::CsvHeader::Yes);
  }
  if (table.cols() != 1) {
    throw UsageError(std::string(flag) + " " + path + " has " + std::to_string(table.cols()) +
                     " columns; targets in a CSV file are one column (or give the table as --x "
                     "with --target COL)");
  }
  return targets_of<T>(std::string(flag) + " " + path, table, 0, task, classes, names);
}

bool csv_holds_labels(const char* flag, const std::string& path) {
  const nobias::CsvTable table = read_table(flag, path);
  return table.cols() == 1 && (table.columns[0].is_text() || whole_numbers(table.columns[0]));
}

template <class T>
Targets<T> read_csv_target_column(const char* flag, nobias::CsvRowReader& file,
                                  const std::string& target, Task task, std::size_t classes,
                                  const std::vector<std::string>& names) {
  const std::size_t j = column_of("--target", file.table(), target);
  try {
    file.read_kept(file.table().rows, {j});
  } catch (const nobias::Error& e) {
    throw nobias::IoError(std::string(flag) + ": " + e.what());
  }
  Targets<T> targets = targets_of<T>(std::string(flag) + " " + file.table().source, file.table(), j,
                                     task, classes, names);
  file.rewind();  // the column's values, now in targets, dropped
  return targets;
}

template <class T>
Data<T> read_csv_pair(const char* x_flag, const std::string& path, const std::string& target,
                      const char* purpose, Task task, std::size_t classes, std::string* note) {
  nobias::CsvRowReader file = open_rows(x_flag, path);
  const nobias::CsvTable& table = file.table();
  const std::size_t j = column_of("--target", table, target);
  const std::string why = "; every column but the target (" + nobias::describe_column(table, j) +
                          ") is an input and must hold numbers";
  nobias::Matrix<T> x = inputs_of<T>(x_flag, file, nobias::columns_except(table, {j}), {j}, why);
  Targets<T> targets = targets_of<T>(std::string(x_flag) + " " + path, table, j, task, classes, {});
  if (note != nullptr) *note = targets.note;
  Data<T> data{nobias::NpyRows<T>(std::move(x)), std::move(targets.y), targets.classes,
               std::move(targets.class_names)};
  if (data.x.rows() == 0) {
    throw nobias::ShapeError(std::string(x_flag) + " " + path + " has no rows to " + purpose);
  }
  if (data.x.cols() == 0) {
    throw UsageError(std::string(x_flag) + " " + path + " has no column but the target " +
                     nobias::describe_column(table, j) + ": no inputs");
  }
  return data;
}

#define NOBIAS_TOOLS_CSV_INPUTS(T)                                                            \
  template nobias::Matrix<T> read_csv_inputs<T>(const char*, const std::string&);             \
  template void read_csv_window<T>(const char*, nobias::CsvRowReader&, nobias::MatrixView<T>, \
                                   const std::vector<std::size_t>&);                          \
  template Targets<T> read_csv_targets<T>(const char*, const std::string&, Task, std::size_t, \
                                          const std::vector<std::string>&);                   \
  template Targets<T> read_csv_target_column<T>(const char*, nobias::CsvRowReader&,           \
                                                const std::string&, Task, std::size_t,        \
                                                const std::vector<std::string>&);             \
  template Data<T> read_csv_pair<T>(const char*, const std::string&, const std::string&,      \
                                    const char*, Task, std::size_t, std::string*);
NOBIAS_TOOLS_CSV_INPUTS(float)
NOBIAS_TOOLS_CSV_INPUTS(double)
#undef NOBIAS_TOOLS_CSV_INPUTS

}  // namespace nobias_tools
