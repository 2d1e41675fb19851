// Internal: an output stream buffer over a POSIX file descriptor that remembers why a write
// failed (errno), so that a full disk is reported as "No space left on device" and not as a
// bare "write failed", and that counts the bytes as they pass and, when asked (a file of a set,
// whose manifest lists it), checksums them (FNV-1a 64: about 1 ns a byte, serial).
// Its writes are interruption points (nobias/interrupt.hpp): a caller's check that throws stops
// the write, and the exception passes through the stream (whose badbit exceptions are on).
#pragma once

#include <cstdint>
#include <streambuf>
#include <vector>

namespace nobias::detail {

class FdStreamBuf : public std::streambuf {
 public:
  FdStreamBuf(int fd, bool checksummed);
  FdStreamBuf(const FdStreamBuf&) = delete;
  FdStreamBuf& operator=(const FdStreamBuf&) = delete;

  int error() const { return error_; }  // errno of the first failed write, or 0
  std::uint64_t size() const { return size_; }
  std::uint64_t checksum() const { return checksum_; }  // of the bytes, if checksummed
  // Writes out what is buffered; false (error() set) on failure.
  bool flush_all();

 protected:
  int_type overflow(int_type c) override;
  int sync() override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;

 private:
  bool write_out(const char* data, std::size_t n);

  int fd_;
  bool checksummed_;
  int error_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t checksum_;
  std::vector<char> buffer_;
};

}  // namespace nobias::detail
