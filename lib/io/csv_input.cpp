// Where read_csv's bytes come from: memory, or a file read in blocks into one reused buffer.
// A fresh page costs a fault (11 us each on the machine this was measured on: 0.3 s for a copy
// of a 113 MB file), so the file is never held whole.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "io/csv_scan.hpp"
#include "nobias/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nobias::detail {
namespace {

class MemoryInput : public CsvInput {
 public:
  MemoryInput(std::string_view bytes, std::size_t block, std::unique_ptr<char[]> owned = nullptr)
      : bytes_(bytes), block_(block), owned_(std::move(owned)) {}
  std::string_view window(std::size_t offset, std::size_t want, bool& final) override {
    const std::string_view rest = bytes_.substr(std::min(offset, bytes_.size()));
    final = block_ == 0 || rest.size() <= std::max(want, block_);
    return final ? rest : rest.substr(0, std::max(want, block_));
  }
  std::size_t size_hint() const override { return bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t block_;
  std::unique_ptr<char[]> owned_;
};

std::string error_text(int error) {
  return std::strerror(error);
}

// A regular file: each window is read with pread into the one buffer, kBlock bytes or more.
class FileInput : public CsvInput {
 public:
  FileInput(int fd, std::size_t size, std::string prefix, std::size_t block)
      : fd_(fd), size_(size), prefix_(std::move(prefix)), block_(block) {}
  ~FileInput() override { ::close(fd_); }
  FileInput(const FileInput&) = delete;
  FileInput& operator=(const FileInput&) = delete;

  std::string_view window(std::size_t offset, std::size_t want, bool& final) override {
    const bool inside = offset >= start_ && offset <= start_ + length_;
    if (!inside || (offset + want > start_ + length_ && !eof_)) fill(offset, want);
    final = eof_;
    return {buffer_.get() + (offset - start_), start_ + length_ - offset};
  }
  std::size_t size_hint() const override { return size_; }

 private:
  void fill(std::size_t offset, std::size_t want) {
    const std::size_t need = std::max(want, block_);
    if (need > capacity_) {
      buffer_.reset(new char[need]);  // not zero-filled: it is read into at once
      capacity_ = need;
    }
    start_ = offset;
    length_ = 0;
    eof_ = false;
    while (length_ < need) {
      const ssize_t got = ::pread(fd_, buffer_.get() + length_, need - length_,
                                  static_cast<off_t>(offset + length_));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw IoError(prefix_ + "read error (" + error_text(errno) + ")");
      if (got == 0) {
        eof_ = true;
        break;
      }
      length_ += static_cast<std::size_t>(got);
    }
  }

  int fd_;
  std::size_t size_;
  std::string prefix_;
  std::size_t block_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0, start_ = 0, length_ = 0;
  bool eof_ = false;
};

// A pipe or a device, readable once: read whole, in blocks of 1 MiB and doubling.
std::unique_ptr<CsvInput> read_whole(int fd, const std::string& prefix) {
  std::size_t capacity = std::size_t{1} << 20, size = 0;
  std::unique_ptr<char[]> data(new char[capacity]);
  for (;;) {
    if (size == capacity) {
      std::unique_ptr<char[]> bigger(new char[capacity * 2]);
      std::memcpy(bigger.get(), data.get(), size);
      data = std::move(bigger);
      capacity *= 2;
    }
    const ssize_t got = ::read(fd, data.get() + size, capacity - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw IoError(prefix + "read error (" + error_text(errno) + ")");
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  const std::string_view bytes(data.get(), size);
  return std::make_unique<MemoryInput>(bytes, 0, std::move(data));
}

}  // namespace

std::unique_ptr<CsvInput> memory_csv_input(std::string_view bytes, std::size_t block) {
  return std::make_unique<MemoryInput>(bytes, block);
}

std::unique_ptr<CsvInput> file_csv_input(const std::string& path, const std::string& prefix,
                                         std::size_t block) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw IoError(prefix + "file does not exist");
    throw IoError(prefix + "cannot open the file for reading (" + error_text(errno) + ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw IoError(prefix + "cannot get the file's size (" + error_text(error) + ")");
  }
  if (S_ISREG(st.st_mode)) {
    return std::make_unique<FileInput>(fd, static_cast<std::size_t>(st.st_size), prefix,
                                       std::max<std::size_t>(block, 1));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (S_ISDIR(st.st_mode)) throw IoError(prefix + "expected a CSV file, found a directory");
  return read_whole(fd, prefix);
}

}  // namespace nobias::detail
