// The one exception family of nobias: every public entry point reports bad input
// by throwing a subclass of nobias::Error, never by crashing, exiting or returning NaN.
#pragma once

#include <stdexcept>
#include <string>

namespace nobias {

// Base of every error nobias throws; catch this to catch them all.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Matrix shapes that do not fit together (names both shapes in the message).
class ShapeError : public Error {
 public:
  using Error::Error;
};

// An argument outside its domain: a non-positive learning rate, a width of zero, ...
class ValueError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be read or written, or whose contents are not what was promised.
class IoError : public Error {
 public:
  using Error::Error;
};

// Training produced a non-finite loss; the weights were left as they were before the step.
class DivergenceError : public Error {
 public:
  using Error::Error;
};

}  // namespace nobias
