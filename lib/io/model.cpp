// Model directories: model.json (read and written with nlohmann::json), the weights and the
// standardization statistics, saved as one atomic set (io/file_set.hpp).
#include "nobias/model.hpp"

#include <filesystem>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/file_set.hpp"
#include "io/npy_reader.hpp"
#include "io/weights_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"

#ifndef NOBIAS_VERSION
#error "lib/CMakeLists.txt defines NOBIAS_VERSION"
#endif

namespace nobias {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kFormat = "nobias-model";
// The statistics' names in model.json and their files, in one order.
constexpr const char* kStatistics[] = {"x_mean", "x_scale", "y_mean", "y_scale"};

std::vector<double>* statistic(Standardization& s, std::size_t k) {
  std::vector<double>* all[] = {&s.x_mean, &s.x_scale, &s.y_mean, &s.y_scale};
  return all[k];
}

std::string widths_text(const std::vector<std::size_t>& widths) {
  std::string text;
  for (std::size_t k = 0; k < widths.size(); ++k)
    text += (k > 0 ? "," : "") + std::to_string(widths[k]);
  return text;
}

template <class T>
void check_info(const Network<T>& net, const ModelInfo& info) {
  if (info.classes != 0 && info.classes != net.output_width()) {
    throw ValueError("save_model: classes is " + std::to_string(info.classes) +
                     " but the network has " + std::to_string(net.output_width()) +
                     " outputs (0 for a regression)");
  }
  if (info.classes != 0 && info.standardization.has_y()) {
    throw ValueError("save_model: a classifier's targets are one-hot, never standardized");
  }
  check_standardization(info.standardization, net.input_width(), net.output_width(), "save_model");
}

std::string metadata_text(const ModelInfo& info, Dtype dtype,
                          const std::vector<std::size_t>& widths) {
  json j;
  j["format"] = kFormat;
  j["format_version"] = kModelFormatVersion;
  j["nobias_version"] = nobias_version();
  j["dtype"] = to_name(dtype);
  j["widths"] = widths;
  j["classes"] = info.classes;
  json stats = json::object();
  Standardization s = info.standardization;
  for (std::size_t k = 0; k < 4; ++k)
    if (!statistic(s, k)->empty()) stats[kStatistics[k]] = std::string(kStatistics[k]) + ".npy";
  j["standardization"] = stats;
  j["settings"] = info.settings;
  // Settings are the caller's text: bytes that are not UTF-8 become U+FFFD, never an error.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

[[noreturn]] void bad(const std::string& who, const std::string& dir, const std::string& what) {
  throw IoError(who + ": " + dir + ": " + what);
}

// model.json's fields, checked for type and range (not yet against the files).
ModelInfo parse_metadata(const std::string& text, const std::string& who, const std::string& dir,
                         std::map<std::string, std::string>& statistic_files) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(who, dir, std::string("model.json is not valid JSON: ") + e.what());
  }
  const auto field = [&](const char* key) -> const json& {
    if (!j.is_object() || !j.contains(key))
      bad(who, dir, std::string("model.json has no \"") + key + "\"");
    return j.at(key);
  };
  const auto wrong = [&](const char* key, const char* expected) {
    bad(who, dir,
        std::string("model.json: \"") + key + "\" must be " + expected + ", found " +
            j.at(key).dump(-1, ' ', true, json::error_handler_t::replace).substr(0, 80));
  };
  if (!field("format").is_string() || field("format").get<std::string>() != kFormat)
    wrong("format", "\"nobias-model\"");
  const json& version = field("format_version");
  if (!version.is_number_integer() || version.get<long long>() < 1)
    wrong("format_version", "an integer >= 1");
  if (version.get<long long>() > kModelFormatVersion) {
    bad(who, dir,
        "model.json has format_version " + version.dump() + "; this nobias (" + nobias_version() +
            ") reads up to " + std::to_string(kModelFormatVersion));
  }
  ModelInfo info;
  info.has_metadata = true;
  info.format_version = version.get<int>();
  if (!field("nobias_version").is_string()) wrong("nobias_version", "a string");
  info.nobias_version = j.at("nobias_version").get<std::string>();
  const std::optional<Dtype> dtype = field("dtype").is_string()
                                         ? from_name<Dtype>(j.at("dtype").get<std::string>())
                                         : std::nullopt;
  if (!dtype) wrong("dtype", "\"f32\" or \"f64\"");
  info.dtype = *dtype;
  const json& widths = field("widths");
  if (!widths.is_array() || widths.size() < 2) wrong("widths", "a list of at least two widths");
  for (const json& w : widths) {
    if (!w.is_number_unsigned() || w.get<std::uint64_t>() == 0)
      wrong("widths", "a list of integers >= 1");
    info.widths.push_back(w.get<std::size_t>());
  }
  if (!field("classes").is_number_unsigned()) wrong("classes", "an integer >= 0");
  info.classes = j.at("classes").get<std::size_t>();
  const json& stats = field("standardization");
  if (!stats.is_object()) wrong("standardization", "an object");
  for (auto it = stats.begin(); it != stats.end(); ++it) {
    bool known = false;
    for (const char* name : kStatistics)
      known = known || it.key() == name;
    if (!known || !it.value().is_string() || it.value().get<std::string>() != it.key() + ".npy") {
      wrong("standardization",
            "an object of x_mean, x_scale, y_mean, y_scale naming their .npy files");
    }
    statistic_files[it.key()] = it.value().get<std::string>();
  }
  const json& settings = field("settings");
  if (!settings.is_object()) wrong("settings", "an object of strings");
  for (auto it = settings.begin(); it != settings.end(); ++it) {
    if (!it.value().is_string()) wrong("settings", "an object of strings");
    info.settings[it.key()] = it.value().get<std::string>();
  }
  return info;
}

// The dtype and shape of dir/name, from its header alone.
NpyInfo header_of(const FileSetReader& reader, const std::string& name) {
  return inspect_npy((fs::path(reader.directory()) / name).string());
}

// Widths and dtype of the weight files, checked against what model.json says.
void check_weights_match(const ModelInfo& info, const std::vector<std::size_t>& widths,
                         const NpyInfo& w1, const std::string& who, const std::string& dir) {
  if (info.widths != widths) {
    bad(who, dir,
        "model.json says widths " + widths_text(info.widths) + " but the weights are " +
            widths_text(widths));
  }
  const Dtype files = w1.dtype == NpyDtype::F64 ? Dtype::F64 : Dtype::F32;
  if (files != info.dtype) {
    bad(who, dir,
        std::string("model.json says dtype ") + to_name(info.dtype) + " but w1.npy is " +
            npy_dtype_name(w1.dtype));
  }
  if (info.classes != 0 && info.classes != widths.back()) {
    bad(who, dir,
        "model.json says " + std::to_string(info.classes) + " classes but the network has " +
            std::to_string(widths.back()) + " outputs");
  }
}

Standardization read_statistics(const FileSetReader& reader,
                                const std::map<std::string, std::string>& files,
                                const ModelInfo& info, const std::string& who) {
  Standardization s;
  for (std::size_t k = 0; k < 4; ++k) {
    const auto it = files.find(kStatistics[k]);
    if (it == files.end()) continue;
    if (!reader.exists(it->second)) {
      bad(who, reader.directory(), "model.json names " + it->second + ", which is missing");
    }
    const std::string path = (fs::path(reader.directory()) / it->second).string();
    const Matrix<double> m = read_npy_bytes<double>(reader.read(it->second), path);
    if (m.rows() != 1) {
      bad(who, reader.directory(),
          it->second + " is " + shape_string(m.rows(), m.cols()) + ", expected one row");
    }
    statistic(s, k)->assign(m.data(), m.data() + m.cols());
  }
  try {
    check_standardization(s, info.widths.front(), info.widths.back(), "model.json");
  } catch (const ValueError& e) {
    bad(who, reader.directory(), e.what());
  }
  if (info.classes != 0 && s.has_y())
    bad(who, reader.directory(), "a classifier (classes > 0) with y statistics");
  return s;
}

}  // namespace

const char* nobias_version() {
  return NOBIAS_VERSION;
}

template <class T>
Matrix<T> predict_with(const Network<T>& net, const Standardization& s, MatrixView<const T> x) {
  Matrix<T> p;
  if (s.has_x()) {
    Matrix<T> standardized = Matrix<T>::copy_of(x);
    standardize_x<T>(s, standardized.view());
    p = net.predict(standardized.view());
  } else {
    p = net.predict(x);
  }
  unstandardize_y<T>(s, p.view());
  return p;
}

template <class T>
Matrix<T> Model<T>::predict(MatrixView<const T> x) const {
  return predict_with<T>(network, info.standardization, x);
}

template <class T>
StagedFileSet stage_model(const std::string& dir, const Network<T>& net, const ModelInfo& info) {
  check_info(net, info);
  const std::string metadata = metadata_text(info, dtype_of<T>(), net.widths());
  std::vector<FileSetEntry> files;
  for (std::size_t k = 0; k < net.layers(); ++k) {
    const Matrix<T>& w = net.weights()[k];
    files.push_back({"w" + std::to_string(k + 1) + ".npy",
                     [&w](std::ostream& out) { write_npy_stream<T>(out, w.view()); }});
  }
  Standardization s = info.standardization;
  for (std::size_t k = 0; k < 4; ++k) {
    const std::vector<double>& values = *statistic(s, k);
    if (values.empty()) continue;
    files.push_back({std::string(kStatistics[k]) + ".npy", [&values](std::ostream& out) {
                       write_npy_stream<double>(
                           out, MatrixView<const double>(values.data(), 1, values.size()));
                     }});
  }
  files.push_back({kModelMetadataName, [&](std::ostream& out) { out << metadata; }});
  return stage_file_set(dir, files, is_model_file_name, "save_model", {});
}

template <class T>
void save_model(const std::string& dir, const Network<T>& net, const ModelInfo& info) {
  stage_model<T>(dir, net, info).commit();
}

ModelInfo read_model_info(const std::string& dir) {
  const std::string who = "read_model_info";
  const FileSetReader reader(dir, who);
  std::vector<std::size_t> widths;
  // Widths from the weight files' headers, chained as load_weights checks them.
  for (std::size_t k = 1; reader.in_set("w" + std::to_string(k) + ".npy"); ++k) {
    const NpyInfo h = header_of(reader, "w" + std::to_string(k) + ".npy");
    if (h.shape.size() != 2 || h.is_integer())
      bad(who, dir, "w" + std::to_string(k) + ".npy is not a 2-D float array");
    if (k == 1) widths.push_back(h.shape[0]);
    if (h.shape[0] != widths.back())
      bad(who, dir, "w" + std::to_string(k) + ".npy does not chain with the layer before");
    widths.push_back(h.shape[1]);
  }
  if (widths.empty()) bad(who, dir, "w1.npy is missing");
  const NpyInfo w1 = header_of(reader, "w1.npy");
  if (!reader.in_set(kModelMetadataName)) {
    ModelInfo info;
    info.widths = widths;
    info.dtype = w1.dtype == NpyDtype::F64 ? Dtype::F64 : Dtype::F32;
    return info;
  }
  std::map<std::string, std::string> files;
  ModelInfo info = parse_metadata(reader.read(kModelMetadataName), who, dir, files);
  check_weights_match(info, widths, w1, who, dir);
  info.standardization = read_statistics(reader, files, info, who);
  return info;
}

template <class T>
Model<T> load_model(const std::string& dir) {
  const std::string who = "load_model";
  const FileSetReader reader(dir, who);
  std::vector<Matrix<T>> weights = load_weights<T>(reader);
  reader.check_complete();
  std::vector<std::size_t> widths{weights.front().rows()};
  for (const Matrix<T>& w : weights)
    widths.push_back(w.cols());
  const NpyInfo w1 = header_of(reader, "w1.npy");
  ModelInfo info;
  if (reader.in_set(kModelMetadataName)) {
    std::map<std::string, std::string> files;
    info = parse_metadata(reader.read(kModelMetadataName), who, dir, files);
    check_weights_match(info, widths, w1, who, dir);
    info.standardization = read_statistics(reader, files, info, who);
  } else {
    info.widths = widths;
    info.dtype = w1.dtype == NpyDtype::F64 ? Dtype::F64 : Dtype::F32;
  }
  try {
    return Model<T>{Network<T>(std::move(weights)), std::move(info)};
  } catch (const ValueError& e) {
    bad(who, dir, e.what());  // a NaN in a weight file: corruption, not a bad argument
  }
}

#define NOBIAS_MODEL(T)                                                                           \
  template struct Model<T>;                                                                       \
  template Matrix<T> predict_with<T>(const Network<T>&, const Standardization&,                   \
                                     MatrixView<const T>);                                        \
  template StagedFileSet stage_model<T>(const std::string&, const Network<T>&, const ModelInfo&); \
  template void save_model<T>(const std::string&, const Network<T>&, const ModelInfo&);           \
  template Model<T> load_model<T>(const std::string&);
NOBIAS_MODEL(float)
NOBIAS_MODEL(double)
#undef NOBIAS_MODEL

}  // namespace nobias
