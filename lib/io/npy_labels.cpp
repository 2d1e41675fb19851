// .npy files beyond 2-D floats: what a file holds (inspect_npy), and class labels.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/printable.hpp"
#include "io/npy_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"

namespace nobias {
namespace {

using detail::NpyHeader;
using detail::printable;

struct DtypeEntry {
  const char* descr;
  NpyDtype dtype;
  std::size_t item_size;
};
// numpy writes '|u1' (byte order is moot for one byte); '<u1' is the same dtype.
constexpr DtypeEntry kDtypes[] = {{"<f4", NpyDtype::F32, 4}, {"<f8", NpyDtype::F64, 8},
                                  {"<i4", NpyDtype::I32, 4}, {"<i8", NpyDtype::I64, 8},
                                  {"|u1", NpyDtype::U8, 1},  {"<u1", NpyDtype::U8, 1}};

const DtypeEntry* find_dtype(const NpyHeader& h) {
  if (!h.descr_is_string) return nullptr;
  for (const DtypeEntry& entry : kDtypes)
    if (h.descr == entry.descr) return &entry;
  return nullptr;
}

std::string found_dtype(const NpyHeader& h) {
  return h.descr_is_string ? "'" + printable(h.descr) + "'"
                           : "structured dtype " + printable(h.descr_raw, 100);
}

// Reads count elements of Src and converts them to int64.
template <class Src>
void read_labels(std::istream& in, std::vector<std::int64_t>& out, const std::string& prefix) {
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  std::vector<Src> buffer(std::min(out.size(), kChunk));
  for (std::size_t done = 0; done < out.size();) {
    const std::size_t n = std::min(out.size() - done, buffer.size());
    in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(n * sizeof(Src)));
    if (!in) throw IoError(prefix + "read error in the data");
    for (std::size_t k = 0; k < n; ++k)
      out[done + k] = static_cast<std::int64_t>(buffer[k]);
    done += n;
  }
}

}  // namespace

const char* npy_dtype_name(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::F32:
      return "float32";
    case NpyDtype::F64:
      return "float64";
    case NpyDtype::I32:
      return "int32";
    case NpyDtype::I64:
      return "int64";
    case NpyDtype::U8:
      return "uint8";
  }
  return "?";
}

NpyInfo detail::inspect_npy_stream(std::istream& in, std::uintmax_t size,
                                   const std::string& prefix) {
  const NpyHeader h = read_npy_header(in, size, prefix);
  const DtypeEntry* dtype = find_dtype(h);
  if (dtype == nullptr) {
    throw IoError(prefix + "expected dtype '<f4', '<f8', '<i4', '<i8' or '|u1', found " +
                  found_dtype(h));
  }
  if (h.shape.size() != 1 && h.shape.size() != 2) {
    throw IoError(prefix + "expected a 1-D or 2-D array, found shape " + npy_shape_text(h.shape));
  }
  check_npy_data_size(h, dtype->item_size, size, prefix);
  NpyInfo info;
  info.dtype = dtype->dtype;
  info.shape = h.shape;
  info.fortran_order = h.fortran_order;
  return info;
}

std::vector<std::int64_t> detail::read_npy_labels_stream(std::istream& in, std::uintmax_t size,
                                                         const std::string& prefix) {
  const NpyHeader h = read_npy_header(in, size, prefix);
  const DtypeEntry* dtype = find_dtype(h);
  if (dtype == nullptr || dtype->dtype == NpyDtype::F32 || dtype->dtype == NpyDtype::F64) {
    std::string msg =
        prefix + "expected class labels of dtype '<i4', '<i8' or '|u1', found " + found_dtype(h);
    if (dtype != nullptr) msg += " (floats are targets, not labels)";
    throw IoError(msg);
  }
  const bool column = h.shape.size() == 1 || (h.shape.size() == 2 && h.shape[1] == 1);
  if (!column) {
    throw IoError(prefix + "expected class labels of shape (n,) or (n, 1), found shape " +
                  npy_shape_text(h.shape));
  }
  check_npy_data_size(h, dtype->item_size, size, prefix);
  // (n,) and (n, 1) hold their elements in the same order in C and in Fortran order.
  std::vector<std::int64_t> labels(h.shape[0]);
  switch (dtype->dtype) {
    case NpyDtype::I32:
      read_labels<std::int32_t>(in, labels, prefix);
      break;
    case NpyDtype::I64:
      read_labels<std::int64_t>(in, labels, prefix);
      break;
    default:
      read_labels<std::uint8_t>(in, labels, prefix);
      break;
  }
  return labels;
}

NpyInfo inspect_npy(const std::string& path) {
  const std::string prefix = "inspect_npy: " + path + ": ";
  const std::uintmax_t size = detail::npy_file_size(path, prefix);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(prefix + "cannot open the file for reading");
  return detail::inspect_npy_stream(in, size, prefix);
}

std::vector<std::int64_t> read_npy_labels(const std::string& path) {
  const std::string prefix = "read_npy_labels: " + path + ": ";
  const std::uintmax_t size = detail::npy_file_size(path, prefix);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(prefix + "cannot open the file for reading");
  return detail::read_npy_labels_stream(in, size, prefix);
}

}  // namespace nobias
