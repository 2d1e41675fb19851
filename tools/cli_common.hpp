// What every nobias command-line program shares: the exit codes, the usage error, CLI11
// validators that parse numbers strictly (one parser, one message style), and the main()
// wrapper that maps exceptions to exit codes. Names (dtype, optimizer, loss, init) and numbers
// are written with the library's one vocabulary, nobias/names.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nobias/names.hpp"

// CLI11 by name only: its header adds seconds to every file that includes it, most of what a
// build of the tools costs. The files that define or parse flags include <CLI/CLI.hpp>.
namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace nobias_tools {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;  // bad usage or input: nothing changed on disk
constexpr int kExitDiverged = 3;

// Wrong flags or flag values: reported with a pointer to --help, exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The library's enum; nobias_tools::Dtype names it for the files that spell it so.
using nobias::Dtype;
// nobias::to_name(dtype): "f32", "f64". Prefer nobias::to_name.
inline const char* dtype_name(Dtype dtype) {
  return nobias::to_name(dtype);
}

std::string join(const std::vector<std::size_t>& values);
// nobias::format_number(value): the shortest text that reads back exactly, NaN as "nan".
// Prefer nobias::format_number; this name stays while files still call it.
inline std::string format_g(double value) {
  return nobias::format_number(value);
}

// ---- strict parsing of flag values (CLI11 alone accepts "-5" for an unsigned, "010" as octal)

// Decimal digits only, in [min, max]; UsageError naming flag otherwise.
std::uint64_t parse_unsigned(const std::string& flag, const std::string& text, std::uint64_t min,
                             std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
// d_in,...,d_out: at least two widths, each >= 1.
std::vector<std::size_t> parse_layers(const std::string& text);
// A finite number > 0.
double parse_positive(const std::string& flag, const std::string& text);
// A finite real number in [min, max) (range describes it for the message).
double parse_real(const std::string& flag, const std::string& text, double min, double max,
                  const char* range);

// CLI11 validators built on the parsers above. They rewrite the text to the plain decimal
// form of the value they accepted, so CLI11's own conversion then reads what was checked.
CLI::Validator whole_number(const std::string& flag, std::uint64_t min,
                            std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
CLI::Validator real_number(const std::string& flag, double min, double max, const char* range);
// A finite number > 0, left as written (messages quote the user's text).
CLI::Validator positive_number(const std::string& flag);
CLI::Validator one_of(const std::string& flag, const std::vector<std::string>& names);
// one_of with the names nobias/names.hpp gives E (OptimizerKind, Reduction, Init, Dtype):
// "--optimizer must be sgd, momentum or adam, got 'x'".
template <class E>
CLI::Validator one_of_names(const std::string& flag);

// Parses argv into app. Returns false when --help or --version was printed (exit 0);
// UsageError with CLI11's message (or a validator's, as it wrote it) otherwise.
bool parse_or_help(CLI::App& app, int argc, char** argv);

// --threads when given (nobias::set_threads), else NOBIAS_THREADS read now: a bad value is
// refused (nobias::ValueError, exit 2) before any input is read, whatever their rows.
void apply_threads(const std::optional<int>& threads);

// What every tool sets up first (run_tool and tool_main call it): a standard descriptor
// (0, 1, 2) found closed is held by /dev/null opened read-only, so that no file the run opens
// becomes its standard output (progress lines written into a weight file) and a write to a
// closed stdout fails (EBADF) as a write; SIGXFSZ is ignored, so a write past a file-size limit
// (ulimit -f) fails with EFBIG, reported as an IoError (exit 2, temporaries removed) instead of
// killing the tool. Stdout, when not a terminal, gets a 64 kB buffer, so that its writes are the
// flushes below (flush_standard_output), whose failures keep their reason. SIGPIPE keeps the
// disposition the tool was started with: by default a reader gone from a pipe (| head) ends the
// tool quietly, as it ends cat or grep.
void prepare_process();

// fflush(stdout), remembering why the first failed write did fail: glibc drops what it could
// not write, so a later flush succeeds and the reason would be lost by the end of the run.
// Every tool flushes stdout with this, never with std::fflush.
void flush_standard_output();

// main() of a tool: prepare_process(), then runs body, maps its exceptions to exit codes
// (UsageError and nobias's errors 2, DivergenceError 3, anything else 1) with
// "<program>: message" on stderr. Then standard output is flushed and checked: a write to it
// that failed (a full disk, /dev/full, a closed stdout, a pipe whose reader is gone while
// SIGPIPE is ignored) turns an exit 0 into 2 with "<program>: standard output: write failed
// (reason)"; one to stderr that failed, into 2 as well (with no message: there is nowhere to
// say it).
int run_tool(const char* program, const std::function<int()>& body);

// main() of a tool that runs on one process: first restarts it on OpenBLAS's best kernel for
// the CPU when the environment pins none (nobias::use_best_blas_kernel), ends the BLAS's idle
// threads (nobias::release_blas_threads) and warns once if a slow kernel is left, then
// run_tool(program, body).
int tool_main(const char* program, char** argv, const std::function<int()>& body);

}  // namespace nobias_tools
