// Internal: model.json, the metadata of a model directory (nobias/model.hpp): its text from a
// ModelInfo, and its fields read back and checked, with nlohmann::json.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "nobias/model.hpp"
#include "nobias/npy.hpp"

namespace nobias::detail {

// The statistics' names in model.json and their files, in one order.
inline constexpr const char* kStatistics[] = {"x_mean", "x_scale", "y_mean", "y_scale"};
// Statistic k of s, in kStatistics' order.
std::vector<double>* statistic(Standardization& s, std::size_t k);

// IoError "<who>: <dir>: <what>".
[[noreturn]] void bad_model(const std::string& who, const std::string& dir,
                            const std::string& what);

// model.json's text for a model of these widths and dtype.
std::string metadata_text(const ModelInfo& info, Dtype dtype,
                          const std::vector<std::size_t>& widths);

// model.json's fields, checked for type and range (not yet against the files); the statistics'
// files it names into statistic_files.
ModelInfo parse_metadata(const std::string& text, const std::string& who, const std::string& dir,
                         std::map<std::string, std::string>& statistic_files);

}  // namespace nobias::detail
