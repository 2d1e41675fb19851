// libFuzzer target for a checkpoint's state.txt. Every input must either parse or be refused
// with nobias::IoError whose message starts with its source and is printable text; anything
// else (a crash, a sanitizer report, another exception, a hang) is a bug. An accepted state
// is then decoded again here, independently (lines split by hand, numbers by std::from_chars,
// not the parser's own digit loops and strtod), and must be exactly what the parser returned,
// hold every documented invariant, and survive writing and reading back unchanged.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "io/checkpoint_state.hpp"
#include "nobias/error.hpp"
#include "nobias/names.hpp"

namespace {

using nobias::detail::StateFile;

std::optional<StateFile> parse(const std::string& text, std::string& error) {
  try {
    return nobias::detail::parse_state(text, "fuzz: ");
  } catch (const nobias::IoError& e) {
    error = e.what();
  }
  return std::nullopt;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "checkpoint_fuzzer: %s\n", what);
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

bool printable(const std::string& text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

// The oracle's own reading: key -> value, or nothing if a key repeats or a line is unfinished.
std::optional<std::map<std::string, std::string>> lines_of(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    if (end == std::string::npos) return std::nullopt;
    const std::string line(text, at, end - at);
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) return std::nullopt;
    if (!fields.emplace(line.substr(0, eq), line.substr(eq + 1)).second) return std::nullopt;
    at = end + 1;
  }
  return fields;
}

std::uint64_t count_of(const std::string& value) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  require(ec == std::errc() && end == value.data() + value.size() && !value.empty() &&
              value[0] != '+' && value[0] != '-',
          "an accepted count is not all digits of a uint64");
  return n;
}

double real_of(const std::string& value) {
  double d = 0;
  const char* begin = value.data() + (value.size() > 0 && value[0] == '+' ? 1 : 0);
  const auto [end, ec] = std::from_chars(begin, value.data() + value.size(), d);
  require(ec == std::errc() && end == value.data() + value.size(),
          "an accepted number is not a decimal number");
  for (const char c : value)
    require((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+',
            "an accepted number holds a character other than [0-9.eE+-]");
  return d;
}

std::uint64_t hex_of(const std::string& value) {
  std::uint64_t n = 0;
  require(value.size() == 16, "an accepted checksum is not 16 digits");
  for (const char c : value)
    require((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "a checksum digit is not [0-9a-f]");
  std::from_chars(value.data(), value.data() + value.size(), n, 16);
  return n;
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same(const StateFile& a, const StateFile& b) {
  const auto& c = a.optimizer;
  const auto& d = b.optimizer;
  return a.dtype == b.dtype && a.layers == b.layers && a.optimizer_steps == b.optimizer_steps &&
         c.kind == d.kind && same_bits(c.learning_rate, d.learning_rate) &&
         same_bits(c.momentum, d.momentum) && c.nesterov == d.nesterov &&
         same_bits(c.beta1, d.beta1) && same_bits(c.beta2, d.beta2) &&
         same_bits(c.epsilon, d.epsilon) && same_bits(c.weight_decay, d.weight_decay) &&
         a.progress.epochs_done == b.progress.epochs_done && a.progress.seed == b.progress.seed &&
         a.progress.batch_size == b.progress.batch_size &&
         a.progress.shuffle == b.progress.shuffle && a.progress.reduction == b.progress.reduction &&
         a.data.rows == b.data.rows && a.data.x_cols == b.data.x_cols &&
         a.data.y_cols == b.data.y_cols && a.data.dtype == b.data.dtype &&
         a.data.x_hash == b.data.x_hash && a.data.y_hash == b.data.y_hash &&
         a.data.source == b.data.source && a.validation.recorded == b.validation.recorded &&
         a.validation.data.rows == b.validation.data.rows &&
         a.validation.data.x_cols == b.validation.data.x_cols &&
         a.validation.data.y_cols == b.validation.data.y_cols &&
         a.validation.data.dtype == b.validation.data.dtype &&
         a.validation.data.x_hash == b.validation.data.x_hash &&
         a.validation.data.y_hash == b.validation.data.y_hash && a.checksums == b.checksums;
}

void check_accepted(const std::string& text, const StateFile& s) {
  const auto fields = lines_of(text);
  require(fields.has_value(), "accepted: a repeated key, or a line without '=' or newline");
  const auto& f = *fields;
  const auto at = [&](const char* key) -> const std::string& {
    const auto it = f.find(key);
    if (it == f.end()) fail("accepted without a required key");
    return it->second;
  };
  require(at("format") == "nobias-checkpoint-2", "accepted another format");
  require(at("dtype") == s.dtype && (s.dtype == "f32" || s.dtype == "f64"), "dtype");
  require(count_of(at("layers")) == s.layers && s.layers >= 1 && s.layers <= 1000000, "layers");
  require(count_of(at("epochs_done")) == s.progress.epochs_done, "epochs_done");
  require(count_of(at("seed")) == s.progress.seed, "seed");
  require(count_of(at("batch_size")) == s.progress.batch_size, "batch_size");
  require(
      (at("shuffle") == "1") == s.progress.shuffle && (at("shuffle") == "0" || s.progress.shuffle),
      "shuffle");
  require((at("reduction") == "mean") == (s.progress.reduction == nobias::Reduction::Mean) &&
              (at("reduction") == "sum" || at("reduction") == "mean"),
          "reduction");
  const std::string& kind = at("optimizer");
  require(kind == nobias::to_name(s.optimizer.kind), "optimizer kind");
  const std::uint64_t steps = count_of(at("optimizer_steps"));
  require(steps == s.optimizer_steps && steps <= (std::uint64_t{1} << 53), "optimizer_steps");
  const auto& c = s.optimizer;
  require(same_bits(real_of(at("learning_rate")), c.learning_rate) &&
              std::isfinite(c.learning_rate) && c.learning_rate > 0,
          "learning_rate");
  require(same_bits(real_of(at("momentum")), c.momentum) && c.momentum >= 0 && c.momentum < 1,
          "momentum");
  require((at("nesterov") == "1") == c.nesterov && (at("nesterov") == "0" || c.nesterov),
          "nesterov");
  require(same_bits(real_of(at("beta1")), c.beta1) && c.beta1 >= 0 && c.beta1 < 1, "beta1");
  require(same_bits(real_of(at("beta2")), c.beta2) && c.beta2 >= 0 && c.beta2 < 1, "beta2");
  require(same_bits(real_of(at("epsilon")), c.epsilon) && std::isfinite(c.epsilon) && c.epsilon > 0,
          "epsilon");
  require(same_bits(real_of(at("weight_decay")), c.weight_decay) && std::isfinite(c.weight_decay) &&
              c.weight_decay >= 0,
          "weight_decay");
  // Checksums: exactly one per file of this kind and depth, and nothing else.
  const std::uint64_t kinds = kind == "adam" ? 3 : kind == "momentum" ? 2 : 1;
  std::size_t sums = 0, data = 0, validation = 0;
  for (const auto& [key, value] : f) {
    if (key.rfind("checksum.", 0) == 0) {
      ++sums;
      const auto it = s.checksums.find(key.substr(9));
      require(it != s.checksums.end() && it->second == hex_of(value), "a checksum");
    } else if (key.rfind("data.", 0) == 0) {
      ++data;
    } else if (key.rfind("validation.", 0) == 0) {
      ++validation;
    }
  }
  require(sums == kinds * s.layers && s.checksums.size() == sums, "the number of checksums");
  for (std::uint64_t k = 1; k <= s.layers; ++k) {
    require(s.checksums.count("w" + std::to_string(k) + ".npy") == 1, "a weight's checksum");
    if (kinds >= 2) require(s.checksums.count("first" + std::to_string(k) + ".npy") == 1, "first");
    if (kinds == 3)
      require(s.checksums.count("second" + std::to_string(k) + ".npy") == 1, "second");
  }
  require(data == 0 || data == 7, "a partial data fingerprint accepted");
  require(f.size() == 17 + sums + data + validation, "an unknown key accepted");
  if (data == 7) {
    require(count_of(at("data.rows")) == s.data.rows && s.data.rows > 0, "data.rows");
    require(count_of(at("data.x_cols")) == s.data.x_cols, "data.x_cols");
    require(count_of(at("data.y_cols")) == s.data.y_cols, "data.y_cols");
    require(at("data.dtype") == s.data.dtype, "data.dtype");
    require(hex_of(at("data.x_hash")) == s.data.x_hash, "data.x_hash");
    require(hex_of(at("data.y_hash")) == s.data.y_hash, "data.y_hash");
    require(at("data.source") == s.data.source && printable(s.data.source), "data.source");
  } else {
    require(!s.data.recorded(), "a fingerprint from nowhere");
  }
  // validation.rows alone (0: no validation rows), all six fields (rows > 0), or none.
  const auto& v = s.validation;
  require(validation == 0 || validation == 1 || validation == 6,
          "a partial validation fingerprint accepted");
  require(v.recorded == (validation != 0), "validation recorded from nowhere");
  if (validation != 0) {
    require(
        count_of(at("validation.rows")) == v.data.rows && (validation == 1) == (v.data.rows == 0),
        "validation.rows");
  }
  if (validation == 6) {
    require(count_of(at("validation.x_cols")) == v.data.x_cols, "validation.x_cols");
    require(count_of(at("validation.y_cols")) == v.data.y_cols, "validation.y_cols");
    require(
        at("validation.dtype") == v.data.dtype && (v.data.dtype == "f32" || v.data.dtype == "f64"),
        "validation.dtype");
    require(hex_of(at("validation.x_hash")) == v.data.x_hash, "validation.x_hash");
    require(hex_of(at("validation.y_hash")) == v.data.y_hash, "validation.y_hash");
  }
  // Written back and read again: the same state, bit for bit.
  std::string error;
  const auto again = parse(nobias::detail::format_state(s), error);
  require(again.has_value(), "a written state is refused");
  require(same(s, *again), "a written state reads back differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 1 << 16) return 0;  // a state.txt is a few hundred bytes per layer
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto state = parse(text, error);
  if (!state) {
    require(error.rfind("fuzz: state.txt: ", 0) == 0, "a refusal does not name its source");
    require(printable(error), "a refusal message is not printable text");
    return 0;
  }
  check_accepted(text, *state);
  return 0;
}

// What the corpus replay checks for files named valid-* and broken-*.
bool nobias_fuzz_accepts(const std::string& /*reader*/, const std::string& bytes) {
  std::string error;
  const bool accepted = parse(bytes, error).has_value();
  if (!accepted) std::fprintf(stderr, "  refused: %s\n", error.c_str());
  return accepted;
}
