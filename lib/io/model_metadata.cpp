#include "io/model_metadata.hpp"

#include <nlohmann/json.hpp>

#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace nobias::detail {
namespace {

using json = nlohmann::json;

constexpr const char* kFormat = "nobias-model";

}  // namespace

std::vector<double>* statistic(Standardization& s, std::size_t k) {
  std::vector<double>* all[] = {&s.x_mean, &s.x_scale, &s.y_mean, &s.y_scale};
  return all[k];
}

[[noreturn]] void bad_model(const std::string& who, const std::string& dir,
                            const std::string& what) {
  throw IoError(who + ": " + dir + ": " + what);
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
  if (!info.class_names.empty()) j["class_names"] = info.class_names;
  json stats = json::object();
  Standardization s = info.standardization;
  for (std::size_t k = 0; k < 4; ++k)
    if (!statistic(s, k)->empty()) stats[kStatistics[k]] = std::string(kStatistics[k]) + ".npy";
  j["standardization"] = stats;
  j["settings"] = info.settings;
  // Settings are the caller's text: bytes that are not UTF-8 become U+FFFD, never an error.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

ModelInfo parse_metadata(const std::string& text, const std::string& who, const std::string& dir,
                         std::map<std::string, std::string>& statistic_files) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad_model(who, dir, std::string("model.json is not valid JSON: ") + e.what());
  }
  const auto field = [&](const char* key) -> const json& {
    if (!j.is_object() || !j.contains(key))
      bad_model(who, dir, std::string("model.json has no \"") + key + "\"");
    return j.at(key);
  };
  const auto wrong = [&](const char* key, const char* expected) {
    bad_model(who, dir,
              std::string("model.json: \"") + key + "\" must be " + expected + ", found " +
                  j.at(key).dump(-1, ' ', true, json::error_handler_t::replace).substr(0, 80));
  };
  if (!field("format").is_string() || field("format").get<std::string>() != kFormat)
    wrong("format", "\"nobias-model\"");
  const json& version = field("format_version");
  if (!version.is_number_integer() || version.get<long long>() < 1)
    wrong("format_version", "an integer >= 1");
  if (version.get<long long>() > kModelFormatVersion) {
    bad_model(who, dir,
              "model.json has format_version " + version.dump() + "; this nobias (" +
                  nobias_version() + ") reads up to " + std::to_string(kModelFormatVersion));
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
  if (j.contains("class_names")) {  // absent from files written before it, and when unnamed
    const json& names = j.at("class_names");
    const auto is_string = [](const json& name) { return name.is_string(); };
    if (!names.is_array() || !std::all_of(names.begin(), names.end(), is_string))
      wrong("class_names", "a list of strings");
    info.class_names = names.get<std::vector<std::string>>();
    const std::string problem = class_names_problem(info.class_names, info.classes);
    if (!problem.empty()) bad_model(who, dir, "model.json: \"class_names\" " + problem);
  }
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

}  // namespace nobias::detail
