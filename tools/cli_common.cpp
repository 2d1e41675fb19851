#include "cli_common.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <new>
#include <system_error>

#include "nobias/blas.hpp"
#include "nobias/error.hpp"
#include "nobias/threads.hpp"

namespace nobias_tools {

std::string join(const std::vector<std::size_t>& values) {
  std::string out;
  for (std::size_t v : values)
    out += (out.empty() ? "" : ",") + std::to_string(v);
  return out;
}

std::uint64_t parse_unsigned(const std::string& flag, const std::string& text, std::uint64_t min,
                             std::uint64_t max) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    throw UsageError(flag + " must be a whole number, got '" + text + "'");
  }
  // from_chars leaves value alone when out of range, so that case is tested first.
  if (ec == std::errc::result_out_of_range || value > max) {
    throw UsageError(flag + " must be at most " + std::to_string(max) + ", got " + text);
  }
  if (value < min) {
    throw UsageError(flag + " must be at least " + std::to_string(min) + ", got " + text);
  }
  return value;
}

std::vector<std::size_t> parse_layers(const std::string& text) {
  std::vector<std::size_t> widths;
  std::size_t begin = 0;
  while (true) {
    std::size_t comma = text.find(',', begin);
    std::string item = text.substr(begin, comma == std::string::npos ? comma : comma - begin);
    widths.push_back(static_cast<std::size_t>(
        parse_unsigned("--layers: every width", item, 1, std::numeric_limits<std::size_t>::max())));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  if (widths.size() < 2) {
    throw UsageError("--layers needs at least two widths (d_in,...,d_out), got '" + text + "'");
  }
  return widths;
}

namespace {

bool parse_double(const std::string& text, double& value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  return !text.empty() && ec == std::errc() && ptr == end && std::isfinite(value);
}

}  // namespace

double parse_positive(const std::string& flag, const std::string& text) {
  double value = 0.0;
  if (!parse_double(text, value) || value <= 0.0) {
    throw UsageError(flag + " must be a finite number > 0, got '" + text + "'");
  }
  return value;
}

double parse_real(const std::string& flag, const std::string& text, double min, double max,
                  const char* range) {
  double value = 0.0;
  if (!parse_double(text, value) || value < min || value >= max) {
    throw UsageError(flag + " must be a number " + range + ", got '" + text + "'");
  }
  return value;
}

CLI::Validator whole_number(const std::string& flag, std::uint64_t min, std::uint64_t max) {
  return CLI::Validator(
      [=](std::string& text) {
        try {
          text = std::to_string(parse_unsigned(flag, text, min, max));
          return std::string();
        } catch (const UsageError& e) {
          return std::string(e.what());
        }
      },
      "");
}

CLI::Validator real_number(const std::string& flag, double min, double max, const char* range) {
  return CLI::Validator(
      [=](std::string& text) {
        try {
          text = nobias::format_number(parse_real(flag, text, min, max, range));
          return std::string();
        } catch (const UsageError& e) {
          return std::string(e.what());
        }
      },
      "");
}

CLI::Validator positive_number(const std::string& flag) {
  return CLI::Validator(
      [=](std::string& text) {
        try {
          parse_positive(flag, text);
          return std::string();
        } catch (const UsageError& e) {
          return std::string(e.what());
        }
      },
      "");
}

CLI::Validator one_of(const std::string& flag, const std::vector<std::string>& names) {
  return CLI::Validator(
      [=](std::string& text) {
        for (const std::string& name : names) {
          if (text == name) return std::string();
        }
        std::string list;
        for (std::size_t i = 0; i < names.size(); ++i) {
          list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
        }
        return flag + " must be " + list + ", got '" + text + "'";
      },
      "");
}

template <class E>
CLI::Validator one_of_names(const std::string& flag) {
  std::vector<std::string> names;
  const std::string list = nobias::accepted_names<E>();  // "sgd, momentum, adam"
  for (std::size_t begin = 0; begin < list.size();) {
    const std::size_t comma = list.find(", ", begin);
    names.push_back(list.substr(begin, comma == std::string::npos ? comma : comma - begin));
    begin = comma == std::string::npos ? list.size() : comma + 2;
  }
  return one_of(flag, names);
}

template CLI::Validator one_of_names<nobias::OptimizerKind>(const std::string&);
template CLI::Validator one_of_names<nobias::Reduction>(const std::string&);
template CLI::Validator one_of_names<nobias::Init>(const std::string&);
template CLI::Validator one_of_names<nobias::Dtype>(const std::string&);

bool parse_or_help(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return true;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e);  // --help or --version: print it
      return false;
    }
    std::string message = e.what();
    // CLI11 writes a validator's message as "<flag>: <message>"; ours name the flag already.
    const std::size_t colon = message.find(": ");
    if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr && colon != std::string::npos &&
        message.compare(colon + 2, colon, message, 0, colon) == 0) {
      message.erase(0, colon + 2);
    }
    throw UsageError(message);
  }
}

void apply_threads(const std::optional<int>& threads) {
  if (threads) {
    nobias::set_threads(*threads);
  } else {
    (void)nobias::threads_setting();
  }
}

void prepare_process() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() returns the lowest free descriptor: fd itself, the ones below being open.
    const int held = ::open("/dev/null", O_RDONLY);
    if (held != -1 && held != fd) ::close(held);
  }
  std::signal(SIGXFSZ, SIG_IGN);
  // Before anything is written to it (setvbuf must be): larger than any tool's output between
  // two flushes (nobias-train --help is 7 kB), so that no write to stdout happens inside a
  // printf, where its errno would be lost. A terminal keeps its line buffering.
  static bool buffered = false;
  if (!buffered && ::isatty(STDOUT_FILENO) == 0) {
    static char buffer[64 * 1024];
    std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
  }
  buffered = true;
}

namespace {
int g_stdout_error = 0;  // errno of the first failed flush of stdout, 0 while none failed
}

void flush_standard_output() {
  errno = 0;
  if (std::fflush(stdout) != 0 && g_stdout_error == 0) g_stdout_error = errno;
}

namespace {

// Flushes stdout (std::cout writes through it: the streams are synced with stdio) and says
// why a write to it failed, or "" when none did.
std::string standard_output_failure() {
  // Ours first: std::cout.flush() is an fflush(stdout) too (the streams are synced), which
  // would fail first and leave nothing to fail with its reason.
  flush_standard_output();
  std::cout.flush();
  if (std::ferror(stdout) == 0 && std::cout.good()) return "";
  // A failure past the flushes (a write inside printf, of more than the buffer holds): an
  // empty write still names a descriptor that cannot be written (EBADF).
  int error = g_stdout_error;
  if (error == 0 && ::write(STDOUT_FILENO, "", 0) == -1) error = errno;
  return std::string("standard output: write failed") +
         (error != 0 ? std::string(" (") + std::strerror(error) + ")" : std::string());
}

int run_body(const char* program, const std::function<int()>& body) {
  const auto report = [program](const std::string& message) {
    flush_standard_output();  // keep progress lines before the error on one terminal
    std::cerr << program << ": " << message << "\n";
  };
  try {
    return body();
  } catch (const UsageError& e) {
    report(std::string(e.what()) + "\nRun '" + program + " --help' for the flags.");
    return kExitBadInput;
  } catch (const nobias::DivergenceError& e) {
    report(e.what());
    return kExitDiverged;
  } catch (const nobias::Error& e) {
    report(e.what());
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    report("out of memory: the widths, --rows or the data are too large for this machine");
    return kExitBadInput;
  } catch (const std::exception& e) {
    report(std::string("internal error: ") + e.what());
    return kExitInternal;
  }
}

}  // namespace

int run_tool(const char* program, const std::function<int()>& body) {
  prepare_process();
  int code = run_body(program, body);
  // Checked here, once, for every output of every tool (results, --help, --version): a
  // result lost on a full disk must not exit 0. Files the run committed before stay.
  const std::string failure = standard_output_failure();
  if (!failure.empty()) {
    std::cerr << program << ": " << failure << "\n";
    if (code == kExitOk) code = kExitBadInput;
  }
  std::cerr.flush();
  if ((std::fflush(stderr) != 0 || std::ferror(stderr) != 0 || !std::cerr.good()) &&
      code == kExitOk) {
    code = kExitBadInput;
  }
  return code;
}

int tool_main(const char* program, char** argv, const std::function<int()>& body) {
  // First of all: the restart below must find the standard descriptors held.
  prepare_process();
  // Before anything else: a restart must not lose threads or open files.
  nobias::use_best_blas_kernel(argv);
  // OpenBLAS's idle threads would spin on a core through the tool's first 0.1-0.2 s.
  nobias::release_blas_threads();
  nobias::warn_if_slow_blas_kernel();
  return run_tool(program, [&] {
    // Reads NOBIAS_SGEMM and NOBIAS_DGEMM: a misspelt one fails now, whichever precision
    // this run uses, instead of being ignored.
    (void)nobias::blas_description();
    return body();
  });
}

}  // namespace nobias_tools
