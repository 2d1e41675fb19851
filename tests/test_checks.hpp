// Checks shared by the test files: an error's message, and a file's bytes.
#pragma once

#include <doctest/doctest.h>

#include <exception>
#include <fstream>
#include <iterator>
#include <string>

namespace test_support {

// What f throws as E, or a text that no expected message contains.
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

}  // namespace test_support

// expr throws E whose message contains text.
#define CHECK_ERROR(E, expr, text)                                                      \
  do {                                                                                  \
    const std::string message_ = test_support::error_message<E>([&] { (void)(expr); }); \
    CHECK_MESSAGE(message_.find(text) != std::string::npos, "message: " << message_);   \
  } while (false)
