// .npy rows read in order with pread (NpyRowReader): the inputs of a pass that reads each row once.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <istream>
#include <streambuf>
#include <type_traits>
#include <utility>
#include <vector>

#include "io/npy_reader.hpp"
#include "io/path_text.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"

namespace nobias {

namespace {

// Elements converted per read: bounds the staging buffer of a converting read (read_npy's).
constexpr std::size_t kChunkElements = std::size_t{1} << 16;
// The most one pread asks for (Linux transfers at most about 2 GB a call).
constexpr std::size_t kMostBytes = std::size_t{1} << 30;

std::string prefix_of(const std::string& path) {
  return "read_npy: " + path + ": ";
}

// The header is parsed from the descriptor the rows are then read from, so that both are one
// file even if its path is replaced meanwhile (a rename of a same-sized file with another
// header would otherwise be read with the old one). read() moves the descriptor's offset, which
// the rows' preads do not use.
class DescriptorReadBuf : public std::streambuf {
 public:
  explicit DescriptorReadBuf(int fd) : fd_(fd) {}

 protected:
  int_type underflow() override {
    ssize_t got;
    do {
      got = ::read(fd_, buffer_, sizeof buffer_);
    } while (got < 0 && errno == EINTR);
    if (got <= 0) return traits_type::eof();  // read_npy_header names a short header
    setg(buffer_, buffer_, buffer_ + got);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  int fd_;
  char buffer_[4096];
};

}  // namespace

template <class T>
NpyRowReader<T>::NpyRowReader(const std::string& path) : path_(path) {
  const std::string prefix = prefix_of(path);
  detail::npy_file_size(path, prefix);  // read_npy's refusals of a missing file, a directory
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(prefix + "cannot open the file for reading: " + std::strerror(errno));
  try {
    struct stat st {};
    if (::fstat(fd_, &st) != 0)
      throw IoError(prefix + "cannot check what was opened: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) {
      throw IoError(prefix + "is now " + detail::file_kind_text(st.st_mode) +
                    ", expected a regular file (it changed since it was checked)");
    }
    const auto file_size = static_cast<std::uintmax_t>(st.st_size);
    DescriptorReadBuf buffer(fd_);
    std::istream in(&buffer);
    const detail::NpyHeader h = detail::read_npy_header(in, file_size, prefix);
    item_ = detail::require_float_array(h, file_size, prefix);
    rows_ = h.shape[0];
    cols_ = h.shape[1];
    data_offset_ = h.data_offset;
    fortran_order_ = h.fortran_order && rows_ > 1 && cols_ > 1;  // one row or column: either
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

template <class T>
NpyRowReader<T>::NpyRowReader(NpyRowReader&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      rows_(other.rows_),
      cols_(other.cols_),
      item_(other.item_),
      data_offset_(other.data_offset_),
      fortran_order_(other.fortran_order_) {}

template <class T>
NpyRowReader<T>& NpyRowReader<T>::operator=(NpyRowReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    rows_ = other.rows_;
    cols_ = other.cols_;
    item_ = other.item_;
    data_offset_ = other.data_offset_;
    fortran_order_ = other.fortran_order_;
  }
  return *this;
}

template <class T>
NpyRowReader<T>::~NpyRowReader() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// bytes from fd at offset into to, every one: IoError on a failed read, or on the end of the file
// before them (a file cut short since its header was checked), naming the row the end falls in.
void read_exactly(int fd, char* to, std::size_t bytes, std::uintmax_t offset,
                  const std::string& prefix, const std::function<std::size_t(std::uintmax_t)>& row,
                  std::size_t rows) {
  while (bytes > 0) {
    const ssize_t got = ::pread(fd, to, std::min(bytes, kMostBytes), static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      throw IoError(prefix + "read error in the data (row " + std::to_string(row(offset) + 1) +
                    " of " + std::to_string(rows) + "): " + std::strerror(errno));
    }
    if (got == 0) {
      throw IoError(prefix + "the file ends at byte " + std::to_string(offset) + ", in row " +
                    std::to_string(row(offset) + 1) + " of " + std::to_string(rows) +
                    ": it was cut short after it was opened");
    }
    to += got;
    offset += static_cast<std::uintmax_t>(got);
    bytes -= static_cast<std::size_t>(got);
  }
}

// count elements of Src at offset, converted into to[0], to[step], ...: staged a chunk at a time
// in chunk (sized on first use, then reused by every span of a read: a Fortran-order file
// reads a span per column).
template <class T, class Src>
void read_converted(int fd, T* to, std::size_t step, std::size_t count, std::uintmax_t offset,
                    const std::string& prefix,
                    const std::function<std::size_t(std::uintmax_t)>& row, std::size_t rows,
                    std::vector<Src>& chunk) {
  if (std::is_same_v<T, Src> && step == 1) {
    read_exactly(fd, reinterpret_cast<char*>(to), count * sizeof(T), offset, prefix, row, rows);
    return;
  }
  if (chunk.size() < std::min(count, kChunkElements)) chunk.resize(std::min(count, kChunkElements));
  for (std::size_t done = 0; done < count;) {
    const std::size_t n = std::min(count - done, chunk.size());
    read_exactly(fd, reinterpret_cast<char*>(chunk.data()), n * sizeof(Src),
                 offset + done * sizeof(Src), prefix, row, rows);
    for (std::size_t k = 0; k < n; ++k)
      to[(done + k) * step] = static_cast<T>(chunk[k]);  // read_npy's conversion
    done += n;
  }
}

}  // namespace

template <class T>
void NpyRowReader<T>::read(std::size_t first, MatrixView<T> to) const {
  if (to.cols() != cols_ || first > rows_ || to.rows() > rows_ - first) {
    throw ShapeError("NpyRowReader: rows " + std::to_string(first) + " ... " +
                     std::to_string(first + to.rows()) + " x " + std::to_string(to.cols()) +
                     " asked of " + path_ + ", which is " + shape_string(rows_, cols_));
  }
  const std::string prefix = prefix_of(path_);
  const std::uintmax_t row_bytes = cols_ * item_, column_bytes = rows_ * item_;
  // The row an offset in the data falls in, for the messages.
  const auto row = [&](std::uintmax_t offset) -> std::size_t {
    const std::uintmax_t at = offset - data_offset_;
    return static_cast<std::size_t>(fortran_order_ ? at % column_bytes / item_ : at / row_bytes);
  };
  std::vector<float> float_chunk;
  std::vector<double> double_chunk;
  const auto span = [&](T* out, std::size_t step, std::size_t count, std::uintmax_t offset) {
    if (item_ == 4) {
      read_converted<T, float>(fd_, out, step, count, offset, prefix, row, rows_, float_chunk);
    } else {
      read_converted<T, double>(fd_, out, step, count, offset, prefix, row, rows_, double_chunk);
    }
  };
  if (to.rows() == 0) return;
  if (fortran_order_) {  // column j of the rows: contiguous in the file, a stride apart in to
    for (std::size_t j = 0; j < cols_; ++j)
      span(to.row(0) + j, to.ld(), to.rows(), data_offset_ + j * column_bytes + first * item_);
    return;
  }
  if (to.ld() == cols_) {  // contiguous: one read
    span(to.data(), 1, to.rows() * cols_, data_offset_ + first * row_bytes);
    return;
  }
  for (std::size_t i = 0; i < to.rows(); ++i)
    span(to.row(i), 1, cols_, data_offset_ + (first + i) * row_bytes);
}

template class NpyRowReader<float>;
template class NpyRowReader<double>;

}  // namespace nobias
