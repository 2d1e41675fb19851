// The one exception family of nobias: every public entry point reports bad input
// by throwing a subclass of nobias::Error, never by crashing, exiting or returning NaN.
#pragma once

#include <cstddef>
#include <limits>
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

// Training produced a non-finite loss (or weights, or a loss past T's range). It carries
// the facts as fields, so that a front door can word its own advice ("try a smaller --lr"),
// never by searching the message. what() is describe() followed by the library's advice.
class DivergenceError : public Error {
 public:
  struct Facts {
    std::string where;   // the call that found it: "train_step", "fit", kAfterTraining
    std::string detail;  // what went wrong: "loss is inf", "the forward pass overflowed at ..."
    double loss = std::numeric_limits<double>::quiet_NaN();  // the loss seen; NaN: none
    std::size_t layer = 0;          // the first layer whose forward pass overflowed; 0: none known
    std::size_t epoch = 0;          // of fit(), from 1; 0: outside an epoch
    std::size_t step = 0;           // in that epoch, from 1; 0: not at a step
    bool weights_unchanged = true;  // the failed update was not applied
  };

  // where for the loss of the trained weights, after the last step (epoch and step: that one).
  static constexpr const char* kAfterTraining = "after the last step";

  explicit DivergenceError(Facts facts);
  // Only a message (an error that crossed from another rank): detail is the text.
  explicit DivergenceError(const std::string& message);

  const Facts& facts() const { return facts_; }
  // "fit: epoch 3, step 7: train_step: loss is inf; weights left unchanged": the facts,
  // without advice.
  std::string describe() const;
  // The same error, found at this epoch and step of fit().
  DivergenceError at(std::size_t epoch, std::size_t step) const;

 private:
  Facts facts_;
};

// A resumed run whose settings are not the checkpoint's: it could not continue bit for bit.
// setting is the library's name ("learning_rate", "batch_size", "seed", ...): a front door
// names its own flag or argument for it. For other data ("data") or other validation rows
// ("validation"), now() says which input differs and how ("val_x differs: same shape, other
// values") and then() is "the first run's data" / "the first run's validation data".
class ResumeMismatch : public ValueError {
 public:
  ResumeMismatch(std::string setting, std::string now, std::string then);
  const std::string& setting() const { return setting_; }
  const std::string& now() const { return now_; }    // this run's value, as text
  const std::string& then() const { return then_; }  // the checkpoint's

 private:
  std::string setting_, now_, then_;
};

}  // namespace nobias
