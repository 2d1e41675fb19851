// libFuzzer target for the CSV reader. Every input must either be read or be refused with
// nobias::IoError in printable text; anything else (a crash, a sanitizer report, another
// exception, a hang) is a bug. Each input is read with the header detected, declared and
// declared absent, and:
//   - read whole and in small windows (as a file is read in blocks whose ends fall inside
//     records), the readings must be the same table or the same refusal;
//   - the oracle, tests/reference/csv_reference.hpp (the text cut into records first, numbers
//     by their grammar and strtod), must agree: the same refusal, at the same line (and column),
//     or the same table, value for value, bit for bit;
//   - an accepted table written by write_csv_stream and read back (header declared) must give
//     the same names and values.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "io/csv_scan.hpp"
#include "nobias/csv.hpp"
#include "nobias/error.hpp"
#include "reference/csv_reference.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "csv_fuzzer: %s %s\n", what, detail.c_str());
  std::abort();
}

struct Reading {
  bool ok = false;
  nobias::CsvTable table;
  std::string error;
};

template <class F>
Reading attempt(F&& read) {
  Reading r;
  try {
    r.table = read();
    r.ok = true;
  } catch (const nobias::IoError& e) {
    r.error = e.what();
  }
  return r;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

bool same_table(const nobias::CsvTable& a, const nobias::CsvTable& b) {
  if (a.names != b.names || a.rows != b.rows || a.lines != b.lines ||
      a.has_header != b.has_header || a.delimiter != b.delimiter || a.cols() != b.cols()) {
    return false;
  }
  for (std::size_t j = 0; j < a.cols(); ++j) {
    const nobias::CsvColumn &x = a.columns[j], &y = b.columns[j];
    if (x.kind != y.kind || x.texts != y.texts || !same_bits(x.numbers, y.numbers) ||
        x.first_text != y.first_text || x.first_text_line != y.first_text_line ||
        x.number_count != y.number_count) {
      return false;
    }
  }
  return true;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// part is in text, and not followed by a digit ("line 1" is not "line 12").
bool names(const std::string& text, const std::string& part, std::size_t from = 0) {
  const std::size_t at = text.find(part, from);
  if (at == std::string::npos) return false;
  const std::size_t end = at + part.size();
  return (end == text.size() || text[end] < '0' || text[end] > '9') || names(text, part, at + 1);
}

// The words of the library's message for each defect of the oracle.
const char* defect_words(reference::CsvDefect d) {
  switch (d) {
    case reference::CsvDefect::Empty:
      return "the file is empty";
    case reference::CsvDefect::Utf16:
      return "UTF-16";
    case reference::CsvDefect::Nul:
      return "a NUL byte";
    case reference::CsvDefect::Unclosed:
      return "never closed";
    case reference::CsvDefect::AfterQuote:
      return "after the closing quote";
    case reference::CsvDefect::FieldCount:
      return " fields as on line ";
    case reference::CsvDefect::Missing:
      return "missing value";
    case reference::CsvDefect::NotFinite:
      return "finite number";
    case reference::CsvDefect::None:
      break;
  }
  return "";
}

void check_against_oracle(const std::string& bytes, const Reading& lib, int header) {
  const reference::CsvReading ref = reference::read_csv(bytes, header, '\0');
  if (!lib.ok) {
    if (ref.defect == reference::CsvDefect::None) fail("refused what the oracle reads:", lib.error);
    if (!contains(lib.error, defect_words(ref.defect))) fail("another refusal:", lib.error);
    // Every refusal with a line starts with it: "read_csv: fuzz: line 7, column 2 ...".
    const std::string line = "read_csv: fuzz: line " + std::to_string(ref.line);
    if (ref.line && (lib.error.rfind(line, 0) != 0 || !names(lib.error, line))) {
      fail("a refusal at another line:", lib.error);
    }
    if (ref.column && !names(lib.error, ", column " + std::to_string(ref.column))) {
      fail("a refusal in another column:", lib.error);
    }
    return;
  }
  if (ref.defect != reference::CsvDefect::None)
    fail("read what the oracle refuses:", defect_words(ref.defect));
  const nobias::CsvTable& t = lib.table;
  if (t.has_header != ref.header || t.delimiter != ref.delimiter || t.names != ref.names ||
      t.lines != ref.lines || t.rows != ref.lines.size() || t.cols() != ref.columns.size()) {
    fail("the table's shape, header or delimiter differs from the oracle's");
  }
  for (std::size_t j = 0; j < t.cols(); ++j) {
    const nobias::CsvColumn& c = t.columns[j];
    const reference::CsvColumn& r = ref.columns[j];
    if (c.is_text() != r.text || c.number_count != r.number_count) fail("a column's kind differs");
    if (c.is_text() && (c.texts != r.texts || c.first_text != r.first_text ||
                        c.first_text_line != r.first_text_line)) {
      fail("a text column differs");
    }
    if (!c.is_text() && !same_bits(c.numbers, r.numbers)) fail("a number differs");
  }
}

void check_round_trip(const nobias::CsvTable& t) {
  std::ostringstream out;
  try {
    nobias::write_csv_stream(out, t);
  } catch (const nobias::ValueError& e) {
    fail("write_csv refused a table read_csv gave:", e.what());
  }
  nobias::CsvOptions options;
  options.header = nobias::CsvHeader::Yes;
  options.delimiter = ',';
  const Reading back = attempt([&] { return nobias::read_csv_bytes(out.str(), "back", options); });
  if (!back.ok) fail("what write_csv wrote is refused:", back.error);
  const nobias::CsvTable& b = back.table;
  if (b.names != t.names || b.rows != t.rows || b.cols() != t.cols()) fail("round trip: shape");
  for (std::size_t j = 0; j < t.cols(); ++j) {
    if (b.columns[j].kind != t.columns[j].kind || b.columns[j].texts != t.columns[j].texts ||
        !same_bits(b.columns[j].numbers, t.columns[j].numbers)) {
      fail("round trip: a column differs");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const nobias::CsvHeader headers[] = {nobias::CsvHeader::Auto, nobias::CsvHeader::Yes,
                                       nobias::CsvHeader::No};
  for (int h = 0; h < 3; ++h) {
    nobias::CsvOptions options;
    options.header = headers[h];
    const Reading whole = attempt([&] { return nobias::read_csv_bytes(bytes, "fuzz", options); });
    const auto input = nobias::detail::memory_csv_input(bytes, 1 + size % 7);
    const Reading blocks =
        attempt([&] { return nobias::detail::parse_csv(*input, "fuzz", options); });
    if (whole.ok != blocks.ok || whole.error != blocks.error ||
        (whole.ok && !same_table(whole.table, blocks.table))) {
      fail("read whole and read in blocks differ:", whole.error + " / " + blocks.error);
    }
    if (!whole.ok) {
      if (whole.error.rfind("read_csv: fuzz: ", 0) != 0) fail("a refusal without its source");
      for (const char c : whole.error)
        if (c < 0x20 || c > 0x7e) fail("a refusal that is not printable text");
    }
    check_against_oracle(bytes, whole, h);
    if (whole.ok) check_round_trip(whole.table);
  }
  return 0;
}

// What the corpus replay checks for files named valid-* and broken-*: read_csv, header
// detected, delimiter detected.
bool nobias_fuzz_accepts(const std::string&, const std::string& bytes) {
  try {
    nobias::read_csv_bytes(bytes, "replay");
    return true;
  } catch (const nobias::IoError& e) {
    std::fprintf(stderr, "  refused: %s\n", e.what());
    return false;
  }
}
