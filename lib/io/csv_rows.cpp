// CsvRowReader: read_csv's pass without the values (csv.cpp's scan_csv), then the rows again,
// each value going straight to where the caller wants it.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"

namespace nobias {

namespace {

// The input of path, once the options are known to be good (read_csv's order of refusals).
std::unique_ptr<detail::CsvInput> open_input(const std::string& path, const CsvOptions& options) {
  detail::check_csv_options(options);
  return detail::file_csv_input(path, "read_csv: " + path + ": ");
}

}  // namespace

CsvRowReader::CsvRowReader(const std::string& path, const CsvOptions& options)
    : CsvRowReader(open_input(path, options), path, options) {}

CsvRowReader::CsvRowReader(std::unique_ptr<detail::CsvInput> input, const std::string& name,
                           const CsvOptions& options)
    : input_(std::move(input)) {
  detail::CsvDataStart start;
  table_ = detail::scan_csv(*input_, name, options, false, &start, &unchecked_);
  data_offset_ = start.offset;
  data_line_ = start.line;
  rewind();
}

CsvRowReader detail::csv_row_reader(std::unique_ptr<CsvInput> input, const std::string& name,
                                    const CsvOptions& options) {
  return CsvRowReader(std::move(input), name, options);
}

CsvRowReader::~CsvRowReader() = default;
CsvRowReader::CsvRowReader(CsvRowReader&&) noexcept = default;
CsvRowReader& CsvRowReader::operator=(CsvRowReader&&) noexcept = default;

template <class T>
void CsvRowReader::read(MatrixView<T> out, const std::vector<std::size_t>& columns,
                        const std::vector<std::size_t>& kept) {
  if (out.cols() != columns.size()) {
    throw ValueError("CsvRowReader::read: out has " + std::to_string(out.cols()) + " columns for " +
                     std::to_string(columns.size()) + " columns asked");
  }
  read_rows<T>(out.rows(), out.data(), out.ld(), columns, kept);
}

void CsvRowReader::read_kept(std::size_t rows, const std::vector<std::size_t>& kept) {
  read_rows<double>(rows, nullptr, 0, {}, kept);
}

void CsvRowReader::rewind() {
  if (!input_) throw ValueError("CsvRowReader::rewind: called on a moved-from reader");
  for (CsvColumn& c : table_.columns) {     // the first pass keeps no values: these are read()'s
    std::vector<double>().swap(c.numbers);  // freed: `= {}` would keep the capacity
    std::vector<std::string>().swap(c.texts);
  }
  records_ = std::make_unique<detail::CsvRecords>(
      *input_, table_.delimiter, "read_csv: " + table_.source + ": ", data_offset_, data_line_);
  read_ = 0;
}

template <class T>
void CsvRowReader::read_rows(std::size_t rows, T* out, std::size_t stride,
                             const std::vector<std::size_t>& columns,
                             const std::vector<std::size_t>& kept) {
  const std::string prefix = "read_csv: " + table_.source + ": ";
  if (!records_) {
    throw ValueError("CsvRowReader::read: called after a refusal, or on a moved-from reader");
  }
  detail::require_number_columns(table_, columns, "CsvRowReader::read");
  // Never checked (CsvOptions::unchecked_column), so never read: a value there may be anything.
  for (const auto* listed : {&columns, &kept}) {
    if (unchecked_ < table_.cols() &&
        std::find(listed->begin(), listed->end(), unchecked_) != listed->end()) {
      throw ValueError(prefix + "CsvRowReader::read: " + describe_column(table_, unchecked_) +
                       " is the unchecked column (CsvOptions::unchecked_column): its values were "
                       "not checked, so they are not read");
    }
  }
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const std::size_t j = kept[k];
    if (std::find(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(k), j) !=
        kept.begin() + static_cast<std::ptrdiff_t>(k)) {
      throw ValueError(prefix + "CsvRowReader::read: column index " + std::to_string(j) +
                       " kept twice");
    }
    if (j >= table_.cols()) {
      throw ValueError(prefix + "CsvRowReader::read: column index " + std::to_string(j) +
                       " (from 0) outside a table of " + std::to_string(table_.cols()) +
                       " columns");
    }
  }
  if (rows > table_.rows - read_) {
    throw ValueError(prefix + "CsvRowReader::read: " + std::to_string(rows) + " rows asked, " +
                     std::to_string(table_.rows - read_) + " left of " +
                     std::to_string(table_.rows));
  }
  if (read_ == 0) {  // the kept values in one allocation each, not a vector's doublings
    for (const std::size_t j : kept) {
      CsvColumn& c = table_.columns[j];
      c.is_text() ? c.texts.reserve(table_.rows) : c.numbers.reserve(table_.rows);
    }
  }
  // The first pass accepted every row: anything else now is a file rewritten in between.
  const auto changed = [&](std::size_t row) {
    throw IoError(prefix + "the file changed while it was read (line " +
                  std::to_string(table_.lines[row]) + " is no longer what it was)");
  };
  std::vector<detail::CsvField> fields;
  try {
    for (std::size_t i = 0; i < rows; ++i) {
      const std::size_t row = read_ + i;
      if (!records_->next(fields) || fields.size() != table_.cols()) changed(row);
      for (std::size_t k = 0; k < columns.size(); ++k) {
        const detail::CsvField& f = fields[columns[k]];
        if (f.kind != detail::CsvClass::Number || !f.finite) changed(row);
        out[i * stride + k] = detail::csv_value_as<T>(table_, row, columns[k], f.value);
      }
      for (const std::size_t j : kept) {
        const detail::CsvField& f = fields[j];
        CsvColumn& c = table_.columns[j];
        if (c.is_text()) {
          c.texts.emplace_back(f.text);
          continue;
        }
        if (f.kind != detail::CsvClass::Number || !f.finite) changed(row);
        c.numbers.push_back(f.value);
      }
    }
  } catch (...) {
    records_.reset();  // the rows after a refusal are not handed: the caller has a defect
    throw;
  }
  read_ += rows;
}

template void CsvRowReader::read<float>(MatrixView<float>, const std::vector<std::size_t>&,
                                        const std::vector<std::size_t>&);
template void CsvRowReader::read<double>(MatrixView<double>, const std::vector<std::size_t>&,
                                         const std::vector<std::size_t>&);

}  // namespace nobias
