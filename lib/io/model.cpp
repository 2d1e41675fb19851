// Model directories: model.json (read and written with nlohmann::json), the weights and the
// standardization statistics, saved as one atomic set (io/file_set.hpp).
#include "nobias/model.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <sstream>
#include <system_error>
#include <utility>

#include "io/file_set.hpp"
#include "io/model_metadata.hpp"
#include "io/npy_reader.hpp"
#include "io/weights_reader.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"
#include "nobias/npy.hpp"
#include "nobias/weights_io.hpp"

#ifndef NOBIAS_VERSION
#error "lib/CMakeLists.txt defines NOBIAS_VERSION"
#endif

namespace nobias {
namespace {

namespace fs = std::filesystem;
using detail::bad_model;
using detail::kStatistics;
using detail::metadata_text;
using detail::parse_metadata;
using detail::statistic;

std::string widths_text(const std::vector<std::size_t>& widths) {
  std::string text;
  for (std::size_t k = 0; k < widths.size(); ++k)
    text += (k > 0 ? "," : "") + std::to_string(widths[k]);
  return text;
}

// The dtype and shape of dir/name, from its header alone.
NpyInfo header_of(const FileSetReader& reader, const std::string& name) {
  return inspect_npy((fs::path(reader.directory()) / name).string());
}

std::string weight_name(std::size_t k) {
  return "w" + std::to_string(k) + ".npy";
}

Dtype file_dtype(const NpyInfo& h) {
  return h.dtype == NpyDtype::F64 ? Dtype::F64 : Dtype::F32;
}

// The headers of w1.npy ... up to the first that is not in the set, each a 2-D float array
// whose rows are the previous one's columns.
std::vector<NpyInfo> weight_headers(const FileSetReader& reader, const std::string& who) {
  std::vector<NpyInfo> headers;
  for (std::size_t k = 1; reader.in_set(weight_name(k)); ++k) {
    NpyInfo h = header_of(reader, weight_name(k));
    if (h.shape.size() != 2 || h.is_integer()) {
      bad_model(who, reader.directory(),
                weight_name(k) + " is " + npy_dtype_name(h.dtype) + " of shape " +
                    detail::npy_shape_text(h.shape) + ", expected a 2-D float32 or float64 array");
    }
    if (k > 1 && h.shape[0] != headers.back().shape[1]) {
      const NpyInfo& prev = headers.back();
      bad_model(who, reader.directory(),
                weight_name(k) + " is " + shape_string(h.shape[0], h.shape[1]) + " but " +
                    weight_name(k - 1) + " is " + shape_string(prev.shape[0], prev.shape[1]) +
                    ": rows must equal the previous layer's columns");
    }
    headers.push_back(std::move(h));
  }
  if (headers.empty()) bad_model(who, reader.directory(), "w1.npy is missing");
  return headers;
}

// Without model.json, the weights' own dtype: float64 if any file is, so that a tool computing
// in it loses none of their precision.
Dtype bare_dtype(const std::vector<NpyInfo>& headers) {
  for (const NpyInfo& h : headers)
    if (file_dtype(h) == Dtype::F64) return Dtype::F64;
  return Dtype::F32;
}

// Widths and dtype of the weight files, checked against what model.json says: every file, not
// only w1.npy, since a loader converts each to one T and would hide a stray float64 layer.
void check_weights_match(const ModelInfo& info, const std::vector<NpyInfo>& headers,
                         const std::string& who, const std::string& dir) {
  std::vector<std::size_t> widths{headers.front().shape[0]};
  for (const NpyInfo& h : headers)
    widths.push_back(h.shape[1]);
  if (info.widths != widths) {
    bad_model(who, dir,
              "model.json says widths " + widths_text(info.widths) + " but the weights are " +
                  widths_text(widths));
  }
  for (std::size_t k = 0; k < headers.size(); ++k) {
    if (file_dtype(headers[k]) != info.dtype) {
      bad_model(who, dir,
                std::string("model.json says dtype ") + to_name(info.dtype) + " but " +
                    weight_name(k + 1) + " is " + npy_dtype_name(headers[k].dtype));
    }
  }
  if (info.classes != 0 && info.classes != widths.back()) {
    bad_model(who, dir,
              "model.json says " + std::to_string(info.classes) + " classes but the network has " +
                  std::to_string(widths.back()) + " outputs");
  }
}

// The weight files of a model whose model.json gives its widths: w1.npy..wK.npy for its K
// layers, each in the set, and beside them no other w<N>.npy unless a manifest says which files
// are the save's. Without one, a w4.npy left beside a 3-layer model was read as a fourth layer
// and reported as "model.json says widths 3,100,100,1 but the weights are 3,100,100,1,1", or
// as "w4.npy is 5x5 but w3.npy is 100x1": now it is named as what it is, a file the model does
// not have. Before any weight is read.
void check_weight_files(const FileSetReader& reader, const ModelInfo& info,
                        const std::string& who) {
  const std::size_t layers = info.widths.size() - 1;
  const std::string expected = "model.json says " + counted(layers, "layer") + " (widths " +
                               widths_text(info.widths) + "), in " +
                               (layers == 1 ? "w1.npy" : "w1.npy.." + weight_name(layers));
  for (std::size_t k = 1; k <= layers; ++k) {
    if (!reader.in_set(weight_name(k))) {
      bad_model(who, reader.directory(),
                expected + ", but " + weight_name(k) +
                    (reader.has_manifest() ? std::string(" is not in ") + kManifestName
                                           : std::string(" is missing")));
    }
  }
  // With a manifest, a file it does not list is not the save's: ignored, as load_weights does.
  if (reader.has_manifest()) return;
  std::vector<std::string> stray;
  std::error_code ec;
  for (fs::directory_iterator it(reader.directory(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!looks_like_weight_file(name)) continue;
    bool layer = false;
    for (std::size_t k = 1; k <= layers && !layer; ++k)
      layer = name == weight_name(k);
    if (!layer) stray.push_back(name);
  }
  if (ec) bad_model(who, reader.directory(), "cannot list it (" + ec.message() + ")");
  if (stray.empty()) return;
  // Shorter first: w4.npy before w10.npy.
  std::sort(stray.begin(), stray.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  std::string names;
  for (const std::string& name : stray)
    names += (names.empty() ? "" : ", ") + name;
  const bool one = stray.size() == 1;
  bad_model(who, reader.directory(),
            expected + ", but " + names + (one ? " is" : " are") + " here too, and there is no " +
                kManifestName + " to say which files are the save's: " +
                (one ? "a file" : "files") + " left over from another model? Delete " +
                (one ? "it" : "them") + ", or keep each model in a directory of its own");
}

// A statistics file in the set that model.json does not name (or, without model.json, any):
// refused rather than ignored. Such a directory was put together by hand or left over from
// another model, and either reading of it (with the file, or without) could be the wrong one.
void check_no_stray_statistics(const FileSetReader& reader,
                               const std::map<std::string, std::string>* named,
                               const std::string& who) {
  std::string stray, names;
  std::size_t count = 0;
  for (const char* statistic : kStatistics) {
    const std::string file = std::string(statistic) + ".npy";
    if (named != nullptr && named->count(statistic) != 0) {
      names += (names.empty() ? "" : ", ") + file;
    } else if (reader.in_set(file)) {
      stray += (stray.empty() ? "" : ", ") + file;
      ++count;
    }
  }
  if (count == 0) return;
  const std::string is = count == 1 ? " is" : " are", it = count == 1 ? "it" : "them";
  if (named == nullptr) {
    bad_model(who, reader.directory(),
              stray + is + " here but there is no model.json to say how the weights use " + it +
                  ": bare weights are not standardized; delete " + it +
                  ", or save the model with its statistics (save_model)");
  }
  bad_model(
      who, reader.directory(),
      stray + is + " here but model.json's \"standardization\" names " +
          (names.empty() ? std::string("none (the model was trained unstandardized)") : names) +
          "; delete " + it + ", or name " + it + " in model.json");
}

Standardization read_statistics(const FileSetReader& reader,
                                const std::map<std::string, std::string>& files,
                                const ModelInfo& info, const std::string& who) {
  Standardization s;
  for (std::size_t k = 0; k < 4; ++k) {
    const auto it = files.find(kStatistics[k]);
    if (it == files.end()) continue;
    if (!reader.exists(it->second)) {
      bad_model(who, reader.directory(), "model.json names " + it->second + ", which is missing");
    }
    const std::string path = (fs::path(reader.directory()) / it->second).string();
    const Matrix<double> m = read_npy_bytes<double>(reader.read(it->second), path);
    if (m.rows() != 1) {
      bad_model(who, reader.directory(),
                it->second + " is " + shape_string(m.rows(), m.cols()) + ", expected one row");
    }
    statistic(s, k)->assign(m.data(), m.data() + m.cols());
  }
  try {
    check_standardization(s, info.widths.front(), info.widths.back(), "model.json");
  } catch (const ValueError& e) {
    bad_model(who, reader.directory(), e.what());
  }
  if (info.classes != 0 && s.has_y())
    bad_model(who, reader.directory(), "a classifier (classes > 0) with y statistics");
  return s;
}

}  // namespace

const char* nobias_version() {
  return NOBIAS_VERSION;
}

template <class T>
StagedFileSet stage_model(const std::string& dir, const Network<T>& net, const ModelInfo& info) {
  check_model_info(net, info, "save_model");
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
  if (!reader.in_set(kModelMetadataName)) {
    const std::vector<NpyInfo> headers = weight_headers(reader, who);
    check_no_stray_statistics(reader, nullptr, who);
    ModelInfo info;
    info.widths = {headers.front().shape[0]};
    for (const NpyInfo& h : headers)
      info.widths.push_back(h.shape[1]);
    info.dtype = bare_dtype(headers);
    return info;
  }
  std::map<std::string, std::string> files;
  ModelInfo info = parse_metadata(reader.read(kModelMetadataName), who, dir, files);
  check_weight_files(reader, info, who);
  check_weights_match(info, weight_headers(reader, who), who, dir);
  check_no_stray_statistics(reader, &files, who);
  info.standardization = read_statistics(reader, files, info, who);
  return info;
}

template <class T>
Model<T> load_model(const std::string& dir) {
  const std::string who = "load_model";
  const FileSetReader reader(dir, who);
  // model.json first: it says which weight files there are, before load_weights reads them.
  ModelInfo info;
  std::map<std::string, std::string> files;
  const bool metadata = reader.in_set(kModelMetadataName);
  if (metadata) {
    info = parse_metadata(reader.read(kModelMetadataName), who, dir, files);
    check_weight_files(reader, info, who);
  }
  std::vector<Matrix<T>> weights = load_weights<T>(reader);
  reader.check_complete();
  std::vector<std::size_t> widths{weights.front().rows()};
  for (const Matrix<T>& w : weights)
    widths.push_back(w.cols());
  const std::vector<NpyInfo> headers = weight_headers(reader, who);
  if (metadata) {
    check_weights_match(info, headers, who, dir);
    check_no_stray_statistics(reader, &files, who);
    info.standardization = read_statistics(reader, files, info, who);
  } else {
    check_no_stray_statistics(reader, nullptr, who);
    info.widths = widths;
    info.dtype = bare_dtype(headers);
  }
  try {
    return Model<T>{Network<T>(std::move(weights)), std::move(info)};
  } catch (const ValueError& e) {
    bad_model(who, dir, e.what());  // a NaN in a weight file: corruption, not a bad argument
  }
}

template <class T>
void check_model_info(const Network<T>& net, const ModelInfo& info, const std::string& who) {
  if (info.classes != 0 && info.classes != net.output_width()) {
    throw ValueError(who + ": classes is " + std::to_string(info.classes) +
                     " but the network has " + std::to_string(net.output_width()) +
                     " outputs (0 for a regression)");
  }
  if (const std::string problem = class_names_problem(info.class_names, info.classes);
      !problem.empty())
    throw ValueError(who + ": class_names " + problem);
  if (info.classes != 0 && info.standardization.has_y()) {
    throw ValueError(who + ": a classifier's targets are one-hot, never standardized");
  }
  check_standardization(info.standardization, net.input_width(), net.output_width(), who);
}

#define NOBIAS_MODEL(T)                                                                           \
  template void check_model_info<T>(const Network<T>&, const ModelInfo&, const std::string&);     \
  template StagedFileSet stage_model<T>(const std::string&, const Network<T>&, const ModelInfo&); \
  template void save_model<T>(const std::string&, const Network<T>&, const ModelInfo&);           \
  template Model<T> load_model<T>(const std::string&);
NOBIAS_MODEL(float)
NOBIAS_MODEL(double)
#undef NOBIAS_MODEL

}  // namespace nobias
