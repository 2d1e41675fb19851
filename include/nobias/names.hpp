// The names nobias gives its settings in files, flags and messages, and the one way it
// prints numbers. Tools, checkpoints and model directories all use these tables, so a name
// accepted in one place is accepted everywhere and means the same thing.
//
//   OptimizerKind  sgd, momentum, adam
//   Reduction      sum, mean
//   Init           normal, he, lecun, glorot, half_glorot
//   Dtype          f32, f64
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "nobias/init.hpp"
#include "nobias/network.hpp"
#include "nobias/optimizer.hpp"

namespace nobias {

// The element type a network, a file or a run uses.
enum class Dtype { F32, F64 };

template <class T>
constexpr Dtype dtype_of() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
  return std::is_same_v<T, float> ? Dtype::F32 : Dtype::F64;
}

// The name of a value: "adam", "mean", "he", "f64".
const char* to_name(OptimizerKind kind);
const char* to_name(Reduction reduction);
const char* to_name(Init init);
const char* to_name(Dtype dtype);

// The value a name stands for; std::nullopt for any other text (names are exact and
// lower-case: "Adam" and " adam" are not names).
template <class E>
std::optional<E> from_name(std::string_view name);

// Every accepted name of E, in table order, for messages: "sgd, momentum, adam".
template <class E>
std::string accepted_names();
// The same names one by one, for a front door's list of choices.
template <class E>
std::vector<std::string> names_of();

// from_name, or ValueError "WHAT: unknown NOUN 'x' (expected one of sgd, momentum, adam)",
// where NOUN is "optimizer", "reduction", "init" or "dtype". The text is quoted printably.
template <class E>
E parse_name(std::string_view name, const std::string& what);

// Which format an output file is written in, by its name's extension (the tools' output flags,
// Python's write_npy and export_onnx): the index in extensions (lower case, ".npy"; the name's
// matched in any case) of its extension, 0 for a name without one (a device, a FIFO,
// /dev/stdout: the first format). Another extension is refused before any work, as a format
// the flag does not write: ValueError "--out p.txt: .txt is not a format --out writes; expected
// a name ending in .npy, .csv or .tsv (without an extension: .npy)"; with one format, "...
// expected a name ending in .onnx or without an extension".
std::size_t output_format(const std::string& flag, const std::string& path,
                          const std::vector<std::string>& extensions);

// The shortest decimal text that reads back (strtod, numpy, Python float()) to exactly
// value, as std::to_chars writes it: fixed or scientific, whichever is shorter (fixed on a
// tie): 0.1 -> "0.1", 1e-4 -> "1e-04", 0.00010000000000000002 -> "0.00010000000000000002",
// 1e300 -> "1e+300". NaN of either sign is "nan" (never "-nan"), infinities "inf" / "-inf",
// negative zero "-0". Locale-independent. Use it wherever a number is written for a
// person or a file, so that two numbers that differ never print alike.
std::string format_number(double value);

// A count with its noun, singular or plural as the count asks: counted(1, "row") is "1 row",
// counted(3, "row") "3 rows", counted(2, "matrix", "matrices") "2 matrices".
std::string counted(std::size_t count, std::string_view noun, std::string_view plural = {});

}  // namespace nobias
