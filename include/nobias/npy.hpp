// Arrays as numpy .npy files, so data moves between nobias, numpy and PyTorch unchanged.
// What a dense layer needs: 2-D float32 / float64, little-endian; and for targets, 1-D
// float arrays (one output) and 1-D integer class labels (int32, int64, uint8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <vector>

#include "nobias/matrix.hpp"

namespace nobias {

// Reads a 2-D .npy (format 1.0, 2.0 or 3.0) of dtype '<f4' or '<f8', in C or Fortran
// order, into a row-major Matrix<T>, converting the element type if it differs.
// An array with 0 rows or 0 columns reads fine; callers that need data reject it.
// Throws IoError (naming the file, what was expected and what was found) for a missing
// file, a file that is not .npy, any other dtype or rank, or a data size that does not
// match the header exactly.
template <class T>
Matrix<T> read_npy(const std::string& path);

// The rows of a 2-D .npy, read-only, without a copy where the layout allows: C order and
// exactly T's dtype ('<f4' for float, '<f8' for double, on a little-endian machine) map the
// file in place, so its pages are the page cache's, shared by every process that maps the
// file and read from disk only when touched; anything else read_npy accepts (the other float
// dtype, Fortran order, no rows) is read into memory and converted, as read_npy does, with its
// IoErrors. A mapped file must not be truncated while mapped (its rows would fault, SIGBUS);
// replacing it (a rename, as write_npy does) is safe: the mapping keeps the old file.
template <class T>
class NpyRows {
 public:
  NpyRows() = default;
  explicit NpyRows(Matrix<T> rows);  // rows held in memory
  NpyRows(NpyRows&& other) noexcept;
  NpyRows& operator=(NpyRows&& other) noexcept;
  NpyRows(const NpyRows&) = delete;
  NpyRows& operator=(const NpyRows&) = delete;
  ~NpyRows();

  MatrixView<const T> view() const { return view_; }
  operator MatrixView<const T>() const { return view_; }  // NOLINT(google-explicit-constructor)
  std::size_t rows() const { return view_.rows(); }
  std::size_t cols() const { return view_.cols(); }
  bool mapped() const { return map_ != nullptr; }  // else a converted copy

  // Rows [first, first + count) will not be read again soon: a mapped file's pages that hold
  // only those rows leave this process's memory (madvise MADV_DONTNEED; the page cache keeps
  // them while memory allows), so a pass over a file larger than memory holds O(rows being
  // read) of it. Reading them again stays correct: they come back from the file. A no-op for
  // rows held in memory.
  void drop_rows(std::size_t first, std::size_t count);

 private:
  template <class U>
  friend NpyRows<U> map_npy(const std::string& path);
  Matrix<T> owned_;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  MatrixView<const T> view_;
};

// A .npy's rows as NpyRows: mapped when the layout allows, else read_npy's copy.
template <class T>
NpyRows<T> map_npy(const std::string& path);
// Whether map_npy<T>(path) maps the file in place (its dtype T's, C order, at least one row and
// column), from its header alone, for a caller that would rather read a file that needs
// converting a window at a time (NpyRowReader) than hold a converted copy. read_npy's IoErrors.
template <class T>
bool npy_maps_in_place(const std::string& path);

// The rows of a 2-D .npy read in order, a window at a time, rather than mapped or held: for a
// pass that reads each row once from a file that cannot be mapped as T (the other float dtype,
// Fortran order; nobias-predict's --x, through predict_read), which then holds only the windows
// it reads into, never a converted copy. The file is opened and its header checked
// at construction, with read_npy's IoErrors; read(first, to) fills to with rows first ...
// first + to.rows() - 1 (pread), the values read_npy gives them: converted from the other float
// dtype, and a Fortran-order file read column by column. A file cut short after it was opened
// gives an IoError naming the row it ends in (a mapped file's rows would fault, SIGBUS); one
// replaced by a rename is read as it was.
template <class T>
class NpyRowReader {
 public:
  explicit NpyRowReader(const std::string& path);
  NpyRowReader(NpyRowReader&& other) noexcept;
  NpyRowReader& operator=(NpyRowReader&& other) noexcept;
  NpyRowReader(const NpyRowReader&) = delete;
  NpyRowReader& operator=(const NpyRowReader&) = delete;
  ~NpyRowReader();

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  // Rows first ... first + to.rows() - 1 into to, whose columns must be cols() (ShapeError
  // otherwise, and for rows past the end); IoError on a read that fails or finds the file short.
  void read(std::size_t first, MatrixView<T> to) const;

 private:
  std::string path_;
  int fd_ = -1;
  std::size_t rows_ = 0, cols_ = 0, item_ = 0;  // item_: the file's element size, 4 or 8
  std::uintmax_t data_offset_ = 0;
  bool fortran_order_ = false;
};

// Writes m as a format 1.0, C-order .npy of dtype '<f4' (float) or '<f8' (double),
// with the data 64-byte aligned as numpy does it. Atomic: the file is written under a
// temporary name and renamed, so on failure (IoError naming the path) the previous
// file is intact. The directory must already exist.
template <class T>
void write_npy(const std::string& path, MatrixView<const T> m);

// Conveniences so that write_npy(path, matrix) deduces T.
template <class T>
void write_npy(const std::string& path, const Matrix<T>& m) {
  write_npy<T>(path, m.view());
}
template <class T, class = std::enable_if_t<!std::is_const_v<T>>>
void write_npy(const std::string& path, MatrixView<T> m) {
  write_npy<T>(path, MatrixView<const T>(m));
}

// What a .npy file holds, for a caller that must decide how to read it (a matrix of
// features, a one-output target, class labels) before reading it.
enum class NpyDtype { F32, F64, I32, I64, U8 };  // '<f4', '<f8', '<i4', '<i8', '|u1'

struct NpyInfo {
  NpyDtype dtype = NpyDtype::F32;
  std::vector<std::size_t> shape;  // 1 or 2 dimensions
  bool fortran_order = false;

  bool is_float() const { return dtype == NpyDtype::F32 || dtype == NpyDtype::F64; }
  bool is_integer() const { return !is_float(); }
  std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
  // 1 for a 1-D array: a vector reads as one column.
  std::size_t cols() const { return shape.size() == 2 ? shape[1] : 1; }
  // A column of labels or values: shape (n,) or (n, 1).
  bool is_column() const { return shape.size() == 1 || (shape.size() == 2 && shape[1] == 1); }
};

// numpy's name of a dtype: "float32", "float64", "int32", "int64", "uint8".
const char* npy_dtype_name(NpyDtype dtype);

// Reads and checks a .npy file's preamble and header, and that the file's size is exactly
// what the header promises, without reading the data. Accepts the dtypes of NpyDtype ('<u1'
// too, numpy writes '|u1') and 1 or 2 dimensions; IoError as read_npy's for anything else
// ("expected dtype '<f4', '<f8', '<i4', '<i8' or '|u1', found ..."; "expected a 1-D or 2-D
// array, found shape (2, 2, 2)").
NpyInfo inspect_npy(const std::string& path);

// read_npy, but a 1-D float array of shape (n,) also reads, as an n x 1 matrix: the form
// numpy gives a one-output target. Everything else as read_npy (integer dtypes refused).
template <class T>
Matrix<T> read_npy_matrix_or_vector(const std::string& path);

// Class labels: a 1-D array (n,) or a column (n, 1) of int32, int64 or uint8, as int64.
// IoError for a float or any other dtype, another shape, or any .npy defect read_npy refuses.
// Values are not checked here (negative labels are one_hot's to refuse, with the element).
std::vector<std::int64_t> read_npy_labels(const std::string& path);

// Writes labels as a 1-D '<i8' .npy (numpy: int64, shape (n,)), atomically as write_npy.
void write_npy_labels(const std::string& path, const std::vector<std::int64_t>& labels);

// The bytes write_npy writes, to any stream (no atomicity: the caller's). For sets of files
// written together (weight sets, model directories: staged.hpp).
template <class T>
void write_npy_stream(std::ostream& out, MatrixView<const T> m);

// The same bytes in pieces, for a file written a block of rows at a time (nobias-predict's
// predictions, never all in memory): the header of a rows x cols array of T, then the rows in
// order with write_npy_rows, rows rows in all (the header promises them: fewer make a file
// read_npy refuses).
template <class T>
void write_npy_header(std::ostream& out, std::size_t rows, std::size_t cols);
template <class T>
void write_npy_rows(std::ostream& out, MatrixView<const T> m);
// The header of n int64 labels (write_npy_labels' file), whose n values follow as raw '<i8'.
void write_npy_labels_header(std::ostream& out, std::size_t n);

// Parses a whole .npy held in memory (size bytes from in), as read_npy does a file; `name`
// starts every IoError message ("read_npy: NAME: ...").
template <class T>
Matrix<T> read_npy_bytes(const std::string& bytes, const std::string& name);

}  // namespace nobias
