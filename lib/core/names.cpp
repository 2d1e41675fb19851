#include "nobias/names.hpp"

#include <charconv>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>

#include "core/printable.hpp"
#include "nobias/error.hpp"

namespace nobias {
namespace {

template <class E>
struct NameTable;

template <>
struct NameTable<OptimizerKind> {
  static constexpr const char* noun = "optimizer";
  static constexpr std::pair<OptimizerKind, const char*> entries[] = {
      {OptimizerKind::Sgd, "sgd"},
      {OptimizerKind::Momentum, "momentum"},
      {OptimizerKind::Adam, "adam"}};
};

template <>
struct NameTable<Reduction> {
  static constexpr const char* noun = "reduction";
  static constexpr std::pair<Reduction, const char*> entries[] = {{Reduction::Sum, "sum"},
                                                                  {Reduction::Mean, "mean"}};
};

template <>
struct NameTable<Init> {
  static constexpr const char* noun = "init";
  static constexpr std::pair<Init, const char*> entries[] = {{Init::StandardNormal, "normal"},
                                                             {Init::He, "he"},
                                                             {Init::LeCun, "lecun"},
                                                             {Init::Glorot, "glorot"},
                                                             {Init::HalfGlorot, "half_glorot"}};
};

template <>
struct NameTable<Dtype> {
  static constexpr const char* noun = "dtype";
  static constexpr std::pair<Dtype, const char*> entries[] = {{Dtype::F32, "f32"},
                                                              {Dtype::F64, "f64"}};
};

template <class E>
const char* name_in_table(E value) {
  for (const auto& entry : NameTable<E>::entries)
    if (entry.first == value) return entry.second;
  // Only a value cast from an integer outside the enum gets here.
  throw ValueError(std::string("to_name: not a valid ") + NameTable<E>::noun + " (" +
                   std::to_string(static_cast<long long>(value)) + ")");
}

}  // namespace

const char* to_name(OptimizerKind kind) {
  return name_in_table(kind);
}
const char* to_name(Reduction reduction) {
  return name_in_table(reduction);
}
const char* to_name(Init init) {
  return name_in_table(init);
}
const char* to_name(Dtype dtype) {
  return name_in_table(dtype);
}

template <class E>
std::optional<E> from_name(std::string_view name) {
  for (const auto& entry : NameTable<E>::entries)
    if (name == entry.second) return entry.first;
  return std::nullopt;
}

template <class E>
std::string accepted_names() {
  std::string names;
  for (const auto& entry : NameTable<E>::entries) {
    if (!names.empty()) names += ", ";
    names += entry.second;
  }
  return names;
}

template <class E>
std::vector<std::string> names_of() {
  std::vector<std::string> names;
  for (const auto& entry : NameTable<E>::entries)
    names.emplace_back(entry.second);
  return names;
}

template <class E>
E parse_name(std::string_view name, const std::string& what) {
  if (const std::optional<E> value = from_name<E>(name)) return *value;
  throw ValueError(what + ": unknown " + NameTable<E>::noun + " '" +
                   detail::printable(std::string(name)) + "' (expected one of " +
                   accepted_names<E>() + ")");
}

#define NOBIAS_NAMES(E)                                     \
  template std::optional<E> from_name<E>(std::string_view); \
  template std::string accepted_names<E>();                 \
  template std::vector<std::string> names_of<E>();          \
  template E parse_name<E>(std::string_view, const std::string&);
NOBIAS_NAMES(OptimizerKind)
NOBIAS_NAMES(Reduction)
NOBIAS_NAMES(Init)
NOBIAS_NAMES(Dtype)
#undef NOBIAS_NAMES

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";  // whatever its sign bit: printf's "-nan" misleads
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // std::to_chars without a format: the shortest text that reads back to value, in fixed or
  // scientific notation, whichever is shorter; locale-independent.
  char text[64];
  const std::to_chars_result result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

std::string counted(std::size_t count, std::string_view noun, std::string_view plural) {
  std::string text = std::to_string(count) + " ";
  if (count == 1) return text.append(noun);
  return plural.empty() ? text.append(noun).append("s") : text.append(plural);
}

std::size_t output_format(const std::string& flag, const std::string& path,
                          const std::vector<std::string>& extensions) {
  std::string extension = std::filesystem::path(path).extension().string();
  for (char& c : extension)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (extension.empty()) return 0;
  for (std::size_t i = 0; i < extensions.size(); ++i)
    if (extension == extensions[i]) return i;
  std::string expected;
  for (std::size_t i = 0; i < extensions.size(); ++i)
    expected += (i == 0 ? "" : i + 1 == extensions.size() ? " or " : ", ") + extensions[i];
  // With one format, a name without an extension is that format too: no need to say which.
  const std::string bare = extensions.size() == 1
                               ? " or without an extension"
                               : " (without an extension: " + extensions.front() + ")";
  throw ValueError(flag + " " + path + ": " + std::filesystem::path(path).extension().string() +
                   " is not a format " + flag + " writes; expected a name ending in " + expected +
                   bare);
}

}  // namespace nobias
