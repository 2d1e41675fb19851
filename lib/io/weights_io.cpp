#include "nobias/weights_io.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "io/file_set.hpp"
#include "io/weights_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"

namespace nobias {
namespace {

namespace fs = std::filesystem;

std::string weight_name(std::size_t k) {
  return "w" + std::to_string(k) + ".npy";
}

template <class T>
void check_chain(const std::vector<Matrix<T>>& weights) {
  if (weights.empty()) throw ValueError("save_weights: no weight matrices to save");
  for (std::size_t k = 1; k < weights.size(); ++k) {
    if (weights[k].rows() != weights[k - 1].cols()) {
      throw ShapeError("save_weights: " + weight_name(k + 1) + " is " +
                       shape_string(weights[k].rows(), weights[k].cols()) + " but " +
                       weight_name(k) + " is " +
                       shape_string(weights[k - 1].rows(), weights[k - 1].cols()) +
                       ": rows must equal the previous layer's columns");
    }
  }
}

}  // namespace

bool looks_like_weight_file(const std::string& name) {
  constexpr std::size_t kExtra = 5;  // "w" and ".npy"
  if (name.size() <= kExtra || name.front() != 'w') return false;
  if (name.compare(name.size() - 4, 4, ".npy") != 0) return false;
  return std::all_of(name.begin() + 1, name.end() - 4, [](char c) { return c >= '0' && c <= '9'; });
}

bool is_model_file_name(const std::string& name) {
  return looks_like_weight_file(name) || name == "model.json" || name == "x_mean.npy" ||
         name == "x_scale.npy" || name == "y_mean.npy" || name == "y_scale.npy";
}

template <class T>
StagedFileSet stage_weights(const std::string& dir, const std::vector<Matrix<T>>& weights) {
  // Check the whole chain first: a set that load_weights would reject is not worth writing.
  check_chain(weights);
  std::vector<FileSetEntry> files;
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const Matrix<T>& w = weights[k];
    files.push_back(
        {weight_name(k + 1), [&w](std::ostream& out) { write_npy_stream<T>(out, w.view()); }});
  }
  // Bare weights over a model nobias saved would leave its model.json and statistics
  // describing another network (or dropped): refused, checked under the save's lock. A
  // model.json that no manifest of nobias's lists is the user's own file, and stays theirs.
  const auto not_a_model = [&dir] {
    std::error_code ec;
    if (!fs::exists(fs::path(dir) / "model.json", ec)) return;
    const FileSetReader previous(dir, "save_weights");
    if (!previous.has_manifest() || previous.in_set("model.json")) {
      throw IoError("save_weights: " + dir +
                    ": holds a model (model.json): weights saved alone would not match its "
                    "metadata and standardization statistics; save the whole model with "
                    "save_model, or choose another directory");
    }
  };
  return stage_file_set(dir, files, is_model_file_name, "save_weights", not_a_model);
}

template <class T>
void save_weights(const std::string& dir, const std::vector<Matrix<T>>& weights) {
  stage_weights<T>(dir, weights).commit();
}

template <class T>
std::vector<Matrix<T>> load_weights(const std::string& dir) {
  return load_weights<T>(FileSetReader(dir, "load_weights"));
}

template <class T>
std::vector<Matrix<T>> load_weights(const FileSetReader& reader) {
  const std::string& dir = reader.directory();
  // Shorter first, so that w4.npy sorts before w10.npy and the error names the nearest.
  const auto numeric_order = [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  };
  std::set<std::string, decltype(numeric_order)> names(numeric_order);
  if (reader.has_manifest()) {
    // The set is what the manifest lists; other files beside it are not the save's. A listed
    // file that is missing shows as a gap here, or in check_complete below.
    for (const std::string& name : reader.listed())
      if (looks_like_weight_file(name) && reader.exists(name)) names.insert(name);
  } else {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (looks_like_weight_file(name)) names.insert(std::move(name));
    }
    if (ec) throw IoError("load_weights: cannot list '" + dir + "' (" + ec.message() + ")");
  }

  std::size_t count = 0;
  while (names.count(weight_name(count + 1)) != 0)
    names.erase(weight_name(++count));
  if (count == 0) throw IoError("load_weights: " + dir + ": w1.npy is missing");
  for (const std::string& name : names) {
    // w0.npy and w01.npy name no layer: a stray file, not a gap.
    if (name[1] == '0') {
      throw IoError("load_weights: " + dir + ": unexpected " + name +
                    " (weights are w1.npy, w2.npy, ... numbered from 1, without leading zeros)");
    }
  }
  if (!names.empty()) {
    // What is left lies beyond the first gap.
    throw IoError("load_weights: " + dir + ": " + weight_name(count + 1) + " is missing but " +
                  *names.begin() + " exists (weights must be w1.npy, w2.npy, ... with no gaps)");
  }
  // Every file the last save wrote is there (and read() checks each one's bytes).
  reader.check_complete();

  std::vector<Matrix<T>> weights;
  weights.reserve(count);
  for (std::size_t k = 1; k <= count; ++k) {
    const std::string path = (fs::path(dir) / weight_name(k)).string();
    weights.push_back(read_npy_bytes<T>(reader.read(weight_name(k)), path));
    if (k > 1) {
      const Matrix<T>& prev = weights[k - 2];
      const Matrix<T>& cur = weights[k - 1];
      if (cur.rows() != prev.cols()) {
        throw ShapeError("load_weights: " + path + " is " + shape_string(cur.rows(), cur.cols()) +
                         " but " + (fs::path(dir) / weight_name(k - 1)).string() + " is " +
                         shape_string(prev.rows(), prev.cols()) +
                         ": rows must equal the previous layer's columns");
      }
    }
  }
  return weights;
}

#define NOBIAS_WEIGHTS_IO(T)                                                                  \
  template void save_weights<T>(const std::string&, const std::vector<Matrix<T>>&);           \
  template StagedFileSet stage_weights<T>(const std::string&, const std::vector<Matrix<T>>&); \
  template std::vector<Matrix<T>> load_weights<T>(const std::string&);                        \
  template std::vector<Matrix<T>> load_weights<T>(const FileSetReader&);
NOBIAS_WEIGHTS_IO(float)
NOBIAS_WEIGHTS_IO(double)
#undef NOBIAS_WEIGHTS_IO

}  // namespace nobias
