// Internal: bytes from a file, quoted for an error message.
#pragma once

#include <cstddef>
#include <string>

namespace nobias::detail {

// A short, printable quote: bytes outside printable ASCII (and the backslash) become \xNN,
// and more than limit bytes end in "...". A corrupt file must not send escape sequences to
// the terminal that shows the message.
std::string printable(const std::string& bytes, std::size_t limit = 60);

}  // namespace nobias::detail
