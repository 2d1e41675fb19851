// Runs the fuzz target once on every file named, or in the directories named, without
// libFuzzer: the ctest test that replays the corpus with any compiler, and under the
// sanitizers in the asan preset. A file named valid-* must also parse, and broken-* must be
// refused, so the corpus doubles as a regression test of the reader. A prefix before them
// names another reader of the same target (labels-valid-*: the .npy label reader).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Defined beside each fuzz target: whether its reader accepts the bytes. reader is what comes
// before "valid-" or "broken-" in the file's name ("" for the target's main reader).
bool nobias_fuzz_accepts(const std::string& reader, const std::string& bytes);

namespace {

bool starts_with(const std::string& text, const char* prefix) {
  return text.rfind(prefix, 0) == 0;
}

// The file's name says what the reader must do with it; returns whether it did.
bool meets_expectation(const std::string& name, const std::string& bytes) {
  std::size_t at = name.find("valid-");
  if (at == std::string::npos || (at > 0 && name[at - 1] != '-')) at = name.find("broken-");
  if (at == std::string::npos || (at > 0 && name[at - 1] != '-')) return true;
  const bool want_valid = starts_with(name.substr(at), "valid-");
  const bool want_broken = !want_valid;
  const bool accepted = nobias_fuzz_accepts(name.substr(0, at), bytes);
  if (accepted && want_broken) std::fprintf(stderr, "replay: %s was accepted\n", name.c_str());
  if (!accepted && want_valid) std::fprintf(stderr, "replay: %s was refused\n", name.c_str());
  return accepted == want_valid;
}

bool replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return meets_expectation(file.filename().string(), bytes);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 0, unmet = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (!entry.is_regular_file()) continue;
        if (!replay(entry.path())) ++unmet;
        ++count;
      }
    } else {
      if (!replay(path)) ++unmet;
      ++count;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "replay: no inputs found in the arguments\n");
    return 1;
  }
  std::printf("replayed %zu inputs, %zu not handled as their names say\n", count, unmet);
  return unmet == 0 ? 0 : 1;
}
