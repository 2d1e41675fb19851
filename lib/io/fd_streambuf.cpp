#include "io/fd_streambuf.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "io/atomic_file.hpp"
#include "nobias/interrupt.hpp"

namespace nobias::detail {

namespace {
constexpr std::size_t kBufferSize = std::size_t{1} << 16;
// A large write goes out in pieces of at most this, with an interruption point between two: a
// caller's interrupt check (nobias/interrupt.hpp) can stop writing a large array within a
// fraction of a second, the temporary then removed.
constexpr std::size_t kPieceSize = std::size_t{16} << 20;
}  // namespace

FdStreamBuf::FdStreamBuf(int fd, bool checksummed)
    : fd_(fd), checksummed_(checksummed), checksum_(kFnv1a64Offset), buffer_(kBufferSize) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

bool FdStreamBuf::write_out(const char* data, std::size_t n) {
  if (error_ != 0) return false;
  if (checksummed_) checksum_ = fnv1a64(data, n, checksum_);
  size_ += n;
  while (n > 0) {
    const ssize_t written = ::write(fd_, data, std::min(n, kPieceSize));
    if (written < 0) {
      if (errno == EINTR) {
        interruption_point(Interruption::Signal);
        continue;
      }
      error_ = errno;
      return false;
    }
    if (written == 0) {  // no progress and no reason: call it what it nearly always is
      error_ = ENOSPC;
      return false;
    }
    data += written;
    n -= static_cast<std::size_t>(written);
    if (n > 0) interruption_point(Interruption::Periodic);
  }
  return true;
}

bool FdStreamBuf::flush_all() {
  const std::size_t pending = static_cast<std::size_t>(pptr() - pbase());
  const bool ok = write_out(pbase(), pending);
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return ok;
}

FdStreamBuf::int_type FdStreamBuf::overflow(int_type c) {
  if (!flush_all()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int FdStreamBuf::sync() {
  return flush_all() ? 0 : -1;
}

std::streamsize FdStreamBuf::xsputn(const char* s, std::streamsize n) {
  const auto count = static_cast<std::size_t>(n);
  if (count == 0) return 0;  // s may be null then (an empty array's data), which memcpy forbids
  if (count <= static_cast<std::size_t>(epptr() - pptr())) {
    std::memcpy(pptr(), s, count);
    pbump(static_cast<int>(n));
    return n;
  }
  // Large writes (a weight matrix's rows) go straight through, after what is buffered.
  if (!flush_all() || !write_out(s, count)) return 0;
  return n;
}

}  // namespace nobias::detail
