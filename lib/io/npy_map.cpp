// .npy rows mapped in place (NpyRows, map_npy): the inputs of a pass that only reads them.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <type_traits>
#include <utility>

#include "io/npy_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"

namespace nobias {

namespace {
constexpr bool kLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}  // namespace

template <class T>
NpyRows<T>::NpyRows(Matrix<T> rows) : owned_(std::move(rows)), view_(owned_.view()) {}

template <class T>
NpyRows<T>::NpyRows(NpyRows&& other) noexcept
    : owned_(std::move(other.owned_)),
      map_(std::exchange(other.map_, nullptr)),
      map_bytes_(std::exchange(other.map_bytes_, 0)),
      view_(std::exchange(other.view_, MatrixView<const T>())) {}

template <class T>
NpyRows<T>& NpyRows<T>::operator=(NpyRows&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) ::munmap(map_, map_bytes_);
    owned_ = std::move(other.owned_);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    view_ = std::exchange(other.view_, MatrixView<const T>());
  }
  return *this;
}

template <class T>
NpyRows<T>::~NpyRows() {
  if (map_ != nullptr) ::munmap(map_, map_bytes_);
}

template <class T>
void NpyRows<T>::drop_rows(std::size_t first, std::size_t count) {
  if (map_ == nullptr || count == 0) return;
  first = std::min(first, rows());
  count = std::min(count, rows() - first);
  const auto start = reinterpret_cast<std::uintptr_t>(view_.row(first));
  const std::uintptr_t end = start + count * view_.cols() * sizeof(T);
  // Whole pages only: a page shared with rows before or after may still be read.
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const std::uintptr_t from = (start + page - 1) / page * page, to = end / page * page;
  // Advice: a failure changes nothing but memory use.
  if (from < to) ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED);
}

namespace {

detail::NpyHeader header_of(const std::string& path, const std::string& prefix,
                            std::uintmax_t file_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(prefix + "cannot open the file for reading");
  return detail::read_npy_header(in, file_size, prefix);
}

template <class T>
bool mappable(const detail::NpyHeader& h) {
  const char* own_dtype = std::is_same_v<T, float> ? "<f4" : "<f8";
  return kLittleEndian && h.descr_is_string && h.descr == own_dtype && !h.fortran_order &&
         h.shape.size() == 2 && h.shape[0] > 0 && h.shape[1] > 0 && h.data_offset % alignof(T) == 0;
}

}  // namespace

template <class T>
bool npy_maps_in_place(const std::string& path) {
  const std::string prefix = "read_npy: " + path + ": ";
  return mappable<T>(header_of(path, prefix, detail::npy_file_size(path, prefix)));
}

template <class T>
NpyRows<T> map_npy(const std::string& path) {
  const std::string prefix = "read_npy: " + path + ": ";
  const std::uintmax_t file_size = detail::npy_file_size(path, prefix);
  const detail::NpyHeader h = header_of(path, prefix, file_size);
  if (!mappable<T>(h)) return NpyRows<T>(read_npy<T>(path));  // read_npy's conversions, refusals
  detail::check_npy_data_size(h, sizeof(T), file_size, prefix);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(prefix + "cannot open the file for reading: " + std::strerror(errno));
  const std::size_t bytes = static_cast<std::size_t>(file_size);
  // No MAP_POPULATE: it would read the whole file now (for a file larger than memory, a wasted
  // pass) and hold all of it in this process; read as touched, the pages a pass is done with can
  // leave it (drop_rows). nobias-predict on 100,000 x 784 float32 rows in the page cache ran as
  // fast either way, within a loaded machine's noise. No MADV_SEQUENTIAL either: a shuffled
  // epoch reads rows in any order.
  void* map = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file
  // A file system that cannot map (some FUSE and network mounts), or no address space left:
  // read it as read_npy does, a copy in memory.
  if (map == MAP_FAILED) return NpyRows<T>(read_npy<T>(path));
  NpyRows<T> rows;
  rows.map_ = map;
  rows.map_bytes_ = bytes;
  rows.view_ =
      MatrixView<const T>(reinterpret_cast<const T*>(static_cast<const char*>(map) + h.data_offset),
                          h.shape[0], h.shape[1]);
  return rows;
}

template bool npy_maps_in_place<float>(const std::string&);
template bool npy_maps_in_place<double>(const std::string&);
template class NpyRows<float>;
template class NpyRows<double>;
template NpyRows<float> map_npy<float>(const std::string&);
template NpyRows<double> map_npy<double>(const std::string&);

}  // namespace nobias
